package dev.housekeeper.common;

import java.time.Duration;

/**
 * The time limit of each long statement a resource runs ({@code spec.statementTimeout}): a native
 * BACKUP or RESTORE, one table's data read or load, a mart's load, an OPTIMIZE or a mutation that
 * is waited for. It is the server's {@code max_execution_time} and the HTTP read timeout of that one
 * request, so that the connection's {@code queryTimeout}, the limit of short metadata queries, never
 * cuts a long statement that is still within its own limit. The defaults are in hours: these
 * statements take as long as the data is large.
 */
public final class StatementTimeout {

  public static final Duration BACKUP = Duration.ofHours(12);
  public static final Duration RESTORE = Duration.ofHours(12);
  public static final Duration MART = Duration.ofHours(6);
  public static final Duration RETENTION = Duration.ofHours(2);

  private StatementTimeout() {}

  /**
   * The limit the spec sets, or the kind's default.
   *
   * @throws IllegalArgumentException with a message fit for a condition when the value is malformed
   */
  public static Duration of(String spec, Duration kindDefault) {
    return Durations.parse("spec.statementTimeout", spec, kindDefault);
  }

  /** Adds to {@code problems} what is wrong with the spec's value, if anything. */
  public static void check(String spec, java.util.List<String> problems) {
    try {
      of(spec, BACKUP);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
  }

  /** The limit as status shows it: {@code 12h}, {@code 90m}, {@code 45s}. */
  public static String text(Duration limit) {
    long seconds = limit.toSeconds();
    if (seconds % 3600 == 0) {
      return seconds / 3600 + "h";
    }
    return seconds % 60 == 0 ? seconds / 60 + "m" : seconds + "s";
  }
}
