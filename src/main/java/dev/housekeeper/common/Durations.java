package dev.housekeeper.common;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the short durations used in specs: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}. */
public final class Durations {

  private static final Pattern SHORT = Pattern.compile("^([0-9]{1,9})(ms|s|m|h)$");

  private Durations() {}

  /**
   * Parses {@code text}, or returns {@code fallback} when it is null.
   *
   * @throws IllegalArgumentException with a message fit for a condition when it is malformed
   */
  public static Duration parse(String field, String text, Duration fallback) {
    if (text == null || text.isBlank()) {
      return fallback;
    }
    Matcher m = SHORT.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(field + ": \"" + text + "\" is not a duration; use a number with ms, s, m"
          + " or h, for example 30s");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }
}
