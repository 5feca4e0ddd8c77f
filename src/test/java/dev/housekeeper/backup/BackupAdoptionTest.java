package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.Adoption;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The adoption decision and the order of what it finds, without storage or a reconciler. */
class BackupAdoptionTest {

  static final Instant NOW = Instant.parse("2026-06-01T10:00:00Z");
  static final String HERE = "s3://backups/clickhouse/nightly/ at http://minio:9000";

  static ClickHouseBackupStatus adopted(String location, String error, String retryTime) {
    var status = new ClickHouseBackupStatus();
    status.adoption = new Adoption();
    status.adoption.location = location;
    status.adoption.error = error;
    status.adoption.retryTime = retryTime;
    return status;
  }

  static BackupRecord record(String id, String endTime) {
    var r = new BackupRecord();
    r.id = id;
    r.outcome = "Complete";
    r.endTime = endTime;
    return r;
  }

  @Test
  void aResourceThatNeverLookedLooks() {
    assertThat(BackupAdoption.due(new ClickHouseBackupStatus(), HERE, NOW)).isTrue();
  }

  @Test
  void aLocationLookedThroughIsNotLookedThroughAgain() {
    assertThat(BackupAdoption.due(adopted(HERE, null, null), HERE, NOW)).isFalse();
  }

  @Test
  void aNewLocationIsLookedThrough() {
    assertThat(BackupAdoption.due(adopted("file:///backups", null, null), HERE, NOW)).isTrue();
  }

  @Test
  void aFailedLookIsTriedAgainAtItsRetryTimeOnly() {
    assertThat(BackupAdoption.due(adopted(HERE, "unreachable", "2026-06-01T10:05:00Z"), HERE, NOW)).isFalse();
    assertThat(BackupAdoption.due(adopted(HERE, "unreachable", "2026-06-01T10:00:00Z"), HERE, NOW)).isTrue();
    assertThat(BackupAdoption.retryAt(adopted(HERE, "unreachable", "2026-06-01T10:05:00Z")))
        .isEqualTo(Instant.parse("2026-06-01T10:05:00Z"));
    assertThat(BackupAdoption.retryAt(adopted(HERE, null, null))).isNull();
  }

  @Test
  void theTimeInAnIdIsItsStartInUtc() {
    assertThat(StoredBackups.idTime("nightly-20260531-020304")).contains(Instant.parse("2026-05-31T02:03:04Z"));
    assertThat(StoredBackups.idTime("a-b-c-20260531-020304-2")).contains(Instant.parse("2026-05-31T02:03:04Z"));
    assertThat(StoredBackups.idTime("nightly-20261399-020304")).isEmpty();
    assertThat(StoredBackups.idTime("latest")).isEmpty();
    assertThat(StoredBackups.idTime("20260531-020304")).as("no resource name").isEmpty();
  }

  @Test
  void newestFirstByTheTimeInTheIdThenItsNumberThenFoldersWithoutATime() {
    List<String> ids = new ArrayList<>(List.of("copied-by-hand", "nightly-20260530-020000",
        "hourly-20260531-010000", "nightly-20260531-010000-2", "nightly-20260531-010000", "zz-manual"));
    ids.sort(StoredBackups.NEWEST_FIRST);
    assertThat(ids).containsExactly("nightly-20260531-010000-2", "nightly-20260531-010000", "hourly-20260531-010000",
        "nightly-20260530-020000", "zz-manual", "copied-by-hand");
  }

  @Test
  void adoptedRecordsGoBetweenTheOwnOnesByTime() {
    List<BackupRecord> status = new ArrayList<>(List.of(record("nightly-20260601-020000", "2026-06-01T02:01:00Z"),
        record("nightly-20260529-020000", "2026-05-29T02:01:00Z")));
    var failed = new BackupRecord(); // a run that crashed has no times: the id's time places it
    failed.id = "nightly-20260530-020000";
    failed.outcome = "Failed";
    status.add(1, failed);
    BackupAdoption.insert(status, record("old-20260531-020000", "2026-05-31T02:01:00Z"));
    BackupAdoption.insert(status, record("old-20260501-020000", "2026-05-01T02:01:00Z"));
    BackupAdoption.insert(status, record("old-20260701-020000", "2026-07-01T02:01:00Z"));
    assertThat(status).extracting(r -> r.id).containsExactly("old-20260701-020000", "nightly-20260601-020000",
        "old-20260531-020000", "nightly-20260530-020000", "nightly-20260529-020000", "old-20260501-020000");
  }

  @Test
  void retentionCountsTheAdoptedWithTheOwn() {
    List<BackupRecord> own = List.of(record("nightly-20260601-020000", "2026-06-01T02:01:00Z"));
    var found = new BackupAdoption.Found(HERE, List.of(record("old-20260531-020000", "2026-05-31T02:01:00Z"),
        record("old-20260530-020000", "2026-05-30T02:01:00Z")), List.of(), List.of(), List.of(), null);
    List<BackupRecord> all = BackupAdoption.withAdopted(own, found);
    assertThat(all).extracting(r -> r.id).containsExactly("nightly-20260601-020000", "old-20260531-020000",
        "old-20260530-020000");
    assertThat(BackupRetention.expired(all, 2, null, NOW)).containsExactly("old-20260530-020000");
    assertThat(BackupAdoption.withAdopted(own, null)).isEqualTo(own);
  }
}
