package dev.housekeeper.clickhouse;

import java.util.ArrayList;
import java.util.List;

/**
 * A ClickHouse type expression, parsed by recursive descent rather than matched by a pattern, so
 * that only a type gets through: a name with optional arguments, each a nested type
 * ({@code Array(Nullable(String))}), a named element ({@code Tuple(a String, b UInt8)}), a number
 * ({@code Decimal(18, 4)}), a string ({@code DateTime64(3, 'UTC')}) or an enum entry
 * ({@code Enum8('a' = 1)}). Anything after the type ({@code Nullable(String), x UInt8 DEFAULT (SELECT 1)})
 * is refused. The same parser reads a MergeTree engine ({@link #engine}), whose arguments may also be
 * column names and tuples of them.
 *
 * <p>What passes is made of names, closed string literals, numbers, parentheses, commas and
 * {@code =}: no statement separator, comment or keyword can follow, so the text is sent as written.
 */
public final class TypeExpression {

  /** The longest type or engine text. */
  public static final int MAX_LENGTH = 4096;
  /** The deepest nesting of arguments: deeper is no real type, and would only grow the parser's stack. */
  public static final int MAX_DEPTH = 32;

  /** One argument of a type or engine. */
  public sealed interface Arg permits Type, Named, Number, Text, EnumEntry, Tuple {}

  /** A type: its name and arguments (none: written without parentheses). */
  public record Type(String name, List<Arg> args) implements Arg {}

  /** A named element of a Tuple or Nested: {@code a String}. */
  public record Named(String name, Type type) implements Arg {}

  /** A number as written: {@code 18}, {@code -2}, {@code 0.5}. */
  public record Number(String text) implements Arg {}

  /** A string literal, unescaped. */
  public record Text(String value) implements Arg {}

  /** An enum entry: {@code 'a' = 1}. */
  public record EnumEntry(String name, String value) implements Arg {}

  /** A tuple of arguments in parentheses (an engine's {@code (a, b)} only). */
  public record Tuple(List<Arg> items) implements Arg {}

  private final String text;
  private final boolean engine;
  private int pos;

  private TypeExpression(String text, boolean engine) {
    this.text = text;
    this.engine = engine;
  }

  /**
   * Parses a column type.
   *
   * @throws IllegalArgumentException saying what is wrong and where, for a status message
   */
  public static Type parse(String type) {
    return new TypeExpression(checked(type), false).whole();
  }

  /**
   * Parses a table engine: a name with optional arguments, which may also be column names and tuples.
   *
   * @throws IllegalArgumentException saying what is wrong and where
   */
  public static Type engine(String engine) {
    return new TypeExpression(checked(engine), true).whole();
  }

  /** What is wrong with a column type, or null when it is one. */
  public static String typeProblem(String type) {
    try {
      parse(type);
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  private static String checked(String s) {
    if (s == null || s.isBlank()) {
      throw new IllegalArgumentException("is empty");
    }
    if (s.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("is longer than " + MAX_LENGTH + " characters");
    }
    return s;
  }

  private Type whole() {
    Type t = type(0);
    skipSpace();
    if (pos < text.length()) {
      throw unexpected(engine ? "after the engine's end" : "after the type's end");
    }
    return t;
  }

  private Type type(int depth) {
    skipSpace();
    String name = name();
    if (name == null) {
      throw unexpected("where a type name was expected");
    }
    skipSpace();
    if (!peek('(')) {
      return new Type(name, List.of());
    }
    return new Type(name, arguments(depth + 1));
  }

  /** {@code (arg, arg, ...)}; the '(' is next. */
  private List<Arg> arguments(int depth) {
    if (depth > MAX_DEPTH) {
      throw new IllegalArgumentException("nests deeper than " + MAX_DEPTH + " levels");
    }
    pos++; // (
    List<Arg> args = new ArrayList<>();
    skipSpace();
    if (peek(')')) {
      if (!engine) {
        throw unexpected("where an argument was expected");
      }
      pos++;
      return args;
    }
    while (true) {
      args.add(argument(depth));
      skipSpace();
      if (peek(',')) {
        pos++;
      } else if (peek(')')) {
        pos++;
        return args;
      } else {
        throw unexpected("where ',' or ')' was expected");
      }
    }
  }

  private Arg argument(int depth) {
    skipSpace();
    if (peek('\'')) {
      String value = string();
      skipSpace();
      if (!peek('=')) {
        return new Text(value);
      }
      pos++;
      skipSpace();
      return new EnumEntry(value, number());
    }
    if (peek('-') || pos < text.length() && Character.isDigit(text.charAt(pos))) {
      return new Number(number());
    }
    if (peek('(')) {
      if (!engine) {
        throw unexpected("where an argument was expected");
      }
      return new Tuple(arguments(depth + 1));
    }
    if (peek('`')) {
      String name = quotedName();
      return named(name, depth);
    }
    int start = pos;
    String name = name();
    if (name == null) {
      throw unexpected("where an argument was expected");
    }
    skipSpace();
    if (peek('(')) {
      return new Type(name, arguments(depth + 1));
    }
    if (pos < text.length() && (Character.isLetter(text.charAt(pos)) || text.charAt(pos) == '_')) {
      return new Named(name, type(depth)); // a Tuple's element: a name, then its type
    }
    pos = start + name.length();
    return new Type(name, List.of());
  }

  /** After a back-quoted name: a Tuple's element with its type, or (in an engine) a column name. */
  private Arg named(String name, int depth) {
    skipSpace();
    if (pos < text.length() && (Character.isLetter(text.charAt(pos)) || text.charAt(pos) == '_')) {
      return new Named(name, type(depth));
    }
    if (!engine) {
      throw unexpected("where the element's type was expected");
    }
    return new Type(name, List.of());
  }

  private String name() {
    int start = pos;
    if (pos < text.length() && isNameStart(text.charAt(pos))) {
      pos++;
      while (pos < text.length() && (isNameStart(text.charAt(pos)) || isAsciiDigit(text.charAt(pos)))) {
        pos++;
      }
    }
    return pos == start ? null : text.substring(start, pos);
  }

  private static boolean isNameStart(char c) {
    return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_';
  }

  private static boolean isAsciiDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private String number() {
    int start = pos;
    if (peek('-')) {
      pos++;
    }
    int digits = pos;
    while (pos < text.length() && isAsciiDigit(text.charAt(pos))) {
      pos++;
    }
    if (pos == digits) {
      pos = start;
      throw unexpected("where a number was expected");
    }
    if (peek('.') && pos + 1 < text.length() && isAsciiDigit(text.charAt(pos + 1))) {
      pos++;
      while (pos < text.length() && isAsciiDigit(text.charAt(pos))) {
        pos++;
      }
    }
    return text.substring(start, pos);
  }

  /** A single-quoted string with backslash escapes and doubled quotes; the quote is next. */
  private String string() {
    int start = pos;
    StringBuilder out = new StringBuilder();
    for (pos++; pos < text.length(); pos++) {
      char c = text.charAt(pos);
      if (c < 0x20 || c == 0x7f) {
        throw unexpected("inside a string");
      } else if (c == '\\' && pos + 1 < text.length()) {
        out.append(text.charAt(++pos));
      } else if (c == '\'' && pos + 1 < text.length() && text.charAt(pos + 1) == '\'') {
        out.append('\'');
        pos++;
      } else if (c == '\'') {
        pos++;
        return out.toString();
      } else {
        out.append(c);
      }
    }
    pos = start;
    throw new IllegalArgumentException("has an unclosed ' at position " + (start + 1));
  }

  /** A back-quoted name with backslash escapes and doubled quotes; the back-quote is next. */
  private String quotedName() {
    int start = pos;
    StringBuilder out = new StringBuilder();
    for (pos++; pos < text.length(); pos++) {
      char c = text.charAt(pos);
      if (c < 0x20 || c == 0x7f) {
        throw unexpected("inside a name");
      } else if (c == '\\' && pos + 1 < text.length()) {
        out.append(text.charAt(++pos));
      } else if (c == '`' && pos + 1 < text.length() && text.charAt(pos + 1) == '`') {
        out.append('`');
        pos++;
      } else if (c == '`') {
        pos++;
        return out.toString();
      } else {
        out.append(c);
      }
    }
    throw new IllegalArgumentException("has an unclosed ` at position " + (start + 1));
  }

  private void skipSpace() {
    while (pos < text.length() && (text.charAt(pos) == ' ' || text.charAt(pos) == '\t' || text.charAt(pos) == '\n'
        || text.charAt(pos) == '\r')) {
      pos++;
    }
  }

  private boolean peek(char c) {
    return pos < text.length() && text.charAt(pos) == c;
  }

  private IllegalArgumentException unexpected(String where) {
    String hint = engine ? " (an engine is a name with optional arguments, for example"
        + " ReplacingMergeTree(version) or ReplicatedMergeTree('/clickhouse/tables/{shard}/t', '{replica}'))"
        : " (a type is a name with optional arguments, for example UInt64, Decimal(18, 2), Nullable(String),"
        + " Array(Tuple(a String, b UInt8)))";
    if (pos >= text.length()) {
      return new IllegalArgumentException("ends " + where + hint);
    }
    int c = text.codePointAt(pos);
    String shown = Character.isISOControl(c) ? String.format("U+%04X", c) : "'" + new String(Character.toChars(c)) + "'";
    return new IllegalArgumentException("has " + shown + " at position " + (pos + 1) + " " + where + hint);
  }
}
