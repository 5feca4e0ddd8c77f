package dev.housekeeper.common;

import dev.housekeeper.clickhouse.ClickHouseException;

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
}
