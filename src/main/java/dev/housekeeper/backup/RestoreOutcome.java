package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase;
import dev.housekeeper.common.AfterWrite;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.common.Transient;
import dev.housekeeper.common.WorkExecutor;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;

/**
 * A finished restore folded into status: each table's outcome, the totals, a retry of the failed
 * tables when the failure was a passing one, and the Event and counters said once that status is
 * written.
 */
final class RestoreOutcome {

  private static final String KIND = ClickHouseRestoreReconciler.KIND;
  /** The words after a failure when it is retried. */
  private static final String AGAIN = "those are tried again";

  private final AfterWrite afterWrite;
  private final HousekeeperMetrics metrics;
  private final Clock clock;

  RestoreOutcome(AfterWrite afterWrite, HousekeeperMetrics metrics, Clock clock) {
    this.afterWrite = afterWrite;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** Whether the task ended because its thread was interrupted (this process stopping). */
  static boolean interrupted(WorkExecutor.Task<?> task) {
    try {
      task.future().get();
      return false;
    } catch (ExecutionException e) {
      return e.getCause() instanceof InterruptedException;
    } catch (CancellationException e) {
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return true;
    }
  }

  /**
   * A run that an operator restart cut off (the process that ran it is gone, and it was not a native
   * restore the server goes on with): recorded as a passing failure, as a backup's is
   * ({@code BackupOutcome.interrupted}), so that it runs again after {@link RetryPolicy#BOUNDED}'s wait.
   * A drill's scratch database stays named in status: the next attempt drops it as its own leftover.
   */
  Pass<Phase> interrupted(String key, ClickHouseRestore resource, ClickHouseRestoreStatus status) {
    Instant now = clock.instant();
    status.endTime = RunTiming.format(now);
    status.runningServerRestoreTable = null;
    String what = resource.getSpec() != null && resource.getSpec().schedule != null ? "drill" : "restore";
    String message = "The " + what + " of backup " + status.backupId + " was interrupted: the operator restarted"
        + " while it ran" + (status.scratchDatabase == null ? ""
        : "; its scratch database " + status.scratchDatabase + " is dropped before the next attempt")
        + RetryPolicy.BOUNDED.failed(status, true, now).words("retrying") + ".";
    afterWrite.warning(key, resource, "RestoreInterrupted", message);
    return Pass.failed(Phase.Failed, "RestoreInterrupted", message, RestoreTiming.untilRetry(status, now));
  }

  /** The status of a finished run, and the pass that reports it. */
  Pass<Phase> fold(String key, ClickHouseRestore resource, ClickHouseRestoreStatus status,
      WorkExecutor.Task<RestoreDrill.Result> task) {
    String ns = resource.getMetadata().getNamespace();
    status.endTime = RunTiming.format(clock.instant());
    Duration took = Duration.between(task.started(), Instant.now());
    afterWrite.then(key, () -> metrics.duration(KIND, ns, "restore", took));
    RestoreDrill.Result drill;
    try {
      drill = task.future().get();
    } catch (Exception e) {
      return failedWhole(key, resource, status, e.getCause() != null ? e.getCause() : e, null);
    }
    var verdict = VerificationStatus.record(status, drill, status.backupId, clock.instant());
    if (verdict != null) {
      afterWrite.then(key, () -> metrics.action(KIND, ns, "verify", verdict.passed() ? "success" : "failure"));
    }
    if (drill.failure() != null && drill.restore() == null) {
      return failedWhole(key, resource, status, drill.failure(), verdict);
    }
    RestoreWork.Result result = drill.restore();
    status.method = result.method();
    status.applied = result.applied();
    boolean retriable = addTables(status, result.tables());
    long rows = status.tables.stream().mapToLong(t -> t.rows).sum();
    int restored = (int) status.tables.stream().filter(t -> "Restored".equals(t.outcome)).count();
    List<String> failed = status.tables.stream().filter(t -> "Failed".equals(t.outcome))
        .map(t -> t.source + ": " + t.message).toList();
    status.rows = rows;
    status.tablesRestored = restored;
    if (!failed.isEmpty()) {
      String message = failed.size() + " table(s) failed and were left untouched: " + String.join("; ", failed)
          + retry(status, retriable);
      return verdict == null ? failed(key, resource, status, "TablesFailed", message)
          : verificationFailed(key, resource, status, verdict, retry(status, retriable));
    }
    if (verdict != null && !verdict.passed()) {
      return verificationFailed(key, resource, status, verdict, retry(status, drill.failure() != null
          && Transient.is(drill.failure())));
    }
    RetryPolicy.succeeded(status);
    afterWrite.then(key, () -> metrics.action(KIND, ns, "restore", "success"));
    int skipped = result.tables().size() - restored;
    String message = "Restored " + restored + " table(s), " + rows + " rows verified, from backup " + status.backupId
        + (skipped > 0 ? " (" + skipped + " skipped)" : "") + "." + (verdict == null ? "" : " " + verdict.words());
    afterWrite.normal(key, resource, verdict == null ? "Restored" : "Verified", message);
    return Pass.ok(Phase.Succeeded, verdict == null ? "Restored" : "Verified", message, null);
  }

  /** The restore failed as a whole (no table was restored): retried when the failure was a passing one. */
  private Pass<Phase> failedWhole(String key, ClickHouseRestore resource, ClickHouseRestoreStatus status,
      Throwable cause, VerificationStatus.Verdict verdict) {
    String again = retry(status, Transient.is(cause));
    String message = "The restore of " + status.backupId + " failed: " + BackupJob.rootMessage(cause) + again;
    return verdict == null ? failed(key, resource, status, "RestoreFailed", message)
        : verificationFailed(key, resource, status, verdict, again);
  }

  /** A verified restore that failed: the Warning names the differences and the objects concerned. */
  private Pass<Phase> verificationFailed(String key, ClickHouseRestore resource, ClickHouseRestoreStatus status,
      VerificationStatus.Verdict verdict, String again) {
    List<String> objects = VerificationStatus.objects(status);
    String message = "The verification of backup " + status.backupId + " failed" + again + ". " + verdict.words()
        + (objects.isEmpty() ? "" : " Objects concerned: " + String.join(", ", objects) + ".");
    return failed(key, resource, status, "VerificationFailed", message);
  }

  /** The pass of a restore that ended: its result stands until a retry is due or a new run is asked for. */
  Pass<Phase> settled(ClickHouseRestoreStatus status) {
    if (status.phase == null || status.phase == Phase.Pending) {
      // a drill before its first run (a one-shot restore never settles before it ran)
      return Pass.ok(Phase.Pending, "Scheduled", "No drill yet; the first one runs at " + status.nextScheduleTime
          + ".", RestoreTiming.untilRetry(status, clock.instant()));
    }
    var ready = Conditions.find(status.getConditions(), Conditions.READY);
    boolean succeeded = status.phase == Phase.Succeeded;
    String reason = ready.map(c -> c.getReason()).orElse(succeeded ? "Restored" : "RestoreFailed");
    String message = ready.map(c -> c.getMessage()).orElse("");
    return Pass.waiting(status.phase, reason, message, RestoreTiming.untilRetry(status, clock.instant()))
        .stillReady(succeeded)
        .degradedWhen(status.phase == Phase.Failed);
  }

  /** Adds each table's outcome to status; whether every failure among them was a passing one. */
  private static boolean addTables(ClickHouseRestoreStatus status, List<RestoreTable> tables) {
    boolean retriable = true;
    for (RestoreTable t : tables) {
      var r = new ClickHouseRestoreStatus.TableResult();
      r.source = t.source();
      r.target = t.target();
      r.outcome = t.outcome();
      r.rows = t.rows();
      r.partitions = t.partitions();
      r.message = t.error();
      r.targetExisted = t.targetExisted();
      r.partitionsSkipped = t.partitionsSkipped() > 0 ? t.partitionsSkipped() : null;
      status.tables.add(r);
      if (t.isFailed() && !t.retriable()) {
        retriable = false;
      }
    }
    return retriable;
  }

  private Pass<Phase> failed(String key, ClickHouseRestore resource, ClickHouseRestoreStatus status, String reason,
      String message) {
    String ns = resource.getMetadata().getNamespace();
    afterWrite.then(key, () -> metrics.action(KIND, ns, "restore", "failure"));
    afterWrite.warning(key, resource, reason, message);
    return Pass.failed(Phase.Failed, reason, message, RestoreTiming.untilRetry(status, clock.instant()));
  }

  /** Counts the failure and, for a passing one with retries left, sets when the failed tables are tried again. */
  private String retry(ClickHouseRestoreStatus status, boolean retriable) {
    return RetryPolicy.BOUNDED.failed(status, retriable, clock.instant()).words(AGAIN);
  }
}
