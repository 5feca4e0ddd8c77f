package dev.housekeeper.backup;

import java.nio.charset.StandardCharsets;

/**
 * A database or table name as one segment of an object key: letters, digits, underscore, hyphen and
 * dot stay as they are (so the keys of every backup taken so far are unchanged); any other byte of
 * the name's UTF-8 is written %XX, and a name of dots alone is escaped whole. So a name never adds a
 * folder level, never climbs out of its backup, and two names never share a key.
 */
final class ObjectKeys {

  private ObjectKeys() {}

  static String segment(String name) {
    boolean dotsOnly = name.chars().allMatch(c -> c == '.');
    StringBuilder out = new StringBuilder(name.length());
    for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      boolean plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
          || c == '.' && !dotsOnly;
      if (plain) {
        out.append((char) c);
      } else {
        out.append('%').append(String.format("%02X", c));
      }
    }
    return out.toString();
  }
}
