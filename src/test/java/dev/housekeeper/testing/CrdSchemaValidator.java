package dev.housekeeper.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What a Kubernetes API server checks of a custom resource against its CRD's structural schema
 * before it stores it (types, enums, required fields, patterns, lengths, bounds), with its error
 * wording ({@code spec.x: Invalid value: ...}); unknown fields are pruned there, so not reported
 * here. CEL rules ({@code x-kubernetes-validations}) are not evaluated. The mock API does none of
 * this; tests that run the operator on the mock and need to know what a real server would refuse
 * switch it on ({@link ApiFaults#enforceSchemas}). Tests of the schema itself use a real API server
 * ({@link RealKubernetesApi}, {@code dev.housekeeper.api.CrdConformanceIT}), which also checks that
 * this class gives that server's verdict on every hostile input (683 of them).
 */
public final class CrdSchemaValidator {

  private static final BigInteger MIN_INT64 = BigInteger.valueOf(Long.MIN_VALUE);
  private static final BigInteger MAX_INT64 = BigInteger.valueOf(Long.MAX_VALUE);

  private CrdSchemaValidator() {}

  /** The errors of {@code value} at {@code path} against {@code schema}; empty when valid. */
  public static List<String> validate(JsonNode schema, JsonNode value, String path) {
    List<String> errors = new ArrayList<>();
    check(schema, value, path, errors);
    return errors;
  }

  private static void check(JsonNode schema, JsonNode value, String path, List<String> errors) {
    if (schema == null || schema.isMissingNode()) {
      return;
    }
    if (value == null || value.isNull()) {
      if (!schema.path("nullable").asBoolean(false) && schema.has("type")) {
        errors.add(path + ": Invalid value: \"null\": " + path + " in body must be of type "
            + schema.get("type").asText() + ": \"null\"");
      }
      return;
    }
    if (schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
      if (!value.isIntegralNumber() && !value.isTextual()) {
        errors.add(path + ": Invalid value: " + show(value) + ": " + path + " in body must be of type integer or string");
      }
      return;
    }
    String type = schema.path("type").asText("");
    boolean typeOk = switch (type) {
      case "object" -> value.isObject();
      case "array" -> value.isArray();
      case "string" -> value.isTextual();
      case "integer" -> value.isIntegralNumber() && fitsInt64(value);
      case "number" -> value.isNumber();
      case "boolean" -> value.isBoolean();
      default -> true;
    };
    if (!typeOk) {
      errors.add(path + ": Invalid value: \"" + kindOf(value) + "\": " + path + " in body must be of type " + type
          + ": " + show(value));
      return;
    }
    if (schema.has("enum")) {
      boolean found = false;
      List<String> allowed = new ArrayList<>();
      for (JsonNode e : schema.get("enum")) {
        allowed.add(show(e));
        found |= e.equals(value);
      }
      if (!found) {
        errors.add(path + ": Unsupported value: " + show(value) + ": supported values: " + String.join(", ", allowed));
      }
    }
    if (value.isTextual()) {
      String s = value.asText();
      int length = s.codePointCount(0, s.length());
      if (schema.has("maxLength") && length > schema.get("maxLength").asInt()) {
        errors.add(path + ": Too long: may not be longer than " + schema.get("maxLength").asInt());
      }
      if (schema.has("minLength") && length < schema.get("minLength").asInt()) {
        errors.add(path + ": Invalid value: " + show(value) + ": " + path + " in body should be at least "
            + schema.get("minLength").asInt() + " chars long");
      }
      if (schema.has("pattern") && !Pattern.compile(schema.get("pattern").asText()).matcher(s).find()) {
        errors.add(path + ": Invalid value: " + show(value) + ": " + path + " in body should match '"
            + schema.get("pattern").asText() + "'");
      }
    }
    if (value.isNumber()) {
      if (schema.has("minimum") && value.decimalValue().compareTo(schema.get("minimum").decimalValue()) < 0) {
        errors.add(path + ": Invalid value: " + value + ": " + path + " in body should be greater than or equal to "
            + schema.get("minimum").asLong());
      }
      if (schema.has("maximum") && value.decimalValue().compareTo(schema.get("maximum").decimalValue()) > 0) {
        errors.add(path + ": Invalid value: " + value + ": " + path + " in body should be less than or equal to "
            + schema.get("maximum").asLong());
      }
    }
    if (value.isArray()) {
      if (schema.has("maxItems") && value.size() > schema.get("maxItems").asInt()) {
        errors.add(path + ": Too many: " + value.size() + ": must have at most " + schema.get("maxItems").asInt()
            + " items");
      }
      if (schema.has("minItems") && value.size() < schema.get("minItems").asInt()) {
        errors.add(path + ": Invalid value: " + value.size() + ": " + path + " in body should have at least "
            + schema.get("minItems").asInt() + " items");
      }
      for (int i = 0; i < value.size(); i++) {
        check(schema.get("items"), value.get(i), path + "[" + i + "]", errors);
      }
    }
    if (value.isObject()) {
      for (JsonNode r : schema.path("required")) {
        if (!value.has(r.asText())) {
          errors.add(path + "." + r.asText() + ": Required value");
        }
      }
      JsonNode properties = schema.path("properties");
      JsonNode additional = schema.path("additionalProperties");
      for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext();) {
        Map.Entry<String, JsonNode> f = it.next();
        if (properties.has(f.getKey())) {
          check(properties.get(f.getKey()), f.getValue(), path + "." + f.getKey(), errors);
        } else if (additional.isObject()) {
          check(additional, f.getValue(), path + "." + f.getKey(), errors);
        }
      }
    }
  }

  private static boolean fitsInt64(JsonNode value) {
    BigInteger v = value.bigIntegerValue();
    return v.compareTo(MIN_INT64) >= 0 && v.compareTo(MAX_INT64) <= 0;
  }

  private static String kindOf(JsonNode v) {
    return v.isTextual() ? "string" : v.isIntegralNumber() ? "integer" : v.isNumber() ? "number"
        : v.isBoolean() ? "boolean" : v.isArray() ? "array" : v.isObject() ? "object" : "null";
  }

  private static String show(JsonNode v) {
    return v.isTextual() ? "\"" + v.asText() + "\"" : v.toString();
  }
}
