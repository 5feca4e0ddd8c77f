package dev.housekeeper.clickhouse;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a SQL script into statements at top-level semicolons. Semicolons inside single-quoted
 * strings, double-quoted or back-quoted identifiers, {@code --} and {@code #} line comments and
 * {@code /* *}{@code /} block comments do not split. Backslash escapes and doubled quotes inside
 * quotes are honoured. Statements that are empty or only comments are dropped.
 */
public final class SqlSplitter {

  private SqlSplitter() {}

  public static List<String> split(String script) {
    List<String> out = new ArrayList<>();
    if (script == null) {
      return out;
    }
    StringBuilder current = new StringBuilder();
    boolean hasCode = false;
    int n = script.length();
    for (int i = 0; i < n; i++) {
      char c = script.charAt(i);
      char next = i + 1 < n ? script.charAt(i + 1) : 0;
      if (c == '\'' || c == '"' || c == '`') {
        int end = endOfQuoted(script, i, c);
        current.append(script, i, end);
        hasCode = true;
        i = end - 1;
      } else if ((c == '-' && next == '-') || c == '#') {
        int end = script.indexOf('\n', i);
        end = end < 0 ? n : end;
        current.append(script, i, end);
        i = end - 1;
      } else if (c == '/' && next == '*') {
        int end = script.indexOf("*/", i + 2);
        end = end < 0 ? n : end + 2;
        current.append(script, i, end);
        i = end - 1;
      } else if (c == ';') {
        if (hasCode) {
          out.add(current.toString().strip());
        }
        current.setLength(0);
        hasCode = false;
      } else {
        current.append(c);
        if (!Character.isWhitespace(c)) {
          hasCode = true;
        }
      }
    }
    if (hasCode) {
      out.add(current.toString().strip());
    }
    return out;
  }

  /** Index just after the closing quote of the quoted run starting at {@code start}. */
  private static int endOfQuoted(String s, int start, char quote) {
    int i = start + 1;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '\\') {
        i += 2;
        continue;
      }
      if (c == quote) {
        if (i + 1 < s.length() && s.charAt(i + 1) == quote) {
          i += 2; // doubled quote
          continue;
        }
        return i + 1;
      }
      i++;
    }
    return s.length();
  }
}
