package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.Phase;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ReconcilerHarness;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TransitionTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backups that outlive their Kubernetes cluster, pass by pass: a ClickHouseBackup adopts the complete
 * backups its storage holds that its status does not list (once per storage location), and a restore
 * of {@code latest} from a storage location finds the newest complete one. Storage is a volume whose
 * manifests the tests write; the native method on a scripted 26.7 server takes the backups that run.
 * Proven end to end against real servers, a fresh API and a fresh operator in BackupAdoptionIT.
 */
class AdoptionTransitionsTest extends TransitionTest {

  @TempDir
  static Path volume;
  ClickHouseBackupReconciler backups;
  ClickHouseRestoreReconciler restores;
  int saidBefore;

  @BeforeEach
  void newReconcilers() {
    backups = new ClickHouseBackupReconciler(harness.services(), Specs.storageSettings());
    restores = new ClickHouseRestoreReconciler(harness.services(), Specs.storageSettings());
    saidBefore = harness.said().size();
  }

  Path storage() {
    return volume.resolve(ns);
  }

  /** A ClickHouseBackup "nightly" on this test's volume folder: native to Disk "backups". */
  ClickHouseBackup backup(String name, Consumer<ClickHouseBackupSpec> more) {
    var storage = Specs.volume(storage());
    storage.volume.clickhouseDisk = "backups";
    var spec = Specs.backupSpec(storage, "shop");
    spec.method = ClickHouseBackupSpec.NATIVE;
    more.accept(spec);
    return harness.create(Specs.backup(ns, name, spec));
  }

  static void suspendedSchedule(ClickHouseBackupSpec spec) {
    spec.schedule = new ClickHouseBackupSpec.Schedule();
    spec.schedule.cron = "0 3 * * *";
    spec.suspend = true;
  }

  /** A complete native backup in storage as a lost resource left it: its manifest and one object. */
  Manifest completeBackup(String id, String start, String end, long rows) throws Exception {
    var manifest = new Manifest();
    manifest.backupId = id;
    manifest.method = "native";
    manifest.startTime = start;
    manifest.endTime = end;
    var table = new Manifest.TableEntry();
    table.database = "shop";
    table.table = "orders";
    var partition = new Manifest.PartitionEntry();
    partition.partitionId = "202605";
    partition.rows = rows;
    partition.storedBytes = 100;
    table.partitions.add(partition);
    manifest.tables.add(table);
    Path folder = Files.createDirectories(storage().resolve(id));
    Files.write(folder.resolve("data.bin"), new byte[100]);
    Files.write(folder.resolve(Manifest.FILE), manifest.toJson());
    return manifest;
  }

  /** A backup that never finished: objects, no manifest. */
  void incompleteBackup(String id) throws Exception {
    Path folder = Files.createDirectories(storage().resolve(id));
    Files.write(folder.resolve("data.bin"), new byte[10]);
  }

  /** A 26.7 server with one table whose server-side backups end complete after one poll. */
  void server() {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    clickhouse.answer("FROM system.tables", List.of(Map.of("database", "shop", "name", "orders",
        "engine", "MergeTree")));
    clickhouse.answer("SELECT version\\(\\)", List.of(Map.of("v", "26.7.2.1")));
    clickhouse.answer("FROM system.parts", List.of(Map.of("partition_id", "202606", "rows", 10, "bytes", 1000)));
    clickhouse.answer("FROM system.backups WHERE position", List.of());
    clickhouse.answer("^BACKUP TABLE", List.of(Map.of("id", "server-backup-1", "status", "CREATING_BACKUP")));
    clickhouse.answer("FROM system.backups WHERE id", List.of(Map.of("id", "server-backup-1", "status",
        "BACKUP_CREATED", "error", "", "num_files", 3, "total_size", 1000)));
    // no user-defined functions, for a backup that also reads the server's objects (as main's does since the
    // server-objects work)
    clickhouse.answer("FROM system.functions", List.of());
    clickhouse.answer("^EXISTS TABLE", List.of(Map.of("result", 0)));
    clickhouse.accept("^CREATE DATABASE IF NOT EXISTS `restored`$");
    clickhouse.answer("^RESTORE TABLE", List.of(Map.of("id", "server-restore-1", "status", "RESTORING")));
    clickhouse.answer("FROM system.backups WHERE id = 'server-restore-1'", List.of(Map.of("id", "server-restore-1",
        "status", "RESTORED", "error", "", "num_files", 3, "total_size", 1000)));
    clickhouse.answer("^SELECT count\\(\\) AS n FROM", List.of(Map.of("n", 10)));
  }

  List<ReconcilerHarness.Said> said(String reason) {
    var all = harness.said();
    return all.subList(saidBefore, all.size()).stream().filter(e -> e.reason().equals(reason)).toList();
  }

  static String ready(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
    return Conditions.find(conditions, Conditions.READY).map(c -> c.getStatus() + "/" + c.getReason() + ": "
        + c.getMessage()).orElse("none");
  }

  @Test
  void firstPassAdoptsTheCompleteBackupsOfItsStorageOnce() throws Exception {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    completeBackup("nightly-20260529-020000", "2026-05-29T02:00:00Z", "2026-05-29T02:00:40Z", 7);
    completeBackup("nightly-20260531-020000", "2026-05-31T02:00:00Z", "2026-05-31T02:01:00Z", 9);
    incompleteBackup("nightly-20260601-020000");
    var backup = backup("nightly", AdoptionTransitionsTest::suspendedSchedule);

    harness.reconcile(backups, backup);
    harness.finishWork(backups, backup);
    ClickHouseBackupStatus status = harness.status(backup);
    assertThat(status.backups).extracting(b -> b.id)
        .containsExactly("nightly-20260531-020000", "nightly-20260529-020000");
    BackupRecord newest = status.backups.get(0);
    assertThat(newest.adopted).isTrue();
    assertThat(newest.outcome).isEqualTo("Complete");
    assertThat(newest.method).isEqualTo("native");
    assertThat(newest.startTime).isEqualTo("2026-05-31T02:00:00Z");
    assertThat(newest.endTime).isEqualTo("2026-05-31T02:01:00Z");
    assertThat(newest.rows).isEqualTo(9);
    assertThat(newest.tables).isEqualTo(1);
    assertThat(newest.partitions).isEqualTo(1);
    assertThat(newest.storedBytes).isEqualTo(100);
    assertThat(newest.location).isEqualTo("file://" + storage().resolve(newest.id) + "/");
    assertThat(newest.manifestSha256).isEqualTo(LogicalBackup.hex(LogicalBackup.sha256().digest(
        Files.readAllBytes(storage().resolve(newest.id).resolve(Manifest.FILE)))));
    assertThat(status.lastSuccessful.id).isEqualTo("nightly-20260531-020000");
    assertThat(status.completeBackups).isEqualTo(2);
    assertThat(status.adoption.location).isEqualTo("file://" + storage());
    assertThat(status.adoption.adopted).isEqualTo(2);
    assertThat(status.adoption.incomplete).isEqualTo(1);
    assertThat(status.adoption.error).isNull();
    assertThat(status.phase).isEqualTo(Phase.Succeeded);
    assertThat(ready(status.getConditions())).startsWith("True/BackupComplete")
        .contains("nightly-20260531-020000 (adopted: found in storage)");
    assertThat(said("BackupsAdopted")).singleElement().satisfies(e -> assertThat(e.message())
        .contains("Adopted 2 complete backup(s)").contains("nightly-20260529-020000 to nightly-20260531-020000")
        .contains("1 incomplete (no manifest)"));
    assertThat(storage().resolve("nightly-20260601-020000").resolve("data.bin")).as("left alone").exists();
    assertThat(clickhouse.sent()).as("a look through storage needs no ClickHouse").isEmpty();

    // once: a backup that appears in storage later is not looked for on the next passes
    completeBackup("nightly-20260601-030000", "2026-06-01T03:00:00Z", "2026-06-01T03:00:30Z", 11);
    harness.clock().advance(Duration.ofMinutes(10));
    harness.reconcile(backups, backup);
    harness.reconcile(backups, backup);
    ClickHouseBackupStatus later = harness.status(backup);
    assertThat(later.backups).hasSize(2);
    assertThat(later.adoption.time).isEqualTo(status.adoption.time);
    assertThat(said("BackupsAdopted")).hasSize(1);
  }

  @Test
  void backupsAnotherResourceOfTheStorageListsStayItsOwn() throws Exception {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    completeBackup("hourly-20260601-090000", "2026-06-01T09:00:00Z", "2026-06-01T09:00:10Z", 3);
    completeBackup("nightly-20260531-020000", "2026-05-31T02:00:00Z", "2026-05-31T02:01:00Z", 9);
    incompleteBackup("hourly-20260601-100000"); // hourly is writing it now
    var hourly = backup("hourly", AdoptionTransitionsTest::suspendedSchedule);
    var hourlyStatus = new ClickHouseBackupStatus();
    hourlyStatus.location = "file://" + storage();
    hourlyStatus.running = "hourly-20260601-100000";
    var own = new BackupRecord();
    own.id = "hourly-20260601-090000";
    own.outcome = "Complete";
    hourlyStatus.backups.add(own);
    hourly.setStatus(hourlyStatus);
    harness.client().resource(hourly).updateStatus();

    var backup = backup("nightly", AdoptionTransitionsTest::suspendedSchedule);
    harness.reconcile(backups, backup);
    harness.finishWork(backups, backup);
    ClickHouseBackupStatus status = harness.status(backup);
    assertThat(status.backups).extracting(b -> b.id).containsExactly("nightly-20260531-020000");
    assertThat(status.adoption.adopted).isEqualTo(1);
    assertThat(status.adoption.listedElsewhere).isEqualTo(2);
    assertThat(status.adoption.incomplete).isZero();
    assertThat(said("BackupsAdopted")).singleElement().satisfies(e -> assertThat(e.message())
        .contains("2 listed by another resource").contains("hourly-20260601-090000 (ClickHouseBackup hourly)"));
  }

  @Test
  void aBackupThatIsDueLooksFirstAndItsRetentionCountsTheAdopted() throws Exception {
    server();
    completeBackup("nightly-20260528-020000", "2026-05-28T02:00:00Z", "2026-05-28T02:00:40Z", 5);
    completeBackup("nightly-20260529-020000", "2026-05-29T02:00:00Z", "2026-05-29T02:00:40Z", 7);
    completeBackup("nightly-20260531-020000", "2026-05-31T02:00:00Z", "2026-05-31T02:01:00Z", 9);
    // the run's own folder, as the server writes it while the look (beside the backup) goes through the storage
    incompleteBackup("nightly-20260601-100000");
    var backup = backup("nightly", spec -> {
      spec.retention = new ClickHouseBackupSpec.Retention();
      spec.retention.keepLast = 2;
    });

    harness.reconcile(backups, backup);
    assertThat(harness.status(backup).phase).as("a backup is due: it runs, and looks first").isEqualTo(Phase.Running);
    harness.finishWork(backups, backup);
    ClickHouseBackupStatus done = harness.status(backup);
    assertThat(done.backups).as(() -> io.fabric8.kubernetes.client.utils.Serialization.asJson(done)).extracting(b -> b.id + (Boolean.TRUE.equals(b.adopted) ? " adopted" : ""))
        .containsExactly("nightly-20260601-100000", "nightly-20260531-020000 adopted");
    assertThat(done.adoption.adopted).isEqualTo(3);
    assertThat(done.adoption.incomplete).as("the run's own backup is not one the look reports").isZero();
    assertThat(storage().resolve("nightly-20260528-020000")).as("pruned").doesNotExist();
    assertThat(storage().resolve("nightly-20260529-020000")).as("pruned").doesNotExist();
    assertThat(storage().resolve("nightly-20260531-020000").resolve(Manifest.FILE)).exists();
    assertThat(said("BackupPruned")).singleElement().satisfies(e -> assertThat(e.message())
        .contains("nightly-20260528-020000").contains("nightly-20260529-020000"));
    assertThat(said("BackupsAdopted")).hasSize(1);
  }

  @Test
  void aBackupThatCannotStartYetDoesNotHoldTheLookUp() throws Exception {
    completeBackup("nightly-20260531-020000", "2026-05-31T02:00:00Z", "2026-05-31T02:01:00Z", 9);
    var backup = backup("nightly", spec -> { }); // one-shot, and its connection does not exist yet

    var control = harness.reconcile(backups, backup);
    assertThat(ready(harness.status(backup).getConditions())).startsWith("False/ConnectionNotFound");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(15));
    harness.finishWork(backups, backup);
    ClickHouseBackupStatus status = harness.status(backup);
    assertThat(status.adoption.adopted).isEqualTo(1);
    assertThat(status.backups).extracting(b -> b.id).containsExactly("nightly-20260531-020000");
    assertThat(status.running).as("its own backup waits for the connection").isNull();
    assertThat(ready(status.getConditions())).startsWith("False/ConnectionNotFound");

    server();
    harness.reconcile(backups, backup);
    assertThat(harness.status(backup).phase).as("adopted backups are not its own: it takes its one backup")
        .isEqualTo(Phase.Running);
    harness.finishWork(backups, backup);
    assertThat(harness.status(backup).backups).extracting(b -> b.id)
        .containsExactly("nightly-20260601-100000", "nightly-20260531-020000");
  }

  @Test
  void aStorageThatCannotBeOpenedIsLookedThroughAgainLater() {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    var spec = Specs.backupSpec(Specs.s3("http://127.0.0.1:9", "backups", "lost"), "shop");
    suspendedSchedule(spec);
    var backup = harness.create(Specs.backup(ns, "nightly", spec)); // Secret "s3" does not exist

    var control = harness.reconcile(backups, backup);
    ClickHouseBackupStatus status = harness.status(backup);
    assertThat(status.adoption.error).contains("s3");
    assertThat(status.adoption.retryTime).isEqualTo("2026-06-01T10:05:00Z");
    assertThat(status.adoption.adopted).isNull();
    assertThat(ReconcilerHarness.requeue(control)).hasValueSatisfying(d -> assertThat(d)
        .isLessThanOrEqualTo(Duration.ofMinutes(5).plusSeconds(1)));
    assertThat(said("StorageScanFailed")).singleElement().satisfies(e -> assertThat(e.type()).isEqualTo("Warning"));

    harness.clock().advance(Duration.ofMinutes(1));
    harness.reconcile(backups, backup);
    assertThat(harness.status(backup).adoption.time).as("not before its retry time").isEqualTo("2026-06-01T10:00:00Z");

    harness.clock().advance(Duration.ofMinutes(4));
    harness.reconcile(backups, backup);
    ClickHouseBackupStatus again = harness.status(backup);
    assertThat(again.adoption.time).isEqualTo("2026-06-01T10:05:00Z");
    assertThat(again.adoption.retryTime).isEqualTo("2026-06-01T10:10:00Z");
    assertThat(said("StorageScanFailed")).as("the same failure is said once").hasSize(1);
  }

  @Test
  void aManifestThatNamesAnotherBackupIsNotAdopted() throws Exception {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    completeBackup("nightly-20260531-020000", "2026-05-31T02:00:00Z", "2026-05-31T02:01:00Z", 9);
    Files.createDirectories(storage().resolve("copy-of-it"));
    Files.copy(storage().resolve("nightly-20260531-020000").resolve(Manifest.FILE),
        storage().resolve("copy-of-it").resolve(Manifest.FILE));
    Files.createDirectories(storage().resolve("garbled"));
    Files.writeString(storage().resolve("garbled").resolve(Manifest.FILE), "{not json");
    var backup = backup("nightly", AdoptionTransitionsTest::suspendedSchedule);

    harness.reconcile(backups, backup);
    harness.finishWork(backups, backup);
    ClickHouseBackupStatus status = harness.status(backup);
    assertThat(status.backups).extracting(b -> b.id).containsExactly("nightly-20260531-020000");
    assertThat(status.adoption.unreadable).isEqualTo(2);
    assertThat(said("BackupsAdopted")).singleElement().satisfies(e -> assertThat(e.message())
        .contains("2 with an unreadable manifest").contains("copy-of-it: its manifest names backup"
            + " nightly-20260531-020000").contains("garbled"));
  }

  ClickHouseRestore restoreLatest() {
    var restore = Specs.restore(ns, "again", null, "restored");
    var storage = Specs.volume(storage());
    storage.volume.clickhouseDisk = "backups";
    restore.getSpec().source.storage = storage;
    restore.getSpec().source.backupId = "latest";
    return harness.create(restore);
  }

  @Test
  void latestFromAStorageLocationRestoresItsNewestCompleteBackup() throws Exception {
    server();
    completeBackup("nightly-20260530-020000", "2026-05-30T02:00:00Z", "2026-05-30T02:00:40Z", 10);
    completeBackup("nightly-20260531-020000", "2026-05-31T02:00:00Z", "2026-05-31T02:00:40Z", 10);
    completeBackup("hourly-20260531-010000", "2026-05-31T01:00:00Z", "2026-05-31T01:00:10Z", 10);
    incompleteBackup("nightly-20260601-020000"); // newer, but never finished
    var restore = restoreLatest();

    harness.reconcile(restores, restore);
    ClickHouseRestoreStatus running = harness.status(restore);
    assertThat(running.backupId).isEqualTo("nightly-20260531-020000");
    assertThat(running.location).isEqualTo("file://" + storage().resolve("nightly-20260531-020000") + "/");
    harness.finishWork(restores, restore);
    ClickHouseRestoreStatus done = harness.status(restore);
    assertThat(done.phase).isEqualTo(ClickHouseRestoreStatus.Phase.Succeeded);
    assertThat(done.backupId).isEqualTo("nightly-20260531-020000");
    assertThat(clickhouse.sent("^RESTORE TABLE")).containsExactly("RESTORE TABLE `shop`.`orders` AS"
        + " `restored`.`orders` FROM Disk('backups', 'nightly-20260531-020000') ASYNC");
  }

  @Test
  void aRetryOfLatestKeepsTheBackupItsFirstAttemptChose() throws Exception {
    server();
    clickhouse.failNext("^RESTORE TABLE", 1, dev.housekeeper.testing.FakeClickHouseClient.failure(
        dev.housekeeper.clickhouse.ClickHouseException.Kind.CONNECTION, "Connection refused"));
    completeBackup("nightly-20260531-020000", "2026-05-31T02:00:00Z", "2026-05-31T02:00:40Z", 10);
    var restore = restoreLatest();
    harness.reconcile(restores, restore);
    harness.finishWork(restores, restore);
    ClickHouseRestoreStatus failed = harness.status(restore);
    assertThat(failed.phase).isEqualTo(ClickHouseRestoreStatus.Phase.Failed);
    assertThat(failed.retryTime).isEqualTo("2026-06-01T10:00:15Z");

    // a newer backup completes before the retry: the retry goes on with the backup the run chose
    completeBackup("nightly-20260601-100005", "2026-06-01T10:00:05Z", "2026-06-01T10:00:09Z", 10);
    harness.clock().advance(Duration.ofSeconds(15));
    harness.reconcile(restores, restore);
    assertThat(harness.status(restore).backupId).isEqualTo("nightly-20260531-020000");
    harness.finishWork(restores, restore);
    ClickHouseRestoreStatus done = harness.status(restore);
    assertThat(done.phase).isEqualTo(ClickHouseRestoreStatus.Phase.Succeeded);
    assertThat(clickhouse.sent("^RESTORE TABLE")).hasSize(2)
        .allSatisfy(sql -> assertThat(sql).contains("'nightly-20260531-020000'"));

    // a new run (run-now) chooses again
    harness.client().resource(harness.get(restore)).edit(r -> {
      r.getMetadata().setAnnotations(Map.of(ClickHouseRestore.RUN_NOW_ANNOTATION, "again"));
      return r;
    });
    harness.reconcile(restores, restore);
    assertThat(harness.status(restore).backupId).isEqualTo("nightly-20260601-100005");
  }

  @Test
  void latestFromAStorageLocationWithoutACompleteBackupWaits() throws Exception {
    server();
    incompleteBackup("nightly-20260601-020000");
    var restore = restoreLatest();
    var control = harness.reconcile(restores, restore);
    ClickHouseRestoreStatus status = harness.status(restore);
    assertThat(status.phase).isEqualTo(ClickHouseRestoreStatus.Phase.Pending);
    assertThat(ready(status.getConditions())).startsWith("False/NoCompleteBackup")
        .contains("holds no complete backup");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(15));
    assertThat(clickhouse.sent("^RESTORE")).isEmpty();
  }

  @Test
  void latestWithABackupNameIsItsNewestCompleteBackupAdoptedOrNot() throws Exception {
    server();
    completeBackup("nightly-20260531-020000", "2026-05-31T02:00:00Z", "2026-05-31T02:01:00Z", 10);
    var backup = backup("nightly", AdoptionTransitionsTest::suspendedSchedule);
    harness.reconcile(backups, backup);
    harness.finishWork(backups, backup);
    var restore = Specs.restore(ns, "again", "nightly", "restored");
    restore.getSpec().source.backupId = "latest";
    restore = harness.create(restore);
    harness.reconcile(restores, restore);
    assertThat(harness.status(restore).backupId).isEqualTo("nightly-20260531-020000");
  }
}
