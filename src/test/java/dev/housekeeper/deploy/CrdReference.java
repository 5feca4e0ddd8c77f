package dev.housekeeper.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Writes docs/reference/crds.md from crds/*.yml: for each kind and version, every field of spec and
 * status with its type (format, enum, pattern, bounds), default, whether it is required, and its
 * description. Run by {@code mvn -Pupdate-crds process-test-classes}, after the CRDs are copied;
 * {@code CrdReferenceTest} fails when the committed page differs from what this writes.
 */
public final class CrdReference {

  /** The page this writes, relative to the project folder. */
  public static final String PAGE = "docs/reference/crds.md";
  /** The command that refreshes the CRDs and this page. */
  public static final String COMMAND = "mvn -B -o -q -Pupdate-crds process-test-classes";

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private CrdReference() {}

  /** Writes the page into the project folder given as the first argument (default: the working folder). */
  public static void main(String[] args) throws IOException {
    Path project = Path.of(args.length > 0 ? args[0] : ".");
    Path page = project.resolve(PAGE);
    Files.createDirectories(page.getParent());
    Files.writeString(page, render(project.resolve("crds")));
  }

  /** The page, from every *.housekeeper.dev-v1.yml in the folder, kinds in alphabetical order. */
  public static String render(Path crds) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (Stream<Path> files = Files.list(crds)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".housekeeper.dev-v1.yml")).sorted()
          .toList()) {
        docs.add(YAML.readTree(f.toFile()));
      }
    }
    docs.sort((a, b) -> kind(a).compareTo(kind(b)));
    StringBuilder out = new StringBuilder();
    out.append("# CRD reference\n\n")
        .append("Generated from [`crds/`](../../crds/) by `").append(COMMAND).append("`\n")
        .append("(`dev.housekeeper.deploy.CrdReference`); `CrdReferenceTest` fails when this page and the CRDs\n")
        .append("differ. Do not edit by hand: the descriptions are the Javadoc of the model in\n")
        .append("`src/main/java/dev/housekeeper/api`. The pages by kind ([docs/](../README.md)) say what the fields do\n")
        .append("together.\n\n")
        .append("Types: `enum` lists the accepted values, `pattern` the regular expression a string must match,\n")
        .append("`min`/`max` the bounds of a number (or of a string's length, `minLength`/`maxLength`; of a list,\n")
        .append("`minItems`/`maxItems`). `a[]` is each item of the list `a`; `a.<key>` each value of the map `a`.\n")
        .append("A field is required when its line says yes; a required field inside an optional object is required\n")
        .append("only when that object is given.\n\n");
    for (JsonNode doc : docs) {
      out.append("- [").append(kind(doc)).append("](#").append(kind(doc).toLowerCase()).append(")\n");
    }
    List<String> undescribed = new ArrayList<>();
    for (JsonNode doc : docs) {
      renderKind(doc, out, undescribed);
    }
    out.append("\n## Fields without a description\n\n").append(undescribed.size())
        .append(" rows above have no description in the CRDs; by path, in every kind that has them: ")
        .append(String.join(", ", new TreeSet<>(undescribed).stream().map(p -> "`" + p + "`").toList()))
        .append(".\n");
    return out.toString();
  }

  private static String kind(JsonNode doc) {
    return doc.path("spec").path("names").path("kind").asText();
  }

  private static void renderKind(JsonNode doc, StringBuilder out, List<String> undescribed) {
    JsonNode spec = doc.path("spec");
    JsonNode names = spec.path("names");
    out.append("\n## ").append(kind(doc)).append("\n\n")
        .append("`").append(doc.path("metadata").path("name").asText()).append("`, ")
        .append(spec.path("scope").asText().toLowerCase()).append("; short names ")
        .append(joinCode(names.path("shortNames"))).append("; categories ").append(joinCode(names.path("categories")))
        .append(".\n");
    for (JsonNode version : spec.path("versions")) {
      out.append("\n### ").append(kind(doc)).append(" ").append(version.path("name").asText())
          .append(version.path("served").asBoolean(true) ? " (served" : " (not served")
          .append(version.path("storage").asBoolean(false) ? ", stored)" : ")").append("\n\n");
      JsonNode columns = version.path("additionalPrinterColumns");
      if (columns.size() > 0) {
        out.append("Columns of `kubectl get`: ");
        List<String> parts = new ArrayList<>();
        for (JsonNode c : columns) {
          parts.add(c.path("name").asText() + " (`" + c.path("jsonPath").asText() + "`"
              + (c.path("priority").asInt(0) > 0 ? ", `-o wide` only" : "") + ")");
        }
        out.append(String.join(", ", parts)).append(".\n\n");
      }
      if (!version.path("subresources").isMissingNode()) {
        List<String> subs = new ArrayList<>();
        version.path("subresources").fieldNames().forEachRemaining(n -> subs.add("`" + n + "`"));
        out.append("Subresources: ").append(String.join(", ", subs)).append(".\n\n");
      }
      out.append("| field | type | default | required | description |\n")
          .append("| --- | --- | --- | --- | --- |\n");
      JsonNode root = version.path("schema").path("openAPIV3Schema");
      Iterator<Map.Entry<String, JsonNode>> top = root.path("properties").fields();
      while (top.hasNext()) {
        Map.Entry<String, JsonNode> e = top.next();
        if (e.getKey().equals("spec") || e.getKey().equals("status")) {
          field(e.getKey(), e.getValue(), required(root).contains(e.getKey()), out, undescribed);
        }
      }
    }
  }

  /** One row for this field, then its children; adds the paths without a description to the list. */
  private static void field(String path, JsonNode schema, boolean required, StringBuilder out,
      List<String> undescribed) {
    String description = schema.path("description").asText("");
    if (description.isBlank()) {
      undescribed.add(path);
    }
    out.append("| `").append(path).append("` | ").append(type(schema)).append(" | ")
        .append(schema.has("default") ? "`" + cell(schema.get("default").toString()) + "`" : "")
        .append(" | ").append(required ? "yes" : "").append(" | ")
        .append(cell(description.isBlank() ? "(no description)" : description)).append(rules(schema))
        .append(" |\n");
    children(path, schema, out, undescribed);
  }

  private static void children(String path, JsonNode schema, StringBuilder out, List<String> undescribed) {
    Set<String> required = required(schema);
    Iterator<Map.Entry<String, JsonNode>> props = schema.path("properties").fields();
    while (props.hasNext()) {
      Map.Entry<String, JsonNode> e = props.next();
      field(path + "." + e.getKey(), e.getValue(), required.contains(e.getKey()), out, undescribed);
    }
    JsonNode items = schema.path("items");
    if (items.isObject() && (items.has("properties") || items.has("items") || items.has("additionalProperties"))) {
      children(path + "[]", items, out, undescribed);
    }
    JsonNode values = schema.path("additionalProperties");
    if (values.isObject() && (values.has("properties") || values.has("items"))) {
      children(path + ".<key>", values, out, undescribed);
    }
  }

  private static Set<String> required(JsonNode schema) {
    Set<String> names = new HashSet<>();
    schema.path("required").forEach(n -> names.add(n.asText()));
    return names;
  }

  /** The type with what the schema says of its values. */
  static String type(JsonNode schema) {
    String type = schema.path("type").asText("");
    if (schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
      type = "integer or string";
    } else if (schema.path("x-kubernetes-preserve-unknown-fields").asBoolean(false) && type.isEmpty()) {
      type = "any";
    }
    if (type.equals("array")) {
      type = "list of " + itemType(schema.path("items"));
    } else if (type.equals("object") && schema.path("additionalProperties").isObject()) {
      type = "map of string to " + itemType(schema.path("additionalProperties"));
    }
    StringBuilder s = new StringBuilder(type);
    if (schema.has("format")) {
      s.append(", format `").append(schema.get("format").asText()).append("`");
    }
    if (schema.has("enum")) {
      List<String> values = new ArrayList<>();
      schema.get("enum").forEach(v -> values.add("`" + cell(v.asText()) + "`"));
      s.append(", enum ").append(String.join(", ", values));
    }
    JsonNode items = schema.path("items");
    if (items.has("enum")) {
      List<String> values = new ArrayList<>();
      items.get("enum").forEach(v -> values.add("`" + cell(v.asText()) + "`"));
      s.append(", items enum ").append(String.join(", ", values));
    }
    if (schema.has("pattern")) {
      s.append(", pattern `").append(cell(schema.get("pattern").asText())).append("`");
    }
    if (items.has("pattern")) {
      s.append(", items pattern `").append(cell(items.get("pattern").asText())).append("`");
    }
    for (String bound : List.of("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")) {
      if (schema.has(bound)) {
        String name = bound.equals("minimum") ? "min" : bound.equals("maximum") ? "max" : bound;
        s.append(", ").append(name).append(" ").append(number(schema.get(bound)));
      }
    }
    return s.toString();
  }

  private static String itemType(JsonNode items) {
    String t = items.path("type").asText("");
    if (t.isEmpty()) {
      return items.path("x-kubernetes-int-or-string").asBoolean(false) ? "integer or string" : "any";
    }
    if (t.equals("array")) {
      return "list of " + itemType(items.path("items"));
    }
    if (t.equals("object") && items.path("additionalProperties").isObject()) {
      return "map of string to " + itemType(items.path("additionalProperties"));
    }
    return t;
  }

  private static String rules(JsonNode schema) {
    StringBuilder s = new StringBuilder();
    for (JsonNode rule : schema.path("x-kubernetes-validations")) {
      s.append(" Rule `").append(cell(rule.path("rule").asText())).append("`");
      if (rule.has("message")) {
        s.append(": ").append(cell(rule.path("message").asText()));
      }
      s.append(".");
    }
    return s.toString();
  }

  private static String number(JsonNode n) {
    return new BigDecimal(n.asText()).stripTrailingZeros().toPlainString();
  }

  private static String joinCode(JsonNode list) {
    List<String> parts = new ArrayList<>();
    list.forEach(n -> parts.add("`" + n.asText() + "`"));
    return parts.isEmpty() ? "none" : String.join(", ", parts);
  }

  /** Text for one table cell: one line, pipes escaped. */
  private static String cell(String text) {
    return text.replace("\r", "").replace("\n", " ").replace("|", "\\|").strip();
  }
}
