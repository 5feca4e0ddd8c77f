package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.testing.FakeClickHouseClient;
import dev.housekeeper.testing.ReconcilerHarness;
import dev.housekeeper.testing.TransitionTest;
import dev.housekeeper.testing.Specs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the backup reconciler decides, pass by pass, against a scripted ClickHouse (native method on a
 * 26.7 server, a Disk the server writes to and a volume the operator writes the manifest to). The SQL
 * itself is proven against real servers in ClickHouseBackupIT, NativeBackupOnChdbIT and ModernServerIT.
 */
class BackupTransitionsTest extends TransitionTest {

  @TempDir
  static Path volume;
  ClickHouseBackupReconciler reconciler;

  @BeforeEach
  void newReconciler() {
    reconciler = new ClickHouseBackupReconciler(harness.services(), Specs.storageSettings());
  }

  ClickHouseBackup backup(java.util.function.Consumer<ClickHouseBackupSpec> more) {
    var storage = Specs.volume(volume.resolve(ns));
    storage.volume.clickhouseDisk = "backups";
    var spec = Specs.backupSpec(storage, "shop");
    spec.method = ClickHouseBackupSpec.NATIVE;
    more.accept(spec);
    return harness.create(Specs.backup(ns, "nightly", spec));
  }

  /** A 26.7 server with one table whose server-side backups end in {@code endState} after one poll. */
  void serverWithOneTable(String endState) {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    clickhouse.answer("FROM system.tables", List.of(Map.of("database", "shop", "name", "orders",
        "engine", "MergeTree")));
    clickhouse.answer("SELECT version\\(\\)", List.of(Map.of("v", "26.7.2.1")));
    clickhouse.answer("FROM system.functions", List.of()); // no user-defined functions
    clickhouse.answer("FROM system.parts", List.of(Map.of("partition_id", "202606", "rows", 10, "bytes", 1000)));
    clickhouse.answer("FROM system.backups WHERE position", List.of());
    clickhouse.answer("^BACKUP TABLE", List.of(Map.of("id", "server-backup-1", "status", "CREATING_BACKUP")));
    clickhouse.answer("FROM system.backups WHERE id", List.of(Map.of("id", "server-backup-1", "status", endState,
        "error", "", "num_files", 3, "total_size", 1000)));
  }

  static String ready(ClickHouseBackupStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).map(c -> c.getStatus() + "/" + c.getReason())
        .orElse("none");
  }

  @Test
  void invalidSpecNeverTouchesClickHouse() {
    var backup = backup(spec -> spec.method = "fastest");
    harness.reconcile(reconciler, backup);
    ClickHouseBackupStatus status = harness.status(backup);
    assertThat(status.phase).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/ValidationError");
    assertThat(Conditions.find(status.getConditions(), Conditions.READY).orElseThrow().getMessage())
        .contains("spec.method must be auto, logical or native");
    assertThat(clickhouse.sent()).isEmpty();
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("ValidationError"));
  }

  @Test
  void missingConnectionWaitsWithoutRunning() {
    var backup = backup(spec -> { });
    var control = harness.reconcile(reconciler, backup);
    ClickHouseBackupStatus status = harness.status(backup);
    assertThat(status.phase).isEqualTo(Phase.Pending);
    assertThat(ready(status)).isEqualTo("False/ConnectionNotFound");
    assertThat(status.running).isNull();
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(15));
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void pendingToRunningToSucceeded() throws Exception {
    serverWithOneTable("BACKUP_CREATED");
    var backup = backup(spec -> { });
    harness.reconcile(reconciler, backup);
    ClickHouseBackupStatus running = harness.status(backup);
    assertThat(running.phase).isEqualTo(Phase.Running);
    assertThat(running.running).startsWith("nightly-20260601-100000");
    assertThat(running.method).isEqualTo("native");
    assertThat(running.statementTimeout).isEqualTo("12h");

    harness.finishWork(reconciler, backup);
    ClickHouseBackupStatus done = harness.status(backup);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(ready(done)).isEqualTo("True/BackupComplete");
    assertThat(done.running).isNull();
    assertThat(done.backups).hasSize(1);
    assertThat(done.backups.get(0).outcome).isEqualTo("Complete");
    assertThat(done.backups.get(0).rows).isEqualTo(10);
    assertThat(done.completeBackups).isEqualTo(1);
    assertThat(Files.exists(volume.resolve(ns).resolve(done.backups.get(0).id).resolve(Manifest.FILE))).isTrue();
    assertThat(clickhouse.sent("^BACKUP TABLE")).singleElement().asString()
        .contains("`shop`.`orders`").contains("TO Disk('backups', '" + done.backups.get(0).id + "')").endsWith("ASYNC");
    assertThat(harness.reasons()).contains("BackupStarted", "BackupCompleted");
  }

  @Test
  void transientFailureSchedulesRetryAndTheRetryRuns() {
    serverWithOneTable("BACKUP_CREATED");
    clickhouse.failNext("^BACKUP TABLE", 1, FakeClickHouseClient.failure(ClickHouseException.Kind.CONNECTION,
        "Connection refused"));
    var backup = backup(spec -> { });
    harness.reconcile(reconciler, backup);
    harness.finishWork(reconciler, backup);
    ClickHouseBackupStatus failed = harness.status(backup);
    assertThat(failed.phase).isEqualTo(Phase.Failed);
    assertThat(ready(failed)).isEqualTo("False/BackupFailed");
    assertThat(failed.consecutiveFailures).isEqualTo(1);
    assertThat(failed.retryTime).isEqualTo("2026-06-01T10:00:15Z");
    assertThat(failed.backups.get(0).message).contains("Connection refused").contains("retry 1 of 3");

    harness.clock().advance(Duration.ofSeconds(10));
    harness.reconcile(reconciler, backup);
    assertThat(harness.status(backup).phase).as("not due yet").isEqualTo(Phase.Failed);

    harness.clock().advance(Duration.ofSeconds(5));
    harness.reconcile(reconciler, backup);
    assertThat(harness.status(backup).phase).isEqualTo(Phase.Running);
    harness.finishWork(reconciler, backup);
    ClickHouseBackupStatus done = harness.status(backup);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(done.consecutiveFailures).isNull();
    assertThat(done.retryTime).isNull();
    assertThat(clickhouse.sent("^BACKUP TABLE")).hasSize(2);
  }

  @Test
  void retriesExhaustedStops() {
    serverWithOneTable("BACKUP_CREATED");
    clickhouse.fail("^BACKUP TABLE", FakeClickHouseClient.failure(ClickHouseException.Kind.CONNECTION,
        "Connection refused"));
    var backup = backup(spec -> { });
    for (int attempt = 1; attempt <= 4; attempt++) {
      harness.reconcile(reconciler, backup);
      harness.finishWork(reconciler, backup);
      ClickHouseBackupStatus status = harness.status(backup);
      assertThat(status.consecutiveFailures).isEqualTo(attempt);
      if (attempt < 4) {
        harness.clock().set(java.time.Instant.parse(status.retryTime));
      }
    }
    ClickHouseBackupStatus last = harness.status(backup);
    assertThat(last.retryTime).isNull();
    assertThat(last.backups.get(0).message).contains("4 attempts in a row failed; no more automatic retries");
    harness.clock().advance(Duration.ofHours(1));
    harness.reconcile(reconciler, backup);
    assertThat(harness.status(backup).phase).isEqualTo(Phase.Failed);
    assertThat(clickhouse.sent("^BACKUP TABLE")).hasSize(4);
  }

  @Test
  void lastingFailureIsNotRetried() {
    serverWithOneTable("BACKUP_FAILED");
    var backup = backup(spec -> { });
    harness.reconcile(reconciler, backup);
    harness.finishWork(reconciler, backup);
    ClickHouseBackupStatus failed = harness.status(backup);
    assertThat(failed.phase).isEqualTo(Phase.Failed);
    assertThat(failed.retryTime).isNull();
    assertThat(failed.consecutiveFailures).isEqualTo(1);
    assertThat(harness.said()).anyMatch(e -> e.reason().equals("BackupFailed"));
  }

  @Test
  void aFailureBesideTheServersBackupStopsItAndIsTheOneReported() {
    serverWithOneTable("BACKUP_CREATED");
    // the parts are read while the server's BACKUP runs: the table is gone by then
    clickhouse.fail("FROM system.parts", FakeClickHouseClient.failure(ClickHouseException.Kind.SERVER,
        "Code: 60. DB::Exception: Table shop.orders does not exist"));
    clickhouse.answerWith("FROM system.backups WHERE id", sql -> List.of(Map.of("id", "server-backup-1", "status",
        clickhouse.sent("^KILL QUERY").isEmpty() ? "CREATING_BACKUP" : "BACKUP_CANCELLED", "error", "")));
    var backup = backup(spec -> { });
    harness.reconcile(reconciler, backup);
    harness.finishWork(reconciler, backup);
    ClickHouseBackupStatus failed = harness.status(backup);
    assertThat(failed.phase).isEqualTo(Phase.Failed);
    assertThat(failed.backups.get(0).message).contains("Table shop.orders does not exist").doesNotContain("cancelled");
    List<String> order = clickhouse.sent().stream().map(FakeClickHouseClient.Sent::sql)
        .filter(q -> q.startsWith("BACKUP TABLE") || q.startsWith("KILL QUERY")
            || q.contains("FROM system.backups WHERE id"))
        .map(q -> q.substring(0, 11)).toList();
    assertThat(order).as("the server's backup is stopped, and its end awaited")
        .containsExactly("BACKUP TABL", "SELECT * FR", "KILL QUERY ", "SELECT * FR");
    assertThat(volume.resolve(ns).resolve(failed.backups.get(0).id)).as("nothing of it is left").doesNotExist();
  }

  @Test
  void restartMarksALogicalRunInterrupted() {
    harness.readyConnection(ns, Specs.CONNECTION, "18.16.1");
    var backup = backup(spec -> spec.method = ClickHouseBackupSpec.LOGICAL);
    var status = new ClickHouseBackupStatus();
    status.phase = Phase.Running;
    status.running = "nightly-20260601-095000";
    status.method = "logical";
    backup.setStatus(status);
    harness.client().resource(backup).updateStatus();
    // a new operator process: nothing runs for this backup in it
    var restarted = new ClickHouseBackupReconciler(harness.services(), Specs.storageSettings());
    harness.reconcile(restarted, backup);
    ClickHouseBackupStatus after = harness.status(backup);
    assertThat(after.backups).singleElement().satisfies(r -> {
      assertThat(r.id).isEqualTo("nightly-20260601-095000");
      assertThat(r.outcome).isEqualTo("Failed");
      assertThat(r.message).startsWith("interrupted");
    });
    assertThat(after.pendingCleanup).containsExactly("nightly-20260601-095000");
    assertThat(after.retryTime).isEqualTo("2026-06-01T10:00:15Z");
    assertThat(harness.reasons()).contains("BackupInterrupted");
  }

  @Test
  void restartTakesOverANativeRunWithoutStartingAnother() {
    serverWithOneTable("BACKUP_CREATED");
    clickhouse.answer("FROM system.backups WHERE position", List.of(Map.of("id", "server-backup-0",
        "status", "CREATING_BACKUP")));
    clickhouse.answer("FROM system.backups WHERE id", List.of(Map.of("id", "server-backup-0",
        "status", "BACKUP_CREATED", "error", "", "num_files", 3, "total_size", 1000)));
    var backup = backup(spec -> { });
    var status = new ClickHouseBackupStatus();
    status.phase = Phase.Running;
    status.running = "nightly-20260601-095000";
    status.method = "native";
    status.runningServerBackupId = "server-backup-0";
    backup.setStatus(status);
    harness.client().resource(backup).updateStatus();
    var restarted = new ClickHouseBackupReconciler(harness.services(), Specs.storageSettings());
    harness.reconcile(restarted, backup);
    assertThat(harness.reasons()).contains("BackupTakenOver");
    harness.finishWork(restarted, backup);
    ClickHouseBackupStatus done = harness.status(backup);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(done.backups.get(0).id).isEqualTo("nightly-20260601-095000");
    assertThat(clickhouse.sent("^BACKUP TABLE")).as("no second server backup").isEmpty();
  }

  @Test
  void suspendedScheduleDoesNotRun() {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    var backup = backup(spec -> {
      spec.schedule = new ClickHouseBackupSpec.Schedule();
      spec.schedule.cron = "0 3 * * *";
      spec.suspend = true;
    });
    harness.reconcile(reconciler, backup);
    ClickHouseBackupStatus status = harness.status(backup);
    assertThat(status.phase).isEqualTo(Phase.Pending);
    assertThat(ready(status)).isEqualTo("True/Suspended");
    assertThat(status.nextScheduleTime).isNull();
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void scheduledBackupRunsAtItsTimeOnly() {
    serverWithOneTable("BACKUP_CREATED");
    var backup = backup(spec -> {
      spec.schedule = new ClickHouseBackupSpec.Schedule();
      spec.schedule.cron = "0 11 * * *";
    });
    var control = harness.reconcile(reconciler, backup);
    ClickHouseBackupStatus waiting = harness.status(backup);
    assertThat(waiting.phase).isEqualTo(Phase.Pending);
    assertThat(waiting.nextScheduleTime).isEqualTo("2026-06-01T11:00:00Z");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMinutes(5));
    assertThat(clickhouse.sent()).isEmpty();
    harness.clock().advance(Duration.ofHours(1));
    harness.reconcile(reconciler, backup);
    ClickHouseBackupStatus running = harness.status(backup);
    assertThat(running.phase).isEqualTo(Phase.Running);
    assertThat(running.nextScheduleTime).isEqualTo("2026-06-02T11:00:00Z");
  }

  /** A per-resource gauge of the backup "nightly" (null: no series). */
  Double gauge(String metric) {
    var g = harness.metrics().registry().find(metric).tags("kind", "ClickHouseBackup", "namespace", ns, "name",
        "nightly").gauge();
    return g == null ? null : g.value();
  }

  @Test
  void aScheduledBackupExportsItsCreationTimeBeforeItsFirstSuccessAndDeletionRemovesItsGauges() {
    serverWithOneTable("BACKUP_CREATED");
    var backup = backup(spec -> {
      spec.schedule = new ClickHouseBackupSpec.Schedule();
      spec.schedule.cron = "0 11 * * *";
    });
    harness.reconcile(reconciler, backup);
    String created = harness.get(backup).getMetadata().getCreationTimestamp();
    assertThat(created).as("set by the API server").isNotBlank();
    double createdAt = java.time.Instant.parse(created).getEpochSecond();
    // what the chart's HousekeeperNoRecentBackup reads for a backup that never succeeded
    assertThat(gauge(HousekeeperMetrics.CREATED)).isEqualTo(createdAt);
    assertThat(gauge(HousekeeperMetrics.NEXT_RUN)).isEqualTo(
        java.time.Instant.parse("2026-06-01T11:00:00Z").getEpochSecond());
    assertThat(gauge(HousekeeperMetrics.LAST_SUCCESS)).as("no success yet").isNull();

    harness.clock().advance(Duration.ofHours(1));
    harness.reconcile(reconciler, backup);
    harness.finishWork(reconciler, backup);
    ClickHouseBackupStatus done = harness.status(backup);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(gauge(HousekeeperMetrics.LAST_SUCCESS)).isEqualTo(
        java.time.Instant.parse(done.lastSuccessfulTime).toEpochMilli() / 1000.0);
    assertThat(gauge(HousekeeperMetrics.CREATED)).as("unchanged by runs").isEqualTo(createdAt);

    assertThat(reconciler.cleanup(harness.get(backup), null).isRemoveFinalizer()).isTrue();
    assertThat(gauge(HousekeeperMetrics.CREATED)).as("a deleted backup's series are gone").isNull();
    assertThat(gauge(HousekeeperMetrics.NEXT_RUN)).isNull();
    assertThat(gauge(HousekeeperMetrics.LAST_SUCCESS)).isNull();
  }

  @Test
  void nativeOnAnOldServerIsRefusedWithTheReason() {
    harness.readyConnection(ns, Specs.CONNECTION, "18.16.1");
    var backup = backup(spec -> { });
    harness.reconcile(reconciler, backup);
    ClickHouseBackupStatus status = harness.status(backup);
    assertThat(status.phase).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/MethodUnavailable");
    assertThat(Conditions.find(status.getConditions(), Conditions.READY).orElseThrow().getMessage())
        .contains("method native cannot be used").contains("it came in 22.8");
    assertThat(clickhouse.sent()).isEmpty();
  }

}
