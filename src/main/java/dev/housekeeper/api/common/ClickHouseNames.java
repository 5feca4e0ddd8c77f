package dev.housekeeper.api.common;

/**
 * What the CRDs check of a database, table or column name: at most 206 characters and no control
 * character, so that any name ClickHouse can hold (a quote, a back-quote, a backslash, a space, a
 * hyphen, a dot, Cyrillic, CJK) can be written. The operator checks the rest itself (the name as
 * ClickHouse stores it, as a file name, must fit) and quotes every name with escapes.
 */
public final class ClickHouseNames {

  /** The schema pattern of one name. */
  public static final String NAME = "^[^\\x00-\\x1F\\x7F]{1,206}$";

  private ClickHouseNames() {}
}
