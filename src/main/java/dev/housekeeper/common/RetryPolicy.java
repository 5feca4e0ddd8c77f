package dev.housekeeper.common;

import dev.housekeeper.api.common.RunStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * How a kind tries again by itself after passing failures ({@link Transient#is}): at most
 * {@code maxRetries} automatic retries in a row (0: no limit), the first {@code first} after the
 * failure, each next one twice as late, never later than {@code cap}. The state lives in the
 * resource's status ({@link RunStatus}), so that a restarted operator keeps counting where the last
 * one stopped.
 */
public record RetryPolicy(int maxRetries, Duration first, Duration cap) {

  /** Backups, restores and retention runs: 3 retries, 15 s, 30 s, 60 s after the failure. */
  public static final RetryPolicy BOUNDED = new RetryPolicy(Transient.MAX_RETRIES, Duration.ofSeconds(15),
      Duration.ofSeconds(60));

  /** Marts: a source that cannot be reached is tried again without end, 5 s doubling up to 5 min. */
  public static final RetryPolicy MART = new RetryPolicy(0, Duration.ofSeconds(5), Duration.ofMinutes(5));

  /** Migrations: a run that failed on the way is tried again without end, 2 s doubling up to 60 s. */
  public static final RetryPolicy MIGRATION = new RetryPolicy(0, Duration.ofSeconds(2), Duration.ofSeconds(60));

  /**
   * The decision after a failure: how many failed in a row now, and when the next attempt is due
   * (null: none, it waits for its schedule or a change).
   */
  public record Retry(int failures, Instant at, RetryPolicy policy, boolean retriable) {

    /** The words that end a failure's message: when it is retried, or that it is not any more. */
    public String words(String again) {
      if (at != null) {
        return "; " + again + " at " + at.truncatedTo(ChronoUnit.SECONDS) + (policy.maxRetries() > 0
            ? " (retry " + failures + " of " + policy.maxRetries() + ")" : " (attempt " + (failures + 1) + ")");
      }
      return retriable ? " (" + failures + " attempts in a row failed; no more automatic retries)" : "";
    }
  }

  /**
   * After a failure: counts it ({@code failuresBefore} failed in a row before it; null: none) and,
   * when it was a passing one and retries are left, says when to try again.
   */
  public Retry after(Integer failuresBefore, boolean retriable, Instant now) {
    int failures = failuresBefore == null ? 1 : failuresBefore + 1;
    if (!retriable || (maxRetries > 0 && failures > maxRetries)) {
      return new Retry(failures, null, this, retriable);
    }
    Duration wait = first.multipliedBy(1L << Math.min(failures - 1, 20));
    if (wait.compareTo(cap) > 0) {
      wait = cap;
    }
    return new Retry(failures, now.plus(wait).truncatedTo(ChronoUnit.SECONDS), this, true);
  }

  /** Records a failed run in the status: one more in a row, and the retry time when one is due. */
  public Retry failed(RunStatus status, boolean retriable, Instant now) {
    Retry retry = after(status.consecutiveFailures, retriable, now);
    status.consecutiveFailures = retry.failures();
    status.retryTime = retry.at() == null ? null : retry.at().toString();
    return retry;
  }

  /** Records a successful run: the count starts again. */
  public static void succeeded(RunStatus status) {
    status.consecutiveFailures = null;
    status.retryTime = null;
  }

  /** Whether a retry is due now. */
  public static boolean due(RunStatus status, Instant now) {
    return status.retryTime != null && !Instant.parse(status.retryTime).isAfter(now);
  }

  /** When the retry is due (null: none). */
  public static Instant retryAt(RunStatus status) {
    return status.retryTime == null ? null : Instant.parse(status.retryTime);
  }
}
