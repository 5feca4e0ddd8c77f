package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.testing.ReconcilerHarness;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TransitionTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restore drills pass by pass against a scripted 26.7 server: a native backup on a volume (its
 * manifest written by the test, one partition of 10 rows per table), restored into a scratch
 * database at the schedule's time, compared with the manifest, and the scratch database dropped.
 * The comparison's SQL and a corrupt object are proven on the real servers in RestoreDrillIT.
 */
class RestoreDrillTransitionsTest extends TransitionTest {

  static final String BACKUP_ID = "nightly-20260601-090000";

  @TempDir
  static Path volume;
  ClickHouseRestoreReconciler reconciler;

  @BeforeEach
  void newReconciler() {
    reconciler = new ClickHouseRestoreReconciler(harness.services(), Specs.storageSettings());
  }

  /** A drill of {@link #BACKUP_ID} at 03:00 every day, verified. */
  ClickHouseRestore drill(Consumer<ClickHouseRestoreSpec> more) {
    var storage = Specs.volume(volume.resolve(ns));
    storage.volume.clickhouseDisk = "backups";
    var restore = Specs.restore(ns, "drill", null, null);
    restore.getSpec().source.storage = storage;
    restore.getSpec().source.backupId = BACKUP_ID;
    restore.getSpec().verify = true;
    restore.getSpec().schedule = new ClickHouseBackupSpec.Schedule();
    restore.getSpec().schedule.cron = "0 3 * * *";
    more.accept(restore.getSpec());
    return harness.create(restore);
  }

  /** A native backup of shop.orders, 10 rows in partition 202606, on the volume. */
  void nativeBackup() throws Exception {
    var manifest = new Manifest();
    manifest.backupId = BACKUP_ID;
    manifest.method = "native";
    var entry = new Manifest.TableEntry();
    entry.database = "shop";
    entry.table = "orders";
    var partition = new Manifest.PartitionEntry();
    partition.partitionId = "202606";
    partition.rows = 10;
    entry.partitions.add(partition);
    manifest.tables.add(entry);
    Path folder = volume.resolve(ns).resolve(BACKUP_ID);
    Files.createDirectories(folder);
    Files.write(folder.resolve(Manifest.FILE), manifest.toJson());
  }

  /** A 26.7 server without the scratch database, restoring each table, whose restored partition has {@code rows}. */
  void server(long rows) {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    clickhouse.answer("^EXISTS TABLE", List.of(Map.of("result", 0)));
    clickhouse.accept("^CREATE DATABASE IF NOT EXISTS");
    clickhouse.answer("^RESTORE TABLE", List.of(Map.of("id", "server-restore-1", "status", "RESTORING")));
    clickhouse.answer("FROM system.backups WHERE id", List.of(Map.of("id", "server-restore-1", "status", "RESTORED",
        "error", "", "num_files", 3, "total_size", 1000)));
    clickhouse.answer("^SELECT count\\(\\) AS n FROM", List.of(Map.of("n", 10)));
    clickhouse.answer("FROM system.databases WHERE name", List.of(Map.of("n", 0)));
    clickhouse.accept("^DROP DATABASE IF EXISTS");
    clickhouse.answer("FROM system.columns", List.of(Map.of("name", "id"), Map.of("name", "d")));
    clickhouse.answer("_partition_id AS p", List.of(Map.of("p", "202606", "n", rows, "h", "1234")));
  }

  static String ready(ClickHouseRestoreStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).map(c -> c.getStatus() + "/" + c.getReason())
        .orElse("none");
  }

  static String message(ClickHouseRestoreStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).orElseThrow().getMessage();
  }

  Double gauge(String metric) {
    var g = harness.metrics().registry().find(metric).tags("kind", "ClickHouseRestore", "namespace", ns, "name", "drill").gauge();
    return g == null ? null : g.value();
  }

  @Test
  void scheduledDrillWaitsForItsTimeThenRestoresIntoScratchComparesAndDrops() throws Exception {
    nativeBackup();
    server(10);
    var drill = drill(spec -> { });
    var control = harness.reconcile(reconciler, drill);
    ClickHouseRestoreStatus waiting = harness.status(drill);
    assertThat(waiting.phase).isEqualTo(Phase.Pending);
    assertThat(ready(waiting)).isEqualTo("True/Scheduled");
    assertThat(waiting.nextScheduleTime).isEqualTo("2026-06-02T03:00:00Z");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMinutes(5));
    assertThat(clickhouse.sent()).as("a drill does not run when created").isEmpty();
    assertThat(gauge(HousekeeperMetrics.LAST_VERIFIED)).as("no drill ran yet").isNull();

    harness.clock().set(Instant.parse("2026-06-02T03:00:00Z"));
    harness.reconcile(reconciler, drill);
    ClickHouseRestoreStatus running = harness.status(drill);
    String scratch = RestoreDrill.scratchName(ns, "drill");
    assertThat(running.phase).isEqualTo(Phase.Running);
    assertThat(running.scratchDatabase).isEqualTo(scratch).startsWith("hk_drill_drill_");
    assertThat(running.nextScheduleTime).isEqualTo("2026-06-03T03:00:00Z");

    harness.finishWork(reconciler, drill);
    ClickHouseRestoreStatus done = harness.status(drill);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(ready(done)).isEqualTo("True/Verified");
    assertThat(message(done)).contains("compared 1 partition(s) of 1 table(s), 10 rows, 0 by content hash and 1 by"
        + " rows only").contains("no difference");
    var v = done.lastVerification;
    assertThat(v.outcome).isEqualTo("Passed");
    assertThat(v.backupId).isEqualTo(BACKUP_ID);
    assertThat(v.database).isEqualTo(scratch);
    assertThat(v.scratchDropped).isTrue();
    assertThat(v.partitionsCompared).isEqualTo(1);
    assertThat(v.hashesCompared).isZero();
    assertThat(v.rowsCompared).isEqualTo(10);
    assertThat(v.mismatches).isEmpty();
    assertThat(v.recoverySeconds).isNotNull().isGreaterThanOrEqualTo(0.0);
    assertThat(done.verifications).singleElement().satisfies(s -> assertThat(s.outcome).isEqualTo("Passed"));
    assertThat(done.lastVerifiedTime).isEqualTo("2026-06-02T03:00:00Z");
    assertThat(done.scratchDatabase).as("dropped").isNull();
    assertThat(clickhouse.sent("^RESTORE TABLE")).containsExactly("RESTORE TABLE `shop`.`orders` AS `" + scratch
        + "`.`orders` FROM Disk('backups', '" + BACKUP_ID + "') ASYNC");
    assertThat(clickhouse.sent("^DROP DATABASE")).containsExactly("DROP DATABASE IF EXISTS `" + scratch + "`");
    assertThat(harness.reasons()).contains("Verified");
    assertThat(gauge(HousekeeperMetrics.LAST_VERIFIED)).isEqualTo(
        Instant.parse("2026-06-02T03:00:00Z").getEpochSecond());
    assertThat(gauge(HousekeeperMetrics.RECOVERY_TIME)).isEqualTo(v.recoverySeconds);

    harness.clock().advance(Duration.ofHours(1));
    var settled = harness.reconcile(reconciler, drill);
    assertThat(harness.status(drill).phase).isEqualTo(Phase.Succeeded);
    assertThat(ReconcilerHarness.requeue(settled)).contains(Duration.ofMinutes(5));
    assertThat(clickhouse.sent("^RESTORE TABLE")).as("the next drill is tomorrow").hasSize(1);
  }

  @Test
  void aDrillWithoutACompleteBackupNeverRunsAndExportsItsCreationTimeButNoVerification() {
    server(10); // no backup on the volume
    var drill = drill(spec -> { });
    harness.reconcile(reconciler, drill);
    harness.clock().set(Instant.parse("2026-06-02T03:00:00Z"));
    harness.reconcile(reconciler, drill);
    ClickHouseRestoreStatus blocked = harness.status(drill);
    assertThat(blocked.lastVerification).as("no drill ran").isNull();
    assertThat(ready(blocked)).startsWith("False/");
    assertThat(clickhouse.sent("^RESTORE TABLE")).isEmpty();
    // what the chart's HousekeeperNoVerifiedRestore reads for a drill that never ran
    String created = harness.get(drill).getMetadata().getCreationTimestamp();
    assertThat(created).as("set by the API server").isNotBlank();
    assertThat(gauge(HousekeeperMetrics.CREATED)).isEqualTo(Instant.parse(created).getEpochSecond());
    assertThat(gauge(HousekeeperMetrics.NEXT_RUN)).as("a drill: scheduled").isNotNull();
    assertThat(gauge(HousekeeperMetrics.LAST_VERIFIED)).isNull();

    assertThat(reconciler.cleanup(harness.get(drill), null).isRemoveFinalizer()).isTrue();
    assertThat(gauge(HousekeeperMetrics.CREATED)).as("a deleted drill's series are gone").isNull();
    assertThat(gauge(HousekeeperMetrics.NEXT_RUN)).isNull();
  }

  @Test
  void rowsThatDifferFailTheDrillNamingThePartitionAndStillDropTheScratchDatabase() throws Exception {
    nativeBackup();
    server(9);
    var drill = drill(spec -> { });
    harness.clock().set(Instant.parse("2026-06-02T03:00:00Z"));
    harness.reconcile(reconciler, drill); // the schedule's first time is remembered ...
    harness.clock().advance(Duration.ofDays(1));
    harness.reconcile(reconciler, drill); // ... and reached
    harness.finishWork(reconciler, drill);
    ClickHouseRestoreStatus failed = harness.status(drill);
    assertThat(failed.phase).isEqualTo(Phase.Failed);
    assertThat(ready(failed)).isEqualTo("False/VerificationFailed");
    assertThat(failed.lastVerification.outcome).isEqualTo("Failed");
    assertThat(failed.lastVerification.mismatches).singleElement().satisfies(m -> {
      assertThat(m.table).isEqualTo("shop.orders");
      assertThat(m.partition).isEqualTo("202606");
      assertThat(m.expectedRows).isEqualTo(10);
      assertThat(m.actualRows).isEqualTo(9);
    });
    assertThat(message(failed)).contains("partition 202606 of shop.orders: 9 rows restored, the manifest says 10");
    assertThat(failed.retryTime).as("a difference is no passing failure").isNull();
    assertThat(failed.lastVerifiedTime).isNull();
    assertThat(clickhouse.sent("^DROP DATABASE")).hasSize(1);
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("VerificationFailed"));
    assertThat(gauge(HousekeeperMetrics.LAST_VERIFIED)).as("drills ran, none passed").isEqualTo(0.0);
  }

  @Test
  void restartMidDrillRecordsItInterruptedAndDrillsAgainAfter15Seconds() throws Exception {
    nativeBackup();
    server(10);
    // the first drill's process is cut off while it counts the restored rows; a later one is answered
    var cutOff = new java.util.concurrent.CountDownLatch(1);
    var first = new java.util.concurrent.atomic.AtomicBoolean(true);
    clickhouse.answerWith("^SELECT count\\(\\) AS n FROM `", sql -> {
      if (first.getAndSet(false)) {
        try {
          cutOff.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return List.of(Map.of("n", 10));
    });
    var drill = drill(spec -> { });
    harness.reconcile(reconciler, drill); // the schedule's first time is remembered ...
    harness.clock().set(Instant.parse("2026-06-02T03:00:00Z"));
    harness.reconcile(reconciler, drill); // ... and reached: the drill starts
    String key = dev.housekeeper.common.WorkExecutor.keyOf(drill);
    var gone = harness.work().get(key).orElseThrow();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> !clickhouse.sent("^SELECT count\\(\\) AS n FROM `").isEmpty());
    harness.reconcile(reconciler, drill);
    ClickHouseRestoreStatus cut = harness.status(drill);
    assertThat(cut.phase).isEqualTo(Phase.Running);
    assertThat(cut.runningServerRestoreId).as("the server's restore had ended").isNull();
    String scratch = RestoreDrill.scratchName(ns, "drill");
    assertThat(cut.scratchDatabase).isEqualTo(scratch);

    try {
      // the operator process dies (SIGKILL): its work and memory are gone; a new process reads the status
      harness.work().remove(key);
      var restarted = new ClickHouseRestoreReconciler(harness.services(), Specs.storageSettings());
      harness.clock().advance(Duration.ofSeconds(30));
      var control = harness.reconcile(restarted, drill);
      ClickHouseRestoreStatus interrupted = harness.status(drill);
      assertThat(interrupted.phase).as("not Running until the next cron time").isEqualTo(Phase.Failed);
      assertThat(ready(interrupted)).isEqualTo("False/RestoreInterrupted");
      assertThat(message(interrupted)).isEqualTo("The drill of backup " + BACKUP_ID + " was interrupted: the"
          + " operator restarted while it ran; its scratch database " + scratch + " is dropped before the next"
          + " attempt; retrying at 2026-06-02T03:00:45Z (retry 1 of 3).");
      assertThat(interrupted.retryTime).isEqualTo("2026-06-02T03:00:45Z");
      assertThat(interrupted.consecutiveFailures).isEqualTo(1);
      assertThat(interrupted.scratchDatabase).as("kept: the next attempt drops it as its own").isEqualTo(scratch);
      assertThat(interrupted.nextScheduleTime).isEqualTo("2026-06-03T03:00:00Z");
      assertThat(ReconcilerHarness.requeue(control)).hasValueSatisfying(d ->
          assertThat(d).isBetween(Duration.ofSeconds(15), Duration.ofSeconds(16)));
      assertThat(harness.said()).filteredOn(e -> e.reason().equals("RestoreInterrupted")).singleElement()
          .satisfies(e -> assertThat(e.type()).isEqualTo("Warning"));
      assertThat(clickhouse.sent("^RESTORE TABLE")).as("nothing started again yet").hasSize(1);

      harness.clock().advance(Duration.ofSeconds(10));
      harness.reconcile(restarted, drill);
      assertThat(harness.status(drill).phase).as("not due yet").isEqualTo(Phase.Failed);
      assertThat(harness.said()).filteredOn(e -> e.reason().equals("RestoreInterrupted")).as("said once").hasSize(1);

      harness.clock().advance(Duration.ofSeconds(5));
      harness.reconcile(restarted, drill);
      ClickHouseRestoreStatus again = harness.status(drill);
      assertThat(again.phase).isEqualTo(Phase.Running);
      assertThat(again.consecutiveFailures).as("a drill's retry still counts the failures before it").isEqualTo(1);
      harness.finishWork(restarted, drill);
      ClickHouseRestoreStatus done = harness.status(drill);
      assertThat(done.phase).isEqualTo(Phase.Succeeded);
      assertThat(ready(done)).isEqualTo("True/Verified");
      assertThat(done.lastVerification.outcome).isEqualTo("Passed");
      assertThat(done.lastVerification.scratchDropped).isTrue();
      assertThat(done.consecutiveFailures).isNull();
      assertThat(done.retryTime).isNull();
      assertThat(done.nextScheduleTime).as("the schedule goes on").isEqualTo("2026-06-03T03:00:00Z");
      assertThat(clickhouse.sent("^RESTORE TABLE")).as("the cut-off drill's and the retry's").hasSize(2);
    } finally {
      cutOff.countDown(); // the dead process's thread (kept parked so far) ends without a reconciler to tell
      gone.future().get(10, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Test
  void aGivenScratchDatabaseThatExistsIsNeitherUsedNorDropped() throws Exception {
    nativeBackup();
    server(10);
    clickhouse.answer("FROM system.databases WHERE name", List.of(Map.of("n", 1)));
    var restore = drill(spec -> {
      spec.schedule = null;
      spec.scratchDatabase = "reports";
    });
    harness.reconcile(reconciler, restore);
    harness.finishWork(reconciler, restore);
    ClickHouseRestoreStatus failed = harness.status(restore);
    assertThat(failed.phase).isEqualTo(Phase.Failed);
    assertThat(ready(failed)).isEqualTo("False/VerificationFailed");
    assertThat(message(failed)).contains("database reports exists; a drill's scratch database must not exist");
    assertThat(failed.scratchDatabase).isNull();
    assertThat(failed.lastVerification.scratchDropped).isNull();
    assertThat(clickhouse.sent("^DROP DATABASE")).isEmpty();
    assertThat(clickhouse.sent("^RESTORE TABLE")).isEmpty();
    assertThat(gauge(HousekeeperMetrics.LAST_VERIFIED)).as("a one-shot verification is no drill").isNull();
  }

  @Test
  void aScheduleWithoutVerifyIsInvalidAndNeverTouchesClickHouse() {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    var restore = drill(spec -> {
      spec.verify = false;
      spec.targetDatabase = "restored";
      spec.schedule.cron = "every night";
    });
    harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus status = harness.status(restore);
    assertThat(ready(status)).isEqualTo("False/ValidationError");
    assertThat(message(status)).contains("spec.schedule: a scheduled restore is a restore drill")
        .contains("spec.targetDatabase: a drill restores into its scratch database")
        .contains("spec.schedule.cron: \"every night\" is not a five-field cron expression");
    assertThat(clickhouse.sent()).isEmpty();
  }
}
