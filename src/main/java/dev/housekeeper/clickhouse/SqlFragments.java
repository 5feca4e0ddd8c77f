package dev.housekeeper.clickhouse;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Checks for the pieces of SQL a spec may carry verbatim: an expression (a mart's ORDER BY,
 * PARTITION BY, engine), a column type, a read-only query (a mart's source). Each check answers
 * null when the piece is acceptable, otherwise what is wrong with it, for a status message.
 * Identifiers never come through here: they are validated and quoted by {@link Identifiers}.
 */
public final class SqlFragments {

  private static final Pattern FIRST_WORD = Pattern.compile("^[\\s(]*([A-Za-z]+)");

  private SqlFragments() {}

  /**
   * An expression: no statement separator or comment outside quotes, quotes closed, parentheses
   * balanced, no control characters; at most 4,096 characters.
   */
  public static String expressionProblem(String expr) {
    if (expr == null || expr.isBlank()) {
      return "is empty";
    }
    if (expr.length() > 4096) {
      return "is longer than 4096 characters";
    }
    int depth = 0;
    int n = expr.length();
    for (int i = 0; i < n; i++) {
      char c = expr.charAt(i);
      char next = i + 1 < n ? expr.charAt(i + 1) : 0;
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f) {
        return "contains a control character";
      }
      if (c == '\'' || c == '"' || c == '`') {
        int end = closing(expr, i, c);
        if (end < 0) {
          return "has an unclosed " + c;
        }
        i = end;
      } else if (c == ';') {
        return "contains ';' (one expression, not statements)";
      } else if (c == '-' && next == '-' || c == '/' && next == '*' || c == '#') {
        return "contains a comment";
      } else if (c == '(') {
        depth++;
      } else if (c == ')' && --depth < 0) {
        return "has a ')' without its '('";
      }
    }
    return depth == 0 ? null : "has a '(' without its ')'";
  }

  /**
   * A column type: a type name with optional arguments, for example Decimal(18, 2) or Nullable(String),
   * parsed by {@link TypeExpression} (a pattern let {@code Nullable(String), x UInt8 DEFAULT (SELECT 1)}
   * through).
   */
  public static String typeProblem(String type) {
    return TypeExpression.typeProblem(type);
  }

  /**
   * A source query: exactly one statement (a trailing ';' and comments are allowed), starting
   * with SELECT or WITH.
   */
  public static String selectProblem(String query) {
    if (query == null || query.isBlank()) {
      return "is empty";
    }
    for (int i = 0; i < query.length(); i++) {
      char c = query.charAt(i);
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f) {
        return "contains a control character";
      }
    }
    List<String> statements = SqlSplitter.split(query);
    if (statements.size() != 1) {
      return "must be exactly one statement, found " + statements.size();
    }
    String first = firstWord(statements.get(0));
    if (!"SELECT".equals(first) && !"WITH".equals(first)) {
      return "must be a SELECT (or WITH ... SELECT) query, not " + (first == null ? "this" : first);
    }
    return null;
  }

  /** The first keyword of a statement, after comments; upper case; null if none. */
  static String firstWord(String statement) {
    String s = statement;
    while (true) {
      s = s.stripLeading();
      if (s.startsWith("--") || s.startsWith("#")) {
        int nl = s.indexOf('\n');
        s = nl < 0 ? "" : s.substring(nl + 1);
      } else if (s.startsWith("/*")) {
        int end = s.indexOf("*/");
        s = end < 0 ? "" : s.substring(end + 2);
      } else {
        break;
      }
    }
    var m = FIRST_WORD.matcher(s);
    return m.find() ? m.group(1).toUpperCase(Locale.ROOT) : null;
  }

  /** Index of the quote that closes the one at {@code start}, honouring backslash escapes and doubled quotes; -1: none. */
  private static int closing(String s, int start, char quote) {
    for (int i = start + 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == quote) {
        if (i + 1 < s.length() && s.charAt(i + 1) == quote) {
          i++;
        } else {
          return i;
        }
      }
    }
    return -1;
  }
}
