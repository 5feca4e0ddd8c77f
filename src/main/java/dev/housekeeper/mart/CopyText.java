package dev.housekeeper.mart;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;

/**
 * Fields of PostgreSQL's COPY text format, read in place from a row's bytes: fields end at a tab,
 * NULL is {@code \N}, and a backslash escapes the next byte ({@code \b \f \n \r \t \v} stand for
 * their control characters, any other byte for itself). COPY TO never writes octal or hex escapes.
 * The session's DateStyle is ISO ({@link JdbcLoad} sets it), so dates and times read as
 * {@code 2026-06-01 12:34:56.789+03}. A value its reader cannot read throws an
 * IllegalArgumentException, which {@link ColumnType} words with the column and the value.
 */
final class CopyText {

  private CopyText() {}

  static boolean isNull(byte[] row, int from, int to) {
    return to - from == 2 && row[from] == '\\' && row[from + 1] == 'N';
  }

  /** The field as a RowBinary String: its length, then its unescaped bytes. */
  static void writeString(byte[] row, int from, int to, RowBytes out) {
    int length = 0;
    boolean escaped = false;
    for (int i = from; i < to; i++, length++) {
      if (row[i] == '\\') {
        escaped = true;
        i++;
      }
    }
    out.varint(length);
    if (!escaped) {
      out.write(row, from, to - from);
      return;
    }
    for (int i = from; i < to; i++) {
      byte b = row[i];
      out.write(b == '\\' && i + 1 < to ? unescaped(row[++i]) : b);
    }
  }

  private static int unescaped(byte b) {
    return switch (b) {
      case 'b' -> '\b';
      case 'f' -> '\f';
      case 'n' -> '\n';
      case 'r' -> '\r';
      case 't' -> '\t';
      case 'v' -> 0x0B;
      default -> b;
    };
  }

  /**
   * A whole number: digits with an optional sign, a boolean ({@code t} is 1, {@code f} is 0), or a
   * number with a fraction or exponent, whose fraction is cut off. A number past Long.MAX_VALUE
   * answers its low 64 bits: UInt64's bytes.
   */
  static long whole(byte[] row, int from, int to) {
    int length = to - from;
    if (length == 1 && (row[from] == 't' || row[from] == 'f')) {
      return row[from] == 't' ? 1 : 0;
    }
    int i = from;
    boolean negative = length > 0 && row[i] == '-';
    if (negative || length > 0 && row[i] == '+') {
      i++;
    }
    if (i == to || to - i > 18) {
      return number(row, from, to).toBigInteger().longValue();
    }
    long value = 0;
    for (; i < to; i++) {
      int digit = row[i] - '0';
      if (digit < 0 || digit > 9) {
        return number(row, from, to).toBigInteger().longValue();
      }
      value = value * 10 + digit;
    }
    return negative ? -value : value;
  }

  /** What {@link #unscaled} answers for a number it leaves to {@link #number}. */
  static final long NOT_SIMPLE = Long.MIN_VALUE;

  /**
   * A plain decimal ({@code -1234.5}) times 10^scale, read without a BigDecimal, when it has at most
   * {@code scale} fraction digits and fits 18 digits at that scale; else {@link #NOT_SIMPLE} (rounding
   * and exponents are {@link #number}'s).
   */
  static long unscaled(byte[] row, int from, int to, int scale) {
    int i = from < to && (row[from] == '-' || row[from] == '+') ? from + 1 : from;
    boolean negative = i > from && row[from] == '-';
    long value = 0;
    int digits = 0;
    int fraction = -1;
    for (; i < to; i++) {
      byte b = row[i];
      if (b == '.' && fraction < 0) {
        fraction = 0;
        continue;
      }
      if (b < '0' || b > '9') {
        return NOT_SIMPLE;
      }
      value = value * 10 + (b - '0');
      digits++;
      fraction += fraction >= 0 ? 1 : 0;
    }
    int fractionDigits = Math.max(fraction, 0);
    if (digits == 0 || fractionDigits > scale || digits + scale - fractionDigits > 18) {
      return NOT_SIMPLE;
    }
    for (int k = fractionDigits; k < scale; k++) {
      value *= 10;
    }
    return negative ? -value : value;
  }

  /** Any number PostgreSQL prints. */
  static BigDecimal number(byte[] row, int from, int to) {
    return new BigDecimal(ascii(row, from, to));
  }

  /** A double as PostgreSQL prints it, {@code NaN} and {@code Infinity} included. */
  static double floating(byte[] row, int from, int to) {
    return Double.parseDouble(ascii(row, from, to));
  }

  /** The day of an ISO date, or of the date part of a timestamp. */
  static long epochDay(byte[] row, int from, int to) {
    if (to - from < 10 || row[from + 4] != '-' || row[from + 7] != '-' || to - from > 10 && row[from + 10] != ' ') {
      throw new IllegalArgumentException("not yyyy-mm-dd");
    }
    try {
      return LocalDate.of(digits(row, from, 4), digits(row, from + 5, 2), digits(row, from + 8, 2)).toEpochDay();
    } catch (java.time.DateTimeException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /**
   * Seconds since the epoch of a date, a timestamp (taken as UTC) or a timestamp with an offset
   * ({@code +03}, {@code -04:30}); a fraction of a second is cut off.
   */
  static long epochSecond(byte[] row, int from, int to) {
    long seconds = epochDay(row, from, Math.min(to, from + 10)) * 86_400;
    if (to - from == 10) {
      return seconds;
    }
    if (to - from < 19 || row[from + 13] != ':' || row[from + 16] != ':') {
      throw new IllegalArgumentException("not yyyy-mm-dd hh:mm:ss");
    }
    seconds += digits(row, from + 11, 2) * 3600L + digits(row, from + 14, 2) * 60L + digits(row, from + 17, 2);
    int i = from + 19;
    if (i < to && row[i] == '.') {
      do {
        i++;
      } while (i < to && row[i] >= '0' && row[i] <= '9');
    }
    if (i == to) {
      return seconds;
    }
    if ((row[i] != '+' && row[i] != '-') || to - i < 3) {
      throw new IllegalArgumentException("not an offset (+hh)");
    }
    int sign = row[i] == '-' ? -1 : 1;
    long offset = digits(row, i + 1, 2) * 3600L;
    for (int at = i + 3, unit = 60; at < to; at += 3, unit /= 60) {
      if (row[at] != ':' || to - at < 3 || unit == 0) {
        throw new IllegalArgumentException("not an offset (+hh:mm)");
      }
      offset += digits(row, at + 1, 2) * (long) unit;
    }
    return seconds - sign * offset;
  }

  private static int digits(byte[] row, int at, int count) {
    int value = 0;
    for (int i = at; i < at + count; i++) {
      int digit = row[i] - '0';
      if (digit < 0 || digit > 9) {
        throw new IllegalArgumentException("not a digit at " + (i - at));
      }
      value = value * 10 + digit;
    }
    return value;
  }

  static String ascii(byte[] row, int from, int to) {
    return new String(row, from, to - from, StandardCharsets.ISO_8859_1);
  }
}
