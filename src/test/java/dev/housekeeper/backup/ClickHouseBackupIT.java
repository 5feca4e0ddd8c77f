package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.common.SecretKeyRef;
import dev.housekeeper.backup.storage.FileObjectStore;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.backup.storage.S3ObjectStore;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.S3Server;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TcpProxy;
import dev.housekeeper.testing.TestClock;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * ClickHouseBackup and ClickHouseRestore through the real operator and the mock API, on the real
 * ClickHouse server and a real S3-compatible server (s3rver).
 */
class ClickHouseBackupIT {

  static final String NS = "bak-it";
  static final TestClock CLOCK = new TestClock();
  static OperatorHarness harness;
  static ClickHouseServer ch;
  static S3Server s3server;
  static S3ObjectStore s3;

  static final Map<String, String> COLUMNS = Map.of("events", "d, id, s", "users", "id, name, score",
      "metrics", "t, k, v");

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start(OperatorSettings.forTests(), CLOCK);
    ch = harness.clickhouse();
    harness.namespace(NS);
    harness.readyConnection(NS, "ch");
    s3server = new S3Server("backups").start();
    s3 = new S3ObjectStore(s3server.endpoint(), "us-east-1", "backups", "", S3Server.ACCESS_KEY,
        S3Server.SECRET_KEY, true, S3ObjectStore.MIN_PART);
    harness.secret(NS, "s3", Map.of("id", S3Server.ACCESS_KEY, "secret", S3Server.SECRET_KEY));
    ch.sql("DROP DATABASE IF EXISTS bo_src; CREATE DATABASE bo_src;"
        + "CREATE TABLE bo_src.events (d Date, id UInt64, s String) ENGINE = MergeTree PARTITION BY toYYYYMM(d)"
        + " ORDER BY id;"
        + "INSERT INTO bo_src.events SELECT toDate('2024-01-01') + (number % 180), number,"
        + " concat('event-', toString(number)) FROM system.numbers LIMIT 600000;"
        + "CREATE TABLE bo_src.users (id UInt64, name String, score Float64) ENGINE = MergeTree PARTITION BY id % 4"
        + " ORDER BY id;"
        + "INSERT INTO bo_src.users SELECT number, concat('user ''', toString(number), ''''), number / 7"
        + " FROM system.numbers LIMIT 300000;"
        + "CREATE TABLE bo_src.metrics (t DateTime, k String, v Nullable(Float64)) ENGINE = MergeTree ORDER BY t;"
        + "INSERT INTO bo_src.metrics SELECT toDateTime('2024-01-01 00:00:00') + number, toString(number % 17),"
        + " if(number % 5 = 0, NULL, number * 1.5) FROM system.numbers LIMIT 200000");
  }

  @AfterAll
  static void stop() {
    harness.close();
    s3.close();
    s3server.close();
  }

  // ---- helpers

  static BackupStorage s3Storage(String endpoint, String prefix) {
    return Specs.s3(endpoint, "backups", prefix);
  }

  static BackupStorage volume(Path path) {
    return Specs.volume(path);
  }

  static ClickHouseBackupSpec spec(BackupStorage storage, String... databases) {
    return Specs.backupSpec(storage, databases);
  }

  static ClickHouseBackup create(String name, ClickHouseBackupSpec spec) {
    ClickHouseBackup b = new ClickHouseBackup();
    b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    b.setSpec(spec);
    return harness.client().resource(b).create();
  }

  static ClickHouseBackup backup(String name) {
    return harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).get();
  }

  static ClickHouseBackup awaitBackup(String name, Predicate<ClickHouseBackupStatus> condition) {
    try {
      return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
          .until(() -> backup(name), b -> b != null && b.getStatus() != null && condition.test(b.getStatus()));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      ClickHouseBackup now = backup(name);
      throw new AssertionError("timed out; status " + (now == null ? "(gone)" : Serialization.asJson(now.getStatus())),
          e);
    }
  }

  static ClickHouseRestore restore(String name, ClickHouseRestoreSpec spec) {
    ClickHouseRestore r = new ClickHouseRestore();
    r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    r.setSpec(spec);
    harness.client().resource(r).create();
    try {
      return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(
          () -> harness.client().resources(ClickHouseRestore.class).inNamespace(NS).withName(name).get(),
          x -> x.getStatus() != null && (x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded
              || x.getStatus().phase == ClickHouseRestoreStatus.Phase.Failed));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      var now = harness.client().resources(ClickHouseRestore.class).inNamespace(NS).withName(name).get();
      throw new AssertionError("timed out; status " + Serialization.asJson(now.getStatus()), e);
    }
  }

  static ClickHouseRestoreSpec restoreSpec(String backupName, String targetDatabase) {
    ClickHouseRestoreSpec spec = new ClickHouseRestoreSpec();
    spec.connectionRef = new ConnectionRef("ch");
    spec.source = new ClickHouseRestoreSpec.Source();
    spec.source.backupName = backupName;
    spec.targetDatabase = targetDatabase;
    return spec;
  }

  /** Per partition: rows and an order-independent content hash. */
  static String fingerprint(String db, String table) {
    return ch.sql("SELECT _partition_id, count(), sum(cityHash64(" + COLUMNS.get(table) + ")) FROM " + db + "." + table
        + " GROUP BY _partition_id ORDER BY _partition_id");
  }

  static String reason(ClickHouseBackupStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).map(c -> c.getReason()).orElse(null);
  }

  static String readyMessage(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
    return Conditions.find(conditions, Conditions.READY).map(c -> c.getMessage()).orElse(null);
  }

  /** A change that makes the operator look again (as any edit of the resource does). */
  static void poke(String name, String value) {
    harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).patch(
        PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"labels\":{\"poke\":\"" + value + "\"}}}");
  }

  static void annotate(String name, String key, String value) {
    harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).patch(
        PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\"" + key + "\":\"" + value + "\"}}}");
  }

  static String sha256(ObjectStore store, String key) throws Exception {
    try (InputStream in = store.open(key)) {
      return LogicalBackup.hex(LogicalBackup.sha256().digest(in.readAllBytes()));
    }
  }

  /** Partition objects complete with their receipt under a prefix. */
  static long receipts(ObjectStore store, String prefix) throws IOException {
    return store.list(prefix).stream().filter(o -> o.key().endsWith(".receipt.json")).count();
  }

  static String ourQueries(String backupName) {
    return ch.sql("SELECT query_id FROM system.processes WHERE query_id LIKE 'hk-backup-" + backupName + "-%'");
  }

  // ---- tests

  @Test
  void aDatabaseOfThreeTablesIsBackedUpToS3AndRestoredBesideTheOriginal() throws Exception {
    create("full", spec(s3Storage(s3server.endpoint(), "cluster-a"), "bo_src"));
    ClickHouseBackup done = awaitBackup("full", s -> s.phase == ClickHouseBackupStatus.Phase.Succeeded);
    ClickHouseBackupStatus st = done.getStatus();
    BackupRecord r = st.lastSuccessful;
    assertNotNull(r);
    assertEquals("Complete", r.outcome);
    assertEquals("logical", r.method);
    assertEquals(3, r.tables);
    assertEquals(java.util.Map.of("table", 3), r.objects, "objects by kind in status");
    assertThat(r.notBackedUp).as("what 18.16 cannot give, in words").containsExactly(
        "user-defined functions: ClickHouse 18.16.1 has none (CREATE FUNCTION came in 21.10)",
        "access entities: not asked for (add accessEntity to spec.scope.kinds to back up users, roles, grants, row"
            + " policies, quotas and settings profiles)");
    assertEquals(1_100_000L, r.rows);
    assertEquals(6 + 4 + 1, r.partitions);
    assertThat(r.storedBytes).isPositive().isLessThan(r.rawBytes);
    assertEquals("s3://backups/cluster-a/" + r.id + "/", r.location);
    assertEquals(r.endTime, st.lastSuccessfulTime);
    assertEquals(1, st.completeBackups);
    assertEquals("BackupComplete", reason(st));
    assertNull(st.nextScheduleTime);
    // the record matches what is in storage: the manifest's checksum, the objects
    assertEquals(sha256(s3, "cluster-a/" + r.id + "/manifest.json"), r.manifestSha256);
    Manifest m = Manifest.fromJson(s3.open("cluster-a/" + r.id + "/manifest.json").readAllBytes());
    assertEquals(1_100_000L, m.rows());
    // every partition is a shared object (a first backup uploads them all), of the size its entry records
    var stored = new java.util.HashMap<String, Long>();
    s3.list("cluster-a/objects/").forEach(o -> stored.put(o.key(), o.size()));
    assertThat(m.tables.stream().flatMap(t -> t.partitions.stream()))
        .allMatch(p -> p.key.startsWith("objects/full/bo_src/") && !p.reused
            && Long.valueOf(p.storedBytes).equals(stored.get("cluster-a/" + p.key)));
    assertEquals(11, r.objectsUploaded);
    assertEquals(0, r.objectsReused);
    assertEquals(r.storedBytes, r.bytesUploaded);
    assertThat(harness.events(done)).extracting(e -> e.getReason()).contains("BackupStarted", "BackupCompleted");
    String metrics = harness.http("/metrics").body();
    var rowsMetric = java.util.regex.Pattern.compile("housekeeper_backup_rows_total\\{namespace=\"bak-it\"} (\\S+)")
        .matcher(metrics);
    assertTrue(rowsMetric.find(), "rows metric exported");
    assertThat(Double.parseDouble(rowsMetric.group(1))).isGreaterThanOrEqualTo(1_100_000);
    assertThat(metrics).contains("housekeeper_actions_total{action=\"backup\",kind=\"ClickHouseBackup\","
        + "namespace=\"bak-it\",outcome=\"success\"}").contains("housekeeper_backup_bytes_total{namespace=\"bak-it\","
        + "stage=\"stored\"}");

    ch.sql("DROP DATABASE IF EXISTS bo_dst");
    ClickHouseRestore restored = restore("full-restore", restoreSpec("full", "bo_dst"));
    ClickHouseRestoreStatus rs = restored.getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, rs.phase, Serialization.asJson(rs));
    assertEquals(r.id, rs.backupId);
    assertEquals(3, rs.tablesRestored);
    assertEquals(1_100_000L, rs.rows);
    assertThat(rs.tables).extracting(t -> t.target + "=" + t.outcome).containsExactlyInAnyOrder(
        "bo_dst.events=Restored", "bo_dst.users=Restored", "bo_dst.metrics=Restored");
    for (String table : List.of("events", "users", "metrics")) {
      assertEquals(fingerprint("bo_src", table), fingerprint("bo_dst", table), table);
    }
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'bo_dst' AND name LIKE '_hk_restore_%'"));

    // the same restore again, mode failIfExists: every table refused, nothing changed
    ClickHouseRestoreSpec again = restoreSpec("full", "bo_dst");
    again.mode = ClickHouseRestoreSpec.Mode.failIfExists;
    again.tables = List.of("users");
    ClickHouseRestoreStatus refused = restore("full-restore-again", again).getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Failed, refused.phase);
    assertEquals("TablesFailed", Conditions.find(refused.getConditions(), Conditions.READY).orElseThrow().getReason());
    assertThat(refused.tables).singleElement().satisfies(t -> {
      assertEquals("Failed", t.outcome);
      assertThat(t.message).contains("exists");
    });
    assertEquals(fingerprint("bo_src", "users"), fingerprint("bo_dst", "users"));
  }

  static void assertNull(Object o) {
    org.junit.jupiter.api.Assertions.assertNull(o);
  }

  @Test
  void anEncryptedBackupRestoresWithItsKeyAndAWrongKeyFailsCleanly() throws Exception {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    harness.secret(NS, "backup-keys", Map.of("k2026", Base64.getEncoder().encodeToString(key)));
    Path dir = Files.createTempDirectory("hk-enc-");
    ClickHouseBackupSpec spec = spec(volume(dir), "bo_src");
    spec.scope.tables = List.of("users");
    spec.encryption = new ClickHouseBackupSpec.BackupEncryption();
    spec.encryption.keySecret = "backup-keys";
    create("enc", spec);
    BackupRecord r = awaitBackup("enc", s -> s.phase == ClickHouseBackupStatus.Phase.Succeeded).getStatus()
        .lastSuccessful;
    assertEquals("k2026", r.keyId);
    try (FileObjectStore files = new FileObjectStore(dir)) {
      Manifest m = Manifest.fromJson(files.open(r.id + "/manifest.json").readAllBytes());
      assertEquals(Encryption.ALGORITHM, m.encryption);
      assertEquals("k2026", m.keyId);
      String dataKey = m.tables.get(0).partitions.get(0).key;
      byte[] head = files.open(dataKey).readNBytes(4);
      assertEquals("HKE1", new String(head, java.nio.charset.StandardCharsets.US_ASCII), "objects are sealed");
    }

    ch.sql("DROP DATABASE IF EXISTS bo_enc");
    ClickHouseRestoreStatus ok = restore("enc-restore", restoreSpec("enc", "bo_enc")).getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, ok.phase, Serialization.asJson(ok));
    assertEquals(fingerprint("bo_src", "users"), fingerprint("bo_enc", "users"));

    // the same key id with other bytes (a botched rotation): refused before any table is touched
    byte[] wrong = new byte[32];
    new SecureRandom().nextBytes(wrong);
    harness.secret(NS, "wrong-keys", Map.of("k2026", Base64.getEncoder().encodeToString(wrong)));
    ch.sql("DROP DATABASE IF EXISTS bo_enc_wrong");
    ClickHouseRestoreSpec bad = restoreSpec("enc", "bo_enc_wrong");
    bad.keySecret = "wrong-keys";
    ClickHouseRestoreStatus failed = restore("enc-wrong", bad).getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Failed, failed.phase);
    assertEquals("RestoreFailed", Conditions.find(failed.getConditions(), Conditions.READY).orElseThrow().getReason());
    assertThat(readyMessage(failed.getConditions())).contains("cannot be read").contains("nothing was restored");
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'bo_enc_wrong'"));

    // a key id the Secret does not hold
    harness.secret(NS, "other-keys", Map.of("k2027", Base64.getEncoder().encodeToString(wrong)));
    ClickHouseRestoreSpec other = restoreSpec("enc", "bo_enc_wrong");
    other.keySecret = "other-keys";
    ClickHouseRestoreStatus missing = restore("enc-other", other).getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Failed, missing.phase);
    assertThat(readyMessage(missing.getConditions())).contains("k2026").contains("k2027");
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'bo_enc_wrong'"));
  }

  @Test
  void s3StoppedMidBackupFailsWithoutManifestAndTheNextScheduledRunSucceeds() throws Exception {
    ch.sql("DROP DATABASE IF EXISTS bo_big; CREATE DATABASE bo_big;"
        + "CREATE TABLE bo_big.t (d Date, id UInt64, s String) ENGINE = MergeTree PARTITION BY toYYYYMMDD(d) ORDER BY id;"
        + "INSERT INTO bo_big.t SELECT toDate('2024-01-01') + (number % 40), number, toString(rand64())"
        + " FROM system.numbers LIMIT 2000000");
    try (S3Server own = new S3Server("backups").start();
        TcpProxy slow = new TcpProxy(java.net.URI.create(own.endpoint()).getPort()).start();
        S3ObjectStore view = new S3ObjectStore(own.endpoint(), "us-east-1", "backups", "", S3Server.ACCESS_KEY,
            S3Server.SECRET_KEY, true, S3ObjectStore.MIN_PART)) {
      slow.throttle(4 * 1024 * 1024);
      ClickHouseBackupSpec spec = spec(s3Storage(slow.url(), "sched"), "bo_big");
      spec.schedule = new ClickHouseBackupSpec.Schedule();
      spec.schedule.cron = "0 * * * *";
      create("sched", spec);
      ClickHouseBackupStatus pending = awaitBackup("sched", s -> s.nextScheduleTime != null).getStatus();
      assertEquals(ClickHouseBackupStatus.Phase.Pending, pending.phase);
      CLOCK.advance(Duration.ofHours(1));
      poke("sched", "1");
      ClickHouseBackupStatus running = awaitBackup("sched", s -> s.running != null).getStatus();
      String failedId = running.running;
      // some partitions of it are uploaded (each object then its receipt), then the storage goes away
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
          .until(() -> receipts(view, "sched/objects/") >= 2);
      long uploadedBeforeTheCut = receipts(view, "sched/objects/");
      own.stop();
      ClickHouseBackupStatus failed = awaitBackup("sched", s -> s.phase == ClickHouseBackupStatus.Phase.Failed)
          .getStatus();
      assertEquals("BackupFailed", reason(failed));
      assertThat(readyMessage(failed.getConditions())).contains(failedId);
      BackupRecord record = failed.backups.get(0);
      assertEquals(failedId, record.id);
      assertEquals("Failed", record.outcome);
      assertThat(record.message).isNotBlank();
      assertNull(failed.lastSuccessful);
      assertEquals(List.of(failedId), failed.pendingCleanup, "objects could not be deleted while S3 was down");
      assertEquals("", ourQueries("sched"));

      own.start();
      assertFalse(view.exists("sched/" + failedId + "/manifest.json"), "an incomplete backup has no manifest");
      slow.throttle(0);
      CLOCK.advance(Duration.ofHours(1));
      poke("sched", "2");
      ClickHouseBackupStatus ok = awaitBackup("sched", s -> s.phase == ClickHouseBackupStatus.Phase.Succeeded)
          .getStatus();
      assertEquals(2_000_000L, ok.lastSuccessful.rows);
      // resumed: the partitions the failed attempt uploaded are named, not uploaded again
      BackupRecord retried = ok.backups.get(ok.backups.size() - 2);
      assertThat(retried.objectsReused).as("reused by the retry").isGreaterThanOrEqualTo((int) uploadedBeforeTheCut);
      assertEquals(40, retried.objectsReused + retried.objectsUploaded);
      // the failed attempt is retried by itself (S3 went away: a passing failure) and the hour's schedule may run
      // too; either way the failed one is the only failure and every complete one is in the bucket
      assertThat(ok.backups.get(ok.backups.size() - 1).id).isEqualTo(failedId);
      assertThat(ok.backups.subList(0, ok.backups.size() - 1)).isNotEmpty().allMatch(b -> "Complete".equals(b.outcome));
      assertEquals(List.of(), ok.pendingCleanup);
      assertEquals(List.of(), view.list("sched/" + failedId + "/"), "the failed backup's objects are deleted");
      // from a full listing: s3rver's delimiter listing leaves out a folder that holds no object directly (objects/)
      assertThat(view.list("sched/").stream().map(o -> o.key().split("/")[1]).distinct().toList())
          .containsExactlyInAnyOrderElementsOf(java.util.stream.Stream.concat(
          ok.backups.stream().filter(b -> "Complete".equals(b.outcome)).map(b -> b.id), java.util.stream.Stream.of(
          "objects")).toList());
      assertNotNull(ok.nextScheduleTime);
    }
  }

  @Test
  void aScheduleWithKeepLastTwoLeavesTwoBackupsAfterFourRunsOnAVolume() throws Exception {
    Path dir = Files.createTempDirectory("hk-vol-");
    ClickHouseBackupSpec spec = spec(volume(dir), "bo_src");
    spec.scope.tables = List.of("~^(users|metrics)$");
    spec.schedule = new ClickHouseBackupSpec.Schedule();
    spec.schedule.cron = "30 2 * * *";
    spec.schedule.timeZone = "Europe/Berlin";
    spec.retention = new ClickHouseBackupSpec.Retention();
    spec.retention.keepLast = 2;
    spec.compression = ClickHouseBackupSpec.Codec.lz4;
    create("daily", spec);
    awaitBackup("daily", s -> s.nextScheduleTime != null);
    for (int run = 1; run <= 4; run++) {
      CLOCK.advance(Duration.ofDays(1));
      poke("daily", "run" + run);
      int n = run;
      awaitBackup("daily", s -> s.phase == ClickHouseBackupStatus.Phase.Succeeded && s.running == null
          && s.backups.size() == Math.min(n, 2) && s.backups.stream().allMatch(b -> "Complete".equals(b.outcome))
          && (n == 1 || !s.lastSuccessful.id.equals(lastId)));
      lastId = backup("daily").getStatus().lastSuccessful.id;
    }
    ClickHouseBackupStatus st = backup("daily").getStatus();
    assertEquals(2, st.completeBackups);
    List<String> listed = st.backups.stream().map(b -> b.id).toList();
    try (FileObjectStore files = new FileObjectStore(dir)) {
      assertThat(files.children("")).containsExactlyInAnyOrderElementsOf(java.util.stream.Stream.concat(
          listed.stream(), java.util.stream.Stream.of("objects")).toList());
      for (BackupRecord b : st.backups) {
        assertEquals(500_000L, b.rows);
        assertTrue(files.exists(b.id + "/manifest.json"));
        Manifest m = Manifest.fromJson(files.open(b.id + "/manifest.json").readAllBytes());
        assertThat(m.tables.stream().flatMap(t -> t.partitions.stream())).allMatch(p -> p.key.endsWith(".native.lz4"));
      }
    }
    assertThat(harness.events(backup("daily"))).extracting(e -> e.getReason()).contains("BackupPruned");

    // restore from the location alone (as after the resource is gone), one table, into a new database
    ch.sql("DROP DATABASE IF EXISTS bo_vol");
    ClickHouseRestoreSpec fromLocation = new ClickHouseRestoreSpec();
    fromLocation.connectionRef = new ConnectionRef("ch");
    fromLocation.source = new ClickHouseRestoreSpec.Source();
    fromLocation.source.storage = volume(dir);
    fromLocation.source.backupId = listed.get(1);
    fromLocation.tables = List.of("bo_src.metrics");
    fromLocation.targetDatabase = "bo_vol";
    ClickHouseRestoreStatus rs = restore("vol-restore", fromLocation).getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, rs.phase, Serialization.asJson(rs));
    assertEquals("metrics", ch.sql("SELECT name FROM system.tables WHERE database = 'bo_vol'"));
    assertEquals(fingerprint("bo_src", "metrics"), fingerprint("bo_vol", "metrics"));
  }

  static String lastId;

  @Test
  void scopeFiltersPartitionsAndSchemaAMissedScheduleRunsOnceAndDeleteDataOnDeleteRemovesObjects()
      throws Exception {
    // partitions from 202403 on, of one table
    Path dir = Files.createTempDirectory("hk-scope-");
    ClickHouseBackupSpec spec = spec(volume(dir), "bo_src");
    spec.scope.tables = List.of("bo_src.events");
    spec.scope.partitions = new ClickHouseBackupSpec.PartitionFilter();
    spec.scope.partitions.from = "202403";
    spec.deleteDataOnDelete = true;
    create("recent", spec);
    BackupRecord r = awaitBackup("recent", s -> s.phase == ClickHouseBackupStatus.Phase.Succeeded).getStatus()
        .lastSuccessful;
    assertEquals(4, r.partitions); // 202403 .. 202406
    assertEquals(Long.parseLong(ch.sql("SELECT count() FROM bo_src.events WHERE toYYYYMM(d) >= 202403").strip()),
        r.rows);
    ch.sql("DROP DATABASE IF EXISTS bo_recent");
    ClickHouseRestoreStatus rs = restore("recent-restore", restoreSpec("recent", "bo_recent")).getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, rs.phase, Serialization.asJson(rs));
    assertEquals(ch.sql("SELECT _partition_id, count(), sum(cityHash64(d, id, s)) FROM bo_src.events WHERE"
        + " toYYYYMM(d) >= 202403 GROUP BY _partition_id ORDER BY _partition_id"), fingerprint("bo_recent", "events"));

    // schema only: the table comes back empty
    ClickHouseBackupSpec schema = spec(volume(dir), "bo_src");
    schema.scope.tables = List.of("users");
    schema.scope.schemaOnly = true;
    create("schema", schema);
    BackupRecord sr = awaitBackup("schema", s -> s.phase == ClickHouseBackupStatus.Phase.Succeeded).getStatus()
        .lastSuccessful;
    assertEquals(0L, sr.rows);
    assertEquals(0, sr.partitions);
    ch.sql("DROP DATABASE IF EXISTS bo_schema");
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, restore("schema-restore",
        restoreSpec("schema", "bo_schema")).getStatus().phase);
    assertEquals("0", ch.sql("SELECT count() FROM bo_schema.users").strip());
    assertEquals(ch.sql("SELECT name, type FROM system.columns WHERE database = 'bo_src' AND table = 'users'"),
        ch.sql("SELECT name, type FROM system.columns WHERE database = 'bo_schema' AND table = 'users'"));

    // the operator "down" for three scheduled times: one backup when it looks again, not three
    ClickHouseBackupSpec hourly = spec(volume(dir), "bo_src");
    hourly.scope.tables = List.of("metrics");
    hourly.schedule = new ClickHouseBackupSpec.Schedule();
    hourly.schedule.cron = "15 * * * *";
    create("hourly", hourly);
    String firstNext = awaitBackup("hourly", s -> s.nextScheduleTime != null).getStatus().nextScheduleTime;
    CLOCK.advance(Duration.ofHours(3));
    poke("hourly", "late");
    ClickHouseBackupStatus once = awaitBackup("hourly", s -> s.phase == ClickHouseBackupStatus.Phase.Succeeded)
        .getStatus();
    Thread.sleep(1500); // time for a second run, were one (wrongly) due
    once = backup("hourly").getStatus();
    assertEquals(1, once.backups.size());
    // the folder is shared: the backups that recent and schema list stay theirs, not adopted by hourly
    assertEquals(2, once.adoption.listedElsewhere, Serialization.asJson(once.adoption));
    assertEquals(0, once.adoption.adopted);
    assertThat(java.time.Instant.parse(once.nextScheduleTime)).isAfter(CLOCK.instant())
        .isAfter(java.time.Instant.parse(firstNext).plus(Duration.ofHours(2)));

    // deletion: the default keeps the data, deleteDataOnDelete removes it
    String kept = once.lastSuccessful.id;
    harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName("hourly").delete();
    harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName("recent").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> backup("hourly") == null && backup("recent") == null);
    try (FileObjectStore files = new FileObjectStore(dir)) {
      assertTrue(files.exists(kept + "/manifest.json"), "deleteDataOnDelete false keeps the backup");
      assertEquals(List.of(), files.list(r.id + "/"), "deleteDataOnDelete true deleted the backup");
      assertTrue(files.exists(sr.id + "/manifest.json"));
    }
  }

  @Test
  void suspendingOrDeletingARunningBackupKillsItsQueryAndLeavesNothingInStorage() throws Exception {
    ch.sql("DROP DATABASE IF EXISTS bo_cancel; CREATE DATABASE bo_cancel;"
        + "CREATE TABLE bo_cancel.t (id UInt64, s String) ENGINE = MergeTree PARTITION BY id % 2 ORDER BY id;"
        + "INSERT INTO bo_cancel.t SELECT number, toString(rand64()) FROM system.numbers LIMIT 3000000");
    try (TcpProxy slow = new TcpProxy(java.net.URI.create(s3server.endpoint()).getPort()).start()) {
      slow.throttle(512 * 1024); // slow storage: the data query stays open
      ClickHouseBackupSpec spec = spec(s3Storage(slow.url(), "cancel"), "bo_cancel");
      spec.compression = ClickHouseBackupSpec.Codec.none;
      create("cancel", spec);
      String id = awaitBackup("cancel", s -> s.running != null).getStatus().running;
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
          .until(() -> !ourQueries("cancel").isEmpty());

      // edit (a patch of the field): an update of the whole object can meet the operator's status write (409)
      harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName("cancel").edit(x -> {
        x.getSpec().suspend = true;
        return x;
      });
      ClickHouseBackupStatus st = awaitBackup("cancel", s -> s.phase == ClickHouseBackupStatus.Phase.Failed)
          .getStatus();
      assertEquals("BackupCancelled", reason(st));
      assertEquals("Cancelled", st.backups.get(0).outcome);
      assertEquals(id, st.backups.get(0).id);
      await().atMost(Duration.ofSeconds(10)).until(() -> ourQueries("cancel").isEmpty());
      assertEquals(List.of(), s3.list("cancel/" + id + "/"), "the aborted upload left no object");

      // run again, then delete the resource while it runs
      harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName("cancel").edit(x -> {
        x.getSpec().suspend = false;
        return x;
      });
      annotate("cancel", ClickHouseBackup.RUN_NOW_ANNOTATION, "again");
      String second = awaitBackup("cancel", s -> s.running != null && !s.running.equals(id)).getStatus().running;
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
          .until(() -> !ourQueries("cancel").isEmpty());
      harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName("cancel").delete();
      await().atMost(Duration.ofSeconds(40)).until(() -> backup("cancel") == null);
      await().atMost(Duration.ofSeconds(10)).until(() -> ourQueries("cancel").isEmpty());
      assertEquals(List.of(), s3.list("cancel/" + second + "/"));
    }
  }

  @Test
  void badInputGetsAClearConditionAndNothingRuns() throws Exception {
    // both storages at once: a validation error, no backup attempted
    ClickHouseBackupSpec both = spec(s3Storage(s3server.endpoint(), "x"), "bo_src");
    both.storage.volume = new BackupStorage.Volume();
    both.storage.volume.path = "/tmp/x";
    create("bad-spec", both);
    ClickHouseBackupStatus v = awaitBackup("bad-spec", s -> s.phase == ClickHouseBackupStatus.Phase.Failed)
        .getStatus();
    assertEquals("ValidationError", reason(v));
    assertThat(readyMessage(v.getConditions())).contains("exactly one of s3 and volume");
    assertEquals(List.of(), v.backups);

    // a missing credentials Secret: waits with a clear reason, then runs once it exists
    ClickHouseBackupSpec noSecret = spec(s3Storage(s3server.endpoint(), "late"), "bo_src");
    noSecret.scope.tables = List.of("metrics");
    noSecret.storage.s3.accessKeyId = new SecretKeyRef("late-s3", "id");
    noSecret.storage.s3.secretAccessKey = new SecretKeyRef("late-s3", "secret");
    create("late", noSecret);
    ClickHouseBackupStatus waiting = awaitBackup("late", s -> "SecretNotFound".equals(reason(s))).getStatus();
    assertThat(readyMessage(waiting.getConditions())).contains("late-s3");
    assertEquals(List.of(), waiting.backups);
    harness.secret(NS, "late-s3", Map.of("id", S3Server.ACCESS_KEY, "secret", S3Server.SECRET_KEY));
    assertEquals(200_000L, awaitBackup("late", s -> s.phase == ClickHouseBackupStatus.Phase.Succeeded).getStatus()
        .lastSuccessful.rows);

    // an unknown table: the backup fails, saying which
    ClickHouseBackupSpec unknown = spec(s3Storage(s3server.endpoint(), "unknown"), "bo_src");
    unknown.scope.tables = List.of("users", "nope");
    create("unknown", unknown);
    ClickHouseBackupStatus u = awaitBackup("unknown", s -> s.phase == ClickHouseBackupStatus.Phase.Failed)
        .getStatus();
    assertEquals("BackupFailed", reason(u));
    assertThat(u.backups.get(0).message).contains("nope");
    assertEquals(List.of(), s3.list("unknown/"));

    // a restore of a backup that has no manifest
    ClickHouseRestoreSpec missing = new ClickHouseRestoreSpec();
    missing.connectionRef = new ConnectionRef("ch");
    missing.source = new ClickHouseRestoreSpec.Source();
    missing.source.storage = s3Storage(s3server.endpoint(), "unknown");
    missing.source.backupId = u.backups.get(0).id;
    missing.targetDatabase = "bo_never";
    ClickHouseRestoreStatus rs = restore("no-manifest", missing).getStatus();
    assertEquals(ClickHouseRestoreStatus.Phase.Failed, rs.phase);
    assertThat(readyMessage(rs.getConditions())).contains("no manifest");
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'bo_never'"));
  }
}
