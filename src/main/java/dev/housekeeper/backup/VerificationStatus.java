package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Mismatch;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Verification;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.VerificationSummary;
import dev.housekeeper.common.RunTiming;
import java.time.Instant;
import java.util.List;

/**
 * A verified restore's result in status: {@code lastVerification} (what was compared, what differed,
 * the recovery time), the short history, the time of the last one that passed, and whether the
 * scratch database is still to be dropped.
 */
final class VerificationStatus {

  static final String PASSED = "Passed";
  static final String FAILED = "Failed";
  /** Verifications kept in status.verifications. */
  static final int HISTORY = 10;
  /** Differences listed in status.lastVerification.mismatches. */
  static final int LISTED = 20;

  /** Whether it passed, and what to say. */
  record Verdict(boolean passed, String words) {}

  private VerificationStatus() {}

  /** Records the verification of a run; null when the run did not verify. */
  static Verdict record(ClickHouseRestoreStatus status, RestoreDrill.Result drill, String backupId, Instant now) {
    // a scratch database that could not be dropped stays named, so that the next drill drops it first
    status.scratchDatabase = Boolean.FALSE.equals(drill.scratchDropped()) ? drill.database() : null;
    if (drill.report() == null && drill.failure() == null) {
      return null;
    }
    Verification v = new Verification();
    v.backupId = backupId;
    v.time = RunTiming.format(now);
    v.database = drill.database();
    v.scratchDropped = drill.scratchDropped();
    v.recoverySeconds = drill.recovery() == null ? null : drill.recovery().toMillis() / 1000.0;
    var report = drill.report();
    boolean passed = drill.failure() == null && report != null && report.passed()
        && drill.restore().tables().stream().noneMatch(RestoreTable::isFailed);
    v.outcome = passed ? PASSED : FAILED;
    if (report != null) {
      v.partitionsCompared = report.partitions();
      v.hashesCompared = report.hashes();
      v.rowsCompared = report.rows();
      v.mismatchCount = report.mismatches().size();
      v.mismatches = report.mismatches().stream().limit(LISTED).map(VerificationStatus::mismatch).toList();
      v.message = "Verified backup " + backupId + ": " + report.words() + ".";
    } else {
      v.mismatchCount = 0;
      v.message = "The restore of " + backupId + " failed before anything could be compared: "
          + BackupJob.rootMessage(drill.failure()) + ".";
    }
    if (Boolean.FALSE.equals(drill.scratchDropped())) {
      v.message += " The scratch database " + drill.database() + " could not be dropped; the next drill drops it.";
    }
    status.lastVerification = v;
    if (passed) {
      status.lastVerifiedTime = v.time;
    }
    status.verifications.add(0, summary(v));
    if (status.verifications.size() > HISTORY) {
      status.verifications = new java.util.ArrayList<>(status.verifications.subList(0, HISTORY));
    }
    return new Verdict(passed, v.message);
  }

  private static VerificationSummary summary(Verification v) {
    VerificationSummary s = new VerificationSummary();
    s.backupId = v.backupId;
    s.time = v.time;
    s.outcome = v.outcome;
    s.recoverySeconds = v.recoverySeconds;
    s.partitionsCompared = v.partitionsCompared;
    s.mismatchCount = v.mismatchCount;
    return s;
  }

  private static Mismatch mismatch(RestoreVerification.Mismatch m) {
    Mismatch out = new Mismatch();
    out.table = m.table();
    out.partition = m.partition();
    out.object = m.object();
    out.expectedRows = m.expectedRows();
    out.actualRows = m.actualRows();
    out.expectedHash = m.expectedHash();
    out.actualHash = m.actualHash();
    out.message = m.message();
    return out;
  }

  /** The objects named by the differences, for an Event. */
  static List<String> objects(ClickHouseRestoreStatus status) {
    return status.lastVerification == null ? List.of() : status.lastVerification.mismatches.stream()
        .map(m -> m.object).filter(java.util.Objects::nonNull).distinct().toList();
  }
}
