package dev.housekeeper.retention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.api.retention.RetentionPolicyStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.testing.FakeClickHouseClient;
import dev.housekeeper.testing.ReconcilerHarness;
import dev.housekeeper.testing.TransitionTest;
import dev.housekeeper.testing.Specs;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the retention reconciler decides, pass by pass, against a scripted ClickHouse: a database
 * {@code shop} with a table {@code events} partitioned by month, two of whose partitions are older
 * than a keep of 6 months on the harness's day (2026-06-01). The SQL itself is proven against real
 * servers in RetentionPolicyIT, RetentionSqlOnChdbIT and ClusterIT.
 */
class RetentionTransitionsTest extends TransitionTest {

  RetentionPolicyReconciler reconciler;
  int saidBefore;

  @BeforeEach
  void newReconciler() {
    reconciler = new RetentionPolicyReconciler(harness.services());
    saidBefore = harness.said().size();
  }

  /** The Events this test's passes and runs sent (the harness is shared by the class). */
  List<ReconcilerHarness.Said> said() {
    List<ReconcilerHarness.Said> all = harness.said();
    return all.subList(saidBefore, all.size());
  }

  RetentionPolicy policy(Consumer<RetentionPolicySpec> more) {
    var spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef(Specs.CONNECTION));
    spec.setDatabase("shop");
    var tables = new RetentionPolicySpec.TableSelector();
    tables.setNames(new ArrayList<>(List.of("events")));
    spec.setTables(tables);
    spec.setKeep("6M");
    spec.setMaxPartitionsPerRun(30);
    more.accept(spec);
    var policy = new RetentionPolicy();
    policy.setMetadata(Specs.meta(ns, "events"));
    policy.setSpec(spec);
    return harness.create(policy);
  }

  RetentionPolicy runNow(RetentionPolicy policy, String token) {
    return annotate(policy, RetentionPolicy.RUN_NOW_ANNOTATION, token);
  }

  RetentionPolicy annotate(RetentionPolicy policy, String annotation, String token) {
    return harness.client().resource(harness.get(policy)).edit(p -> {
      p.getMetadata().setAnnotations(Map.of(annotation, token));
      return p;
    });
  }

  /** A server of {@code version} with shop.events: 202510 and 202511 older than 6 months, 202601 and 202605 kept. */
  void serverWithEvents(String version) {
    harness.readyConnection(ns, Specs.CONNECTION, version);
    clickhouse.answer("SELECT name, engine FROM system.tables", List.of(Map.of("name", "events",
        "engine", "MergeTree")));
    List<Map<String, ?>> partitions = new ArrayList<>();
    for (String[] p : new String[][] {{"202510", "2025-10-12"}, {"202511", "2025-11-12"}, {"202601", "2026-01-12"},
        {"202605", "2026-05-30"}}) {
      partitions.add(Map.of("table", "events", "partition_id", p[0], "rows", 100, "bytes", 1000, "uncompressed", 4000,
          "compressed", 1000, "parts", 3, "newest", p[1]));
    }
    clickhouse.answer("sum\\(rows\\) AS rows", partitions);
    clickhouse.accept("^ALTER TABLE `shop`.`events` DROP PARTITION ID");
  }

  /** Starts the run the policy asks for, waits for it and runs the pass that folds it; that pass's answer. */
  UpdateControl<RetentionPolicy> runToTheEnd(RetentionPolicy policy) {
    harness.reconcile(reconciler, policy);
    return harness.finishWork(reconciler, policy);
  }

  static String ready(RetentionPolicyStatus status) {
    return condition(status, Conditions.READY);
  }

  static String condition(RetentionPolicyStatus status, String type) {
    return Conditions.find(status.getConditions(), type).map(c -> c.getStatus() + "/" + c.getReason())
        .orElse("none");
  }

  static String readyMessage(RetentionPolicyStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).orElseThrow().getMessage();
  }

  ClickHouseException connectionRefused() {
    return FakeClickHouseClient.failure(ClickHouseException.Kind.CONNECTION, "Connection refused");
  }

  @Test
  void invalidSpecNeverTouchesClickHouse() {
    serverWithEvents("26.7.2.1");
    var policy = policy(spec -> {
      spec.setKeep("6 months");
      spec.getTables().setPattern("events; DROP TABLE x");
    });
    var control = harness.reconcile(reconciler, policy);
    RetentionPolicyStatus status = harness.status(policy);
    assertThat(status.phase).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/ValidationError");
    assertThat(condition(status, Conditions.DEGRADED)).isEqualTo("True/ValidationError");
    assertThat(readyMessage(status)).contains("spec.keep").contains("spec.tables.pattern")
        .endsWith("Nothing runs until it is fixed.");
    assertThat(ReconcilerHarness.requeue(control)).isEmpty();
    assertThat(clickhouse.sent()).isEmpty();
    assertThat(said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("ValidationError"));
  }

  @Test
  void missingConnectionWaitsAsPending() {
    var policy = policy(spec -> { });
    var control = harness.reconcile(reconciler, policy);
    RetentionPolicyStatus status = harness.status(policy);
    assertThat(status.phase).isEqualTo(Phase.Pending);
    assertThat(ready(status)).isEqualTo("False/ConnectionNotFound");
    assertThat(condition(status, Conditions.DEGRADED)).isEqualTo("False/None");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(15));
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void pendingToReadyWithAPreviewAndNothingChanged() {
    serverWithEvents("26.7.2.1");
    var policy = policy(spec -> { });
    var control = harness.reconcile(reconciler, policy);
    RetentionPolicyStatus status = harness.status(policy);
    assertThat(status.phase).isEqualTo(Phase.Ready);
    assertThat(ready(status)).isEqualTo("True/Ready");
    assertThat(readyMessage(status)).isEqualTo("Policy in force; next run on request (annotation "
        + RetentionPolicy.RUN_NOW_ANNOTATION + ").");
    assertThat(status.preview).singleElement().satisfies(p -> {
      assertThat(p.partitions).containsExactly("202510", "202511");
      assertThat(p.rows).isEqualTo(200);
      assertThat(p.reason).isNull();
    });
    assertThat(status.tables).singleElement().satisfies(t -> {
      assertThat(t.rows).isEqualTo(400);
      assertThat(t.activeParts).isEqualTo(12);
      assertThat(t.compressionRatio).isEqualTo("4.00");
      assertThat(t.oldestPartition).isEqualTo("202510");
    });
    assertThat(status.databaseBytes).isEqualTo(4000);
    assertThat(status.statementTimeout).isNotNull();
    assertThat(ReconcilerHarness.requeue(control)).contains(RetentionTiming.REFRESH);
    assertThat(clickhouse.sent()).allMatch(s -> s.method().equals("query") && s.sql().startsWith("SELECT"));
    assertThat(said()).isEmpty();
  }

  @Test
  void runNowToRunningToReadyDropsExactlyTheOldPartitions() {
    serverWithEvents("26.7.2.1");
    var policy = runNow(policy(spec -> { }), "r1");
    var control = harness.reconcile(reconciler, policy);
    RetentionPolicyStatus running = harness.status(policy);
    assertThat(running.phase).isEqualTo(Phase.Progressing);
    assertThat(condition(running, Conditions.PROGRESSING)).isEqualTo("True/Running");
    assertThat(readyMessage(running)).isEqualTo("retention run started");
    assertThat(running.acknowledgedRunNow).isEqualTo("r1");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(1));

    harness.finishWork(reconciler, policy);
    RetentionPolicyStatus done = harness.status(policy);
    assertThat(done.phase).isEqualTo(Phase.Ready);
    assertThat(ready(done)).isEqualTo("True/Ready");
    assertThat(done.lastRun.partitionsDropped).containsExactly("events/202510", "events/202511");
    assertThat(done.lastRun.rowsDeleted).isEqualTo(200);
    assertThat(done.lastRun.bytesFreed).isEqualTo(2000);
    assertThat(done.lastRun.cutoff).isEqualTo("2025-12-01");
    assertThat(done.consecutiveFailures).isNull();
    assertThat(clickhouse.sent("DROP PARTITION")).containsExactly(
        "ALTER TABLE `shop`.`events` DROP PARTITION ID '202510'",
        "ALTER TABLE `shop`.`events` DROP PARTITION ID '202511'");
    assertThat(said()).filteredOn(e -> e.reason().equals("PartitionsDropped")).singleElement()
        .satisfies(e -> assertThat(e.message()).isEqualTo("Dropped 2 partition(s) of 1 table(s) of shop (200 rows,"
            + " 2000 bytes, as of the plan): events/202510, events/202511"));
    var registry = harness.metrics().registry();
    assertThat(registry.find("housekeeper_retention_partitions_dropped").tag("namespace", ns).counter().count())
        .isEqualTo(2.0);
    assertThat(registry.find("housekeeper_retention_table_failures").tag("namespace", ns).counter().count())
        .as("registered at zero").isEqualTo(0.0);

    harness.reconcile(reconciler, policy);
    assertThat(clickhouse.sent("DROP PARTITION")).as("the same request runs once").hasSize(2);
  }

  @Test
  void dryRunReportsAndChangesNothing() {
    serverWithEvents("26.7.2.1");
    var policy = runNow(policy(spec -> spec.setDryRun(true)), "d1");
    runToTheEnd(policy);
    RetentionPolicyStatus done = harness.status(policy);
    assertThat(done.lastRun.dryRun).isTrue();
    assertThat(done.lastRun.tables).singleElement().satisfies(t ->
        assertThat(t.partitions).containsExactly("202510", "202511"));
    assertThat(done.lastRun.partitionsDroppedCount).isZero();
    assertThat(clickhouse.sent()).noneMatch(s -> s.method().equals("execute"));
    assertThat(harness.metrics().registry().find("housekeeper_actions").tag("action", "dryrun")
        .tag("namespace", ns).counter().count()).isEqualTo(1.0);
  }

  @Test
  void transientTableFailureSchedulesRetryAndTheRetryRuns() {
    serverWithEvents("26.7.2.1");
    clickhouse.failNext("DROP PARTITION", 1, connectionRefused());
    var policy = runNow(policy(spec -> { }), "r1");
    var control = runToTheEnd(policy);
    RetentionPolicyStatus failed = harness.status(policy);
    assertThat(failed.phase).isEqualTo(Phase.Degraded);
    assertThat(ready(failed)).as("the policy stays in force").isEqualTo("True/TableFailed");
    assertThat(condition(failed, Conditions.DEGRADED)).isEqualTo("True/TableFailed");
    assertThat(failed.lastRun.tables.get(0).retriable).isTrue();
    assertThat(failed.consecutiveFailures).isEqualTo(1);
    assertThat(failed.retryTime).isEqualTo("2026-06-01T10:00:15Z");
    assertThat(readyMessage(failed)).contains("events (last run): ").contains("Connection refused")
        .contains("the failed tables are tried again at 2026-06-01T10:00:15Z (retry 1 of 3)");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMillis(15_500));
    assertThat(said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("TableFailed"));

    harness.clock().advance(Duration.ofSeconds(10));
    harness.reconcile(reconciler, policy);
    assertThat(harness.status(policy).phase).as("not due yet").isEqualTo(Phase.Degraded);

    harness.clock().advance(Duration.ofSeconds(5));
    harness.reconcile(reconciler, policy);
    RetentionPolicyStatus retrying = harness.status(policy);
    assertThat(retrying.phase).isEqualTo(Phase.Progressing);
    assertThat(retrying.retryTime).isNull();
    harness.finishWork(reconciler, policy);
    RetentionPolicyStatus done = harness.status(policy);
    assertThat(done.phase).isEqualTo(Phase.Ready);
    assertThat(done.consecutiveFailures).isNull();
    assertThat(done.retryTime).isNull();
    assertThat(clickhouse.sent("DROP PARTITION")).hasSize(3);
  }

  @Test
  void retriesExhaustedStops() {
    serverWithEvents("26.7.2.1");
    clickhouse.fail("DROP PARTITION", connectionRefused());
    var policy = runNow(policy(spec -> { }), "r1");
    for (int attempt = 1; attempt <= 4; attempt++) {
      runToTheEnd(policy);
      RetentionPolicyStatus status = harness.status(policy);
      assertThat(status.consecutiveFailures).isEqualTo(attempt);
      if (attempt < 4) {
        harness.clock().set(Instant.parse(status.retryTime));
      }
    }
    RetentionPolicyStatus last = harness.status(policy);
    assertThat(last.retryTime).isNull();
    assertThat(last.phase).isEqualTo(Phase.Degraded);
    assertThat(readyMessage(last)).doesNotContain("tried again");
    harness.clock().advance(Duration.ofHours(1));
    harness.reconcile(reconciler, policy);
    assertThat(harness.work().get(WorkExecutor.keyOf(policy))).as("nothing started").isEmpty();
    assertThat(clickhouse.sent("DROP PARTITION")).hasSize(4);
  }

  @Test
  void wholeRunFailureIsRunFailedAndRetried() {
    serverWithEvents("26.7.2.1");
    clickhouse.failNext("SELECT name, engine FROM system.tables", 1, connectionRefused());
    var policy = runNow(policy(spec -> { }), "r1");
    var control = runToTheEnd(policy);
    RetentionPolicyStatus failed = harness.status(policy);
    assertThat(failed.phase).isEqualTo(Phase.Degraded);
    assertThat(ready(failed)).isEqualTo("False/RunFailed");
    assertThat(readyMessage(failed)).startsWith("The retention run failed: ").contains("Connection refused")
        .endsWith("; it runs again at 2026-06-01T10:00:15Z (retry 1 of 3).");
    assertThat(failed.consecutiveFailures).isEqualTo(1);
    assertThat(failed.retryTime).isEqualTo("2026-06-01T10:00:15Z");
    assertThat(failed.lastRun).isNull();
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(1));
    assertThat(harness.metrics().registry().find("housekeeper_actions").tag("action", "retention")
        .tag("outcome", "failure").tag("namespace", ns).counter().count()).isEqualTo(1.0);
    assertThat(said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("RunFailed"));

    assertThat(failed.lastFailedRun.kind).isEqualTo("retention");
    assertThat(failed.lastFailedRun.time).isEqualTo("2026-06-01T10:00:00Z");
    assertThat(failed.lastFailedRun.error).contains("Connection refused");

    // the next looks before the retry is due: the failed run stays the finding (it did not vanish
    // with the pass that reported it), the policy still in force
    harness.clock().advance(Duration.ofSeconds(5));
    harness.reconcile(reconciler, policy);
    RetentionPolicyStatus waiting = harness.status(policy);
    assertThat(waiting.phase).isEqualTo(Phase.Degraded);
    assertThat(ready(waiting)).isEqualTo("True/RunFailed");
    assertThat(condition(waiting, Conditions.DEGRADED)).isEqualTo("True/RunFailed");
    assertThat(readyMessage(waiting)).contains("the last retention run failed as a whole at 2026-06-01T10:00:00Z")
        .contains("Connection refused").contains("the run is tried again at 2026-06-01T10:00:15Z");
    harness.clock().advance(Duration.ofSeconds(5));
    harness.reconcile(reconciler, policy);
    assertThat(ready(harness.status(policy))).isEqualTo("True/RunFailed");

    // the retry succeeds: the failure is over
    harness.clock().advance(Duration.ofSeconds(6));
    runToTheEnd(policy);
    RetentionPolicyStatus recovered = harness.status(policy);
    assertThat(recovered.lastFailedRun).isNull();
    assertThat(recovered.lastRun).isNotNull();
    assertThat(recovered.phase).isEqualTo(Phase.Ready);
    assertThat(ready(recovered)).isEqualTo("True/Ready");
  }

  @Test
  void restartKeepsCountingTheRetriesFromStatus() {
    serverWithEvents("26.7.2.1");
    clickhouse.fail("DROP PARTITION", connectionRefused());
    var policy = policy(spec -> { });
    var status = new RetentionPolicyStatus();
    status.phase = Phase.Degraded;
    status.consecutiveFailures = 2;
    status.retryTime = "2026-06-01T09:59:50Z";
    policy.setStatus(status);
    harness.client().resource(policy).updateStatus();
    // a new operator process: the retry state is all it knows, from status
    var restarted = new RetentionPolicyReconciler(harness.services());
    harness.reconcile(restarted, policy);
    assertThat(harness.status(policy).phase).as("the due retry runs").isEqualTo(Phase.Progressing);
    harness.finishWork(restarted, policy);
    RetentionPolicyStatus after = harness.status(policy);
    assertThat(after.consecutiveFailures).isEqualTo(3);
    assertThat(after.retryTime).isEqualTo("2026-06-01T10:01:00Z");
    assertThat(readyMessage(after)).contains("(retry 3 of 3)");
  }

  @Test
  void scheduledRunRunsAtItsTimeOnly() {
    serverWithEvents("26.7.2.1");
    var policy = policy(spec -> {
      var schedule = new RetentionPolicySpec.Schedule();
      schedule.setCron("0 11 * * *");
      spec.setSchedule(schedule);
    });
    var control = harness.reconcile(reconciler, policy);
    RetentionPolicyStatus waiting = harness.status(policy);
    assertThat(waiting.phase).isEqualTo(Phase.Ready);
    assertThat(waiting.nextRunTime).isEqualTo("2026-06-01T11:00:00Z");
    assertThat(readyMessage(waiting)).isEqualTo("Policy in force; next run at 2026-06-01T11:00:00Z.");
    assertThat(ReconcilerHarness.requeue(control)).contains(RetentionTiming.REFRESH);
    assertThat(clickhouse.sent()).noneMatch(s -> s.method().equals("execute"));

    harness.clock().advance(Duration.ofMinutes(58));
    control = harness.reconcile(reconciler, policy);
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMinutes(2).plusMillis(500));
    harness.clock().advance(Duration.ofMinutes(2));
    harness.reconcile(reconciler, policy);
    RetentionPolicyStatus running = harness.status(policy);
    assertThat(running.phase).isEqualTo(Phase.Progressing);
    assertThat(running.nextRunTime).isEqualTo("2026-06-02T11:00:00Z");
    harness.finishWork(reconciler, policy);
    assertThat(clickhouse.sent("DROP PARTITION")).hasSize(2);
  }

  @Test
  void suspendClearsTheNextRunAndRunsNothing() {
    serverWithEvents("26.7.2.1");
    var policy = policy(spec -> {
      var schedule = new RetentionPolicySpec.Schedule();
      schedule.setCron("0 3 * * *");
      spec.setSchedule(schedule);
      spec.setSuspend(true);
    });
    harness.clock().advance(Duration.ofDays(1));
    harness.reconcile(reconciler, policy);
    RetentionPolicyStatus status = harness.status(policy);
    assertThat(status.phase).isEqualTo(Phase.Ready);
    assertThat(status.nextRunTime).isNull();
    assertThat(harness.work().get(WorkExecutor.keyOf(policy))).isEmpty();
  }

  @Test
  void optimizeNowMergesOnlyThePartitionsWithMoreParts() {
    serverWithEvents("26.7.2.1");
    clickhouse.answer("SELECT name FROM system.tables", List.of(Map.of("name", "events")));
    clickhouse.answer("count\\(\\) AS parts FROM system.parts", List.of(Map.of("partition_id", "202605", "parts", 1),
        Map.of("partition_id", "202601", "parts", 4)));
    clickhouse.answer("count\\(\\) AS n FROM system.parts", List.of(Map.of("n", 1)));
    clickhouse.accept("^OPTIMIZE TABLE");
    var policy = annotate(policy(spec -> {
      var optimize = new RetentionPolicySpec.Optimize();
      optimize.setDeduplicate(true);
      spec.setOptimize(optimize);
    }), RetentionPolicy.OPTIMIZE_NOW_ANNOTATION, "o1");
    harness.reconcile(reconciler, policy);
    assertThat(readyMessage(harness.status(policy))).isEqualTo("OPTIMIZE run started");
    harness.finishWork(reconciler, policy);
    RetentionPolicyStatus done = harness.status(policy);
    assertThat(done.acknowledgedOptimizeNow).isEqualTo("o1");
    assertThat(done.lastOptimize.partitions).singleElement().satisfies(p -> {
      assertThat(p.partition).isEqualTo("202601");
      assertThat(p.partsBefore).isEqualTo(4);
      assertThat(p.partsAfter).isEqualTo(1);
    });
    assertThat(clickhouse.sent("^OPTIMIZE")).containsExactly(
        "OPTIMIZE TABLE `shop`.`events` PARTITION ID '202601' FINAL DEDUPLICATE");
    assertThat(done.lastRun).as("no retention run").isNull();
  }

  @Test
  void previewFailureIsDegradedAndLooksAgainSoon() {
    serverWithEvents("26.7.2.1");
    clickhouse.fail("sum\\(rows\\) AS rows", connectionRefused());
    var policy = policy(spec -> { });
    var control = harness.reconcile(reconciler, policy);
    RetentionPolicyStatus status = harness.status(policy);
    assertThat(status.phase).isEqualTo(Phase.Degraded);
    assertThat(ready(status)).isEqualTo("False/PreviewFailed");
    assertThat(readyMessage(status)).startsWith("Reading table metadata failed: ");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(30));
  }

  @Test
  void ttlActionKeepsTheTablesOtherRules() {
    serverWithEvents("26.7.2.1");
    clickhouse.answer("SELECT type FROM system.columns", List.of(Map.of("type", "Date")));
    clickhouse.answer("countIf", List.of(Map.of("total", 400, "old", 200)));
    clickhouse.answer("SELECT engine_full FROM system.tables", List.of(Map.of("engine_full", "MergeTree PARTITION BY"
        + " toYYYYMM(d) ORDER BY id TTL d + toIntervalDay(7) TO VOLUME 'cold', d + toIntervalYear(2)"
        + " SETTINGS index_granularity = 8192")));
    clickhouse.accept("MODIFY TTL");
    var policy = runNow(policy(spec -> {
      spec.setAction(RetentionPolicySpec.Action.ttl);
      spec.setColumn("d");
    }), "t1");
    runToTheEnd(policy);
    assertThat(clickhouse.sent("MODIFY TTL")).containsExactly("ALTER TABLE `shop`.`events` MODIFY TTL"
        + " d + toIntervalDay(7) TO VOLUME 'cold', `d` + INTERVAL 6 MONTH");
    assertThat(said()).anyMatch(e -> e.reason().equals("TtlSet"));
  }

  @Test
  void ttlOnAnOldServerIsRefusedInThePreview() {
    serverWithEvents("18.16.1");
    var policy = policy(spec -> {
      spec.setAction(RetentionPolicySpec.Action.ttl);
      spec.setColumn("d");
    });
    harness.reconcile(reconciler, policy);
    RetentionPolicyStatus status = harness.status(policy);
    assertThat(status.phase).isEqualTo(Phase.Degraded);
    assertThat(ready(status)).isEqualTo("True/TtlNotSupported");
    assertThat(readyMessage(status)).contains("it needs 19.6 or later");
    assertThat(said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("TtlNotSupported"));

    // a run in between (Running, then the same refusal again) says nothing new; the gauge counts it not ready
    runToTheEnd(runNow(policy, "r1"));
    assertThat(ready(harness.status(policy))).isEqualTo("True/TtlNotSupported");
    assertThat(said()).filteredOn(e -> e.reason().equals("TtlNotSupported")).hasSize(1);
    assertThat(harness.metrics().registry().find("housekeeper_resource_ready").tag("kind", "RetentionPolicy")
        .tag("namespace", ns).gauge().value()).isEqualTo(0.0);
  }

  /** A delete run on a server of {@code version}: the statements it sent. */
  List<String> deleteRun(String version) {
    serverWithEvents(version);
    clickhouse.answer("SELECT type FROM system.columns", List.of(Map.of("type", "Date")));
    clickhouse.answer("countIf", List.of(Map.of("total", 400, "old", 200)));
    clickhouse.answer("FROM system.mutations", List.of());
    clickhouse.accept("DELETE");
    var policy = runNow(policy(spec -> {
      spec.setAction(RetentionPolicySpec.Action.delete);
      spec.setColumn("d");
    }), "d1");
    runToTheEnd(policy);
    assertThat(harness.status(policy).lastRun.rowsDeleted).isEqualTo(200);
    assertThat(said()).anyMatch(e -> e.reason().equals("MutationIssued"));
    return clickhouse.sent("DELETE");
  }

  @Test
  void deleteIsALightweightDeleteOnANewServer() {
    assertThat(deleteRun("26.7.2.1")).containsExactly("DELETE FROM `shop`.`events` WHERE `d` < toDate('2025-12-01')");
  }

  @Test
  void deleteIsAMutationOnAnOldServer() {
    assertThat(deleteRun("18.16.1")).containsExactly(
        "ALTER TABLE `shop`.`events` DELETE WHERE `d` < toDate('2025-12-01')");
  }

  @Test
  void previewsOfOneDatabaseShareACatalogReadAndARunsEndReadsItAgain() {
    serverWithEvents("26.7.2.1");
    var first = policy(spec -> { });
    var secondSpec = harness.get(first).getSpec();
    var second = new RetentionPolicy();
    second.setMetadata(Specs.meta(ns, "events-too"));
    second.setSpec(secondSpec);
    second = harness.create(second);
    harness.reconcile(reconciler, first);
    harness.reconcile(reconciler, second);
    assertThat(harness.status(first).preview).extracting(p -> p.table).containsExactly("events");
    assertThat(harness.status(second).preview).extracting(p -> p.table).containsExactly("events");
    assertThat(clickhouse.sent("FROM system.parts")).as("one read of the catalog for both previews").hasSize(1);

    runNow(first, "now");
    runToTheEnd(first);
    // the run read its own catalog, and the preview after it read the catalog the run left
    assertThat(clickhouse.sent("FROM system.parts")).hasSize(3);
  }
}
