package dev.housekeeper.mart;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.mart.ReportMartSpec;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rules of a jdbc source's URL (issue 20, finding 5), without a server. */
class JdbcUrlTest {

  static final String BASE = "jdbc:postgresql://pg.reports.svc:5432/bionicpro";
  static final String SECRET = "s3cret-Pa55";

  /** Every property the PostgreSQL driver 42.7 would use to load a class, read a file or change who logs in. */
  static final List<String> DANGEROUS = List.of("sslfactory=org.postgresql.ssl.NonValidatingFactory",
      "sslfactoryarg=file:/var/run/secrets/kubernetes.io/serviceaccount/token",
      "sslpasswordcallback=org.example.Callback", "sslhostnameverifier=org.example.AnyHost",
      "socketFactory=org.springframework.context.support.ClassPathXmlApplicationContext",
      "socketFactoryArg=http://attacker/x.xml", "loggerFile=/tmp/pg.log", "loggerLevel=TRACE",
      "authenticationPluginClassName=org.example.Plugin", "connectExecutor=org.example.Exec",
      "connectExecutorArg=x", "xmlFactoryFactory=org.example.Xml", "classLoaderStrategy=context-first",
      "sslrootcert=/etc/passwd", "sslcert=/etc/passwd", "sslkey=/etc/passwd", "service=prod",
      "user=postgres", "password=" + SECRET, "sslpassword=" + SECRET, "options=-c%20statement_timeout%3D0",
      "socketTimeout=0", "queryTimeout=0", "replication=database", "readOnlyMode=ignore", "readOnly=false",
      "localSocketAddress=10.0.0.1", "gssUseDefaultCreds=true", "jaasApplicationName=x", "unknownThing=1");

  @Test
  void everyDangerousParameterIsRefusedByName() {
    for (String p : DANGEROUS) {
      String name = p.substring(0, p.indexOf('='));
      List<String> problems = JdbcUrl.problems(BASE + "?sslmode=require&" + p);
      assertThat(problems).as(p).hasSize(1);
      assertThat(problems.get(0)).as(p).startsWith("spec.source.jdbc.url: parameter " + name + " ")
          .doesNotContain(SECRET).doesNotContain("/etc/passwd").doesNotContain("attacker");
    }
  }

  @Test
  void anEncodedNameIsDecodedBeforeTheCheckAsTheDriverDoes() {
    assertThat(JdbcUrl.problems(BASE + "?ssl%66actory=org.postgresql.ssl.NonValidatingFactory"))
        .singleElement().asString().contains("parameter sslfactory is not allowed");
    assertThat(JdbcUrl.problems(BASE + "?pass%77ord=" + SECRET)).singleElement().asString()
        .contains("parameter password").doesNotContain(SECRET);
  }

  @Test
  void credentialsBeforeTheHostAreRefusedAndNeverShown() {
    String url = "jdbc:postgresql://admin:" + SECRET + "@pg:5432/db";
    assertThat(JdbcUrl.problems(url)).singleElement().asString().contains("credentialsSecret")
        .doesNotContain(SECRET);
    assertThat(JdbcUrl.shown(url)).isEqualTo("jdbc:postgresql://pg:5432/db");
  }

  @Test
  void harmlessParametersPass() {
    assertThat(JdbcUrl.problems(BASE)).isEmpty();
    assertThat(JdbcUrl.problems(BASE + "?sslmode=verify-full&connectTimeout=5&loginTimeout=20&ApplicationName=reports"
        + "&currentSchema=public,reports&tcpKeepAlive=true&targetServerType=primary&readOnly=true"
        + "&readOnlyMode=always&channelBinding=require&requireAuth=scram-sha-256")).isEmpty();
    assertThat(JdbcUrl.problems("jdbc:postgresql://pg-a:5432,pg-b:5433/db?loadBalanceHosts=true")).isEmpty();
    assertThat(JdbcUrl.problems("jdbc:postgresql://[::1]:5432/db")).isEmpty();
  }

  @Test
  void badValuesOfAllowedParametersAreRefusedWithoutRepeatingThem() {
    assertThat(JdbcUrl.problems(BASE + "?sslmode=" + SECRET)).singleElement().asString()
        .contains("parameter sslmode must match").doesNotContain(SECRET);
    assertThat(JdbcUrl.problems(BASE + "?connectTimeout=99999")).singleElement().asString()
        .contains("connectTimeout");
  }

  @Test
  void otherDriversAndMalformedUrlsAreRefused() {
    for (String url : List.of("jdbc:mysql://h/db", "jdbc:postgresql:db", "jdbc:postgresql://h/db;x",
        "jdbc:postgresql://h/db' OR '1", "jdbc:postgresql:///db", "jdbc:postgresql://h/a/b", "jdbc:postgresql://h/db#x",
        "jdbc:h2:mem:x", "jdbc:postgresql://h:5432:1/db")) {
      assertThat(JdbcUrl.problems(url)).as(url).isNotEmpty();
    }
  }

  @Test
  void theShownUrlHasNoQueryString() {
    assertThat(JdbcUrl.shown(BASE + "?password=" + SECRET + "&sslmode=require")).isEqualTo(BASE);
    assertThat(JdbcUrl.shown(BASE)).isEqualTo(BASE);
  }

  @Test
  void queryTimeoutHasADefaultAndBounds() {
    ReportMartSpec.JdbcSource s = new ReportMartSpec.JdbcSource();
    s.queryTimeout = null;
    assertThat(JdbcLoad.queryTimeout(s)).isEqualTo(Duration.ofMinutes(5));
    s.queryTimeout = "90s";
    assertThat(JdbcLoad.queryTimeout(s)).isEqualTo(Duration.ofSeconds(90));
    for (String bad : List.of("0s", "500ms", "25h", "5 minutes")) {
      s.queryTimeout = bad;
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> JdbcLoad.queryTimeout(s),
          bad);
    }
  }
}
