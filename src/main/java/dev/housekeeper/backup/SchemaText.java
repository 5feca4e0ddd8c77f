package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.SqlLiterals;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A recorded CREATE statement taken apart: what it creates ({@code TABLE}, {@code VIEW},
 * {@code MATERIALIZED VIEW}, {@code DICTIONARY}), the name it creates, and the rest (columns, engine,
 * query); and that rest moved to another database, so that a view restored elsewhere reads from and
 * writes to the restored tables, not the originals.
 */
record SchemaText(String what, String database, String name, String rest) {

  private static final Pattern HEAD = Pattern.compile("^\\s*CREATE\\s+(TABLE|VIEW|MATERIALIZED\\s+VIEW|DICTIONARY)"
      + "\\s+", Pattern.CASE_INSENSITIVE);

  /** The statement taken apart, or null when it does not start with CREATE and a qualified name. */
  static SchemaText parse(String ddl) {
    Matcher m = HEAD.matcher(ddl);
    if (!m.find()) {
      return null;
    }
    int[] at = {m.end()};
    String database = identifier(ddl, at);
    if (database == null || at[0] >= ddl.length() || ddl.charAt(at[0]) != '.') {
      return null;
    }
    at[0]++;
    String name = identifier(ddl, at);
    if (name == null) {
      return null;
    }
    return new SchemaText(m.group(1).toUpperCase().replaceAll("\\s+", " "), database, name,
        ddl.substring(at[0]).stripLeading());
  }

  /** One identifier at {@code at[0]}: back-quoted (with backslash escapes) or bare; moves {@code at[0]} past it. */
  private static String identifier(String text, int[] at) {
    int i = at[0];
    if (i >= text.length()) {
      return null;
    }
    StringBuilder out = new StringBuilder();
    if (text.charAt(i) == '`') {
      for (i++; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c == '\\' && i + 1 < text.length()) {
          out.append(text.charAt(++i));
        } else if (c == '`') {
          at[0] = i + 1;
          return out.toString();
        } else {
          out.append(c);
        }
      }
      return null;
    }
    while (i < text.length() && (Character.isLetterOrDigit(text.charAt(i)) || text.charAt(i) == '_')) {
      out.append(text.charAt(i++));
    }
    at[0] = i;
    return out.isEmpty() ? null : out.toString();
  }

  /**
   * The rest with every reference to {@code from} (as {@code from.x}, {@code `from`.x}, or a
   * dictionary source's {@code DB 'from'}) moved to {@code to}. A string literal that happens to hold
   * {@code from.} is moved too; names in a view's query are what ClickHouse itself wrote.
   */
  String restIn(String from, String to) {
    if (from.equals(to)) {
      return rest;
    }
    String names = Pattern.quote(Identifiers.quote(from)) + (Identifiers.isPlain(from) ? "|" + Pattern.quote(from)
        : "");
    String moved = Pattern.compile("(?<![\\w.`])(?:" + names + ")\\.").matcher(rest)
        .replaceAll(Matcher.quoteReplacement(Identifiers.quote(to) + "."));
    return Pattern.compile("(\\bDB\\s+)" + Pattern.quote(SqlLiterals.quoteString(from))).matcher(moved)
        .replaceAll(m -> Matcher.quoteReplacement(m.group(1) + SqlLiterals.quoteString(to)));
  }
}
