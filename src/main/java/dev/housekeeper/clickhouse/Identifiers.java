package dev.housekeeper.clickhouse;

import java.util.regex.Pattern;

/**
 * The one place where names become SQL identifiers. Every name is emitted back-quoted, with a
 * back-quote and a backslash in it escaped by a backslash (as ClickHouse reads quoted identifiers on
 * 18.16 and 26.x), so that any name the server holds (a materialized view's {@code .inner.} table, a
 * hyphen, Cyrillic) can be named. Only what no ClickHouse name can be is refused: an empty name, a
 * control character, more than 206 characters (the longest file name ClickHouse can keep). Names
 * written in a spec are checked first by {@link #isValid}.
 */
public final class Identifiers {

  /** The pattern every database, table and column name from a spec must match. */
  public static final String PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,205}$";

  private static final Pattern VALID = Pattern.compile(PATTERN);

  private Identifiers() {}

  /** Whether {@code name} is acceptable as an identifier. */
  public static boolean isValid(String name) {
    return name != null && VALID.matcher(name).matches();
  }

  /** Whether {@code name} can be quoted: not empty, no control character, at most 206 characters. */
  public static boolean isQuotable(String name) {
    if (name == null || name.isEmpty() || name.length() > 206) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) && !validSurrogatePair(name, i)) {
        return false;
      }
      if (Character.isHighSurrogate(c)) {
        i++;
      }
    }
    return true;
  }

  private static boolean validSurrogatePair(String name, int i) {
    return Character.isHighSurrogate(name.charAt(i)) && i + 1 < name.length()
        && Character.isLowSurrogate(name.charAt(i + 1));
  }

  /**
   * Quotes one identifier, escaping a back-quote and a backslash in it.
   *
   * @throws ClickHouseException of kind INVALID_INPUT when the name cannot be a ClickHouse name
   */
  public static String quote(String name) {
    if (!isQuotable(name)) {
      throw ClickHouseException.invalidInput("invalid identifier " + describe(name) + ": a name must have 1 to 206"
          + " characters and no control character");
    }
    StringBuilder out = new StringBuilder(name.length() + 2).append('`');
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '`' || c == '\\') {
        out.append('\\');
      }
      out.append(c);
    }
    return out.append('`').toString();
  }

  /** Quotes {@code database.table}. */
  public static String qualified(String database, String table) {
    return quote(database) + '.' + quote(table);
  }

  /** A safe rendering of a rejected name for messages: quoted, truncated, control characters escaped. */
  public static String describe(String name) {
    if (name == null) {
      return "(missing)";
    }
    StringBuilder out = new StringBuilder("\"");
    int limit = Math.min(name.length(), 64);
    for (int i = 0; i < limit; i++) {
      char c = name.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    if (name.length() > limit) {
      out.append("...(").append(name.length()).append(" chars)");
    }
    return out.append('"').toString();
  }
}
