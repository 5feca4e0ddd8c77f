package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.housekeeper.backup.storage.FileObjectStore;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.backup.storage.S3ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.HttpClickHouseClient;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.S3Server;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The logical backup engine against the real ClickHouse server and a real S3-compatible server. */
class LogicalBackupIT {

  static ClickHouseServer ch;
  static ClickHouseClient client;
  static S3Server s3server;
  static S3ObjectStore s3;

  static final Map<String, String> COLUMNS = Map.of("events", "d, id, s", "users", "id, name, score",
      "metrics", "t, k, v");

  @BeforeAll
  static void start() throws IOException {
    ch = ClickHouseServer.shared();
    client = new HttpClickHouseClient(ClientConfig.of(List.of(ch.httpUrl()), ClickHouseServer.USER,
        ClickHouseServer.PASSWORD).withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(600)));
    s3server = new S3Server("backups").start();
    s3 = new S3ObjectStore(s3server.endpoint(), "us-east-1", "backups", "", S3Server.ACCESS_KEY, S3Server.SECRET_KEY,
        true, S3ObjectStore.MIN_PART);
    ch.sql("DROP DATABASE IF EXISTS bk_src; CREATE DATABASE bk_src;"
        + "CREATE TABLE bk_src.events (d Date, id UInt64, s String) ENGINE = MergeTree PARTITION BY toYYYYMM(d)"
        + " ORDER BY id;"
        + "INSERT INTO bk_src.events SELECT toDate('2024-01-01') + (number % 180), number, concat('event-', toString(number))"
        + " FROM system.numbers LIMIT 600000;"
        + "CREATE TABLE bk_src.users (id UInt64, name String, score Float64) ENGINE = MergeTree PARTITION BY id % 4"
        + " ORDER BY id;"
        + "INSERT INTO bk_src.users SELECT number, concat('user ''', toString(number), ''''), number / 7"
        + " FROM system.numbers LIMIT 300000;"
        + "CREATE TABLE bk_src.metrics (t DateTime, k String, v Nullable(Float64)) ENGINE = MergeTree ORDER BY t;"
        + "INSERT INTO bk_src.metrics SELECT toDateTime('2024-01-01 00:00:00') + number, toString(number % 17),"
        + " if(number % 5 = 0, NULL, number * 1.5) FROM system.numbers LIMIT 200000");
  }

  @AfterAll
  static void stop() {
    client.close();
    s3.close();
    s3server.close();
  }

  static List<LogicalBackup.TableRef> all() {
    return List.of(new LogicalBackup.TableRef("bk_src", "events"), new LogicalBackup.TableRef("bk_src", "users"),
        new LogicalBackup.TableRef("bk_src", "metrics"));
  }

  /** Per partition: rows and an order-independent content hash. */
  static String fingerprint(String db, String table) {
    return ch.sql("SELECT _partition_id, count(), sum(cityHash64(" + COLUMNS.get(table) + ")) FROM " + db + "." + table
        + " GROUP BY _partition_id ORDER BY _partition_id");
  }

  @Test
  void threeTablesOverAMillionRowsRoundTripThroughS3() throws Exception {
    Manifest m = new LogicalBackup(client, s3, Compression.zstd, p -> { }).run("full-1", all(), false);
    assertEquals(1_100_000, m.rows());
    assertEquals(3, m.tables.size());
    assertThat(m.storedBytes()).isLessThan(m.rawBytes());
    assertFalse(m.tables.get(0).partitions.isEmpty());
    assertThat(s3.exists("full-1/manifest.json")).isTrue();

    ch.sql("DROP DATABASE IF EXISTS bk_dst");
    var results = new LogicalRestore(client, s3, p -> { }).run("full-1", "bk_dst", Set.of(),
        LogicalRestore.Mode.failIfExists);
    assertThat(results).allMatch(r -> "Restored".equals(r.outcome()), results.toString());
    for (String table : List.of("events", "users", "metrics")) {
      assertEquals(fingerprint("bk_src", table), fingerprint("bk_dst", table), table);
    }
    assertEquals(m.tables.get(0).partitions.size(), Long.parseLong(ch.sql("SELECT uniqExact(partition_id) FROM"
        + " system.parts WHERE database = 'bk_dst' AND table = 'events' AND active")));
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'bk_dst' AND name LIKE '_hk_restore%'"));

    // a second restore into the same database: failIfExists refuses, replacePartitions replaces
    var again = new LogicalRestore(client, s3, p -> { }).run("full-1", "bk_dst", Set.of("users"),
        LogicalRestore.Mode.failIfExists);
    assertEquals("Failed", again.get(0).outcome());
    ch.sql("INSERT INTO bk_dst.users VALUES (9999999, 'extra', 0)");
    var replaced = new LogicalRestore(client, s3, p -> { }).run("full-1", "bk_dst", Set.of("users"),
        LogicalRestore.Mode.replacePartitions);
    assertEquals("Restored", replaced.get(0).outcome());
    assertEquals(fingerprint("bk_src", "users"), fingerprint("bk_dst", "users"));
  }

  @Test
  void aCorruptObjectFailsTheTableAndLeavesNothingHalfRestored() throws Exception {
    Manifest m = new LogicalBackup(client, s3, Compression.none, p -> { }).run("corrupt-1",
        List.of(new LogicalBackup.TableRef("bk_src", "users")), false);
    Manifest.PartitionEntry victim = m.tables.get(0).partitions.get(2);
    byte[] bytes;
    try (var in = s3.open(victim.key)) {
      bytes = in.readAllBytes();
    }
    bytes[bytes.length / 2] ^= 0x01; // one bit flipped inside a string value: still valid Native
    try (ObjectStore.Upload up = s3.create(victim.key)) {
      up.write(bytes);
    }
    ch.sql("DROP DATABASE IF EXISTS bk_corrupt");
    var results = new LogicalRestore(client, s3, p -> { }).run("corrupt-1", "bk_corrupt", Set.of(),
        LogicalRestore.Mode.failIfExists);
    assertEquals("Failed", results.get(0).outcome());
    assertThat(results.get(0).error()).contains(victim.key).contains("corrupt");
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'bk_corrupt'"), "no table left behind");
  }

  /**
   * A table partitioned by a Date: 18.16 shows such a partition's value unquoted (2024-01-02), which as an
   * expression is a subtraction. Each partition must still be read with its key's condition, which lets
   * the server skip the other parts (with _partition_id alone 18.16 reads every part, and a year of
   * daily partitions took minutes instead of seconds), and the second backup reuses every partition.
   */
  @Test
  void aDatePartitionIsReadByItsKeyAndAnUnchangedOneIsReused() throws Exception {
    ch.sql("DROP DATABASE IF EXISTS bk_daily; CREATE DATABASE bk_daily;"
        + "CREATE TABLE bk_daily.t (d Date, id UInt64) ENGINE = MergeTree PARTITION BY d ORDER BY id;"
        + "INSERT INTO bk_daily.t SELECT toDate('2024-01-01') + number % 3, number FROM system.numbers LIMIT 3000");
    List<LogicalBackup.TableRef> table = List.of(new LogicalBackup.TableRef("bk_daily", "t"));
    Manifest first = new LogicalBackup(client, s3, Compression.zstd, p -> { }).run("daily-20240101-000000", table,
        false);
    assertEquals(3, first.partitions(false).count());
    ch.sql("SYSTEM FLUSH LOGS");
    assertEquals(3, ch.sqlLong("SELECT count() FROM system.query_log WHERE type = 2 AND query LIKE 'SELECT * FROM"
        + " `bk_daily`.`t` WHERE (d) = ''2024-01-0_'' AND _partition_id = ''2024010_''%'"), "each partition by its key");
    Manifest second = new LogicalBackup(client, s3, Compression.zstd, p -> { }).run("daily-20240102-000000", table,
        false);
    assertEquals(3, second.partitions(true).count());
    assertEquals(first.rows(), second.rows());
  }

  @Test
  void aBackupWithoutManifestIsNotOfferedAndTheS3ServerDyingMidBackupLeavesNoManifest() throws Exception {
    IOException missing = assertThrows(IOException.class,
        () -> new LogicalRestore(client, s3, p -> { }).manifest("never-taken"));
    assertThat(missing.getMessage()).contains("no manifest");

    LogicalBackup backup = new LogicalBackup(client, s3, Compression.zstd, p -> {
      if (p.contains("events partition 202403")) {
        s3server.stop(); // storage goes away in the middle of the backup
      }
    });
    try {
      assertThrows(Exception.class, () -> backup.run("cut-1", all(), false));
    } finally {
      s3server.start();
    }
    assertFalse(s3.exists("cut-1/manifest.json"));
    backup.cleanUp("cut-1"); // the cleanup that failed while the server was away
    assertEquals(List.of(), s3.list("cut-1/"));
    assertThrows(IOException.class, () -> new LogicalRestore(client, s3, p -> { }).manifest("cut-1"));
  }

  @Test
  void theOperatorsOwnWorkingTablesAreNotBackedUp() throws Exception {
    // a mart's table being built or swapped out and a restore's staging table come and go while a backup runs
    ch.sql("DROP DATABASE IF EXISTS bk_work; CREATE DATABASE bk_work;"
        + "CREATE TABLE bk_work.m (k UInt64) ENGINE = MergeTree ORDER BY k;"
        + "CREATE TABLE bk_work.m_hk_staging (k UInt64) ENGINE = MergeTree ORDER BY k;"
        + "CREATE TABLE bk_work.m_hk_old (k UInt64) ENGINE = MergeTree ORDER BY k;"
        + "CREATE TABLE bk_work._hk_restore_m (k UInt64) ENGINE = MergeTree ORDER BY k");
    List<String> skipped = new java.util.ArrayList<>();
    assertEquals(List.of(new LogicalBackup.TableRef("bk_work", "m")),
        BackupScope.resolve(client, List.of("bk_work"), List.of(), skipped).tables());
    assertEquals(List.of(), skipped);
  }

  @Test
  void aParallelBackupReportsThePartitionThatFailedNotTheOnesItStopped() throws Exception {
    // the first partition fails for a lasting reason while the others are in flight; the failing worker stops
    // them, and that also wakes the thread waiting on the first partition's result: what it reports must be the
    // partition's failure (not retried), not the cancellation (which would be)
    ObjectStore failing = new dev.housekeeper.backup.storage.ForwardingObjectStore(s3) {
      @Override
      public Upload create(String key) throws IOException {
        if (key.contains("202401") && !key.contains("/schema/")) {
          try {
            Thread.sleep(300);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          throw new IOException("injected: storage quota exceeded for " + key);
        }
        return s3.create(key);
      }

      @Override
      public String describe() {
        return "failing " + s3.describe();
      }

      @Override
      public void close() {
      }
    };
    Exception e = assertThrows(Exception.class, () -> new LogicalBackup(client, failing, Compression.zstd,
        p -> { }).parallelism(4).run("quota-1", List.of(new LogicalBackup.TableRef("bk_src", "events")), false));
    assertThat(e).isNotInstanceOf(LogicalBackup.Cancelled.class);
    assertThat(e.getMessage()).contains("storage quota exceeded");
    assertThat(dev.housekeeper.common.Transient.is(e)).as("a lasting failure is not retried").isFalse();
    assertEquals(List.of(), s3.list("quota-1/"), "the incomplete backup's objects are deleted");
  }

  @Test
  void anEncryptedRoundTripWorksAndAWrongKeyFailsCleanly() throws Exception {
    byte[] oldKey = EncryptionTest.key(11);
    byte[] newKey = EncryptionTest.key(12);
    Manifest m = new LogicalBackup(client, s3, Compression.zstd, new Encryption("2024-q1", oldKey), p -> { })
        .run("enc-1", List.of(new LogicalBackup.TableRef("bk_src", "users")), false);
    assertEquals(Encryption.ALGORITHM, m.encryption);
    assertEquals("2024-q1", m.keyId);
    try (var in = s3.open(m.tables.get(0).partitions.get(0).key)) {
      assertThat(new String(in.readNBytes(4), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("HKE1");
    }

    ch.sql("DROP DATABASE IF EXISTS bk_wrongkey");
    // every schema is read and decrypted before any table is touched: a wrong key refuses the whole restore
    IOException wrong = assertThrows(IOException.class, () -> new LogicalRestore(client, s3,
        Map.of("2024-q1", newKey), p -> { }).run("enc-1", "bk_wrongkey", Set.of(), LogicalRestore.Mode.failIfExists));
    assertThat(wrong.getMessage()).contains("wrong key").contains("nothing was restored");
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'bk_wrongkey'"), "nothing left behind");

    // after a rotation the Secret holds both keys: the old backup names its key id and restores
    ch.sql("DROP DATABASE IF EXISTS bk_enc");
    var ok = new LogicalRestore(client, s3, Map.of("2024-q2", newKey, "2024-q1", oldKey), p -> { })
        .run("enc-1", "bk_enc", Set.of(), LogicalRestore.Mode.failIfExists);
    assertEquals("Restored", ok.get(0).outcome(), ok.toString());
    assertEquals(fingerprint("bk_src", "users"), fingerprint("bk_enc", "users"));
  }

  @Test
  void aVolumePathBackupWithLz4RoundTrips() throws Exception {
    try (FileObjectStore volume = new FileObjectStore(Files.createTempDirectory("hk-backup-volume-"))) {
      new LogicalBackup(client, volume, Compression.lz4, p -> { }).run("vol-1",
          List.of(new LogicalBackup.TableRef("bk_src", "metrics")), false);
      ch.sql("DROP DATABASE IF EXISTS bk_vol");
      var results = new LogicalRestore(client, volume, p -> { }).run("vol-1", "bk_vol", Set.of(),
          LogicalRestore.Mode.createMissing);
      assertEquals("Restored", results.get(0).outcome(), results.toString());
      assertEquals(fingerprint("bk_src", "metrics"), fingerprint("bk_vol", "metrics"));
    }
  }
}
