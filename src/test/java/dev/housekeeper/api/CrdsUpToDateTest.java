package dev.housekeeper.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The checked-in crds/ must equal what the build generates from the Java model. */
class CrdsUpToDateTest {

  static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", "."));
  static final Path GENERATED = PROJECT.resolve("target/classes/META-INF/fabric8");
  static final Path CHECKED_IN = PROJECT.resolve("crds");

  static List<String> names(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".housekeeper.dev-v1.yml")).sorted()
          .toList();
    }
  }

  @Test
  void checkedInCrdsMatchTheGeneratedOnes() throws IOException {
    List<String> generated = names(GENERATED);
    assertThat(generated).isNotEmpty();
    assertEquals(generated, names(CHECKED_IN),
        "crds/ lists other files than the build generates; run: mvn -Pupdate-crds process-classes");
    for (String name : generated) {
      assertEquals(Files.readString(GENERATED.resolve(name)), Files.readString(CHECKED_IN.resolve(name)),
          "crds/" + name + " is stale; run: mvn -Pupdate-crds process-classes");
    }
  }

  @Test
  void everyFieldHasADescriptionAndEveryKindItsCategoryAndShortName() throws IOException {
    for (String name : names(CHECKED_IN)) {
      CustomResourceDefinition crd = Serialization.unmarshal(Files.readString(CHECKED_IN.resolve(name)),
          CustomResourceDefinition.class);
      assertThat(crd.getSpec().getNames().getCategories()).as(name).contains("housekeeper");
      assertThat(crd.getSpec().getNames().getShortNames()).as(name).isNotEmpty();
      var version = crd.getSpec().getVersions().get(0);
      assertThat(version.getSubresources().getStatus()).as(name + " has a status subresource").isNotNull();
      assertThat(version.getAdditionalPrinterColumns()).as(name).isNotEmpty();
      List<String> missing = new ArrayList<>();
      JSONSchemaProps root = version.getSchema().getOpenAPIV3Schema();
      for (String top : List.of("spec", "status")) {
        collectMissing(top, root.getProperties().get(top), missing);
      }
      assertThat(missing).as(name + ": fields without a description").isEmpty();
    }
  }

  private static void collectMissing(String path, JSONSchemaProps props, List<String> missing) {
    if (props == null) {
      return;
    }
    if (props.getProperties() != null) {
      for (Map.Entry<String, JSONSchemaProps> e : props.getProperties().entrySet()) {
        String child = path + "." + e.getKey();
        if (e.getValue().getDescription() == null || e.getValue().getDescription().isBlank()) {
          if (!isStandardConditionField(child)) {
            missing.add(child);
          }
        }
        collectMissing(child, e.getValue(), missing);
      }
    }
    if (props.getItems() != null && props.getItems().getSchema() != null) {
      collectMissing(path + "[]", props.getItems().getSchema(), missing);
    }
  }

  /** The fields of Kubernetes' own Condition type carry no description in fabric8's model. */
  private static boolean isStandardConditionField(String path) {
    return path.startsWith("status.conditions[].");
  }
}
