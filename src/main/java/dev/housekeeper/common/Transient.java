package dev.housekeeper.common;

import dev.housekeeper.clickhouse.ClickHouseException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * Which failures are worth trying again by themselves: a server or a store that could not be
 * reached or went away mid-operation. A wrong password, bad SQL, a missing table or data that
 * fails verification is not: trying again cannot help, so those wait for a change.
 */
public final class Transient {

  /** Automatic attempts after the first, for one run of a backup or restore. */
  public static final int MAX_RETRIES = 3;

  private Transient() {}

  public static boolean is(Throwable failure) {
    for (Throwable c = failure; c != null; c = c.getCause()) {
      if (c instanceof ClickHouseException e) {
        // not e.retriable(), which says whether one request may be resent: a whole run may be redone after any of
        // these, where a single INSERT could not
        return switch (e.kind()) {
          // CANCELLED: the server went down or someone killed the query; a cancel the user asked for (suspend,
          // delete) is told apart by the caller, which does not retry it
          case CONNECTION, TIMEOUT, CIRCUIT_OPEN, RETRIES_EXHAUSTED, CANCELLED -> true;
          default -> e.retriable();
        };
      }
      if (c instanceof java.net.ConnectException || c instanceof java.net.SocketException
          || c instanceof java.net.SocketTimeoutException || c instanceof java.io.EOFException
          || c instanceof java.net.http.HttpTimeoutException || c instanceof java.net.UnknownHostException
          || sdkClientException(c.getClass())) {
        return true;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return false;
  }

  /** The AWS SDK's client-side failures (no answer, connection lost, aborted): its own class or a subclass. */
  private static boolean sdkClientException(Class<?> type) {
    for (Class<?> t = type; t != null; t = t.getSuperclass()) {
      if (t.getName().equals("software.amazon.awssdk.core.exception.SdkClientException")) {
        return true;
      }
    }
    return false;
  }

  /**
   * How a kind tries again after passing failures: at most {@code maxRetries} automatic retries
   * (0: no limit), the first after {@code first}, each next one twice as late, never later than
   * {@code max}.
   */
  public record Policy(int maxRetries, Duration first, Duration max) {}

  /** Backups, restores and retention runs: 3 retries, 15 s, 30 s, 60 s after the failure. */
  public static final Policy BOUNDED = new Policy(MAX_RETRIES, Duration.ofSeconds(15), Duration.ofSeconds(60));

  /**
   * The decision after a failure: how many failed in a row now, and when the next attempt is due
   * (null: none, it waits for its schedule or a change).
   */
  public record Retry(int failures, Instant at, Policy policy, boolean retriable) {

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
   * when it was a passing one and the policy has retries left, says when to try again.
   */
  public static Retry after(Integer failuresBefore, boolean retriable, Instant now, Policy policy) {
    int failures = failuresBefore == null ? 1 : failuresBefore + 1;
    if (!retriable || (policy.maxRetries() > 0 && failures > policy.maxRetries())) {
      return new Retry(failures, null, policy, retriable);
    }
    Duration wait = policy.first().multipliedBy(1L << Math.min(failures - 1, 20));
    if (wait.compareTo(policy.max()) > 0) {
      wait = policy.max();
    }
    return new Retry(failures, now.plus(wait).truncatedTo(ChronoUnit.SECONDS), policy, true);
  }
}
