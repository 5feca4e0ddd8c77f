package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.api.retention.RetentionPolicyStatus.Phase;
import dev.housekeeper.api.retention.RetentionPolicyStatus.RunReport;
import dev.housekeeper.common.AfterWrite;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.Transient;
import dev.housekeeper.common.WorkExecutor;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;

/**
 * Folds a finished run into status: a retention run's report (and its retry state: a table that
 * failed for a passing reason brings the run back, a clean run resets the count), an OPTIMIZE
 * report, or a run that failed as a whole. Its counters are said once the status is written.
 */
final class RetentionOutcome {

  private static final Duration POLL = Duration.ofSeconds(1);
  /** The action word of a run whose kind is not known (the task failed before saying). */
  private static final String UNKNOWN_RUN = "run";

  private final AfterWrite afterWrite;
  private final HousekeeperMetrics metrics;
  private final Clock clock;

  RetentionOutcome(AfterWrite afterWrite, HousekeeperMetrics metrics, Clock clock) {
    this.afterWrite = afterWrite;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** Folds the task's result; the pass to end with when the run failed, empty when the pass goes on. */
  Optional<Pass<Phase>> fold(String key, RetentionPolicy resource, RetentionPolicyStatus status,
      WorkExecutor.Task<RetentionStart.Finished> task) {
    RetentionStart.Finished finished = result(task);
    if (finished instanceof RetentionStart.Ran ran) {
      ran(key, resource, status, ran.report());
    } else if (finished instanceof RetentionStart.Optimized optimized) {
      status.lastOptimize = optimized.report();
      clearFailedRun(status, RetentionStart.RunKind.OPTIMIZE);
    } else if (finished instanceof RetentionStart.Failed failed) {
      return Optional.of(failed(key, resource, status, failed));
    }
    return Optional.empty();
  }

  private static RetentionStart.Finished result(WorkExecutor.Task<RetentionStart.Finished> task) {
    try {
      return task.future().get();
    } catch (ExecutionException e) {
      return new RetentionStart.Failed(null, e.getCause() != null ? e.getCause() : e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new RetentionStart.Failed(null, e);
    } catch (RuntimeException e) {
      return new RetentionStart.Failed(null, e);
    }
  }

  private void ran(String key, RetentionPolicy resource, RetentionPolicyStatus status, RunReport run) {
    status.lastRun = run;
    afterWrite.then(key, () -> count(resource.getMetadata().getNamespace(), run));
    boolean passing = run.tables.stream().anyMatch(t -> "Failed".equals(t.reason) && Boolean.TRUE.equals(t.retriable));
    if (passing) {
      RetryPolicy.BOUNDED.failed(status, true, clock.instant());
    } else if (!run.dryRun) {
      RetryPolicy.succeeded(status);
    }
    if (!run.dryRun) {
      clearFailedRun(status, RetentionStart.RunKind.RETENTION);
    }
  }

  /** A run of this kind succeeded: a whole-run failure of the same kind (or of an unknown one) is over. */
  private static void clearFailedRun(RetentionPolicyStatus status, RetentionStart.RunKind kind) {
    if (status.lastFailedRun != null && Set.of(kind.word(), UNKNOWN_RUN).contains(status.lastFailedRun.kind)) {
      status.lastFailedRun = null;
    }
  }

  private Pass<Phase> failed(String key, RetentionPolicy resource, RetentionPolicyStatus status, RetentionStart.Failed failed) {
    String action = failed.kind() == null ? UNKNOWN_RUN : failed.kind().word();
    afterWrite.then(key, () -> metrics.action(RetentionPolicyReconciler.KIND,
        resource.getMetadata().getNamespace(), action, "failure"));
    String retry = failed.kind() == RetentionStart.RunKind.RETENTION
        ? RetryPolicy.BOUNDED.failed(status, Transient.is(failed.cause()), clock.instant()).words("it runs again") : "";
    String name = failed.kind() == null ? "" : failed.kind().word() + " ";
    // kept in status, so that the settled passes after this one still say it (Degraded, RunFailed)
    status.lastFailedRun = RetentionPolicyStatus.FailedRun.of(clock.instant().toString(), action,
        failed.cause().getMessage());
    return Pass.failed(Phase.Degraded, "RunFailed", "The " + name + "run failed: " + failed.cause().getMessage()
        + (retry.isEmpty() ? ". It runs again at its next time." : retry + "."), POLL);
  }

  private void count(String namespace, RunReport run) {
    metrics.action(RetentionPolicyReconciler.KIND, namespace, run.dryRun ? "dryrun" : "run", "success");
    metrics.duration(RetentionPolicyReconciler.KIND, namespace, "run",
        Duration.ofMillis(run.durationMillis == null ? 0 : run.durationMillis));
    long tableFailures = run.tables.stream().filter(t -> "Failed".equals(t.reason)).count();
    metrics.retentionRun(namespace, run.partitionsDroppedCount, run.rowsDeleted, run.bytesFreed, tableFailures);
  }
}
