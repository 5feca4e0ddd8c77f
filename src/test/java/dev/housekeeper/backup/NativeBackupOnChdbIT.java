package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.testing.ChdbEngine;
import dev.housekeeper.testing.S3Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The native path's BACKUP/RESTORE SQL, run for real on ClickHouse 26.x (chDB). */
class NativeBackupOnChdbIT {

  static final LogicalBackup.TableRef T = new LogicalBackup.TableRef("default", "events");
  static final String CREATE = "CREATE TABLE default.events (d Date, id UInt64, s String) ENGINE = MergeTree"
      + " PARTITION BY toYYYYMM(d) ORDER BY id";
  static final String FILL = "INSERT INTO default.events SELECT toDate('2024-01-01') + number % 90, number,"
      + " toString(number) FROM numbers(100000)";
  static final String FINGERPRINT = "SELECT count(), sum(cityHash64(d, id, s)) FROM ";

  @Test
  void backupToADiskAndRestoreBesideTheOriginal() throws Exception {
    Path dir = Files.createTempDirectory("hk-native-disk-");
    Path config = dir.resolve("config.xml");
    Files.writeString(config, """
        <clickhouse>
          <storage_configuration><disks><backups><type>local</type><path>%1$s/backups/</path></backups></disks>
          </storage_configuration>
          <backups><allowed_disk>backups</allowed_disk><allowed_path>%1$s/backups/</allowed_path></backups>
        </clickhouse>
        """.formatted(dir));
    Files.createDirectories(dir.resolve("backups"));
    ChdbEngine.Result r = ChdbEngine.run(List.of(CREATE, FILL,
        NativeBackupSql.backupToDisk(List.of(T), "backups", "b1", false).text(),
        "CREATE DATABASE restored",
        NativeBackupSql.restoreFromDisk(T, "restored", "backups", "b1", false).text(),
        FINGERPRINT + "default.events",
        FINGERPRINT + "restored.events"), dir.resolve("data"), config);
    assertThat(r.outputs().get(2)).contains("BACKUP_CREATED");
    assertEquals(r.outputs().get(5), r.outputs().get(6));
    assertThat(r.outputs().get(5)).startsWith("100000\t");
  }

  @Test
  void backupToS3AndRestoreInAFreshEngine() throws Exception {
    try (S3Server s3 = new S3Server("native").start()) {
      String url = s3.endpoint() + "/native/b1";
      ChdbEngine.Result first = ChdbEngine.run(List.of(CREATE, FILL,
          NativeBackupSql.backupToS3(List.of(T), url, S3Server.ACCESS_KEY, S3Server.SECRET_KEY, false).text(),
          FINGERPRINT + "default.events"));
      ChdbEngine.Result second = ChdbEngine.run(List.of("CREATE DATABASE restored",
          NativeBackupSql.restoreFromS3(T, "restored", url, S3Server.ACCESS_KEY, S3Server.SECRET_KEY, false).text(),
          FINGERPRINT + "restored.events"));
      assertThat(first.outputs().get(2)).contains("BACKUP_CREATED");
      assertEquals(first.outputs().get(3), second.outputs().get(2), "identical count and content hash");
    }
  }
}
