package dev.housekeeper.clickhouse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One row of a JSONEachRow result. 64-bit integers arrive quoted on old servers
 * (output_format_json_quote_64bit_integers), so the accessors accept numbers and numeric strings.
 */
public final class Row {

  private final ObjectNode node;

  public Row(ObjectNode node) {
    this.node = node;
  }

  public boolean has(String column) {
    return node.has(column) && !node.get(column).isNull();
  }

  public String string(String column) {
    JsonNode v = node.get(column);
    return v == null || v.isNull() ? null : v.asText();
  }

  public long longValue(String column) {
    JsonNode v = require(column);
    return v.isNumber() ? v.asLong() : Long.parseLong(v.asText());
  }

  public double doubleValue(String column) {
    JsonNode v = require(column);
    return v.isNumber() ? v.asDouble() : Double.parseDouble(v.asText());
  }

  public boolean bool(String column) {
    JsonNode v = require(column);
    if (v.isBoolean()) {
      return v.asBoolean();
    }
    return v.isNumber() ? v.asLong() != 0 : "1".equals(v.asText()) || "true".equalsIgnoreCase(v.asText());
  }

  public JsonNode json() {
    return node;
  }

  private JsonNode require(String column) {
    JsonNode v = node.get(column);
    if (v == null || v.isNull()) {
      throw new IllegalStateException("column " + column + " is missing or null in " + node);
    }
    return v;
  }

  @Override
  public String toString() {
    return node.toString();
  }
}
