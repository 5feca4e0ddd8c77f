package dev.housekeeper.operator;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import java.util.Map;

/**
 * The operator's logging, set up in code by {@link HousekeeperOperator#main}: one line per event,
 * key=value, naming the resource (namespace/name, from JOSDK's MDC) on every line. In code rather than
 * in a {@code logback.xml} because reading XML cost the start-up about 120 classes of the JDK's XML
 * parser and logback's whole configuration model, run by the interpreter before {@code main}; without a
 * file logback starts with its basic console setup, which this replaces before anything is logged. A
 * configuration file still wins: {@code -Dlogback.configurationFile}, or a {@code logback-test.xml} on
 * the class path (the tests').
 */
public final class LogSetup {

  static final String PATTERN = "ts=%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX,UTC} level=%level thread=%thread"
      + " resource=%X{resource.namespace:-}/%X{resource.name:-} kind=%X{resource.kind:-} logger=%logger{24}"
      + " msg=\"%replace(%msg){'\"','\\\\\"'}\"%n%ex";

  /** Libraries that speak at WARN and above only; JOSDK's level is HOUSEKEEPER_JOSDK_LOG_LEVEL. */
  private static final String[] QUIET = {"io.fabric8", "org.apache.hc", "com.clickhouse", "okhttp3"};

  private LogSetup() {}

  /** Sets up the operator's logging, unless a configuration file was given. */
  static void apply(Map<String, String> environment) {
    if (System.getProperty("logback.configurationFile") != null
        || LogSetup.class.getClassLoader().getResource("logback-test.xml") != null
        || !(org.slf4j.LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    context.reset();
    configure(context, environment);
  }

  static void configure(LoggerContext context, Map<String, String> environment) {
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("STDOUT");
    console.setEncoder(encoder(context));
    console.start();
    var root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(environment.get("HOUSEKEEPER_LOG_LEVEL"), Level.INFO));
    root.addAppender(console);
    context.getLogger("io.javaoperatorsdk").setLevel(Level.toLevel(environment.get("HOUSEKEEPER_JOSDK_LOG_LEVEL"),
        Level.WARN));
    for (String name : QUIET) {
      context.getLogger(name).setLevel(Level.WARN);
    }
  }

  static PatternLayoutEncoder encoder(LoggerContext context) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
    encoder.start();
    return encoder;
  }
}
