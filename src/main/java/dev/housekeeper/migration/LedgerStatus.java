package dev.housekeeper.migration;

import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.migration.Ledger.VersionState;
import dev.housekeeper.migration.MigrationRunner.Outcome;
import dev.housekeeper.migration.MigrationRunner.Report;
import java.util.ArrayList;
import java.util.List;

/** What a run's report says about the ledger and the plan, in status: applied, pending, plan, dirty. */
final class LedgerStatus {

  /** Status lists at most this many applied migrations, newest first. */
  private static final int APPLIED_SHOWN = 50;

  private LedgerStatus() {}

  static void fill(ClickHouseMigrationStatus status, Report report, ClickHouseMigrationSpec spec) {
    applied(status, report);
    var steps = report.plan().stream().map(s -> new ClickHouseMigrationStatus.PlannedStep(s.script().version(),
        s.script().name(), s.direction(), s.statements() - s.fromIndex())).toList();
    boolean stillPending = report.outcome() != Outcome.READY;
    status.setPending(stillPending ? new ArrayList<>(steps) : new ArrayList<>());
    status.setPendingCount(stillPending ? steps.size() : 0);
    status.setPlan(report.outcome() == Outcome.PLANNED ? new ArrayList<>(steps) : null);
    status.setDrifted(report.drifted().isEmpty() ? null : report.drifted());
    status.setTargetVersion(spec.getTargetVersion());
    status.setDirty(report.ledger().values().stream().filter(s -> "failed".equals(s.state)).findFirst()
        .map(LedgerStatus::dirty).orElse(null));
    if (status.getDirty() != null) {
      status.setPendingCount(Math.max(1, status.getPendingCount()));
    }
    status.setLastRun(report.message());
    if (report.outcome() == Outcome.READY || report.outcome() == Outcome.PLANNED) {
      status.setLastError(null);
    }
  }

  private static void applied(ClickHouseMigrationStatus status, Report report) {
    List<ClickHouseMigrationStatus.AppliedMigration> applied = new ArrayList<>();
    long current = 0;
    for (VersionState s : report.ledger().values()) {
      if (s.applied()) {
        current = Math.max(current, s.version);
        var a = new ClickHouseMigrationStatus.AppliedMigration();
        a.setVersion(s.version);
        a.setName(s.name);
        a.setChecksum(s.checksum);
        a.setAppliedAt(s.appliedAt == null ? null : s.appliedAt.replace(' ', 'T') + "Z");
        a.setDurationMillis(s.durationMs);
        a.setStatements(s.statementCount);
        applied.add(0, a);
      }
    }
    status.setApplied(applied.size() > APPLIED_SHOWN ? new ArrayList<>(applied.subList(0, APPLIED_SHOWN)) : applied);
    status.setCurrentVersion(current);
  }

  private static ClickHouseMigrationStatus.DirtyState dirty(VersionState s) {
    var d = new ClickHouseMigrationStatus.DirtyState();
    d.setVersion(s.version);
    d.setName(s.name);
    d.setDirection(s.direction);
    d.setStatementIndex(s.failedIndex);
    d.setError(s.error);
    return d;
  }
}
