package dev.housekeeper.common;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * A regular expression written in a spec (a retention policy's {@code tables.pattern}, a backup's or
 * restore's {@code ~} table entry), compiled by RE2/J. RE2 matches in time linear in the name and
 * the pattern (it never backtracks), so a tenant's {@code ((a*)*)*b} cannot hold an operator thread:
 * Java's own engine took 4.5 s for that pattern against 26 letters, twice as long for each letter more. This class is the one
 * way a spec's pattern is compiled; the operator's own fixed patterns stay on {@code java.util.regex}
 * where they are constants without nested quantifiers.
 *
 * <p>RE2 refuses what needs backtracking: backreferences ({@code \1}) and lookaround
 * ({@code (?=...)}, {@code (?<!...)}); the problem names the field. Names are matched as Unicode
 * text: {@code .}, {@code [а-я]} and literal letters of any script work ({@code \w} is ASCII only,
 * as in RE2; {@code \p{L}} is any letter).
 */
public final class SpecPattern {

  /** The longest pattern a spec may carry. */
  public static final int MAX_LENGTH = 1024;

  /**
   * The most instructions a compiled pattern may have. RE2's time is linear in the name times this
   * size, so it is bounded too: {@code (a{1000}){1000}} compiles to a million and is refused.
   */
  public static final int MAX_PROGRAM_SIZE = 20_000;

  private final Pattern pattern;

  private SpecPattern(Pattern pattern) {
    this.pattern = pattern;
  }

  /**
   * Compiles the pattern of {@code field}.
   *
   * @throws IllegalArgumentException with a message naming the field, fit for a condition
   */
  public static SpecPattern compile(String field, String regex) {
    if (regex == null || regex.isEmpty()) {
      throw new IllegalArgumentException(field + ": the pattern is empty");
    }
    if (regex.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(field + ": the pattern has " + regex.length() + " characters, at most "
          + MAX_LENGTH);
    }
    Pattern compiled;
    try {
      compiled = Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(field + ": " + quoted(regex) + " is not a regular expression in RE2 syntax"
          + " (the operator matches in linear time, so backreferences and lookaround are not available): "
          + e.getDescription() + hint(regex));
    }
    if (compiled.programSize() > MAX_PROGRAM_SIZE) {
      throw new IllegalArgumentException(field + ": " + quoted(regex) + " is too large once compiled ("
          + compiled.programSize() + " instructions, at most " + MAX_PROGRAM_SIZE + "): use fewer or smaller counted"
          + " repetitions");
    }
    return new SpecPattern(compiled);
  }

  /** What is wrong with the pattern of {@code field}, or null when it compiles. */
  public static String problem(String field, String regex) {
    try {
      compile(field, regex);
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  /** Whether the whole of {@code name} matches. */
  public boolean matches(String name) {
    return pattern.matches(name);
  }

  public String text() {
    return pattern.pattern();
  }

  private static String hint(String regex) {
    for (int i = 0; i + 1 < regex.length(); i++) {
      if (regex.charAt(i) == '\\' && regex.charAt(i + 1) >= '1' && regex.charAt(i + 1) <= '9') {
        return " (a backreference such as \\1 cannot be used)";
      }
      if (regex.charAt(i) == '\\') {
        i++; // an escaped backslash is not the start of \1
      }
    }
    if (regex.contains("(?=") || regex.contains("(?!") || regex.contains("(?<=") || regex.contains("(?<!")) {
      return " (lookahead and lookbehind cannot be used)";
    }
    return "";
  }

  /** The pattern for a message: in quotes, control characters shown as code points. */
  private static String quoted(String regex) {
    StringBuilder out = new StringBuilder("\"");
    regex.codePoints().forEach(c -> {
      if (Character.isISOControl(c)) {
        out.append(String.format("\\u%04X", c));
      } else {
        out.appendCodePoint(c);
      }
    });
    return out.append('"').toString();
  }
}
