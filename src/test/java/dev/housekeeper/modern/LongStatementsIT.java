package dev.housekeeper.modern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TcpProxy;
import dev.housekeeper.testing.TempDirs;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Long statements on connections whose {@code queryTimeout} is 2 s, on ClickHouse 18.16 and 26.7:
 * a backup and a restore that move 30 MB through a proxy throttled to 2 MB/s, a mart whose source
 * query sleeps a second per row for 16 rows, an OPTIMIZE FINAL that merges 36 million uniqExact
 * elements, and a migration statement that sleeps 16 s. Each one outlives the connection's
 * timeout many times over, none is killed (no failed attempt, no exception in the query log), and
 * the resource's status says it is running while the server runs its statement.
 */
class LongStatementsIT {

  static final String NS = "long-it";
  static final String QUERY_TIMEOUT = "2s";
  /** 2 MB/s a connection: 30 MB of a table's data take 15 s. */
  static final long THROTTLE = 2_000_000;
  static final long EVENT_ROWS = 700_000;
  static OperatorHarness harness;
  static Path volume;
  static final List<TcpProxy> proxies = new ArrayList<>();
  static final List<String> REPORT = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** A server under test: its SQL, its HTTP port, the database the tests use, whether it keeps a query log. */
  enum Server {
    V18_16(sql -> ClickHouseServer.shared().sql(sql), () -> ClickHouseServer.shared().httpPort(), "Ordinary", true),
    /** chDB's server spools an INSERT's body to a file before the statement starts: it shows no running INSERT. */
    V26_7(sql -> ChdbServer.shared().sql(sql), () -> ChdbServer.shared().httpPort(), "Atomic", false);

    final Function<String, String> sql;
    final java.util.function.IntSupplier port;
    final String databaseEngine;
    /** A real server: a query log, and an INSERT listed in system.processes while its data arrives. */
    final boolean real;

    Server(Function<String, String> sql, java.util.function.IntSupplier port, String databaseEngine, boolean real) {
      this.sql = sql;
      this.port = port;
      this.databaseEngine = databaseEngine;
      this.real = real;
    }

    String sql(String statement) {
      return sql.apply(statement);
    }

    long sqlLong(String statement) {
      return Long.parseLong(sql(statement).trim());
    }

    String id() {
      return name().toLowerCase().replace('_', '-');
    }

    /** The database every test of this server uses. */
    String db() {
      return "longrun_" + name().toLowerCase();
    }

    /** The connection straight to the server. */
    String direct() {
      return "direct-" + id();
    }

    /** The connection through the throttled proxy. */
    String slow() {
      return "slow-" + id();
    }
  }

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start();
    harness.namespace(NS);
    volume = Files.createTempDirectory("hk-long-");
    for (Server server : Server.values()) {
      server.sql("DROP DATABASE IF EXISTS " + server.db());
      server.sql("CREATE DATABASE " + server.db() + " ENGINE = " + server.databaseEngine);
      // one partition, so that a backup reads and a restore loads it as one stream through the proxy
      server.sql("CREATE TABLE " + server.db() + ".events (d Date, id UInt64, v String) ENGINE = MergeTree"
          + " PARTITION BY toYYYYMM(d) ORDER BY id");
      server.sql("INSERT INTO " + server.db() + ".events SELECT toDate('2024-03-01'), number,"
          + " concat(hex(cityHash64(number)), hex(cityHash64(number + 1))) FROM numbers(" + EVENT_ROWS + ")");
      TcpProxy proxy = new TcpProxy(server.port.getAsInt()).start();
      proxy.throttle(THROTTLE);
      proxies.add(proxy);
      harness.readyConnection(NS, server.direct(), List.of("http://127.0.0.1:" + server.port.getAsInt()), spec -> {
        spec.setQueryTimeout(QUERY_TIMEOUT);
        spec.setDatabase(server.db());
      });
      harness.readyConnection(NS, server.slow(), List.of(proxy.url()), spec -> {
        spec.setQueryTimeout(QUERY_TIMEOUT);
        spec.setDatabase(server.db());
      });
    }
  }

  @AfterAll
  static void stop() {
    System.out.printf("%nlong statements, connection queryTimeout %s, each completed in one attempt:%n  %s%n",
        QUERY_TIMEOUT, String.join("\n  ", REPORT));
    proxies.forEach(TcpProxy::close);
    harness.close();
    TempDirs.delete(volume);
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void aBackupAndItsRestoreMoveThirtyMegabytesAtTwoPerSecond(Server server) {
    String backupName = "backup-" + server.id();
    ClickHouseBackupSpec spec = Specs.backupSpec(Specs.volume(volume.resolve(server.id())), server.db());
    spec.connectionRef = new ConnectionRef(server.slow());
    spec.method = ClickHouseBackupSpec.LOGICAL;
    spec.scope.tables = new ArrayList<>(List.of("events"));
    harness.client().resource(Specs.backup(NS, backupName, spec)).create();

    // the resource says it runs while the server sends the table's data
    awaitWhileRunning(server, "%FROM `" + server.db() + "`.`events`%", ClickHouseBackup.class, backupName,
        b -> b.getStatus().running != null && Conditions.isTrue(b.getStatus().getConditions(), "Progressing"));
    ClickHouseBackup done = awaitStatus(ClickHouseBackup.class, backupName, b -> b.getStatus().lastSuccessful != null);
    var record = done.getStatus().lastSuccessful;
    assertEquals(EVENT_ROWS, record.rows);
    assertThat(seconds(record.startTime, record.endTime)).as("the read outlived queryTimeout (2s)")
        .isGreaterThanOrEqualTo(10);
    assertThat(done.getStatus().backups).as("one attempt, not killed and retried")
        .allMatch(r -> "Complete".equals(r.outcome));
    assertNull(done.getStatus().consecutiveFailures);
    assertEquals("12h", done.getStatus().statementTimeout);

    String restoreName = "restore-" + server.id();
    String target = server.db() + "_restored";
    server.sql("DROP DATABASE IF EXISTS " + target);
    ClickHouseRestore restore = Specs.restore(NS, restoreName, backupName, target);
    restore.getSpec().connectionRef = new ConnectionRef(server.slow());
    restore.getSpec().statementTimeout = "1h";
    harness.client().resource(restore).create();
    awaitWhileRunning(server, server.real ? "INSERT INTO `" + target + "`%" : null, ClickHouseRestore.class, restoreName,
        r -> r.getStatus().phase == ClickHouseRestoreStatus.Phase.Running);
    ClickHouseRestore restored = awaitStatus(ClickHouseRestore.class, restoreName,
        r -> r.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded);
    assertEquals(EVENT_ROWS, restored.getStatus().rows);
    assertThat(seconds(restored.getStatus().startTime, restored.getStatus().endTime))
        .as("the load outlived queryTimeout (2s)").isGreaterThanOrEqualTo(10);
    assertNull(restored.getStatus().consecutiveFailures, "one attempt");
    assertEquals("1h", restored.getStatus().statementTimeout);
    assertEquals(hash(server, server.db() + ".events"), hash(server, target + ".events"));
    assertNoFailedStatement(server, "%`" + server.db() + "`.`events`%");
    assertNoFailedStatement(server, "%`" + target + "`%");
    REPORT.add(server + ": logical backup of " + EVENT_ROWS + " rows through 2 MB/s " + seconds(record.startTime,
        record.endTime) + " s, its restore " + seconds(restored.getStatus().startTime, restored.getStatus().endTime)
        + " s");
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void aMartWhoseSourceQueryTakesSixteenSeconds(Server server) {
    String name = "mart-" + server.id();
    ReportMartSpec spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef(server.direct());
    spec.database = server.db();
    spec.table = "slow_mart";
    spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("day", "Date"),
        new ReportMartSpec.Column("n", "UInt64")));
    spec.orderBy = "day";
    spec.source = new ReportMartSpec.Source();
    spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
    // a second per row, one row a block: 16 s before the first row reaches the mart's table
    spec.source.clickhouse.query = "SELECT toDate('2024-01-01') + number, number FROM numbers(16)"
        + " WHERE sleepEachRow(1) = 0 SETTINGS max_block_size = 1";
    ReportMart mart = new ReportMart();
    mart.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    mart.setSpec(spec);
    harness.client().resource(mart).create();

    awaitWhileRunning(server, "%sleepEachRow(1)%", ReportMart.class, name,
        m -> m.getStatus().phase == ReportMartStatus.Phase.Refreshing);
    ReportMart done = awaitStatus(ReportMart.class, name, m -> m.getStatus().lastRefresh != null
        && m.getStatus().phase != ReportMartStatus.Phase.Refreshing);
    assertEquals("Succeeded", done.getStatus().lastRefresh.outcome, () -> Serialization.asJson(done.getStatus()));
    assertEquals(16L, done.getStatus().lastRefresh.rowsWritten);
    assertThat(done.getStatus().lastRefresh.durationMillis).isGreaterThanOrEqualTo(15_000L);
    assertEquals("6h", done.getStatus().statementTimeout);
    assertEquals(16, server.sqlLong("SELECT count() FROM " + server.db() + ".slow_mart"));
    assertEquals(120, server.sqlLong("SELECT sum(n) FROM " + server.db() + ".slow_mart"));
    assertNoFailedStatement(server, "%sleepEachRow(1)%");
    REPORT.add(server + ": mart refresh " + done.getStatus().lastRefresh.durationMillis + " ms");
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void anOptimizeFinalThatMergesThirtySixMillionSetElements(Server server) {
    String table = server.db() + ".rollup";
    server.sql("CREATE TABLE " + table + " (d Date, k UInt32, u AggregateFunction(uniqExact, UInt64))"
        // no background merge takes the parts first (OPTIMIZE FINAL is not bound by this limit)
        + " ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(d) ORDER BY k"
        + " SETTINGS max_bytes_to_merge_at_max_space_in_pool = 1");
    for (int part = 0; part < 6; part++) {
      server.sql("INSERT INTO " + table + " SELECT toDate('2024-01-01'), number % 100 AS k, uniqExactState(number * 6 + "
          + part + ") FROM numbers(6000000) GROUP BY k");
    }
    String name = "optimize-" + server.id();
    var spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef(server.direct()));
    spec.setDatabase(server.db());
    var tables = new RetentionPolicySpec.TableSelector();
    tables.setNames(new ArrayList<>(List.of("rollup")));
    spec.setTables(tables);
    spec.setKeep("100y");
    spec.setOptimize(new RetentionPolicySpec.Optimize());
    var policy = new RetentionPolicy();
    policy.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS)
        .withAnnotations(Map.of(RetentionPolicy.OPTIMIZE_NOW_ANNOTATION, "now")).build());
    policy.setSpec(spec);
    harness.client().resource(policy).create();

    awaitWhileRunning(server, "OPTIMIZE TABLE%rollup%", RetentionPolicy.class, name,
        p -> Conditions.find(p.getStatus().getConditions(), "Progressing").map(c -> "True".equals(c.getStatus())
            && c.getMessage().contains("OPTIMIZE")).orElse(false));
    RetentionPolicy done = awaitStatus(RetentionPolicy.class, name, p -> p.getStatus().lastOptimize != null);
    assertThat(done.getStatus().lastOptimize.errors).isEmpty();
    assertEquals(6, done.getStatus().lastOptimize.partitions.get(0).partsBefore);
    assertEquals(1, done.getStatus().lastOptimize.partitions.get(0).partsAfter);
    assertEquals(1, server.sqlLong("SELECT count() FROM system.parts WHERE database = '" + server.db()
        + "' AND table = 'rollup' AND active"));
    assertEquals(36_000_000, server.sqlLong("SELECT uniqExactMerge(u) FROM " + table));
    assertNoFailedStatement(server, "OPTIMIZE TABLE%rollup%");
    long seconds = seconds(done.getStatus().lastOptimize.startTime, done.getStatus().lastOptimize.endTime);
    if (server.real) {
      long millis = server.sqlLong("SELECT max(query_duration_ms) FROM system.query_log WHERE type = 2 AND query LIKE"
          + " 'OPTIMIZE TABLE%rollup%'");
      assertThat(millis).as("the merge outlived queryTimeout (2s)").isGreaterThan(2_000);
      REPORT.add(server + ": OPTIMIZE FINAL " + millis + " ms (query log)");
    } else {
      assertThat(seconds).as("the merge outlived queryTimeout (2s)").isGreaterThan(2);
      REPORT.add(server + ": OPTIMIZE FINAL " + seconds + " s (status)");
    }
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void aMigrationStatementOfSixteenSeconds(Server server) {
    String name = "migration-" + server.id();
    String db = server.db() + "_mig";
    server.sql("DROP DATABASE IF EXISTS " + db);
    server.sql("CREATE DATABASE " + db + " ENGINE = " + server.databaseEngine);
    ClickHouseMigration m = Specs.migration(NS, name, db,
        new Migration(1, "table", "CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x", null),
        new Migration(2, "slow", "INSERT INTO t SELECT number FROM numbers(16) WHERE sleepEachRow(1) = 0"
            + " SETTINGS max_block_size = 1", null));
    m.getSpec().getConnectionRef().setName(server.direct());
    harness.client().resource(m).create();

    awaitWhileRunning(server, "INSERT INTO t SELECT%sleepEachRow(1)%", ClickHouseMigration.class, name,
        x -> x.getStatus().getPhase() == ClickHouseMigrationStatus.Phase.Progressing);
    ClickHouseMigration done = awaitStatus(ClickHouseMigration.class, name,
        x -> Long.valueOf(2).equals(x.getStatus().getCurrentVersion()));
    assertEquals(ClickHouseMigrationStatus.Phase.Ready, done.getStatus().getPhase());
    assertEquals("5m", done.getStatus().getStatementTimeout(), "the CRD's default, 300s");
    assertThat(done.getStatus().getApplied().stream().filter(a -> a.getVersion() == 2).findFirst().orElseThrow()
        .getDurationMillis()).isGreaterThanOrEqualTo(15_000L);
    assertEquals(16, server.sqlLong("SELECT count() FROM " + db + ".t"), "the statement ran once, to its end");
    assertEquals(1, server.sqlLong("SELECT count() FROM " + db + ".housekeeper_migrations WHERE version = 2"
        + " AND event = 'statement_started'"));
    assertNoFailedStatement(server, "INSERT INTO t SELECT%sleepEachRow(1)%");
    REPORT.add(server + ": migration statement " + done.getStatus().getApplied().stream()
        .filter(a -> a.getVersion() == 2).findFirst().orElseThrow().getDurationMillis() + " ms");
  }

  // ---- helpers

  /**
   * Waits until the server runs a statement like {@code like} (null: one the server does not list
   * yet) and, at the same time, the resource's status passes {@code running}.
   */
  static <T extends HasMetadata> void awaitWhileRunning(Server server, String like, Class<T> kind, String name,
      Predicate<T> running) {
    String processes = like == null ? "SELECT 1" : "SELECT count() FROM system.processes WHERE query LIKE '"
        + like.replace("'", "\\'") + "' AND query NOT LIKE '%processes%'"; // chDB's server rewrites "system.processes"
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
          .until(() -> {
            T r = get(kind, name);
            return r != null && r.getMetadata() != null && server.sqlLong(processes) > 0
                && statusOf(r) != null && running.test(r) && server.sqlLong(processes) > 0;
          });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("no moment when " + server + " ran " + like + " and " + kind.getSimpleName() + " "
          + name + " said it was running; now " + Serialization.asJson(get(kind, name)), e);
    }
  }

  /** No execution of a statement like {@code like} ended in an exception (18.16 keeps a query log; chDB has none). */
  static void assertNoFailedStatement(Server server, String like) {
    if (!server.real) {
      return;
    }
    server.sql("SYSTEM FLUSH LOGS");
    assertEquals("", server.sql("SELECT query_id, exception FROM system.query_log WHERE type > 2 AND query LIKE '"
        + like.replace("'", "\\'") + "' AND query NOT LIKE '%query_log%'").trim(),
        "a statement was killed or failed");
  }

  static Object statusOf(HasMetadata r) {
    try {
      return r.getClass().getMethod("getStatus").invoke(r);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  static <T extends HasMetadata> T get(Class<T> kind, String name) {
    return harness.client().resources(kind).inNamespace(NS).withName(name).get();
  }

  static <T extends HasMetadata> T awaitStatus(Class<T> kind, String name, Predicate<T> condition) {
    try {
      return await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250))
          .until(() -> get(kind, name), r -> r != null && statusOf(r) != null && condition.test(r));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("timed out on " + kind.getSimpleName() + " " + name + "; now "
          + Serialization.asJson(get(kind, name)), e);
    }
  }

  static long seconds(String start, String end) {
    return Duration.between(Instant.parse(start), Instant.parse(end)).toSeconds();
  }

  static String hash(Server server, String table) {
    return server.sql("SELECT count(), sum(cityHash64(d, id, v)) FROM " + table);
  }
}
