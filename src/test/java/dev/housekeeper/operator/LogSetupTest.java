package dev.housekeeper.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LogSetupTest {

  @Test
  void aLineIsKeyValueNamesTheResourceAndEscapesQuotesInTheMessage() {
    LoggerContext context = new LoggerContext();
    var logger = context.getLogger("dev.housekeeper.backup.ClickHouseBackupReconciler");
    LoggingEvent event = new LoggingEvent("x", logger, Level.WARN, "table \"a\" of {} is gone", null,
        new Object[] {"шард"});
    event.setMDCPropertyMap(Map.of("resource.namespace", "team-a", "resource.name", "nightly",
        "resource.kind", "ClickHouseBackup"));
    event.setThreadName("main");
    event.setTimeStamp(0);
    String line = new String(LogSetup.encoder(context).encode(event), StandardCharsets.UTF_8);
    assertEquals("ts=1970-01-01T00:00:00.000Z level=WARN thread=main resource=team-a/nightly kind=ClickHouseBackup"
        + " logger=d.h.b.ClickHouseBackupReconciler msg=\"table \\\"a\\\" of шард is gone\"", line.stripTrailing());
  }

  @Test
  void levelsComeFromTheEnvironmentAndLibrariesSpeakAtWarn() {
    LoggerContext context = new LoggerContext();
    LogSetup.configure(context, Map.of("HOUSEKEEPER_LOG_LEVEL", "DEBUG", "HOUSEKEEPER_JOSDK_LOG_LEVEL", "INFO"));
    assertEquals(Level.DEBUG, context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getLevel());
    assertEquals(Level.INFO, context.getLogger("io.javaoperatorsdk").getLevel());
    assertEquals(Level.WARN, context.getLogger("io.fabric8").getLevel());
    assertTrue(context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getAppender("STDOUT").isStarted());

    LoggerContext defaults = new LoggerContext();
    LogSetup.configure(defaults, Map.of());
    assertEquals(Level.INFO, defaults.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getLevel());
    assertEquals(Level.WARN, defaults.getLogger("io.javaoperatorsdk").getLevel());
  }
}
