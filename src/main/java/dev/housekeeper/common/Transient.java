package dev.housekeeper.common;

import dev.housekeeper.clickhouse.ClickHouseException;
import java.time.Duration;
import java.time.Instant;

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
        return e.retriable();
      }
      if (c instanceof java.net.ConnectException || c instanceof java.net.SocketException
          || c instanceof java.net.SocketTimeoutException || c instanceof java.io.EOFException
          || c instanceof java.net.http.HttpTimeoutException || c instanceof java.net.UnknownHostException
          || c.getClass().getName().equals("software.amazon.awssdk.core.exception.SdkClientException")) {
        return true;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return false;
  }

  /** When attempt {@code failures + 1} is due: 15 s, 30 s, 60 s after the last failure. */
  public static Instant retryAt(Instant now, int failures) {
    return now.plus(Duration.ofSeconds(15L << Math.min(Math.max(failures - 1, 0), 5)));
  }
}
