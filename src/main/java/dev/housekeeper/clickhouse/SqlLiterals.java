package dev.housekeeper.clickhouse;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.UUID;

/**
 * The one place where values become SQL text: every value is rendered as an escaped, typed
 * literal that ClickHouse 18.16 and current servers parse alike. Values are never concatenated
 * into SQL any other way.
 */
public final class SqlLiterals {

  private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

  private SqlLiterals() {}

  /** Renders one value as a literal. */
  public static String render(Object value) {
    if (value == null) {
      return "NULL";
    }
    if (value instanceof CharSequence s) {
      return quoteString(s.toString());
    }
    if (value instanceof Boolean b) {
      return b ? "1" : "0";
    }
    if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte
        || value instanceof BigInteger) {
      return value.toString();
    }
    if (value instanceof Double d) {
      return renderFloating(d);
    }
    if (value instanceof Float f) {
      return renderFloating(f.doubleValue());
    }
    if (value instanceof BigDecimal d) {
      return d.toPlainString();
    }
    if (value instanceof LocalDate d) {
      return "toDate(" + quoteString(d.toString()) + ")";
    }
    if (value instanceof LocalDateTime t) {
      return "toDateTime(" + quoteString(t.format(DATE_TIME)) + ", 'UTC')";
    }
    if (value instanceof Instant i) {
      return render(LocalDateTime.ofInstant(i, ZoneOffset.UTC));
    }
    if (value instanceof OffsetDateTime t) {
      return render(t.toInstant());
    }
    if (value instanceof ZonedDateTime t) {
      return render(t.toInstant());
    }
    if (value instanceof UUID u) {
      return "toUUID(" + quoteString(u.toString()) + ")";
    }
    if (value instanceof Collection<?> c) {
      StringBuilder out = new StringBuilder("[");
      boolean first = true;
      for (Object element : c) {
        if (!first) {
          out.append(", ");
        }
        out.append(render(element));
        first = false;
      }
      return out.append(']').toString();
    }
    throw ClickHouseException.invalidInput("cannot render a value of type " + value.getClass().getName() + " as SQL");
  }

  private static String renderFloating(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    return Double.toString(d);
  }

  /** A single-quoted string literal with backslash, quote and control characters escaped. */
  public static String quoteString(String s) {
    StringBuilder out = new StringBuilder(s.length() + 2).append('\'');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\\' -> out.append("\\\\");
        case '\'' -> out.append("\\'");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\0' -> out.append("\\0");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> out.append(c);
      }
    }
    return out.append('\'').toString();
  }
}
