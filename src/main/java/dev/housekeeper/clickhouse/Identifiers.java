package dev.housekeeper.clickhouse;

import java.util.regex.Pattern;

/**
 * The one place where names that come from a spec become SQL identifiers. A name is accepted only
 * if it is a plain identifier (letters, digits, underscore, not starting with a digit, at most 206
 * characters: the longest file name ClickHouse can keep), and is always emitted back-quoted.
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

  /**
   * Validates and quotes one identifier.
   *
   * @throws ClickHouseException of kind INVALID_INPUT when the name is not a plain identifier
   */
  public static String quote(String name) {
    if (!isValid(name)) {
      throw ClickHouseException.invalidInput(
          "invalid identifier " + describe(name) + ": use letters, digits and underscore only, not starting with a digit,"
              + " at most 206 characters");
    }
    return '`' + name + '`';
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
