package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.backup.storage.S3ObjectStore;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.S3Server;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TestClock;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A week of scheduled logical backups with changes in between, on ClickHouse 18.16 and on 26.7 (chDB
 * server), through the operator: each backup uploads only the partitions that changed and names the
 * others, {@code keepLast: 3} deletes backups on their own, every kept backup restores hash-equal by
 * itself, and storage holds exactly the objects the kept manifests name. Then a deletion is cut at
 * every step, and the store stays consistent after each cut.
 */
class IncrementalBackupIT {

  static final String NS = "inc-it";
  static final TestClock CLOCK = new TestClock();
  static OperatorHarness harness;
  static ChdbServer chdb;
  static S3Server s3server;
  static S3ObjectStore bucket;
  /** Two tables; the second's name has a quote and Cyrillic. */
  static final String ORDERS = "o'заказы";

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start(OperatorSettings.forTests(), CLOCK);
    harness.namespace(NS);
    harness.readyConnection(NS, "ch18");
    chdb = ChdbServer.shared();
    chdb.sql("DROP DATABASE IF EXISTS inc26 SYNC");
    chdb.sql("CREATE DATABASE inc26 ENGINE = Atomic");
    harness.readyConnection(NS, "ch26", List.of(chdb.httpUrl()), spec -> spec.setDatabase("inc26"));
    s3server = new S3Server("inc").start();
    bucket = new S3ObjectStore(s3server.endpoint(), "us-east-1", "inc", "", S3Server.ACCESS_KEY, S3Server.SECRET_KEY,
        true, S3ObjectStore.MIN_PART);
    harness.secret(NS, "s3", Map.of("id", S3Server.ACCESS_KEY, "secret", S3Server.SECRET_KEY));
    harness.secret(NS, "inc-keys", Map.of("k1", key(), "k2", key()));
  }

  @AfterAll
  static void stop() {
    harness.close();
    bucket.close();
    s3server.close();
  }

  static String key() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  /** The server under test: SQL in, TabSeparated out. */
  record Server(String connection, String database, UnaryOperator<String> sql, boolean hashesParts) {
    void run(String... statements) {
      for (String s : statements) {
        sql.apply(s);
      }
    }

    String table(String name) {
      return "`" + database + "`.`" + name.replace("'", "\\'") + "`";
    }

    /** Per partition: rows and an order-independent content hash. */
    String fingerprint(String db, String table) {
      String columns = table.equals("events") ? "d, id, s" : "id, v";
      return sql.apply("SELECT _partition_id, count(), sum(cityHash64(" + columns + ")) FROM `" + db + "`.`"
          + table.replace("'", "\\'") + "` GROUP BY _partition_id ORDER BY _partition_id");
    }

    /** Runs a change with merges (and mutations, which the same switch holds) allowed, then stops them again. */
    void withMerges(String... statements) {
      run("SYSTEM START MERGES " + table("events"));
      run(statements);
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> "0".equals(sql.apply(
          "SELECT count() FROM system.mutations WHERE database = '" + database + "' AND NOT is_done")));
      run("SYSTEM STOP MERGES " + table("events"));
    }
  }

  @Test
  void aWeekOfBackupsOn18UploadsWhatChangedAndKeepsExactlyWhatTheKeptBackupsName() throws Exception {
    Server s = new Server("ch18", "inc18", q -> harness.clickhouse().sql(q), false);
    s.run("DROP DATABASE IF EXISTS inc18", "CREATE DATABASE inc18");
    week(s, "week18");
  }

  @Test
  void aWeekOfBackupsOn26UploadsWhatChangedAndKeepsExactlyWhatTheKeptBackupsName() throws Exception {
    Server s = new Server("ch26", "inc26", chdb::sql, true);
    week(s, "week26");
  }

  /** What one day's backup should have done, and what the source held then. */
  record Day(String id, Map<String, String> source) {}

  void week(Server s, String name) throws Exception {
    s.run("CREATE TABLE " + s.table("events") + " (d Date, id UInt64, s String) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id",
        "CREATE TABLE " + s.table(ORDERS) + " (id UInt64, v String) ENGINE = MergeTree PARTITION BY id % 3 ORDER BY id",
        // merges run only where the test says, so that which parts exist is the test's doing
        "SYSTEM STOP MERGES " + s.table("events"), "SYSTEM STOP MERGES " + s.table(ORDERS),
        "INSERT INTO " + s.table("events") + " SELECT toDate('2024-01-01') + number % 366, number,"
            + " concat('event ', toString(number)) FROM numbers(120000)",
        "INSERT INTO " + s.table(ORDERS) + " SELECT number, concat('заказ ', toString(number)) FROM numbers(3000)");
    ClickHouseBackupSpec spec = Specs.backupSpec(Specs.s3(s3server.endpoint(), "inc", name), s.database());
    spec.connectionRef = new ConnectionRef(s.connection());
    spec.method = ClickHouseBackupSpec.LOGICAL;
    spec.schedule = new ClickHouseBackupSpec.Schedule();
    spec.schedule.cron = "0 3 * * *";
    spec.retention = new ClickHouseBackupSpec.Retention();
    spec.retention.keepLast = 3;
    spec.encryption = new ClickHouseBackupSpec.BackupEncryption();
    spec.encryption.keySecret = "inc-keys";
    spec.encryption.keyId = "k1";
    ClickHouseBackup resource = new ClickHouseBackup();
    resource.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    resource.setSpec(spec);
    harness.client().resource(resource).create();
    awaitBackup(name, st -> st.nextScheduleTime != null);

    List<Day> days = new ArrayList<>();
    // day 1: the first backup uploads all 12 + 3 partitions
    BackupRecord r = day(name, days, s);
    assertSharing(r, 15, 0);
    // day 2: nothing changed: every partition is named, none uploaded
    r = day(name, days, s);
    assertSharing(r, 0, 15);
    assertEquals(r.storedBytes, r.bytesReused);
    assertEquals(0L, r.bytesUploaded);
    // day 3: rows into a new partition and into an old one
    s.run("INSERT INTO " + s.table("events") + " SELECT toDate('2025-01-01') + number % 31, 200000 + number, 'new'"
        + " FROM numbers(1000)", "INSERT INTO " + s.table("events") + " SELECT toDate('2024-03-05'), 300000 + number,"
        + " 'late' FROM numbers(500)");
    r = day(name, days, s);
    assertSharing(r, 2, 14);
    // day 4: a merge of that old partition's two parts: only it is uploaded again
    s.withMerges("OPTIMIZE TABLE " + s.table("events") + " PARTITION 202403 FINAL");
    r = day(name, days, s);
    assertSharing(r, 1, 15);
    // day 5: a mutation of one day's rows. 18.16 renames every part of the table (its parts carry no hash of their
    // files), so all 13 partitions of events go up again; 26.7's parts that the mutation did not change keep their
    // files' hash, so only the changed partition does
    s.withMerges("ALTER TABLE " + s.table("events") + " UPDATE s = 'changed' WHERE d = toDate('2024-05-10')");
    r = day(name, days, s);
    if (s.hashesParts()) {
      assertSharing(r, 1, 15);
    } else {
      assertSharing(r, 13, 3);
    }
    // day 6: a dropped partition is simply not named
    s.run("ALTER TABLE " + s.table("events") + " DROP PARTITION 202401");
    r = day(name, days, s);
    assertSharing(r, 0, 15);
    // day 7: a key rotation: nothing encrypted with k1 is reused under k2
    harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).edit(b -> {
      b.getSpec().encryption.keyId = "k2";
      return b;
    });
    r = day(name, days, s);
    assertSharing(r, 15, 0);
    assertEquals("k2", r.keyId);

    // keepLast 3: days 5, 6 and 7 are kept, each standing alone
    ClickHouseBackupStatus st = backup(name).getStatus();
    List<String> kept = st.backups.stream().filter(b -> "Complete".equals(b.outcome)).map(b -> b.id).toList();
    assertEquals(List.of(days.get(6).id(), days.get(5).id(), days.get(4).id()), kept);
    String prefix = name + "/";
    assertThat(folders(prefix)).containsExactlyInAnyOrderElementsOf(concat(kept, List.of("objects")));
    Map<String, Manifest> manifests = manifests(prefix, kept);
    assertEquals(expectedObjects(manifests), objects(prefix), "storage holds exactly what the kept manifests name");
    // the two key generations share nothing: day 7 names only objects under k2
    Set<String> day7 = PartitionObjects.named(manifests.get(days.get(6).id()));
    Set<String> day6 = PartitionObjects.named(manifests.get(days.get(5).id()));
    assertThat(day7).doesNotContainAnyElementsOf(day6);
    assertEquals(16, PartitionObjects.named(manifests.get(days.get(4).id())).size());

    // every kept backup restores by itself to what the source held that day (k1 and k2 both in the Secret)
    for (int d = 4; d < 7; d++) {
      Day day = days.get(d);
      String target = s.database() + "_day" + (d + 1);
      s.run("DROP DATABASE IF EXISTS " + target);
      ClickHouseRestoreStatus rs = restore(name + "-day" + (d + 1), s.connection(), name, day.id(), target);
      assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, rs.phase, Serialization.asJson(rs));
      assertEquals(day.source().get("events"), s.fingerprint(target, "events"), "day " + (d + 1) + ": events");
      assertEquals(day.source().get(ORDERS), s.fingerprint(target, ORDERS), "day " + (d + 1) + ": " + ORDERS);
    }

    // deleting a backup, cut after each single delete, as a crash would: the store stays consistent after
    // every cut, and the next sweep leaves exactly what the remaining manifests name
    harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).delete();
    String oldest = kept.get(2);
    try (ObjectStore store = new S3ObjectStore(s3server.endpoint(), "us-east-1", "inc", name, S3Server.ACCESS_KEY,
        S3Server.SECRET_KEY, true, S3ObjectStore.MIN_PART)) {
      int cuts = 0;
      for (int allowed = 1; ; allowed++) {
        CutStore cut = new CutStore(store, allowed);
        try {
          Set<String> named = BackupRun.deleteBackup(cut, oldest);
          PartitionObjects.sweep(cut, name, named, m -> { });
          break;
        } catch (IOException e) {
          cuts++;
          assertConsistent(prefix, kept);
        }
      }
      assertThat(cuts).as("cuts made").isGreaterThanOrEqualTo(3);
      List<String> left = kept.subList(0, 2);
      assertEquals(expectedObjects(manifests(prefix, left)), objects(prefix));
      assertThat(folders(prefix)).containsExactlyInAnyOrderElementsOf(concat(left, List.of("objects")));
    }
  }

  /** Every manifest left names only objects that exist, with the size it records. */
  void assertConsistent(String prefix, List<String> ids) throws IOException {
    Map<String, Long> sizes = new HashMap<>();
    bucket.list(prefix + "objects/").forEach(o -> sizes.put(o.key().substring(prefix.length()), o.size()));
    for (String id : ids) {
      if (!bucket.exists(prefix + id + "/" + Manifest.FILE)) {
        continue; // deleted: a cut after its manifest went
      }
      Manifest m = manifest(prefix, id);
      m.tables.forEach(t -> t.partitions.forEach(p -> assertEquals(Long.valueOf(p.storedBytes), sizes.get(p.key),
          id + " names " + p.key)));
    }
  }

  /**
   * The folders under a prefix, from a full listing (s3rver's delimiter listing leaves out a folder that
   * holds no object directly, as objects/ does).
   */
  static Set<String> folders(String prefix) throws IOException {
    Set<String> out = new HashSet<>();
    bucket.list(prefix).forEach(o -> out.add(o.key().substring(prefix.length()).split("/")[0]));
    return out;
  }

  static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  static Set<String> expectedObjects(Map<String, Manifest> manifests) {
    Set<String> out = new HashSet<>();
    manifests.values().forEach(m -> PartitionObjects.named(m).forEach(k -> {
      out.add(k);
      out.add(k + PartitionObjects.RECEIPT);
    }));
    return out;
  }

  static Set<String> objects(String prefix) throws IOException {
    Set<String> out = new HashSet<>();
    bucket.list(prefix + "objects/").forEach(o -> out.add(o.key().substring(prefix.length())));
    return out;
  }

  static Map<String, Manifest> manifests(String prefix, List<String> ids) throws IOException {
    Map<String, Manifest> out = new LinkedHashMap<>();
    for (String id : ids) {
      out.put(id, manifest(prefix, id));
    }
    return out;
  }

  static Manifest manifest(String prefix, String id) throws IOException {
    try (InputStream in = bucket.open(prefix + id + "/" + Manifest.FILE)) {
      return Manifest.fromJson(in.readAllBytes());
    }
  }

  static void assertSharing(BackupRecord r, int uploaded, int reused) {
    assertEquals(uploaded, r.objectsUploaded, () -> "uploaded, in " + Serialization.asJson(r));
    assertEquals(reused, r.objectsReused, () -> "reused, in " + Serialization.asJson(r));
    assertTrue(r.bytesUploaded + r.bytesReused == r.storedBytes, () -> Serialization.asJson(r));
  }

  /** The next day's scheduled backup: waits for it to complete, and records what the source held. */
  BackupRecord day(String name, List<Day> days, Server s) {
    String before = days.isEmpty() ? null : days.get(days.size() - 1).id();
    Map<String, String> source = Map.of("events", s.fingerprint(s.database(), "events"), ORDERS,
        s.fingerprint(s.database(), ORDERS));
    CLOCK.advance(Duration.ofDays(1));
    harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).patch(
        PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"labels\":{\"day\":\"" + (days.size() + 1) + "\"}}}");
    ClickHouseBackupStatus st = awaitBackup(name, x -> x.phase == ClickHouseBackupStatus.Phase.Succeeded
        && x.running == null && x.lastSuccessful != null && !x.lastSuccessful.id.equals(before)).getStatus();
    days.add(new Day(st.lastSuccessful.id, source));
    return st.lastSuccessful;
  }

  static ClickHouseBackup backup(String name) {
    return harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).get();
  }

  static ClickHouseBackup awaitBackup(String name, java.util.function.Predicate<ClickHouseBackupStatus> condition) {
    try {
      return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
          .until(() -> backup(name), b -> b != null && b.getStatus() != null && condition.test(b.getStatus()));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      ClickHouseBackup now = backup(name);
      throw new AssertionError("timed out; status " + (now == null ? "(gone)" : Serialization.asJson(now.getStatus())),
          e);
    }
  }

  static ClickHouseRestoreStatus restore(String name, String connection, String backupName, String backupId,
      String target) {
    ClickHouseRestore r = Specs.restore(NS, name, backupName, target);
    r.getSpec().connectionRef = new ConnectionRef(connection);
    r.getSpec().source.backupId = backupId;
    harness.client().resource(r).create();
    return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(
        () -> harness.client().resources(ClickHouseRestore.class).inNamespace(NS).withName(name).get(),
        x -> x.getStatus() != null && (x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded
            || x.getStatus().phase == ClickHouseRestoreStatus.Phase.Failed)).getStatus();
  }

  /** A store whose deletes stop, as at a crash, after a number of keys: each call deletes up to the limit, then throws. */
  static final class CutStore extends dev.housekeeper.backup.storage.ForwardingObjectStore {
    private int allowed;

    CutStore(ObjectStore store, int allowed) {
      super(store);
      this.allowed = allowed;
    }

    @Override
    public void delete(List<String> keys) throws IOException {
      for (String k : keys) {
        if (allowed == 0) {
          throw new IOException("cut");
        }
        store.delete(List.of(k));
        allowed--;
      }
    }

    @Override
    public void close() {
      // the test's store, closed by the test
    }
  }
}
