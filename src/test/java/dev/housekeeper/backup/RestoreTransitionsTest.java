package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.testing.FakeClickHouseClient;
import dev.housekeeper.testing.ReconcilerHarness;
import dev.housekeeper.testing.TransitionTest;
import dev.housekeeper.testing.Specs;
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
 * What the restore reconciler decides, pass by pass, against a scripted ClickHouse: a native backup on
 * a volume (its manifest written by the test, its data on the server's Disk), restored table by table
 * with RESTORE ... ASYNC. The SQL itself is proven against real servers in ClickHouseBackupIT,
 * LogicalBackupIT, NativeBackupOnChdbIT, ModernServerIT and ClusterIT.
 */
class RestoreTransitionsTest extends TransitionTest {

  static final String BACKUP_ID = "nightly-20260601-090000";

  @TempDir
  static Path volume;
  ClickHouseRestoreReconciler reconciler;

  @BeforeEach
  void newReconciler() {
    reconciler = new ClickHouseRestoreReconciler(harness.services(), Specs.storageSettings());
  }

  /** A restore of {@link #BACKUP_ID} from the volume into database {@code restored}. */
  ClickHouseRestore restore(Consumer<ClickHouseRestoreSpec> more) {
    var storage = Specs.volume(volume.resolve(ns));
    storage.volume.clickhouseDisk = "backups";
    var restore = Specs.restore(ns, "again", null, "restored");
    restore.getSpec().source.storage = storage;
    restore.getSpec().source.backupId = BACKUP_ID;
    more.accept(restore.getSpec());
    return harness.create(restore);
  }

  /** A native backup of {@code tables} of database shop, 10 rows each, on the volume. */
  void nativeBackupOf(String... tables) throws Exception {
    var manifest = new Manifest();
    manifest.backupId = BACKUP_ID;
    manifest.method = "native";
    for (String table : tables) {
      var entry = new Manifest.TableEntry();
      entry.database = "shop";
      entry.table = table;
      var partition = new Manifest.PartitionEntry();
      partition.partitionId = "202606";
      partition.rows = 10;
      entry.partitions.add(partition);
      manifest.tables.add(entry);
    }
    Path folder = volume.resolve(ns).resolve(BACKUP_ID);
    Files.createDirectories(folder);
    Files.write(folder.resolve(Manifest.FILE), manifest.toJson());
  }

  /** A 26.7 server where no target table exists and each server-side restore ends in {@code endState}. */
  void server(String endState) {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    clickhouse.answer("^EXISTS TABLE", List.of(Map.of("result", 0)));
    clickhouse.accept("^CREATE DATABASE IF NOT EXISTS `restored`$");
    clickhouse.answer("^RESTORE TABLE", List.of(Map.of("id", "server-restore-1", "status", "RESTORING")));
    clickhouse.answer("FROM system.backups WHERE id", List.of(Map.of("id", "server-restore-1", "status", endState,
        "error", "", "num_files", 3, "total_size", 1000)));
    clickhouse.answer("^SELECT count\\(\\) AS n FROM", List.of(Map.of("n", 10)));
  }

  static String ready(ClickHouseRestoreStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).map(c -> c.getStatus() + "/" + c.getReason())
        .orElse("none");
  }

  static String message(ClickHouseRestoreStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).orElseThrow().getMessage();
  }

  @Test
  void invalidSpecNeverTouchesClickHouse() {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    var restore = restore(spec -> spec.source.backupId = "../etc");
    var control = harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus status = harness.status(restore);
    assertThat(status.phase).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/ValidationError");
    assertThat(message(status)).contains("spec.source.backupId: ../etc is not a backup id");
    assertThat(ReconcilerHarness.requeue(control)).isEmpty();
    assertThat(clickhouse.sent()).isEmpty();
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("ValidationError"));
  }

  @Test
  void schemaOnlyWithDataOnlyIsAValidationErrorThatNeverTouchesClickHouse() {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    var restore = restore(spec -> {
      spec.schemaOnly = true;
      spec.dataOnly = true;
      spec.databaseMapping = Map.of("shop", "shop2");
    });
    harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus status = harness.status(restore);
    assertThat(status.phase).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/ValidationError");
    assertThat(message(status)).contains("spec.schemaOnly and spec.dataOnly exclude each other")
        .contains("spec.dataOnly needs mode replacePartitions")
        .contains("spec.targetDatabase and spec.databaseMapping: give one");
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void aMappedNativeRestoreOfSomePartitionsNamesThemAndShowsWhatItApplied() throws Exception {
    nativeBackupOf("orders", "customers");
    Path file = volume.resolve(ns).resolve(BACKUP_ID).resolve(Manifest.FILE);
    Manifest manifest = Manifest.fromJson(Files.readAllBytes(file));
    for (var t : manifest.tables) {
      var may = new Manifest.PartitionEntry();
      may.partitionId = "202605";
      may.rows = 7;
      t.partitions.add(0, may);
    }
    Files.write(file, manifest.toJson());
    server("RESTORED");
    clickhouse.accept("^CREATE DATABASE IF NOT EXISTS `archive`$");
    var restore = restore(spec -> {
      spec.targetDatabase = null;
      spec.databaseMapping = Map.of("shop", "restored");
      spec.tableMapping = Map.of("shop.orders", "archive.orders_2026");
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("202606");
    });
    harness.reconcile(reconciler, restore);
    harness.finishWork(reconciler, restore);
    ClickHouseRestoreStatus done = harness.status(restore);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(clickhouse.sent("^RESTORE TABLE")).containsExactly(
        "RESTORE TABLE `shop`.`orders` AS `archive`.`orders_2026` PARTITIONS ID '202606' FROM Disk('backups', '"
            + BACKUP_ID + "') ASYNC",
        "RESTORE TABLE `shop`.`customers` AS `restored`.`customers` PARTITIONS ID '202606' FROM Disk('backups', '"
            + BACKUP_ID + "') ASYNC");
    assertThat(done.applied.databaseMapping).isEqualTo(Map.of("shop", "restored"));
    assertThat(done.applied.tableMapping).isEqualTo(Map.of("shop.orders", "archive.orders_2026"));
    assertThat(done.applied.partitions).isEqualTo("ids [202606]");
    assertThat(done.applied.partitionsSelected).isEqualTo(2);
    assertThat(done.applied.partitionsSkipped).isEqualTo(2);
    assertThat(done.tables).extracting(t -> t.source + " " + t.target + " " + t.outcome + " " + t.partitions + " "
        + t.partitionsSkipped + " " + t.targetExisted).containsExactly(
        "shop.orders archive.orders_2026 Restored 1 1 false", "shop.customers restored.customers Restored 1 1 false");
    assertThat(done.rows).as("the restored partitions' rows, as the manifest counts them").isEqualTo(20);
  }

  @Test
  void aMappingOfATableTheBackupDoesNotHoldFailsNamingWhatItHolds() throws Exception {
    nativeBackupOf("orders");
    server("RESTORED");
    var restore = restore(spec -> spec.tableMapping = Map.of("shop.order", "shop.o2"));
    harness.reconcile(reconciler, restore);
    harness.finishWork(reconciler, restore);
    ClickHouseRestoreStatus failed = harness.status(restore);
    assertThat(failed.phase).isEqualTo(Phase.Failed);
    assertThat(ready(failed)).isEqualTo("False/RestoreFailed");
    assertThat(message(failed)).contains("spec.tableMapping names shop.order, which backup " + BACKUP_ID
        + " does not hold; it holds [shop.orders]");
    assertThat(clickhouse.sent("^RESTORE TABLE")).isEmpty();
  }

  @Test
  void missingConnectionWaitsWithoutRunning() {
    var restore = restore(spec -> { });
    var control = harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus status = harness.status(restore);
    assertThat(status.phase).isEqualTo(Phase.Pending);
    assertThat(ready(status)).isEqualTo("False/ConnectionNotFound");
    assertThat(message(status)).endsWith("The restore starts when it is Ready.");
    assertThat(status.startTime).isNull();
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(15));
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void missingBackupResourceWaitsForIt() {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    var restore = harness.create(Specs.restore(ns, "again", "nightly", "restored"));
    var control = harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus status = harness.status(restore);
    assertThat(status.phase).isEqualTo(Phase.Pending);
    assertThat(ready(status)).isEqualTo("False/BackupNotFound");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(15));
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void backupWithoutACompleteRunWaitsForOne() {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    harness.create(Specs.backup(ns, "nightly", Specs.backupSpec(Specs.volume(volume.resolve(ns)), "shop")));
    var restore = harness.create(Specs.restore(ns, "again", "nightly", "restored"));
    harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus status = harness.status(restore);
    assertThat(status.phase).isEqualTo(Phase.Pending);
    assertThat(ready(status)).isEqualTo("False/NoCompleteBackup");
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void pendingToRunningToSucceeded() throws Exception {
    nativeBackupOf("orders");
    server("RESTORED");
    var restore = restore(spec -> { });
    var control = harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus running = harness.status(restore);
    assertThat(running.phase).isEqualTo(Phase.Running);
    assertThat(running.backupId).isEqualTo(BACKUP_ID);
    assertThat(running.startTime).isEqualTo("2026-06-01T10:00:00Z");
    assertThat(running.statementTimeout).isNotNull();
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(1));
    assertThat(harness.reasons()).contains("RestoreStarted");

    harness.finishWork(reconciler, restore);
    ClickHouseRestoreStatus done = harness.status(restore);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(ready(done)).isEqualTo("True/Restored");
    assertThat(done.method).isEqualTo("native");
    assertThat(done.tablesRestored).isEqualTo(1);
    assertThat(done.rows).isEqualTo(10);
    assertThat(done.endTime).isEqualTo("2026-06-01T10:00:00Z");
    assertThat(done.runningServerRestoreId).isNull();
    assertThat(done.consecutiveFailures).isNull();
    assertThat(done.tables).singleElement().satisfies(t -> {
      assertThat(t.source).isEqualTo("shop.orders");
      assertThat(t.target).isEqualTo("restored.orders");
      assertThat(t.outcome).isEqualTo("Restored");
    });
    assertThat(clickhouse.sent("^RESTORE TABLE")).containsExactly("RESTORE TABLE `shop`.`orders` AS"
        + " `restored`.`orders` FROM Disk('backups', '" + BACKUP_ID + "') ASYNC");
    assertThat(clickhouse.sent("system.backups WHERE id = 'server-restore-1'")).hasSize(1);
    assertThat(harness.reasons()).contains("Restored");

    harness.clock().advance(Duration.ofHours(1));
    var settled = harness.reconcile(reconciler, restore);
    assertThat(harness.status(restore).phase).as("a restore runs once").isEqualTo(Phase.Succeeded);
    assertThat(ReconcilerHarness.requeue(settled)).isEmpty();
    assertThat(clickhouse.sent("^RESTORE TABLE")).hasSize(1);
  }

  @Test
  void transientFailureSchedulesRetryOfTheFailedTableOnly() throws Exception {
    nativeBackupOf("orders", "customers");
    server("RESTORED");
    clickhouse.failNext("^RESTORE TABLE `shop`\\.`orders`", 1,
        FakeClickHouseClient.failure(ClickHouseException.Kind.CONNECTION, "Connection refused"));
    var restore = restore(spec -> { });
    harness.reconcile(reconciler, restore);
    var afterFailure = harness.finishWork(reconciler, restore);
    ClickHouseRestoreStatus failed = harness.status(restore);
    assertThat(failed.phase).isEqualTo(Phase.Failed);
    assertThat(ready(failed)).isEqualTo("False/TablesFailed");
    assertThat(failed.consecutiveFailures).isEqualTo(1);
    assertThat(failed.retryTime).isEqualTo("2026-06-01T10:00:15Z");
    assertThat(failed.tablesRestored).isEqualTo(1);
    assertThat(message(failed)).contains("shop.orders: Connection refused")
        .contains("those are tried again at 2026-06-01T10:00:15Z (retry 1 of 3)");
    assertThat(ReconcilerHarness.requeue(afterFailure)).contains(Duration.ofMillis(15_500));

    harness.clock().advance(Duration.ofSeconds(10));
    var notYet = harness.reconcile(reconciler, restore);
    assertThat(harness.status(restore).phase).as("not due yet").isEqualTo(Phase.Failed);
    assertThat(ReconcilerHarness.requeue(notYet)).contains(Duration.ofMillis(5_500));

    harness.clock().advance(Duration.ofSeconds(5));
    harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus retrying = harness.status(restore);
    assertThat(retrying.phase).isEqualTo(Phase.Running);
    assertThat(retrying.startTime).as("a retry belongs to the same run").isEqualTo("2026-06-01T10:00:00Z");
    assertThat(retrying.tables).extracting(t -> t.source).containsExactly("shop.customers");
    harness.finishWork(reconciler, restore);
    ClickHouseRestoreStatus done = harness.status(restore);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(done.consecutiveFailures).isNull();
    assertThat(done.retryTime).isNull();
    assertThat(done.tablesRestored).isEqualTo(2);
    assertThat(done.rows).isEqualTo(20);
    assertThat(clickhouse.sent("^RESTORE TABLE `shop`\\.`orders`")).hasSize(2);
    assertThat(clickhouse.sent("^RESTORE TABLE `shop`\\.`customers`")).as("kept, not restored again").hasSize(1);
  }

  @Test
  void retriesExhaustedStops() throws Exception {
    nativeBackupOf("orders");
    server("RESTORED");
    clickhouse.fail("^RESTORE TABLE", FakeClickHouseClient.failure(ClickHouseException.Kind.CONNECTION,
        "Connection refused"));
    var restore = restore(spec -> { });
    for (int attempt = 1; attempt <= 4; attempt++) {
      harness.reconcile(reconciler, restore);
      harness.finishWork(reconciler, restore);
      ClickHouseRestoreStatus status = harness.status(restore);
      assertThat(status.consecutiveFailures).isEqualTo(attempt);
      if (attempt < 4) {
        harness.clock().set(Instant.parse(status.retryTime));
      }
    }
    ClickHouseRestoreStatus last = harness.status(restore);
    assertThat(last.phase).isEqualTo(Phase.Failed);
    assertThat(last.retryTime).isNull();
    assertThat(message(last)).contains("4 attempts in a row failed; no more automatic retries");
    harness.clock().advance(Duration.ofHours(1));
    var settled = harness.reconcile(reconciler, restore);
    assertThat(harness.status(restore).phase).isEqualTo(Phase.Failed);
    assertThat(ReconcilerHarness.requeue(settled)).isEmpty();
    assertThat(clickhouse.sent("^RESTORE TABLE")).hasSize(4);
  }

  @Test
  void lastingFailureIsNotRetried() throws Exception {
    nativeBackupOf("orders");
    server("RESTORE_FAILED");
    var restore = restore(spec -> { });
    harness.reconcile(reconciler, restore);
    harness.finishWork(reconciler, restore);
    ClickHouseRestoreStatus failed = harness.status(restore);
    assertThat(failed.phase).isEqualTo(Phase.Failed);
    assertThat(ready(failed)).isEqualTo("False/TablesFailed");
    assertThat(failed.retryTime).isNull();
    assertThat(failed.consecutiveFailures).isEqualTo(1);
    assertThat(failed.runningServerRestoreId).isNull();
    assertThat(failed.tables).singleElement().satisfies(t -> assertThat(t.outcome).isEqualTo("Failed"));
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("TablesFailed"));
  }

  @Test
  void runNowAnnotationStartsANewRunThatStartsOver() throws Exception {
    nativeBackupOf("orders");
    server("RESTORED");
    var restore = restore(spec -> { });
    harness.reconcile(reconciler, restore);
    harness.finishWork(reconciler, restore);
    assertThat(harness.status(restore).phase).isEqualTo(Phase.Succeeded);
    harness.clock().advance(Duration.ofMinutes(10));
    var asked = harness.get(restore);
    asked.getMetadata().setAnnotations(Map.of(ClickHouseRestore.RUN_NOW_ANNOTATION, "1"));
    harness.client().resource(asked).update();
    harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus again = harness.status(restore);
    assertThat(again.phase).isEqualTo(Phase.Running);
    assertThat(again.acknowledgedRunNow).isEqualTo("1");
    assertThat(again.startTime).isEqualTo("2026-06-01T10:10:00Z");
    assertThat(again.tables).as("a new run starts over").isEmpty();
    harness.finishWork(reconciler, restore);
    assertThat(harness.status(restore).phase).isEqualTo(Phase.Succeeded);
    assertThat(clickhouse.sent("^RESTORE TABLE")).hasSize(2);
  }

  @Test
  void restartTakesOverTheServersRestoreWithoutStartingAnother() throws Exception {
    nativeBackupOf("orders");
    server("RESTORED");
    clickhouse.answer("FROM system.backups WHERE id = 'server-restore-0'", List.of(Map.of("id", "server-restore-0",
        "status", "RESTORED", "error", "")));
    var restore = restore(spec -> { });
    restore.setStatus(runningOnTheServer());
    harness.client().resource(restore).updateStatus();
    // a new operator process: nothing runs for this restore in it
    var restarted = new ClickHouseRestoreReconciler(harness.services(), Specs.storageSettings());
    harness.reconcile(restarted, restore);
    assertThat(harness.status(restore).phase).isEqualTo(Phase.Running);
    assertThat(harness.reasons()).contains("RestoreTakenOver");
    harness.finishWork(restarted, restore);
    ClickHouseRestoreStatus done = harness.status(restore);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(done.startTime).as("the run taken over goes on").isEqualTo("2026-06-01T09:59:00Z");
    assertThat(done.runningServerRestoreId).isNull();
    assertThat(done.tablesRestored).isEqualTo(1);
    assertThat(clickhouse.sent("^RESTORE TABLE")).as("no second server restore").isEmpty();
    assertThat(clickhouse.sent("system.backups WHERE id = 'server-restore-0'")).hasSize(1);
  }

  @Test
  void restartWhileTheConnectionIsNotReadyKeepsTheServersRestore() throws Exception {
    nativeBackupOf("orders");
    var restore = restore(spec -> { });
    restore.setStatus(runningOnTheServer());
    harness.client().resource(restore).updateStatus();
    var control = harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus status = harness.status(restore);
    assertThat(status.phase).isEqualTo(Phase.Running);
    assertThat(ready(status)).isEqualTo("False/ConnectionNotFound");
    assertThat(message(status)).contains("The server's restore server-restore-0 goes on");
    assertThat(status.runningServerRestoreId).isEqualTo("server-restore-0");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(15));
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void stoppingMidRestoreLeavesTheServersRestoreToTheNextPass() throws Exception {
    nativeBackupOf("orders");
    server("RESTORING");
    var restore = restore(spec -> { });
    harness.reconcile(reconciler, restore);
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (harness.status(restore).runningServerRestoreId == null && System.nanoTime() < deadline) {
      Thread.sleep(20);
      harness.reconcile(reconciler, restore);
    }
    assertThat(harness.status(restore).runningServerRestoreId).isEqualTo("server-restore-1");
    assertThat(harness.status(restore).runningServerRestoreTable).isEqualTo("shop.orders");
    // this process stops: its work is interrupted while the server goes on restoring
    String key = WorkExecutor.keyOf(restore);
    harness.work().get(key).orElseThrow().future().cancel(true);
    harness.reconcile(reconciler, restore);
    ClickHouseRestoreStatus stopped = harness.status(restore);
    assertThat(stopped.phase).isEqualTo(Phase.Running);
    assertThat(message(stopped)).isEqualTo("the server's restore server-restore-1 goes on");
    assertThat(stopped.runningServerRestoreId).isEqualTo("server-restore-1");
    assertThat(stopped.tables).as("nothing folded").isEmpty();

    clickhouse.answer("FROM system.backups WHERE id", List.of(Map.of("id", "server-restore-1",
        "status", "RESTORED", "error", "")));
    harness.reconcile(reconciler, restore);
    assertThat(harness.reasons()).contains("RestoreTakenOver");
    harness.finishWork(reconciler, restore);
    assertThat(harness.status(restore).phase).isEqualTo(Phase.Succeeded);
    assertThat(clickhouse.sent("^RESTORE TABLE")).as("started once").hasSize(1);
  }

  @Test
  void restartMidRestoreRecordsItInterruptedAndRetriesTheRestKeepingWhatWasRestored() throws Exception {
    nativeBackupOf("orders", "customers");
    server("RESTORED");
    var restore = restore(spec -> { });
    // a process now gone ran the retry of a run whose first attempt restored shop.customers; it died while
    // shop.orders was logical or before the server named its restore (no server restore id in status)
    var status = new ClickHouseRestoreStatus();
    status.phase = Phase.Running;
    status.startTime = "2026-06-01T09:59:00Z";
    status.backupId = BACKUP_ID;
    status.consecutiveFailures = 1;
    var customers = new ClickHouseRestoreStatus.TableResult();
    customers.source = "shop.customers";
    customers.target = "restored.customers";
    customers.outcome = "Restored";
    customers.rows = 10L;
    status.tables.add(customers);
    status.setConditions(Conditions.standard(List.of(), false, true, false, "Running", "restoring shop.orders", 1L,
        harness.clock()));
    restore.setStatus(status);
    harness.client().resource(restore).updateStatus();
    var restarted = new ClickHouseRestoreReconciler(harness.services(), Specs.storageSettings());
    var control = harness.reconcile(restarted, restore);
    ClickHouseRestoreStatus interrupted = harness.status(restore);
    assertThat(interrupted.phase).isEqualTo(Phase.Failed);
    assertThat(ready(interrupted)).isEqualTo("False/RestoreInterrupted");
    assertThat(message(interrupted)).isEqualTo("The restore of backup " + BACKUP_ID + " was interrupted: the operator"
        + " restarted while it ran; retrying at 2026-06-01T10:00:30Z (retry 2 of 3).");
    assertThat(interrupted.consecutiveFailures).isEqualTo(2);
    assertThat(interrupted.startTime).isEqualTo("2026-06-01T09:59:00Z");
    assertThat(interrupted.tables).extracting(t -> t.source + " " + t.outcome).containsExactly("shop.customers Restored");
    assertThat(ReconcilerHarness.requeue(control)).as("the second failure in a row waits 30 s").contains(Duration.ofMillis(30_500));
    assertThat(harness.said()).filteredOn(e -> e.reason().equals("RestoreInterrupted")).singleElement()
        .satisfies(e -> assertThat(e.type()).isEqualTo("Warning"));
    assertThat(clickhouse.sent()).as("nothing started at once").isEmpty();

    harness.clock().advance(Duration.ofSeconds(30));
    harness.reconcile(restarted, restore);
    ClickHouseRestoreStatus retrying = harness.status(restore);
    assertThat(retrying.phase).isEqualTo(Phase.Running);
    assertThat(retrying.startTime).as("the same run goes on").isEqualTo("2026-06-01T09:59:00Z");
    harness.finishWork(restarted, restore);
    ClickHouseRestoreStatus done = harness.status(restore);
    assertThat(done.phase).isEqualTo(Phase.Succeeded);
    assertThat(ready(done)).isEqualTo("True/Restored");
    assertThat(done.tablesRestored).isEqualTo(2);
    assertThat(done.consecutiveFailures).isNull();
    assertThat(clickhouse.sent("^RESTORE TABLE")).as("only the table not restored yet").containsExactly(
        "RESTORE TABLE `shop`.`orders` AS `restored`.`orders` FROM Disk('backups', '" + BACKUP_ID + "') ASYNC");
  }

  /** A status as a process now gone left it: the server restores shop.orders as server-restore-0. */
  static ClickHouseRestoreStatus runningOnTheServer() {
    var status = new ClickHouseRestoreStatus();
    status.phase = Phase.Running;
    status.startTime = "2026-06-01T09:59:00Z";
    status.backupId = BACKUP_ID;
    status.runningServerRestoreId = "server-restore-0";
    status.runningServerRestoreTable = "shop.orders";
    return status;
  }

  @Test
  void clusterRestoreMovesTheReplicationPathToTheTargetDatabase() {
    String body = "(`id` UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/shop/orders',"
        + " '{replica}') ORDER BY id";
    assertThat(RestoreTargets.movePath(body, "shop", "orders", "restored", "orders"))
        .contains("ReplicatedMergeTree('/clickhouse/tables/{shard}/restored/orders', '{replica}')");
    assertThat(RestoreTargets.movePath(body.replace("/shop/", "/"), "shop", "orders", "restored", "orders"))
        .as("a path that does not name the database gets it added, beside the original's")
        .contains("ReplicatedMergeTree('/clickhouse/tables/{shard}/orders-restored', '{replica}')");
    assertThat(RestoreTargets.movePath(body, "shop", "orders", "shop", "orders")).isEqualTo(body);
    assertThat(LogicalRestore.body("CREATE TABLE shop.orders " + body)).isEqualTo(body);
    assertThat(LogicalRestore.body("CREATE VIEW shop.v AS SELECT 1")).isNull();
  }
}
