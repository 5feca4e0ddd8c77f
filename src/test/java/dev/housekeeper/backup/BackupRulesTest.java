package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.common.SecretKeyRef;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pure rules of backups: retention, partition filters, table entries, method choice, validation. */
class BackupRulesTest {

  static BackupRecord complete(String id, Instant end) {
    BackupRecord r = new BackupRecord();
    r.id = id;
    r.outcome = "Complete";
    r.endTime = end.toString();
    return r;
  }

  @Test
  void retentionKeepsTheNewestAndExpiresByCountOrAge() {
    Instant now = Instant.parse("2026-11-22T00:00:00Z");
    List<BackupRecord> newestFirst = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      newestFirst.add(complete("b" + i, now.minus(Duration.ofDays(i * 10L))));
    }
    assertEquals(List.of("b2", "b3", "b4"), BackupRetention.expired(newestFirst, 2, null, now));
    assertEquals(List.of("b3", "b4"), BackupRetention.expired(newestFirst, null, Duration.ofDays(25), now));
    assertEquals(List.of("b1", "b2", "b3", "b4"), BackupRetention.expired(newestFirst, 4, Duration.ofDays(5), now));
    // the newest stays even when older than maxAge
    assertEquals(List.of(), BackupRetention.expired(List.of(complete("old", now.minus(Duration.ofDays(400)))), 1,
        Duration.ofDays(1), now));
    assertEquals(Duration.ofDays(14), BackupRetention.parseAge("f", "2w"));
    assertEquals(Duration.ofMinutes(90), BackupRetention.parseAge("f", "90m"));
    assertThrows(IllegalArgumentException.class, () -> BackupRetention.parseAge("f", "1y"));
  }

  static BackupRecord nativeBackup(String id, String base) {
    BackupRecord r = complete(id, Instant.parse("2026-11-22T00:00:00Z"));
    r.method = "native";
    r.base = base;
    r.location = "s3://b/p/" + id + "/";
    return r;
  }

  @Test
  void retentionKeepsTheBasesOfKeptIncrementalBackupsAndChainsStartAfresh() {
    Instant now = Instant.parse("2026-11-22T00:00:00Z");
    // newest first: f2 full, then i3 on f2; f1 full with i1, i2 on it
    List<BackupRecord> chain = List.of(nativeBackup("i3", "f2"), nativeBackup("f2", null), nativeBackup("i2", "i1"),
        nativeBackup("i1", "f1"), nativeBackup("f1", null));
    assertEquals(List.of("i2", "i1", "f1"), BackupRetention.expired(chain, 2, null, now));
    // keeping 3 keeps i2, which needs i1, which needs f1: nothing of that chain may go
    assertEquals(List.of(), BackupRetention.expired(chain, 3, null, now));
    // keepLast 1 keeps i3 alone, and with it its base f2
    assertEquals(List.of("i2", "i1", "f1"), BackupRetention.expired(chain, 1, null, now));

    java.util.function.Function<String, String> here = id -> "s3://b/p/" + id + "/";
    assertEquals("i3", BackupRetention.nextBase(3, chain, here), "a chain of 2 grows to 3");
    assertEquals(null, BackupRetention.nextBase(2, chain, here), "a chain of 2 with fullEvery 2: full");
    assertEquals(null, BackupRetention.nextBase(null, chain, here), "not asked for");
    assertEquals(null, BackupRetention.nextBase(7, chain, id -> "s3://other/" + id + "/"), "another storage");
    assertEquals(null, BackupRetention.nextBase(7, List.of(nativeBackup("i2", "i1")), here), "its base is not listed");
    BackupRecord logical = complete("l1", now);
    logical.method = "logical";
    assertEquals(null, BackupRetention.nextBase(7, List.of(logical), here), "a logical backup is no base");
  }

  @Test
  void partitionFiltersSelectByIdsRangeAndNewest() {
    List<String> all = List.of("202401", "202402", "202403", "202404", "202405");
    assertEquals(all, BackupScope.partitions(null, null, null, null).apply(all));
    assertEquals(List.of("202402", "202403"), BackupScope.partitions(null, "202402", "202403", null).apply(all));
    assertEquals(List.of("202404", "202405"), BackupScope.partitions(null, null, null, 2).apply(all));
    assertEquals(List.of("202403"), BackupScope.partitions(List.of("202401", "202403"), "202402", null, null)
        .apply(all));
  }

  @Test
  void tableEntriesAreNamesQualifiedNamesOrPatterns() {
    assertThat(BackupScope.matches(List.of(), "db", "t")).isTrue();
    assertThat(BackupScope.matches(List.of("t"), "db", "t")).isTrue();
    assertThat(BackupScope.matches(List.of("db.t"), "db", "t")).isTrue();
    assertThat(BackupScope.matches(List.of("other.t"), "db", "t")).isFalse();
    assertThat(BackupScope.matches(List.of("~^events_.*"), "db", "events_2024")).isTrue();
    assertThat(BackupScope.matches(List.of("~^events_.*"), "db", "my_events_2024")).isFalse();
    // a name with a dot is back-quoted; any name without a control character is a name
    assertThat(BackupScope.matches(List.of("`my.db`.`t.1`"), "my.db", "t.1")).isTrue();
    assertThat(BackupScope.matches(List.of("my.db.t"), "my.db", "t")).isFalse();
    assertThat(BackupScope.matches(List.of("odd `name' \\ имя"), "db", "odd `name' \\ имя")).isTrue();
    assertThat(BackupScope.validate("f", List.of("ok", "db.ok", "~(", "a-name", "`open", "a\nb"))).hasSize(3);
  }

  static ClickHouseBackupSpec spec() {
    ClickHouseBackupSpec spec = new ClickHouseBackupSpec();
    spec.connectionRef = new ConnectionRef("ch");
    spec.storage = new BackupStorage();
    spec.storage.s3 = new BackupStorage.S3();
    spec.storage.s3.bucket = "backups";
    spec.storage.s3.accessKeyId = new SecretKeyRef("s3", "id");
    spec.storage.s3.secretAccessKey = new SecretKeyRef("s3", "secret");
    return spec;
  }

  static ClickHouseConnection server(boolean nativeBackup) {
    ClickHouseConnection c = new ClickHouseConnection();
    c.setStatus(new ClickHouseConnectionStatus());
    var caps = new ClickHouseConnectionStatus.Capabilities();
    caps.setNativeBackup(nativeBackup);
    c.getStatus().setCapabilities(caps);
    return c;
  }

  @Test
  void autoPicksNativeOnlyWhereEverythingAllowsIt() {
    assertEquals(new BackupMethod.Chosen("native"), BackupMethod.choose(spec(), server(true)));
    assertEquals(new BackupMethod.Chosen("logical"), BackupMethod.choose(spec(), server(false)));
    ClickHouseBackupSpec encrypted = spec();
    encrypted.encryption = new ClickHouseBackupSpec.BackupEncryption();
    encrypted.encryption.keySecret = "k";
    assertEquals(new BackupMethod.Chosen("logical"), BackupMethod.choose(encrypted, server(true)));
    encrypted.method = "native";
    assertThat(BackupMethod.choose(encrypted, server(true))).isInstanceOfSatisfying(BackupMethod.Unavailable.class,
        u -> assertThat(u.why()).contains("client-side encryption"));
    ClickHouseBackupSpec old = spec();
    old.method = "native";
    assertThat(BackupMethod.choose(old, server(false))).isInstanceOfSatisfying(BackupMethod.Unavailable.class,
        u -> assertThat(u.why()).contains("BACKUP"));
  }

  @Test
  void validationNamesEachBadField() {
    assertEquals(List.of(), BackupValidation.problems(spec()));
    ClickHouseBackupSpec bad = spec();
    bad.storage.volume = new BackupStorage.Volume();
    bad.schedule = new ClickHouseBackupSpec.Schedule();
    bad.schedule.cron = "61 * * * *";
    bad.retention = new ClickHouseBackupSpec.Retention();
    bad.retention.maxAge = "3 days";
    bad.scope = new ClickHouseBackupSpec.Scope();
    bad.scope.databases = List.of("bad\tdb");
    assertThat(BackupValidation.problems(bad)).hasSize(4).anyMatch(p -> p.contains("exactly one"))
        .anyMatch(p -> p.contains("spec.schedule")).anyMatch(p -> p.contains("maxAge"))
        .anyMatch(p -> p.contains("spec.scope.databases") && p.contains("control character"));
    ClickHouseBackupSpec kinds = spec();
    kinds.scope = new ClickHouseBackupSpec.Scope();
    kinds.scope.kinds = List.of("view", "everything");
    assertThat(BackupValidation.problems(kinds)).singleElement().asString().contains("spec.scope.kinds")
        .contains("\"everything\"").contains("materializedView");
  }

  @Test
  void aBackupOfViewsAloneCanBeRestoredAndAScopeMatchingNothingNamesWhatItHolds() throws Exception {
    Manifest m = new Manifest();
    m.backupId = "views-1";
    Manifest.ObjectEntry view = new Manifest.ObjectEntry();
    view.kind = "view";
    view.database = "shop";
    view.name = "big";
    m.objects.add(view);
    RestoreTargets.into(m, "restored", List.of()).check();
    java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
        () -> RestoreTargets.into(m, "restored", List.of("orders")).check());
    assertThat(e.getMessage()).contains("nothing in backup views-1 matches").contains("view shop.big");
  }
}
