package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.backup.storage.VolumeRoots;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TempDirs;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tenant boundary of volume storage (issue 20, finding 3), through the real operator configured with
 * one volume root and the real 18.16 server: each namespace's backups land in its own folder under the
 * root, and another namespace cannot reach them by naming that folder, by {@code ..}, by a symbolic link,
 * or by a look through the root (adoption, {@code latest}).
 */
class VolumeBoundaryIT {

  static final String A = "vb-team-a";
  static final String B = "vb-team-b";
  static final String C = "vb-team-c";
  /** A namespace whose every attempt is refused: its folder is never made. */
  static final String D = "vb-team-d";
  static Path tmp;
  static Path root;
  static OperatorHarness harness;
  static ClickHouseServer ch;
  static String idOfA;

  @BeforeAll
  static void start() throws Exception {
    tmp = Files.createTempDirectory("hk-roots-");
    root = Files.createDirectories(tmp.resolve("backups")).toRealPath();
    harness = OperatorHarness.start(OperatorSettings.forTests()
        .withVolumeRoots(VolumeRoots.of(List.of(root), List.of())));
    ch = harness.clickhouse();
    for (String ns : List.of(A, B, C, D)) {
      harness.namespace(ns);
      harness.readyConnection(ns, "ch");
    }
    ch.sql("DROP DATABASE IF EXISTS vb_src; CREATE DATABASE vb_src;"
        + "CREATE TABLE vb_src.orders (d Date, id UInt64, note String) ENGINE = MergeTree PARTITION BY toYYYYMM(d)"
        + " ORDER BY id;"
        + "INSERT INTO vb_src.orders SELECT toDate('2026-01-01') + (number % 90), number,"
        + " concat('order-', toString(number)) FROM system.numbers LIMIT 50000");
    // tenant A's backup, to the root: it lands in <root>/vb-team-a/<id>/
    harness.client().resource(Specs.backup(A, "nightly", Specs.backupSpec(Specs.volume(root), "vb_src"))).create();
    ClickHouseBackupStatus done = awaitBackup(A, "nightly",
        s -> s.phase == ClickHouseBackupStatus.Phase.Succeeded).getStatus();
    idOfA = done.lastSuccessful.id;
  }

  @AfterAll
  static void stop() throws Exception {
    harness.close();
    TempDirs.delete(tmp);
  }

  @Test
  void aBackupToTheRootLandsInTheNamespacesFolderAndRestoresWithEqualRows() throws Exception {
    assertThat(Files.isRegularFile(root.resolve(A).resolve(idOfA).resolve(Manifest.FILE))).isTrue();
    try (Stream<Path> top = Files.list(root)) {
      assertThat(top.map(p -> p.getFileName().toString())).doesNotContain(idOfA);
    }
    ch.sql("DROP DATABASE IF EXISTS vb_a_restored");
    ClickHouseRestoreStatus byName = restore(A, "by-name", fromBackup("nightly", "vb_a_restored")).getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, byName.phase, Serialization.asJson(byName));
    assertEquals(fingerprint("vb_src"), fingerprint("vb_a_restored"));
    // status says where the files are: the namespace's folder, not the root the spec names
    String folder = "file://" + root.resolve(A).resolve(idOfA) + "/";
    assertEquals(folder, byName.location);
    assertEquals(folder, awaitBackup(A, "nightly", s -> true).getStatus().lastSuccessful.location);

    // from the location alone (the resource lost): the root means A's folder, latest its newest backup
    ch.sql("DROP DATABASE IF EXISTS vb_a_located");
    ClickHouseRestoreStatus located = restore(A, "by-location", fromLocation(root.toString(), "latest",
        "vb_a_located")).getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, located.phase, Serialization.asJson(located));
    assertEquals(idOfA, located.backupId);
    assertEquals(fingerprint("vb_src"), fingerprint("vb_a_located"));
  }

  @Test
  void anotherNamespacesFolderIsAValidationErrorAndNothingIsRead() throws Exception {
    for (String path : List.of(root + "/" + A, root + "/" + D + "/../" + A, root + "//" + A, root + "-evil",
        "/etc", tmp.toString())) {
      String name = "steal-" + Integer.toHexString(path.hashCode());
      ClickHouseRestore r = restore(D, name, fromLocation(path, idOfA, "vb_stolen"));
      ClickHouseRestoreStatus st = r.getStatus();
      assertEquals(ClickHouseRestoreStatus.Phase.Failed, st.phase, path);
      assertEquals("ValidationError", reason(st.getConditions()), path);
      assertThat(message(st.getConditions())).contains("spec.source.storage.volume.path")
          .contains(root + " (as " + root + "/<namespace>)");
      // refused before anything is read: no backup id taken, no table, no restore started
      assertThat(st.backupId).isNull();
      assertThat(st.tables).isEmpty();
      assertThat(reasons(r)).doesNotContain("RestoreStarted");
    }
    assertThat(ch.sql("SELECT count() FROM system.databases WHERE name = 'vb_stolen'")).isEqualTo("0");
    assertThat(Files.exists(root.resolve(D))).as("a refused path makes no folder either").isFalse();
  }

  @Test
  void theRootMeansOnlyTheNamespacesOwnFolder() throws Exception {
    // B names the root and A's id: it looks in B's folder, where there is no such backup
    ClickHouseRestore r = restore(B, "guess", fromLocation(root.toString(), idOfA, "vb_guessed"));
    assertThat(r.getStatus().phase).isEqualTo(ClickHouseRestoreStatus.Phase.Failed);
    assertThat(message(r.getStatus().getConditions())).doesNotContain("Restored");
    assertThat(ch.sql("SELECT count() FROM system.databases WHERE name = 'vb_guessed'")).isEqualTo("0");

    // adoption through the root sees only B's folder: none of A's backups
    ClickHouseBackupSpec look = Specs.backupSpec(Specs.volume(root), "vb_src");
    look.suspend = true;
    harness.client().resource(Specs.backup(B, "looker", look)).create();
    ClickHouseBackupStatus looked = awaitBackup(B, "looker", s -> s.adoption != null).getStatus();
    assertThat(looked.adoption.error).isNull();
    assertThat(looked.adoption.adopted).isIn(null, 0);
    assertThat(looked.backups).isEmpty();
  }

  @Test
  void aBackupPathInAnotherNamespacesFolderIsAValidationError() {
    harness.client().resource(Specs.backup(B, "into-a", Specs.backupSpec(volumeAt(root + "/" + A), "vb_src")))
        .create();
    ClickHouseBackupStatus st = awaitBackup(B, "into-a", s -> s.phase == ClickHouseBackupStatus.Phase.Failed)
        .getStatus();
    assertEquals("ValidationError", reason(st.getConditions()));
    assertThat(message(st.getConditions())).contains("spec.storage.volume.path").contains("not this namespace's folder")
        .contains(root + "/" + B);
    assertThat(st.backups).isEmpty();
  }

  @Test
  void aNamespaceFolderThatIsALinkToAnotherIsRefused() throws Exception {
    Files.createSymbolicLink(root.resolve(C), root.resolve(A));
    ClickHouseRestore r = restore(C, "via-link", fromLocation(root.toString(), idOfA, "vb_linked"));
    assertEquals(ClickHouseRestoreStatus.Phase.Failed, r.getStatus().phase);
    assertEquals("ValidationError", reason(r.getStatus().getConditions()));
    assertThat(message(r.getStatus().getConditions())).contains("symbolic link");
    assertThat(ch.sql("SELECT count() FROM system.databases WHERE name = 'vb_linked'")).isEqualTo("0");
  }

  // ---- helpers

  static BackupStorage volumeAt(String path) {
    BackupStorage storage = new BackupStorage();
    storage.volume = new BackupStorage.Volume();
    storage.volume.path = path;
    return storage;
  }

  static ClickHouseRestoreSpec fromBackup(String backupName, String target) {
    ClickHouseRestoreSpec spec = new ClickHouseRestoreSpec();
    spec.connectionRef = new ConnectionRef("ch");
    spec.source = new ClickHouseRestoreSpec.Source();
    spec.source.backupName = backupName;
    spec.targetDatabase = target;
    return spec;
  }

  static ClickHouseRestoreSpec fromLocation(String path, String backupId, String target) {
    ClickHouseRestoreSpec spec = new ClickHouseRestoreSpec();
    spec.connectionRef = new ConnectionRef("ch");
    spec.source = new ClickHouseRestoreSpec.Source();
    spec.source.storage = volumeAt(path);
    spec.source.backupId = backupId;
    spec.targetDatabase = target;
    return spec;
  }

  static ClickHouseBackup awaitBackup(String ns, String name, Predicate<ClickHouseBackupStatus> condition) {
    return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
        .until(() -> harness.client().resources(ClickHouseBackup.class).inNamespace(ns).withName(name).get(),
            b -> b != null && b.getStatus() != null && condition.test(b.getStatus()));
  }

  /** Creates the restore and waits until it has succeeded or failed. */
  static ClickHouseRestore restore(String ns, String name, ClickHouseRestoreSpec spec) {
    ClickHouseRestore r = new ClickHouseRestore();
    r.setMetadata(Specs.meta(ns, name));
    r.setSpec(spec);
    harness.client().resource(r).create();
    return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(
        () -> harness.client().resources(ClickHouseRestore.class).inNamespace(ns).withName(name).get(),
        x -> x.getStatus() != null && (x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded
            || x.getStatus().phase == ClickHouseRestoreStatus.Phase.Failed));
  }

  static String fingerprint(String db) {
    return ch.sql("SELECT _partition_id, count(), sum(cityHash64(d, id, note)) FROM " + db + ".orders"
        + " GROUP BY _partition_id ORDER BY _partition_id");
  }

  static String reason(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
    return Conditions.find(conditions, Conditions.READY).map(c -> c.getReason()).orElse(null);
  }

  static String message(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
    return Conditions.find(conditions, Conditions.READY).map(c -> c.getMessage()).orElse("");
  }

  static List<String> reasons(HasMetadata resource) {
    return harness.events(resource).stream().map(e -> e.getReason()).toList();
  }
}
