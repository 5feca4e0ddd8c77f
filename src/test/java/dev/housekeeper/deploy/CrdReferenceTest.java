package dev.housekeeper.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** docs/reference/crds.md is what CrdReference writes from the committed crds/, and it names every field. */
class CrdReferenceTest {

  static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", "."));

  @Test
  void committedReferenceEqualsTheOneGeneratedFromCrds() throws IOException {
    Path page = PROJECT.resolve(CrdReference.PAGE);
    String expected = CrdReference.render(PROJECT.resolve("crds"));
    assertThat(Files.exists(page)).as(CrdReference.PAGE + " is missing; run: " + CrdReference.COMMAND).isTrue();
    assertThat(Files.readString(page))
        .as(CrdReference.PAGE + " differs from crds/; run: " + CrdReference.COMMAND)
        .isEqualTo(expected);
  }

  @Test
  void everyFieldPathOfEveryCrdHasARowWithItsDefault() throws IOException {
    String page = CrdReference.render(PROJECT.resolve("crds"));
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    List<String> rows = new ArrayList<>();
    try (Stream<Path> files = Files.list(PROJECT.resolve("crds"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yml")).sorted().toList()) {
        JsonNode crd = yaml.readTree(f.toFile());
        assertThat(page).contains("\n## " + crd.path("spec").path("names").path("kind").asText() + "\n");
        JsonNode props = crd.path("spec").path("versions").get(0).path("schema").path("openAPIV3Schema")
            .path("properties");
        collect("spec", props.path("spec"), rows);
        collect("status", props.path("status"), rows);
      }
    }
    assertThat(rows).hasSizeGreaterThan(300);
    for (String row : rows) {
      assertThat(page).as("a row for " + row).contains(row);
    }
    assertThat(page).contains("| `spec.schedule.cron` | string")
        .contains("| `status.conditions[].reason` | string")
        .contains("| `spec.action` | string, enum `delete`, `dropPartitions`, `ttl` | `\"dropPartitions\"` |");
  }

  /** The start of the row each field must have: its path, its type and its default where it has one. */
  private static void collect(String path, JsonNode schema, List<String> rows) {
    rows.add("| `" + path + "` | " + CrdReference.type(schema) + " | "
        + (schema.has("default") ? "`" + schema.get("default").toString().replace("|", "\\|") + "`" : "") + " |");
    children(path, schema, rows);
  }

  /** A list's items and a map's values have no row of their own: their fields do. */
  private static void children(String path, JsonNode schema, List<String> rows) {
    schema.path("properties").fields().forEachRemaining((Map.Entry<String, JsonNode> e) ->
        collect(path + "." + e.getKey(), e.getValue(), rows));
    if (schema.path("items").has("properties")) {
      children(path + "[]", schema.path("items"), rows);
    }
    if (schema.path("additionalProperties").has("properties")) {
      children(path + ".<key>", schema.path("additionalProperties"), rows);
    }
  }
}
