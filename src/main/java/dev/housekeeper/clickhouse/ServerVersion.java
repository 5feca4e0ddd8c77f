package dev.housekeeper.clickhouse;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A ClickHouse version such as 18.16.1 or 24.8.4.13, comparable by its first two numbers. */
public record ServerVersion(int major, int minor, int patch, String text) implements Comparable<ServerVersion> {

  private static final Pattern VERSION = Pattern.compile("^(\\d+)\\.(\\d+)(?:\\.(\\d+))?.*");

  public static ServerVersion parse(String text) {
    Matcher m = VERSION.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a ClickHouse version: " + text);
    }
    return new ServerVersion(
        Integer.parseInt(m.group(1)),
        Integer.parseInt(m.group(2)),
        m.group(3) == null ? 0 : Integer.parseInt(m.group(3)),
        text.trim());
  }

  /** Whether this version is {@code major.minor} or later. */
  public boolean atLeast(int otherMajor, int otherMinor) {
    return major > otherMajor || (major == otherMajor && minor >= otherMinor);
  }

  @Override
  public int compareTo(ServerVersion o) {
    int c = Integer.compare(major, o.major);
    if (c == 0) {
      c = Integer.compare(minor, o.minor);
    }
    return c == 0 ? Integer.compare(patch, o.patch) : c;
  }

  @Override
  public String toString() {
    return text;
  }
}
