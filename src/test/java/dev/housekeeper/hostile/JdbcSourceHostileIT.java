package dev.housekeeper.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.PostgresServer;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile and hanging jdbc sources of a ReportMart (issue 20, findings 4 and 5), through the real
 * operator, a real PostgreSQL server and the real ClickHouse server: a URL with dangerous driver
 * parameters and a password ends in ValidationError without its password anywhere the user can
 * read; a source that hangs is cancelled by its queryTimeout, and by deleting its mart, on the
 * PostgreSQL server too (pg_stat_activity), while another namespace's mart refreshes meanwhile.
 */
class JdbcSourceHostileIT {

  static final String NS_A = "jdbc-a";
  static final String NS_B = "jdbc-b";
  static final String DB = "jdbc_it";
  static final String PLANTED = "Url-Pa55word-9f3k2";
  static OperatorHarness harness;
  static ClickHouseServer ch;
  static PostgresServer pg;

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start();
    ch = harness.clickhouse();
    ch.sql("DROP DATABASE IF EXISTS " + DB);
    pg = new PostgresServer().start();
    pg.sql("DROP TABLE IF EXISTS jdbc_it_src; CREATE TABLE jdbc_it_src (id int);"
        + " INSERT INTO jdbc_it_src SELECT g FROM generate_series(1, 1000) g");
    for (String ns : List.of(NS_A, NS_B)) {
      harness.namespace(ns);
      harness.readyConnection(ns, "ch");
      harness.secret(ns, "pg", Map.of("username", PostgresServer.USER, "password", PostgresServer.PASSWORD));
    }
  }

  @AfterAll
  static void stop() {
    harness.close();
    pg.close();
  }

  static ReportMart mart(String ns, String name, String table, String url, String query, String queryTimeout) {
    return mart(ns, name, table, url, query, queryTimeout, "pg");
  }

  static ReportMart mart(String ns, String name, String table, String url, String query, String queryTimeout,
      String secret) {
    ReportMart m = new ReportMart();
    m.setMetadata(new ObjectMetaBuilder().withNamespace(ns).withName(name).build());
    ReportMartSpec s = new ReportMartSpec();
    s.connectionRef = new ConnectionRef("ch");
    s.database = DB;
    s.table = table;
    s.columns = List.of(new ReportMartSpec.Column("id", "Int32"));
    s.orderBy = "id";
    s.source = new ReportMartSpec.Source();
    s.source.jdbc = new ReportMartSpec.JdbcSource();
    s.source.jdbc.url = url;
    s.source.jdbc.credentialsSecret = secret;
    s.source.jdbc.query = query;
    s.source.jdbc.queryTimeout = queryTimeout;
    m.setSpec(s);
    return harness.client().resource(m).create();
  }

  static ReportMart get(String ns, String name) {
    return harness.client().resources(ReportMart.class).inNamespace(ns).withName(name).get();
  }

  static ReportMart await(String ns, String name, Predicate<ReportMartStatus> condition) {
    try {
      return Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
          .until(() -> get(ns, name), m -> m != null && m.getStatus() != null && condition.test(m.getStatus()));
    } catch (ConditionTimeoutException e) {
      ReportMart now = get(ns, name);
      throw new AssertionError("timed out; status " + (now == null ? "(gone)" : Serialization.asJson(now.getStatus())),
          e);
    }
  }

  static String ready(ReportMartStatus s, boolean message) {
    return Conditions.find(s.getConditions(), Conditions.READY).map(c -> message ? c.getMessage() : c.getReason())
        .orElse(null);
  }

  /** The PostgreSQL backends running a query that contains {@code marker}, other than the one asking. */
  static int backends(String marker) {
    try (Connection c = pg.connect(); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            + " AND query LIKE '%" + marker + "%'")) {
      rs.next();
      return rs.getInt(1);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Waits until {@code test} holds; answers how long that took. */
  static Duration until(Duration limit, java.util.concurrent.Callable<Boolean> test) {
    long t0 = System.nanoTime();
    Awaitility.await().atMost(limit).pollInterval(Duration.ofMillis(50)).until(test);
    return Duration.ofNanos(System.nanoTime() - t0);
  }

  @Test
  void aUrlWithDangerousParametersIsRefusedAndItsPasswordIsNeverShown() {
    String url = pg.jdbcUrl() + "?sslmode=disable&password=" + PLANTED
        + "&sslfactory=org.postgresql.ssl.NonValidatingFactory"
        + "&socketFactory=org.springframework.context.support.ClassPathXmlApplicationContext"
        + "&socketFactoryArg=http://127.0.0.1:9/x.xml&loggerFile=/tmp/hk-pg.log&user=postgres";
    mart(NS_A, "bad-url", "bad_url", url, "SELECT id FROM jdbc_it_src", null);
    ReportMart m = await(NS_A, "bad-url", s -> "ValidationError".equals(ready(s, false)));
    String message = ready(m.getStatus(), true);
    for (String p : List.of("password", "sslfactory", "socketFactory", "socketFactoryArg", "loggerFile", "user")) {
      assertThat(message).contains("parameter " + p + " is not allowed");
    }
    List<Event> events = Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> harness.events(m), e -> e.stream().anyMatch(x -> "ValidationError".equals(x.getReason())));
    String everything = Serialization.asJson(get(NS_A, "bad-url").getStatus()) + Serialization.asJson(events);
    assertThat(everything).doesNotContain(PLANTED).doesNotContain("ClassPathXmlApplicationContext")
        .doesNotContain("/tmp/hk-pg.log");
    // nothing ran: no table, and the logger file the URL named was never written
    assertEquals("0", ch.sql("SELECT count() FROM system.tables WHERE database = '" + DB + "' AND name LIKE 'bad_url%'")
        .strip());
    assertThat(java.nio.file.Path.of("/tmp/hk-pg.log")).doesNotExist();
  }

  @Test
  void aRefusedLoginNamesTheSecretNotItsValuesAndTheUrlWithoutItsQueryString() {
    String wrong = "Wrong-Pa55-7hq2";
    harness.secret(NS_A, "pg-wrong", Map.of("username", PostgresServer.USER, "password", wrong));
    mart(NS_A, "wrong-login", "wrong_login", pg.jdbcUrl() + "?sslmode=disable&ApplicationName=tenant-a",
        "SELECT id FROM jdbc_it_src", null, "pg-wrong");
    ReportMart m = await(NS_A, "wrong-login", s -> s.phase == ReportMartStatus.Phase.Failed);
    assertEquals("SourceConnectFailed", ready(m.getStatus(), false));
    String error = m.getStatus().lastRefresh.error;
    assertThat(error).contains("connecting to " + pg.jdbcUrl() + " failed")
        .contains("(the user of Secret pg-wrong, key username)").doesNotContain("\"" + PostgresServer.USER + "\"")
        .doesNotContain("sslmode").doesNotContain("tenant-a");
    List<Event> events = Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> harness.events(m), e -> e.stream().anyMatch(x -> "SourceConnectFailed".equals(x.getReason())));
    String everything = Serialization.asJson(get(NS_A, "wrong-login").getStatus()) + Serialization.asJson(events);
    assertThat(everything).doesNotContain(wrong).doesNotContain("user \"" + PostgresServer.USER + "\"")
        .doesNotContain("sslmode=");
  }

  @Test
  void aSourceThatHangsIsCancelledByItsQueryTimeout() {
    String marker = "pg_sleep(600.1)";
    mart(NS_A, "hangs-timeout", "hangs_timeout", pg.jdbcUrl(), "SELECT 1 AS id FROM " + marker, "3s");
    Duration appeared = until(Duration.ofSeconds(60), () -> backends(marker) == 1);
    Duration gone = until(Duration.ofSeconds(30), () -> backends(marker) == 0);
    ReportMart m = await(NS_A, "hangs-timeout", s -> s.phase == ReportMartStatus.Phase.Failed);
    assertEquals("TimedOut", ready(m.getStatus(), false));
    assertThat(m.getStatus().lastRefresh.outcome).isEqualTo("Failed");
    assertThat(m.getStatus().lastRefresh.error).contains("spec.source.jdbc.queryTimeout (3s)")
        .contains("cancelled on the source server");
    assertThat(harness.events(m)).anyMatch(e -> "TimedOut".equals(e.getReason()) && "Warning".equals(e.getType()));
    // the half-built staging table went with it
    until(Duration.ofSeconds(10), () -> "0".equals(ch.sql("SELECT count() FROM system.tables WHERE database = '"
        + DB + "' AND name LIKE 'hangs_timeout%'").strip()));
    System.out.println("[jdbc-timeout] backend seen after " + appeared.toMillis() + " ms; gone "
        + gone.toMillis() + " ms later (queryTimeout 3s)");
    assertThat(gone).isLessThan(Duration.ofSeconds(8));
  }

  @Test
  void deletingAMartCancelsItsHangingSourceWhileAnotherNamespaceRefreshes() {
    String marker = "pg_sleep(600.2)";
    ReportMart hanging = mart(NS_A, "hangs-delete", "hangs_delete", pg.jdbcUrl(), "SELECT 2 AS id FROM " + marker,
        "10m");
    until(Duration.ofSeconds(60), () -> backends(marker) == 1);
    await(NS_A, "hangs-delete", s -> s.phase == ReportMartStatus.Phase.Refreshing);

    // meanwhile another tenant's mart is built from the same server
    mart(NS_B, "works", "works", pg.jdbcUrl() + "?ApplicationName=reports&sslmode=disable",
        "SELECT id FROM jdbc_it_src", null);
    ReportMart works = await(NS_B, "works", s -> s.phase == ReportMartStatus.Phase.Ready);
    assertEquals(1000L, works.getStatus().lastRefresh.rowsWritten);
    assertEquals("1000\t500500", ch.sql("SELECT count(), sum(id) FROM " + DB + ".works").strip());
    assertEquals(1, backends(marker), "the hanging source still runs: the other mart did not wait for it");

    harness.client().resource(hanging).delete();
    Duration gone = until(Duration.ofSeconds(10), () -> backends(marker) == 0);
    until(Duration.ofSeconds(10), () -> get(NS_A, "hangs-delete") == null);
    assertThat(harness.events(hanging)).anyMatch(e -> "RefreshCancelled".equals(e.getReason()));
    until(Duration.ofSeconds(10), () -> "0".equals(ch.sql("SELECT count() FROM system.tables WHERE database = '"
        + DB + "' AND name LIKE 'hangs_delete%'").strip()));
    System.out.println("[jdbc-delete] backend gone " + gone.toMillis() + " ms after the delete");
  }
}
