package dev.housekeeper.retention;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A table's TTL rules as the server reports them in {@code system.tables.engine_full} (for example
 * {@code MergeTree PARTITION BY ... ORDER BY id TTL d + toIntervalDay(7) TO VOLUME 'cold', d +
 * toIntervalMonth(6) SETTINGS index_granularity = 8192}), so that the ttl action changes only its
 * own rule: a move to a volume, a recompression or a delete on another column stays.
 */
final class TtlRules {

  private TtlRules() {}

  /** The rules of the TTL clause, in order; empty when the table has none. */
  static List<String> of(String engineFull) {
    if (engineFull == null) {
      return List.of();
    }
    int start = topLevel(engineFull, " TTL ", 0);
    if (start < 0) {
      return List.of();
    }
    start += " TTL ".length();
    int end = topLevel(engineFull, " SETTINGS ", start);
    return split(engineFull.substring(start, end < 0 ? engineFull.length() : end));
  }

  /** Whether {@code rule} deletes rows by {@code column} (a plain delete rule, not a move, recompression or GROUP BY). */
  static boolean deletesBy(String rule, String column) {
    String upper = rule.toUpperCase(Locale.ROOT);
    if (upper.contains(" TO VOLUME ") || upper.contains(" TO DISK ") || upper.contains(" RECOMPRESS ")
        || upper.contains(" GROUP BY ") || upper.contains(" WHERE ")) {
      return false;
    }
    return expression(rule).startsWith(normalize(column) + "+");
  }

  /** Whether {@code rule} is exactly the delete rule {@code column + INTERVAL keep}, as the server writes it. */
  static boolean sameDelete(String rule, String column, Keep keep) {
    return deletesBy(rule, column) && expression(rule).equals(normalize(column) + "+" + keep.function());
  }

  /** A delete rule's expression (DELETE is the default action and may be written or not), without quotes or spaces. */
  private static String expression(String rule) {
    return normalize(rule.replaceAll("(?i)\\s+DELETE\\s*$", ""));
  }

  private static String normalize(String text) {
    return text.replace("`", "").replace(" ", "");
  }

  /** The index of {@code word} outside quotes and parentheses, from {@code from}, or -1. */
  private static int topLevel(String text, String word, int from) {
    for (int i : topLevelIndexes(text, from)) {
      if (text.startsWith(word, i)) {
        return i;
      }
    }
    return -1;
  }

  /** Splits at commas outside quotes and parentheses. */
  private static List<String> split(String clause) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i : topLevelIndexes(clause, 0)) {
      if (clause.charAt(i) == ',') {
        out.add(clause.substring(start, i).strip());
        start = i + 1;
      }
    }
    if (!clause.isBlank()) {
      out.add(clause.substring(start).strip());
    }
    return out;
  }

  /** The indexes of the characters of {@code text}, from {@code from}, that stand outside quotes and parentheses. */
  private static List<Integer> topLevelIndexes(String text, int from) {
    List<Integer> out = new ArrayList<>();
    int depth = 0;
    char quote = 0;
    for (int i = from; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quote != 0) {
        if (c == '\\') {
          i++;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '`' || c == '"') {
        quote = c;
      } else if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (depth == 0) {
        out.add(i);
      }
    }
    return out;
  }
}
