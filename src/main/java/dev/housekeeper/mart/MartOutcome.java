package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.api.mart.ReportMartStatus.Phase;
import dev.housekeeper.common.AfterWrite;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.common.WorkExecutor;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutionException;

/**
 * A finished refresh folded into status (its Events and counters said once that status is written),
 * and what status says between refreshes.
 */
final class MartOutcome {

  static final String KIND = ReportMartReconciler.KIND;
  /** How soon to look again while a refresh runs. */
  static final Duration POLL = RunTiming.POLL;
  /** How soon to look again at the latest when nothing is due. */
  static final Duration REFRESH = Duration.ofMinutes(5);
  /** A source that cannot be reached is tried again without a limit: 5 s, doubling, at most 5 minutes apart. */
  private static final RetryPolicy RETRY = RetryPolicy.MART;

  private final AfterWrite afterWrite;
  private final HousekeeperMetrics metrics;

  MartOutcome(AfterWrite afterWrite, HousekeeperMetrics metrics) {
    this.afterWrite = afterWrite;
    this.metrics = metrics;
  }

  /** While a refresh runs: Ready still when the last one succeeded (the mart serves its data). */
  static Pass<Phase> refreshing(ReportMartStatus status, String message) {
    boolean serves = status.lastRefresh != null && "Succeeded".equals(status.lastRefresh.outcome);
    return Pass.running(Phase.Refreshing, "Refreshing", message, POLL).stillReady(serves);
  }

  /** Folds a finished refresh into status: null when it succeeded, else the failed pass (its Warning sent). */
  Pass<Phase> fold(ReportMart resource, String key, ReportMartStatus status, WorkExecutor.Task<MartStart.Built> task,
      Instant now) {
    String ns = resource.getMetadata().getNamespace();
    Duration took = Duration.between(task.started(), Instant.now());
    afterWrite.then(key, () -> metrics.duration(KIND, ns, "refresh", took));
    status.refreshes = status.refreshes == null ? 1 : status.refreshes + 1;
    try {
      succeeded(resource, key, status, task.future().get());
      return null;
    } catch (Exception e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      return failed(resource, key, status, cause, took, now);
    }
  }

  private void succeeded(ReportMart resource, String key, ReportMartStatus status, MartStart.Built built) {
    String ns = resource.getMetadata().getNamespace();
    ReportMartStatus.Refresh r = built.refresh();
    status.lastRefresh = r;
    status.lastSuccessfulRefreshTime = r.endTime;
    status.schemaHash = built.schemaHash();
    RetryPolicy.succeeded(status);
    afterWrite.then(key, () -> metrics.action(KIND, ns, "refresh", "success"));
    afterWrite.then(key, () -> metrics.martRows(ns, r.rowsWritten, r.sourceRows));
    String how = "incremental".equals(r.mode) ? ", partitions replaced " + r.partitionsReplaced
        + (r.partitionsDropped.isEmpty() ? "" : ", dropped " + r.partitionsDropped) : " (" + r.swap + ")";
    afterWrite.normal(key, resource, "Refreshed", capitalize(r.mode) + " refresh of " + status.table + ": "
        + r.rowsWritten + " rows" + how + " in " + r.durationMillis + " ms.");
  }

  private Pass<Phase> failed(ReportMart resource, String key, ReportMartStatus status, Throwable cause,
      Duration took, Instant now) {
    String ns = resource.getMetadata().getNamespace();
    ReportMartStatus.Refresh r = new ReportMartStatus.Refresh();
    r.startTime = RunTiming.format(now.minus(took));
    r.endTime = RunTiming.format(now);
    r.durationMillis = took.toMillis();
    r.outcome = "Failed";
    r.error = cause.getMessage();
    r.mode = status.lastRefresh == null ? null : status.lastRefresh.mode;
    status.lastRefresh = r;
    String reason = cause instanceof MartRefresh.Failed f ? f.reason() : "RefreshFailed";
    boolean retriable = cause instanceof MartRefresh.Failed f && f.retriable();
    afterWrite.then(key, () -> metrics.action(KIND, ns, "refresh", "failure"));
    String message = "The refresh failed: " + cause.getMessage() + ". The mart keeps its previous data.";
    Duration requeue = REFRESH;
    if (retriable) {
      // only a passing failure counts: a lasting one waits for a change, a request or the schedule
      RetryPolicy.Retry retry = RETRY.failed(status, true, now);
      message += " Retrying at " + status.retryTime + " (attempt " + (retry.failures() + 1) + ").";
      requeue = Duration.between(now, retry.at()).plusMillis(500);
    }
    afterWrite.warning(key, resource, reason, message);
    return Pass.failed(Phase.Failed, reason, message, requeue);
  }

  /** Between refreshes: the last one's result, and when the next is due. */
  static Pass<Phase> settled(ReportMartStatus status, Instant next, Instant now) {
    Duration requeue = RunTiming.wake(now, REFRESH, next, RetryPolicy.retryAt(status));
    String when = next == null ? "next refresh on request (annotation " + ReportMart.RUN_NOW_ANNOTATION + ")"
        : "next refresh at " + RunTiming.format(next);
    var last = status.lastRefresh;
    if (last != null && "Failed".equals(last.outcome)) {
      var ready = Conditions.find(status.getConditions(), Conditions.READY);
      return Pass.failed(Phase.Failed, ready.map(c -> c.getReason()).orElse("RefreshFailed"),
          ready.map(c -> c.getMessage()).orElse(last.error), requeue);
    }
    if (last == null) {
      return Pass.waiting(Phase.Pending, "Scheduled", "Not built yet; " + when + ".", requeue);
    }
    return Pass.ok(Phase.Ready, "Refreshed", "Last " + last.mode + " refresh at " + last.endTime
        + ": " + last.rowsWritten + " rows; " + when + ".", requeue);
  }

  private static String capitalize(String s) {
    return s == null || s.isEmpty() ? "" : Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }
}
