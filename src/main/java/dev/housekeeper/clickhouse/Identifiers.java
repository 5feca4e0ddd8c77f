package dev.housekeeper.clickhouse;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * The one place where names become SQL identifiers. Every name is emitted back-quoted, with a
 * back-quote and a backslash in it escaped by a backslash (as ClickHouse reads quoted identifiers on
 * 18.16 and 26.x), so that any name the server holds (a materialized view's {@code .inner.} table, a
 * hyphen, a quote, Cyrillic, CJK) can be named, and no name can end the identifier early. Only what no
 * ClickHouse name can be is refused: an empty name, a control character, more than 206 characters.
 * A name written in a spec is checked by {@link #nameProblem}, which also measures it as ClickHouse
 * stores it, as a file name; the names Housekeeper derives from it ({@link #derived}) stay within the
 * same limit.
 */
public final class Identifiers {

  /**
   * The longest file-name form ({@link #fileNameLength}) of a name from a spec. ClickHouse keeps a
   * table as {@code metadata/<db>/<name>.sql} and from 25.1 refuses a table whose file name is longer
   * than {@code min(255 - 13, 255 - 42 - <db's file name>)}: 206 in a database named {@code default}.
   */
  public static final int MAX_FILE_NAME = 206;

  private static final Pattern PLAIN = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]{0,205}$");

  /**
   * A cluster name: what a {@code remote_servers} element can be named, without a dot. Seen on 18.16
   * with ZooKeeper's DDL queue: {@code ON CLUSTER `a-b`} (quoted, as {@code Sql.onCluster} writes it)
   * runs CREATE, RENAME and DROP; a cluster named {@code a.b} in the config makes the server refuse
   * every read of system.clusters ("Cluster names with dots are not supported"). The CRD's pattern
   * ({@code ClickHouseConnectionSpec.CLUSTER_PATTERN}) is the same text. Constant, no nested quantifier.
   */
  public static final Pattern CLUSTER_NAME = Pattern.compile("^[A-Za-z_][A-Za-z0-9_-]{0,205}$");

  private Identifiers() {}

  /**
   * Whether {@code name} is a plain identifier (letters, digits, underscore): what a server setting's
   * name or a disk's name is. Database, table and column names are checked by {@link #nameProblem}.
   */
  public static boolean isPlain(String name) {
    return name != null && PLAIN.matcher(name).matches();
  }

  /**
   * What is wrong with a cluster name, or null when it is one: the one rule for a connection's
   * spec.cluster and for every {@code ON CLUSTER} clause ({@code Sql.onCluster}).
   */
  public static String clusterNameProblem(String name) {
    if (name == null || name.isEmpty()) {
      return "is empty";
    }
    if (name.indexOf('.') >= 0) {
      return "has a dot, which ClickHouse refuses in a cluster name (\"Cluster names with dots are not supported\")";
    }
    if (!CLUSTER_NAME.matcher(name).matches()) {
      return "is not a cluster name: a letter or _ first, then letters, digits, _ and -, at most 206 characters";
    }
    return null;
  }

  /**
   * What is wrong with a database, table or column name written in a spec, or null when ClickHouse
   * can hold it: any text without control characters whose file-name form has at most
   * {@link #MAX_FILE_NAME} characters.
   */
  public static String nameProblem(String name) {
    if (name == null || name.isEmpty()) {
      return "is empty";
    }
    if (!isText(name)) {
      return "has a control character (or is not valid UTF-16 text)";
    }
    int length = fileNameLength(name);
    if (length > MAX_FILE_NAME) {
      return "is too long: ClickHouse keeps it as a file name of " + length + " characters, at most "
          + MAX_FILE_NAME + " (a letter, digit or _ counts 1, any other character 3 per UTF-8 byte)";
    }
    return null;
  }

  /**
   * The length of {@code name} as ClickHouse writes it in a file name ({@code escapeForFileName}):
   * an ASCII letter, digit or underscore stays one character, every other byte of its UTF-8 form
   * becomes {@code %XX}.
   */
  public static int fileNameLength(String name) {
    int length = 0;
    for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
      length += (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_') ? 1 : 3;
    }
    return length;
  }

  /**
   * The longest file-name form of a table name in {@code database}: {@link #MAX_FILE_NAME}, or less
   * in a database whose own file name is longer than 7 characters (ClickHouse 25.1 and later allow
   * {@code 213 - <the database's file-name length>}; see {@link #MAX_FILE_NAME}).
   */
  public static int maxTableFileName(String database) {
    return Math.min(MAX_FILE_NAME, 213 - fileNameLength(database));
  }

  /**
   * A table name Housekeeper derives from a user's table name ({@code prefix + base + suffix}: a
   * restore's staging table, a mart's table being built and the one swapped out) in
   * {@code database}, within {@link #maxTableFileName}, so that any table a spec may name has its
   * working tables. When the whole does not fit, the base is cut (at a character) and the first 8 hex
   * digits of its SHA-256 follow it: the same base always gives the same name (a restarted operator
   * finds its table), and two long bases that start alike give two names.
   */
  public static String derived(String database, String prefix, String base, String suffix) {
    String whole = prefix + base + suffix;
    int limit = maxTableFileName(database);
    if (fileNameLength(whole) <= limit) {
      return whole;
    }
    String hash = "_" + sha256Hex(base).substring(0, 8);
    int room = Math.max(0, limit - fileNameLength(prefix + hash + suffix));
    StringBuilder cut = new StringBuilder();
    int used = 0;
    for (int i = 0; i < base.length(); ) {
      int cp = base.codePointAt(i);
      String c = new String(Character.toChars(cp));
      int cost = fileNameLength(c);
      if (used + cost > room) {
        break;
      }
      cut.append(c);
      used += cost;
      i += Character.charCount(cp);
    }
    return prefix + cut + hash + suffix;
  }

  private static String sha256Hex(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether {@code name} can be quoted: not empty, no control character, at most 206 characters. */
  public static boolean isQuotable(String name) {
    return name != null && !name.isEmpty() && name.length() <= 206 && isText(name);
  }

  /** No control character and no lone surrogate. */
  private static boolean isText(String name) {
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

  /** A table as a spec names it: {@code database} is null when the entry gives the table's name alone. */
  public record TableName(String database, String table) {

    /** Whether this names {@code table} of {@code database} (any database when none is given). */
    public boolean names(String otherDatabase, String otherTable) {
      return table.equals(otherTable) && (database == null || database.equals(otherDatabase));
    }

    @Override
    public String toString() {
      return database == null ? table : database + "." + table;
    }
  }

  /**
   * Reads a spec's table entry: {@code table} or {@code database.table}, where either part may be
   * back-quoted as in SQL ({@code `my.db`.`t.1`}, a back-quote and a backslash inside escaped by a
   * backslash, or a back-quote doubled). A part that does not start with a back-quote is taken as it
   * is, up to the first dot for the database; so a name with a dot, or one that starts with a
   * back-quote, is written back-quoted. The one parser of such entries.
   *
   * @throws IllegalArgumentException saying what is wrong with the entry
   */
  public static TableName parseTableName(String entry) {
    if (entry == null || entry.isEmpty()) {
      throw new IllegalArgumentException("is empty");
    }
    int[] at = {0};
    String first = part(entry, at, true);
    String database = null;
    String table = first;
    if (at[0] < entry.length()) {
      at[0]++; // the dot
      database = first;
      table = part(entry, at, false);
      if (at[0] < entry.length()) {
        throw new IllegalArgumentException("has text after the back-quoted table name");
      }
    }
    for (String name : database == null ? new String[] {table} : new String[] {database, table}) {
      String problem = nameProblem(name);
      if (problem != null) {
        throw new IllegalArgumentException("names " + describe(name) + ", which " + problem);
      }
    }
    return new TableName(database, table);
  }

  /** One part of an entry from {@code at[0]}: back-quoted, or bare up to a dot (or to the end). */
  private static String part(String entry, int[] at, boolean upToDot) {
    int i = at[0];
    if (i < entry.length() && entry.charAt(i) == '`') {
      StringBuilder out = new StringBuilder();
      for (i++; i < entry.length(); i++) {
        char c = entry.charAt(i);
        if (c == '\\' && i + 1 < entry.length() && (entry.charAt(i + 1) == '`' || entry.charAt(i + 1) == '\\')) {
          out.append(entry.charAt(++i));
        } else if (c == '\\') {
          throw new IllegalArgumentException("has a backslash that escapes neither ` nor \\");
        } else if (c == '`' && i + 1 < entry.length() && entry.charAt(i + 1) == '`') {
          out.append(entry.charAt(++i));
        } else if (c == '`') {
          at[0] = i + 1;
          if (upToDot && at[0] < entry.length() && entry.charAt(at[0]) != '.') {
            throw new IllegalArgumentException("has text after a back-quoted name other than .table");
          }
          return out.toString();
        } else {
          out.append(c);
        }
      }
      throw new IllegalArgumentException("has a back-quote that is not closed");
    }
    int end = upToDot && entry.indexOf('.', i) >= 0 ? entry.indexOf('.', i) : entry.length();
    at[0] = end;
    return entry.substring(i, end);
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
