package dev.housekeeper.migration;

import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus.Phase;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.migration.MigrationRunner.Outcome;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * When a migration runs again, kept in status so that a restarted operator decides the same: a run
 * with unchanged inputs ({@code status.runInputs}) waits for its retry time (a passing failure,
 * {@link RetryPolicy#MIGRATION}) or its recheck time (at the target, waiting for replicas or for
 * the lock); after a final outcome (Dirty, Drift, a blocked plan) only new inputs run it again.
 */
final class MigrationTiming {

  static final RetryPolicy RETRY = RetryPolicy.MIGRATION;
  /** At the target: the ledger is read again this long after, in case someone changed it by hand. */
  static final Duration RECHECK = Duration.ofMinutes(10);
  static final Duration LOCK_WAIT = Duration.ofSeconds(3);
  static final Duration REPLICAS_WAIT = Duration.ofSeconds(15);

  private MigrationTiming() {}

  /** The status as written, kept while the inputs are those of the last run and no time has come; else null. */
  static Pass<Phase> kept(ClickHouseMigrationStatus status, String inputs, Instant now) {
    if (!inputs.equals(status.runInputs)) {
      return null;
    }
    Instant retry = RetryPolicy.retryAt(status);
    Instant recheck = status.recheckTime == null ? null : Instant.parse(status.recheckTime);
    if (RunTiming.reached(retry, now) || RunTiming.reached(recheck, now)) {
      return null;
    }
    return asWritten(status, wake(status, now));
  }

  /** When to look again: at the retry or recheck time, whichever is first; null: only on a change. */
  static Duration wake(ClickHouseMigrationStatus status, Instant now) {
    Instant retry = RetryPolicy.retryAt(status);
    Instant recheck = status.recheckTime == null ? null : Instant.parse(status.recheckTime);
    if (retry == null && recheck == null) {
      return null;
    }
    return RunTiming.reached(retry, now) || RunTiming.reached(recheck, now) ? RunTiming.POLL
        : RunTiming.wake(now, RECHECK, retry, recheck);
  }

  /**
   * Whether a run with these inputs runs again what the status shows (a retry, a recheck, another
   * try for the lock): it keeps showing that until it does more than read the ledger and wait.
   */
  static boolean rerun(ClickHouseMigrationStatus status, String inputs) {
    return inputs.equals(status.runInputs);
  }

  /**
   * A run with new inputs starts: the status no longer shows a finished run's outcome. (A rerun
   * leaves the status as it is: its time has come, so a restarted operator runs it again.)
   */
  static void started(ClickHouseMigrationStatus status, String inputs) {
    if (!rerun(status, inputs)) {
      status.runInputs = null;
      status.retryTime = null;
      status.recheckTime = null;
    }
  }

  /**
   * A run failed on the way: tried again once the client's circuit breaker lets requests through
   * when it was open (an attempt before that fails at once), else after the policy's backoff.
   */
  static RetryPolicy.Retry failed(ClickHouseMigrationStatus status, Duration blocked, Instant now) {
    status.recheckTime = null;
    if (blocked.compareTo(Duration.ZERO) > 0) {
      Instant at = now.plus(blocked).plusSeconds(1).truncatedTo(ChronoUnit.SECONDS);
      status.retryTime = at.toString();
      int failures = status.consecutiveFailures == null ? 1 : status.consecutiveFailures;
      return new RetryPolicy.Retry(failures, at, RETRY, true);
    }
    return RETRY.failed(status, true, now);
  }

  /** A run ended without a failure: when its outcome is checked again ({@code pending}: replicas behind). */
  static void ended(ClickHouseMigrationStatus status, Outcome outcome, boolean pending, Instant now) {
    if (outcome == Outcome.LOCKED) {
      status.retryTime = null;
      status.recheckTime = RunTiming.format(now.plus(LOCK_WAIT));
      return;
    }
    RetryPolicy.succeeded(status);
    Duration again = pending ? REPLICAS_WAIT : outcome == Outcome.READY || outcome == Outcome.PLANNED ? RECHECK : null;
    status.recheckTime = again == null ? null : RunTiming.format(now.plus(again));
  }

  /** The pass the written status shows (phase and conditions), looked at again after {@code requeue}. */
  static Pass<Phase> asWritten(ClickHouseMigrationStatus status, Duration requeue) {
    var conditions = status.getConditions();
    var ready = Conditions.find(conditions, Conditions.READY);
    String reason = ready.map(Condition::getReason).orElse("Unknown");
    String message = ready.map(Condition::getMessage).orElse("");
    Phase phase = status.getPhase() == null ? Phase.Pending : status.getPhase();
    Pass<Phase> pass = Conditions.isTrue(conditions, Conditions.PROGRESSING)
        ? Pass.running(phase, reason, message, requeue) : Pass.waiting(phase, reason, message, requeue);
    return pass.stillReady(Conditions.isTrue(conditions, Conditions.READY))
        .degradedWhen(Conditions.isTrue(conditions, Conditions.DEGRADED));
  }
}
