package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.SqlLiterals;
import java.util.function.UnaryOperator;
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

  /** A name a recorded statement refers to: a database and a table in it (null: the database alone). */
  record Ref(String database, String name) {}

  private static final String ID = "`(?:[^`\\\\]|\\\\.)*`|[A-Za-z_][A-Za-z0-9_]*";
  private static final String LITERAL = "'(?:[^'\\\\]|\\\\.)*'";
  /** A string literal, a qualified name (two identifiers, bare or back-quoted), or a lone back-quoted name. */
  private static final Pattern TOKEN = Pattern.compile(LITERAL + "|(?<![\\w.`])(" + ID + ")\\.(" + ID + ")|`(?:[^`\\\\]"
      + "|\\\\.)*`");
  private static final Pattern PAIR = Pattern.compile("^(" + ID + ")\\.(" + ID + ")$");

  /** The rest with every reference to {@code from} moved to {@code to}. */
  String restIn(String from, String to) {
    return restMoved(r -> r.database().equals(from) ? new Ref(to, r.name()) : r);
  }

  /**
   * The rest with every name it refers to moved as {@code move} says: each qualified name
   * ({@code db.x}, back-quoted or bare), one that a string literal holds whole (a view's
   * {@code dictGet('db.dict', ...)}), and a dictionary source's {@code DB 'db'} with its
   * {@code TABLE 'x'}. Names in a view's query are what ClickHouse itself wrote.
   */
  String restMoved(UnaryOperator<Ref> move) {
    Matcher m = TOKEN.matcher(rest);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String token = m.group();
      String replacement = token;
      if (m.group(1) != null) {
        Ref from = new Ref(name(m.group(1)), name(m.group(2)));
        Ref to = move.apply(from);
        replacement = to.equals(from) ? token : Identifiers.qualified(to.database(), to.name());
      } else if (token.startsWith("'")) {
        replacement = literalMoved(token, move);
      }
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return "DICTIONARY".equals(what) ? sourceMoved(out.toString(), move)
        : "TABLE".equals(what) ? distributedMoved(out.toString(), move) : out.toString();
  }

  private static final Pattern DISTRIBUTED = Pattern.compile("(\\bDistributed\\s*\\(\\s*(?:" + ID + "|" + LITERAL
      + ")\\s*,\\s*)(" + ID + "|" + LITERAL + ")(\\s*,\\s*)(" + ID + "|" + LITERAL + ")", Pattern.CASE_INSENSITIVE);

  /**
   * A Distributed table's engine names its local table by two arguments (database, table), as
   * identifiers or string literals (18.16 and 26.x show literals): moved as that table moves, written
   * back as literals, which every version reads.
   */
  private static String distributedMoved(String text, UnaryOperator<Ref> move) {
    Matcher m = DISTRIBUTED.matcher(text);
    if (!m.find()) {
      return text;
    }
    Ref from = new Ref(word(m.group(2)), word(m.group(4)));
    Ref to = move.apply(from);
    if (to.equals(from)) {
      return text;
    }
    return text.substring(0, m.start()) + m.group(1) + SqlLiterals.quoteString(to.database()) + m.group(3)
        + SqlLiterals.quoteString(to.name()) + text.substring(m.end());
  }

  /** An engine argument that names something: a string literal or an identifier. */
  private static String word(String token) {
    return token.startsWith("'") ? unquote(token) : name(token);
  }

  /** A string literal that holds a qualified name and nothing else, moved; any other literal as it is. */
  private static String literalMoved(String literal, UnaryOperator<Ref> move) {
    Matcher pair = PAIR.matcher(unquote(literal));
    if (!pair.matches()) {
      return literal;
    }
    Ref from = new Ref(name(pair.group(1)), name(pair.group(2)));
    Ref to = move.apply(from);
    return to.equals(from) ? literal : SqlLiterals.quoteString(bare(to.database()) + "." + bare(to.name()));
  }

  private static final Pattern SOURCE_DB = Pattern.compile("(\\bDB\\s+)(" + LITERAL + ")", Pattern.CASE_INSENSITIVE);
  private static final Pattern SOURCE_TABLE = Pattern.compile("(\\bTABLE\\s+)(" + LITERAL + ")",
      Pattern.CASE_INSENSITIVE);

  /** A dictionary's ClickHouse source ({@code DB 'db' TABLE 'x'}) moved as its table (or database) moves. */
  private static String sourceMoved(String text, UnaryOperator<Ref> move) {
    Matcher db = SOURCE_DB.matcher(text);
    if (!db.find()) {
      return text;
    }
    Matcher table = SOURCE_TABLE.matcher(text);
    String name = table.find() ? unquote(table.group(2)) : null;
    Ref from = new Ref(unquote(db.group(2)), name);
    Ref to = move.apply(from);
    if (to.equals(from)) {
      return text;
    }
    String moved = SOURCE_DB.matcher(text).replaceFirst(Matcher.quoteReplacement(db.group(1)
        + SqlLiterals.quoteString(to.database())));
    return name == null ? moved : SOURCE_TABLE.matcher(moved).replaceFirst(Matcher.quoteReplacement(table.group(1)
        + SqlLiterals.quoteString(to.name())));
  }

  /** An identifier as written (bare, or back-quoted with backslash escapes) as the name it stands for. */
  private static String name(String identifier) {
    return identifier.startsWith("`") ? unescape(identifier.substring(1, identifier.length() - 1)) : identifier;
  }

  private static String unquote(String literal) {
    return unescape(literal.substring(1, literal.length() - 1));
  }

  private static String unescape(String text) {
    return text.replaceAll("\\\\(.)", "$1");
  }

  /** A name as a string literal names it: bare when it can be, else back-quoted. */
  private static String bare(String name) {
    return Identifiers.isPlain(name) ? name : Identifiers.quote(name);
  }
}
