package dev.housekeeper.mart;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.api.mart.ReportMartStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectedReconciler;
import dev.housekeeper.testing.FakeClickHouseClient;
import dev.housekeeper.testing.ReconcilerHarness;
import dev.housekeeper.testing.TransitionTest;
import dev.housekeeper.testing.Specs;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the mart reconciler decides, pass by pass, against a scripted ClickHouse 26.7 that keeps a
 * small catalogue (which tables exist) so that the swap can be followed. The SQL itself is proven
 * against real servers in ReportMartIT, MartSqlOnChdbIT and ClusterIT.
 */
class MartTransitionsTest extends TransitionTest {

  static final String QUERY = "SELECT day, count() FROM shop.sales WHERE day >= {window_start} AND day < {window_end}"
      + " GROUP BY day";
  static final String MART = "`reports`.`daily`";
  static final String STAGING = "`reports`.`daily_hk_staging`";

  ReportMartReconciler reconciler;
  /** The tables the fake server holds (quoted database.table). */
  final Set<String> tables = ConcurrentHashMap.newKeySet();

  @BeforeEach
  void newReconciler() {
    reconciler = new ReportMartReconciler(harness.services(), Map.of());
  }

  ReportMart mart(Consumer<ReportMartSpec> more) {
    ReportMartSpec spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef(Specs.CONNECTION);
    spec.database = "reports";
    spec.table = "daily";
    spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("day", "Date"),
        new ReportMartSpec.Column("n", "UInt64")));
    spec.partitionBy = "toYYYYMM(day)";
    spec.orderBy = "day";
    spec.source = new ReportMartSpec.Source();
    spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
    spec.source.clickhouse.query = QUERY;
    more.accept(spec);
    ReportMart mart = new ReportMart();
    mart.setMetadata(Specs.meta(ns, "daily"));
    mart.setSpec(spec);
    return harness.create(mart);
  }

  /** A Ready connection to a 26.7 server with an Atomic database; each build has {@code rows} rows. */
  void server(long rows) {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    tables.clear();
    clickhouse.answerWith("^EXISTS TABLE", sql -> List.of(Map.of("result",
        tables.stream().anyMatch(sql::endsWith) ? 1 : 0)));
    clickhouse.accept("^CREATE DATABASE IF NOT EXISTS `reports`$");
    clickhouse.accept("^DROP TABLE IF EXISTS");
    clickhouse.accept("^CREATE TABLE");
    clickhouse.accept("^INSERT INTO");
    clickhouse.answer("^SELECT count\\(\\) AS n FROM", List.of(Map.of("n", rows)));
    clickhouse.answer("FROM system.databases", List.of(Map.of("engine", "Atomic")));
    clickhouse.answerWith("^RENAME TABLE", sql -> {
      tables.add(MART);
      return List.of();
    });
    clickhouse.accept("^EXCHANGE TABLES");
  }

  static String ready(ReportMartStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).map(c -> c.getStatus() + "/" + c.getReason())
        .orElse("none");
  }

  static String readyMessage(ReportMartStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).orElseThrow().getMessage();
  }

  void annotate(ReportMart mart, String annotation, String value) {
    ReportMart current = harness.get(mart);
    current.getMetadata().setAnnotations(Map.of(annotation, value));
    harness.client().resource(current).update();
  }

  /** A first build that succeeded, as the starting point of later transitions. */
  ReportMart built(Consumer<ReportMartSpec> more) {
    server(3);
    ReportMart mart = mart(more);
    harness.reconcile(reconciler, mart);
    harness.finishWork(reconciler, mart);
    assertThat(harness.status(mart).phase).isEqualTo(Phase.Ready);
    return mart;
  }

  @Test
  void invalidSpecNeverTouchesClickHouse() {
    server(3);
    ReportMart mart = mart(spec -> spec.orderBy = null);
    var control = harness.reconcile(reconciler, mart);
    ReportMartStatus status = harness.status(mart);
    assertThat(status.phase).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/ValidationError");
    assertThat(readyMessage(status)).contains("spec.orderBy is required");
    assertThat(ReconcilerHarness.requeue(control)).isEmpty();
    assertThat(clickhouse.sent()).isEmpty();
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("ValidationError"));
  }

  @Test
  void missingConnectionWaitsWithoutRefreshing() {
    ReportMart mart = mart(spec -> { });
    var control = harness.reconcile(reconciler, mart);
    ReportMartStatus status = harness.status(mart);
    assertThat(status.phase).isEqualTo(Phase.Pending);
    assertThat(ready(status)).isEqualTo("False/ConnectionNotFound");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(15));
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void pendingToRefreshingToReady() {
    server(3);
    ReportMart mart = mart(spec -> { });
    harness.reconcile(reconciler, mart);
    ReportMartStatus refreshing = harness.status(mart);
    assertThat(refreshing.phase).isEqualTo(Phase.Refreshing);
    assertThat(refreshing.table).isEqualTo("reports.daily");
    assertThat(refreshing.statementTimeout).isEqualTo("6h");
    assertThat(ready(refreshing)).isEqualTo("False/Refreshing");

    harness.finishWork(reconciler, mart);
    ReportMartStatus done = harness.status(mart);
    assertThat(done.phase).isEqualTo(Phase.Ready);
    assertThat(ready(done)).isEqualTo("True/Refreshed");
    assertThat(done.lastRefresh.outcome).isEqualTo("Succeeded");
    assertThat(done.lastRefresh.mode).isEqualTo("full");
    assertThat(done.lastRefresh.why).isEqualTo("MartMissing: the table did not exist");
    assertThat(done.lastRefresh.swap).isEqualTo("rename");
    assertThat(done.lastRefresh.rowsWritten).isEqualTo(3);
    assertThat(done.lastSuccessfulRefreshTime).isEqualTo(done.lastRefresh.endTime);
    assertThat(done.schemaHash).isEqualTo(MartSql.schemaHash(harness.get(mart).getSpec()));
    assertThat(done.refreshes).isEqualTo(1);
    assertThat(clickhouse.sent("^CREATE TABLE")).containsExactly("CREATE TABLE " + STAGING
        + " (`day` Date, `n` UInt64) ENGINE = MergeTree() PARTITION BY toYYYYMM(day) ORDER BY day");
    assertThat(clickhouse.sent("^INSERT INTO")).containsExactly("INSERT INTO " + STAGING + " (`day`, `n`) SELECT day,"
        + " count() FROM shop.sales WHERE day >= toDate('1970-01-01') AND day < toDate('2100-01-01') GROUP BY day");
    assertThat(clickhouse.sent("^RENAME TABLE")).containsExactly("RENAME TABLE " + STAGING + " TO " + MART);
    assertThat(clickhouse.sent()).filteredOn(s -> s.sql().startsWith("SELECT count()"))
        .isNotEmpty().allMatch(FakeClickHouseClient.Sent::idempotent);
    assertThat(clickhouse.sent("^DROP TABLE IF EXISTS")).contains("DROP TABLE IF EXISTS " + STAGING,
        "DROP TABLE IF EXISTS `reports`.`daily_hk_old`");
    assertThat(harness.reasons()).containsSubsequence("RefreshStarted", "Refreshed");
    assertThat(harness.metrics().registry().counter("housekeeper_mart_rows_written", "namespace", ns).count())
        .isEqualTo(3.0);
  }

  @Test
  void transientFailureSchedulesRetryAndTheRetryRuns() {
    server(3);
    clickhouse.failNext("^INSERT INTO", 1, FakeClickHouseClient.failure(ClickHouseException.Kind.CONNECTION,
        "Connection refused"));
    ReportMart mart = mart(spec -> { });
    harness.reconcile(reconciler, mart);
    var control = harness.finishWork(reconciler, mart);
    ReportMartStatus failed = harness.status(mart);
    assertThat(failed.phase).isEqualTo(Phase.Failed);
    assertThat(ready(failed)).isEqualTo("False/ClickHouseError");
    assertThat(failed.retryTime).isEqualTo("2026-06-01T10:00:05Z");
    assertThat(failed.consecutiveFailures).isEqualTo(1);
    assertThat(readyMessage(failed)).contains("keeps its previous data")
        .contains("Retrying at 2026-06-01T10:00:05Z (attempt 2)");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMillis(5500));
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("ClickHouseError"));

    harness.clock().advance(Duration.ofSeconds(2));
    harness.reconcile(reconciler, mart);
    assertThat(harness.status(mart).phase).as("not yet due").isEqualTo(Phase.Failed);
    assertThat(clickhouse.sent("^INSERT INTO")).hasSize(1);

    harness.clock().advance(Duration.ofSeconds(3));
    harness.reconcile(reconciler, mart);
    assertThat(harness.status(mart).phase).isEqualTo(Phase.Refreshing);
    harness.finishWork(reconciler, mart);
    ReportMartStatus done = harness.status(mart);
    assertThat(done.phase).isEqualTo(Phase.Ready);
    assertThat(done.retryTime).isNull();
    assertThat(done.consecutiveFailures).isNull();
    assertThat(done.refreshes).isEqualTo(2);
    assertThat(clickhouse.sent("^INSERT INTO")).hasSize(2);
  }

  @Test
  void passingFailuresBackOffWithoutEnd() {
    server(3);
    clickhouse.fail("^INSERT INTO", FakeClickHouseClient.failure(ClickHouseException.Kind.CONNECTION, "refused"));
    ReportMart mart = mart(spec -> { });
    harness.reconcile(reconciler, mart);
    harness.finishWork(reconciler, mart);
    List<Long> waits = new ArrayList<>();
    for (int attempt = 1; attempt <= 4; attempt++) {
      ReportMartStatus status = harness.status(mart);
      assertThat(status.consecutiveFailures).isEqualTo(attempt);
      Instant retry = Instant.parse(status.retryTime);
      waits.add(Duration.between(harness.clock().instant(), retry).toSeconds());
      harness.clock().set(retry);
      harness.reconcile(reconciler, mart);
      harness.finishWork(reconciler, mart);
    }
    assertThat(waits).containsExactly(5L, 10L, 20L, 40L);
    assertThat(harness.status(mart).retryTime).as("a mart's source is tried again without end").isNotNull();
  }

  /** A mart whose first refresh failed for a lasting reason: its INSERT is refused as a syntax error. */
  ReportMart firstRefreshFailsOnASyntaxError() {
    server(3);
    clickhouse.fail("^INSERT INTO", FakeClickHouseClient.failure(ClickHouseException.Kind.SYNTAX,
        "Syntax error: failed at position 8"));
    ReportMart mart = mart(spec -> { });
    harness.reconcile(reconciler, mart);
    harness.finishWork(reconciler, mart);
    return mart;
  }

  @Test
  void lastingFailureWaitsForARequest() {
    ReportMart mart = firstRefreshFailsOnASyntaxError();
    ReportMartStatus failed = harness.status(mart);
    assertThat(ready(failed)).isEqualTo("False/SourceQueryFailed");
    assertThat(failed.lastRefresh.error).contains("Syntax error");
    assertThat(failed.retryTime).isNull();
    assertThat(failed.consecutiveFailures).isNull();

    harness.clock().advance(Duration.ofHours(1));
    var control = harness.reconcile(reconciler, mart);
    assertThat(ready(harness.status(mart))).isEqualTo("False/SourceQueryFailed");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMinutes(5));
    assertThat(clickhouse.sent("^INSERT INTO")).as("nothing runs again by itself").hasSize(1);

    annotate(mart, ReportMart.RUN_NOW_ANNOTATION, "fixed");
    harness.reconcile(reconciler, mart);
    ReportMartStatus again = harness.status(mart);
    assertThat(again.phase).isEqualTo(Phase.Refreshing);
    assertThat(again.acknowledgedRunNow).isEqualTo("fixed");
    harness.finishWork(reconciler, mart);
    assertThat(clickhouse.sent("^INSERT INTO")).hasSize(2);
  }

  @Test
  void aMartWhoseFirstRefreshFailedExportsItsCreationTimeAndNoLastSuccess() {
    ReportMart mart = firstRefreshFailsOnASyntaxError();
    assertThat(harness.status(mart).phase).isEqualTo(Phase.Failed);
    // what the chart's HousekeeperMartRefreshLate reads for a mart that never succeeded
    var registry = harness.metrics().registry();
    String created = harness.get(mart).getMetadata().getCreationTimestamp();
    assertThat(created).as("set by the API server").isNotBlank();
    assertThat(registry.find(HousekeeperMetrics.CREATED).tags("kind", "ReportMart", "namespace", ns, "name", "daily")
        .gauge().value()).isEqualTo(java.time.Instant.parse(created).getEpochSecond());
    assertThat(registry.find(HousekeeperMetrics.PHASE).tags("kind", "ReportMart", "namespace", ns, "name", "daily",
        "phase", "Failed").gauge().value()).isEqualTo(1.0);
    assertThat(registry.find(HousekeeperMetrics.LAST_SUCCESS).tags("kind", "ReportMart", "namespace", ns).gauge())
        .as("no success yet").isNull();
  }

  @Test
  void schemaChangeRebuildsFullyAndSwapsByExchange() {
    ReportMart mart = built(spec -> { });
    ReportMart changed = harness.get(mart);
    changed.getSpec().columns.add(new ReportMartSpec.Column("total", "Decimal(12, 2)"));
    harness.client().resource(changed).update();
    harness.reconcile(reconciler, mart);
    harness.finishWork(reconciler, mart);
    ReportMartStatus done = harness.status(mart);
    assertThat(done.lastRefresh.why).startsWith("SchemaChanged");
    assertThat(done.lastRefresh.swap).isEqualTo("exchange");
    assertThat(done.schemaHash).isEqualTo(MartSql.schemaHash(harness.get(mart).getSpec()));
    assertThat(clickhouse.sent("^EXCHANGE TABLES")).containsExactly("EXCHANGE TABLES " + STAGING + " AND " + MART);
    assertThat(clickhouse.sent("^CREATE TABLE")).last().asString().contains("`total` Decimal(12, 2)");
  }

  @Test
  void aSourceThatShrankIsRefused() {
    ReportMart mart = built(spec -> spec.refresh = new ReportMartSpec.Refresh());
    clickhouse.answer("^SELECT count\\(\\) AS n FROM " + STAGING, List.of(Map.of("n", 0)));
    annotate(mart, ReportMart.RUN_NOW_ANNOTATION, "1");
    harness.reconcile(reconciler, mart);
    harness.finishWork(reconciler, mart);
    ReportMartStatus status = harness.status(mart);
    assertThat(ready(status)).isEqualTo("False/EmptySourceResult");
    assertThat(status.retryTime).isNull();
    assertThat(clickhouse.sent("^RENAME TABLE|^EXCHANGE TABLES")).as("the mart is left as it was").hasSize(1);
  }

  @Test
  void scheduledRefreshRunsWhenItsTimeComes() {
    ReportMart mart = built(spec -> {
      spec.refresh = new ReportMartSpec.Refresh();
      spec.refresh.schedule = new ReportMartSpec.Schedule();
      spec.refresh.schedule.cron = "0 2 * * *";
    });
    var control = harness.reconcile(reconciler, mart);
    ReportMartStatus waiting = harness.status(mart);
    assertThat(waiting.nextRefreshTime).isEqualTo("2026-06-02T02:00:00Z");
    assertThat(readyMessage(waiting)).endsWith("next refresh at 2026-06-02T02:00:00Z.");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMinutes(5));

    harness.clock().set(Instant.parse("2026-06-02T02:00:01Z"));
    harness.reconcile(reconciler, mart);
    ReportMartStatus running = harness.status(mart);
    assertThat(running.phase).isEqualTo(Phase.Refreshing);
    assertThat(ready(running)).as("the built mart still serves").isEqualTo("True/Refreshing");
    assertThat(running.nextRefreshTime).isEqualTo("2026-06-03T02:00:00Z");
    harness.finishWork(reconciler, mart);
    assertThat(harness.status(mart).lastRefresh.why).isEqualTo("Scheduled");
  }

  @Test
  void incrementalRefreshReplacesOnlyTheWindowsPartitions() {
    ReportMart mart = built(spec -> {
      spec.refresh = new ReportMartSpec.Refresh();
      spec.refresh.mode = ReportMartSpec.Mode.incremental;
      spec.refresh.incremental = new ReportMartSpec.Incremental();
      spec.refresh.incremental.column = "day";
    });
    clickhouse.answer("WHERE NOT \\(|_partition_id = ", List.of(Map.of("n", 0)));
    clickhouse.answer("FROM system.parts", List.of(Map.of("partition_id", "202606")));
    clickhouse.answer("^SELECT DISTINCT _partition_id", List.of(Map.of("p", "202606"), Map.of("p", "202605")));
    clickhouse.accept("^ALTER TABLE");
    annotate(mart, ReportMart.RUN_NOW_ANNOTATION, "now");
    harness.reconcile(reconciler, mart);
    harness.finishWork(reconciler, mart);
    ReportMartStatus done = harness.status(mart);
    assertThat(done.lastRefresh.mode).isEqualTo("incremental");
    assertThat(done.lastRefresh.windowStart).isEqualTo("2026-06-01");
    assertThat(done.lastRefresh.partitionsReplaced).containsExactly("202606");
    assertThat(done.lastRefresh.partitionsDropped).containsExactly("202605");
    String window = "`day` >= toDate('2026-06-01') AND `day` < toDate('2026-07-01')";
    assertThat(clickhouse.sent("_partition_id")).contains("SELECT DISTINCT _partition_id AS p FROM " + MART
        + " WHERE " + window + " ORDER BY p");
    assertThat(clickhouse.sent("^ALTER TABLE")).containsExactly(
        "ALTER TABLE " + MART + " REPLACE PARTITION ID '202606' FROM " + STAGING,
        "ALTER TABLE " + MART + " DROP PARTITION ID '202605'");
  }

  @Test
  void restartDuringTheFirstBuildStartsItAgain() throws Exception {
    server(3);
    ReportMart mart = mart(spec -> { });
    harness.reconcile(reconciler, mart);
    assertThat(harness.status(mart).phase).isEqualTo(Phase.Refreshing);

    try (WorkExecutor pool = new WorkExecutor(1)) {
      var services = harness.services();
      var restarted = new ReportMartReconciler(new ConnectedReconciler.Services(services.resolver(), pool,
          services.statusWriter(), services.events(), services.metrics(), services.clock()), Map.of());
      harness.reconcile(restarted, mart);
      assertThat(harness.status(mart).phase).isEqualTo(Phase.Refreshing);
      pool.get(WorkExecutor.keyOf(mart)).orElseThrow().future().get(10, TimeUnit.SECONDS);
      harness.reconcile(restarted, mart);
    }
    ReportMartStatus done = harness.status(mart);
    assertThat(done.phase).isEqualTo(Phase.Ready);
    assertThat(done.refreshes).isEqualTo(1);
  }

  @Test
  void missingCredentialsWaitWithoutAcknowledgingTheRequest() {
    server(3);
    ReportMart mart = mart(spec -> {
      spec.source.clickhouse = null;
      spec.source.jdbc = new ReportMartSpec.JdbcSource();
      spec.source.jdbc.url = "jdbc:postgresql://pg:5432/shop";
      spec.source.jdbc.credentialsSecret = "pg-reader";
      spec.source.jdbc.query = QUERY;
    });
    annotate(mart, ReportMart.RUN_NOW_ANNOTATION, "go");
    var control = harness.reconcile(reconciler, mart);
    ReportMartStatus status = harness.status(mart);
    assertThat(status.phase).isEqualTo(Phase.Pending);
    assertThat(ready(status)).isEqualTo("False/SecretNotFound");
    assertThat(status.acknowledgedRunNow).isNull();
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(10));
    assertThat(clickhouse.sent()).extracting(FakeClickHouseClient.Sent::sql).containsOnly("EXISTS TABLE " + MART);
  }

  @Test
  void onClusterThroughAConnectionWithoutClusterIsRefused() {
    server(3);
    ReportMart mart = mart(spec -> {
      spec.onCluster = true;
      spec.engine = "ReplicatedMergeTree('/clickhouse/tables/all/reports/daily', '{replica}')";
    });
    harness.reconcile(reconciler, mart);
    ReportMartStatus status = harness.status(mart);
    assertThat(status.phase).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/ValidationError");
    assertThat(readyMessage(status)).contains("names no cluster");
    assertThat(clickhouse.sent("^CREATE")).isEmpty();
    assertThat(harness.work().get(WorkExecutor.keyOf(mart))).isEmpty();
  }
}
