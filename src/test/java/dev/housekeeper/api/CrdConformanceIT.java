package dev.housekeeper.api;

import static dev.housekeeper.api.RealApiSupport.JSON;
import static dev.housekeeper.api.RealApiSupport.at;
import static dev.housekeeper.api.RealApiSupport.resource;
import static dev.housekeeper.api.RealApiSupport.resources;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.housekeeper.api.RealApiSupport.Rule;
import dev.housekeeper.hostile.HostileSpecs;
import dev.housekeeper.testing.CrdSchemaValidator;
import dev.housekeeper.testing.RealKubernetesApi;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.FieldValidateable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Housekeeper's CRDs and resources against a real Kubernetes API server (apiextensions-apiserver
 * 1.36 with etcd, see {@link RealKubernetesApi}): what the fabric8 mock cannot tell. Every CRD is
 * accepted and Established; every example is stored as written (nothing refused, nothing pruned);
 * every documented default is applied by the server; every wrong type and out-of-enum value of the
 * hostile suite is refused with 422 naming the field; every CEL rule is enforced with its message;
 * and the hand-written schema check the mock uses ({@link CrdSchemaValidator}) gives the server's
 * verdict on every hostile input.
 */
class CrdConformanceIT {

  static RealKubernetesApi api;
  static KubernetesClient client;

  @BeforeAll
  static void start() {
    api = RealApiSupport.api();
    client = api.client();
    System.out.printf("%nreal API server: %s; build script %d ms, start %d ms%n%s%n", api.url(),
        api.buildTime().toMillis(), api.startTime().toMillis(), api.versions());
  }

  @Test
  void everyCrdIsAcceptedAndEstablished() {
    List<CustomResourceDefinition> crds = RealApiSupport.crds();
    assertThat(crds).isNotEmpty();
    for (CustomResourceDefinition crd : crds) {
      CustomResourceDefinition stored = RealApiSupport.awaitEstablished(client, crd.getMetadata().getName());
      assertEquals("True", RealApiSupport.condition(stored, "NamesAccepted"), crd.getMetadata().getName());
      assertThat(RealApiSupport.condition(stored, "NonStructuralSchema")).as(crd.getMetadata().getName()).isNull();
      assertThat(stored.getStatus().getAcceptedNames().getShortNames())
          .isEqualTo(crd.getSpec().getNames().getShortNames());
    }
    // and the server serves them: discovery lists every kind with its status subresource
    JsonNode discovery = api.getJson("/apis/housekeeper.dev/v1alpha1");
    List<String> served = new ArrayList<>();
    discovery.path("resources").forEach(r -> served.add(r.path("name").asText()));
    for (CustomResourceDefinition crd : crds) {
      assertThat(served).contains(crd.getSpec().getNames().getPlural(), crd.getSpec().getNames().getPlural() + "/status");
    }
  }

  // ---- examples

  /** Every document of every YAML file under examples/, with the file it came from. */
  static List<Map.Entry<Path, ObjectNode>> exampleDocuments() throws IOException {
    List<Map.Entry<Path, ObjectNode>> out = new ArrayList<>();
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    try (Stream<Path> files = Files.walk(RealApiSupport.PROJECT.resolve("examples"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted()
          .toList()) {
        try (JsonParser parser = yaml.getFactory().createParser(f.toFile());
            MappingIterator<JsonNode> docs = yaml.readValues(parser, JsonNode.class)) {
          while (docs.hasNext()) {
            JsonNode doc = docs.next();
            if (doc != null && doc.isObject()) {
              out.add(Map.entry(f, (ObjectNode) doc));
            }
          }
        }
      }
    }
    return out;
  }

  @Test
  void everyExampleIsStoredAsWritten() throws IOException {
    List<Map.Entry<Path, ObjectNode>> housekeeper = exampleDocuments().stream()
        .filter(e -> e.getValue().path("apiVersion").asText().startsWith("housekeeper.dev/")).toList();
    assertThat(housekeeper).as("Housekeeper resources under examples/").isNotEmpty();
    List<String> failures = new ArrayList<>();
    int accepted = 0;
    for (Map.Entry<Path, ObjectNode> e : housekeeper) {
      ObjectNode doc = e.getValue();
      String kind = doc.path("kind").asText();
      String where = RealApiSupport.PROJECT.relativize(e.getKey()) + " " + kind + "/"
          + doc.path("metadata").path("name").asText();
      GenericKubernetesResource r = JSON.convertValue(doc, GenericKubernetesResource.class);
      r.getMetadata().setNamespace("examples");
      try {
        // Strict: an unknown field is an error (400), not silently pruned
        GenericKubernetesResource stored = resources(client, kind).inNamespace("examples").resource(r)
            .fieldValidation(FieldValidateable.Validation.STRICT).create();
        List<String> lost = RealApiSupport.missingOrChanged(doc.path("spec"),
            JSON.valueToTree(stored.getAdditionalProperties()).path("spec"), "spec");
        if (lost.isEmpty()) {
          accepted++;
        } else {
          failures.add(where + ": stored otherwise than written: " + lost);
        }
      } catch (KubernetesClientException ex) {
        failures.add(where + ": refused " + ex.getCode() + ": " + message(ex));
      }
    }
    System.out.printf("examples: %d Housekeeper resources found, %d accepted and stored as written%n",
        housekeeper.size(), accepted);
    assertThat(failures).as("examples the real API server refused or changed").isEmpty();
    assertThat(accepted).isPositive().isEqualTo(housekeeper.size());
  }

  // ---- defaults

  @Test
  void everyDocumentedDefaultIsAppliedByTheServer() {
    List<String> failures = new ArrayList<>();
    int checked = 0;
    int documented = 0;
    for (String kind : RealApiSupport.kinds()) {
      JsonNode specSchema = RealApiSupport.openApiSchema(kind).path("properties").path("spec");
      Map<String, JsonNode> defaults = RealApiSupport.defaults(specSchema, "spec");
      documented += defaults.size();
      int n = 0;
      for (Map.Entry<String, JsonNode> d : defaults.entrySet()) {
        String path = d.getKey().substring("spec.".length());
        ObjectNode spec = withParentOf(kind, path);
        String name = "d" + (n++) + "-" + kind.toLowerCase();
        String where = kind + " spec." + path;
        if (!at(spec, parentOf(path)).isObject()) {
          failures.add(where + ": the test has no valid parent for this default; extend RealApiSupport.richSpec");
          continue;
        }
        try {
          GenericKubernetesResource stored = resources(client, kind).inNamespace("defaults")
              .resource(resource(kind, "defaults", name, spec)).create();
          JsonNode value = at(JSON.valueToTree(stored.getAdditionalProperties()).path("spec"), path);
          if (!RealApiSupport.missingOrChanged(d.getValue(), value, "").isEmpty()) {
            failures.add(where + ": expected the default " + d.getValue() + ", the server stored " + value);
          } else {
            checked++;
          }
        } catch (KubernetesClientException e) {
          failures.add(where + ": the spec without it was refused: " + message(e));
        }
      }
    }
    System.out.printf("defaults: %d documented in the CRDs, %d applied by the server when the field is omitted%n",
        documented, checked);
    assertThat(failures).isEmpty();
    assertThat(checked).isPositive().isEqualTo(documented);
  }

  /** The minimal spec of the kind, plus the rich spec's top-level field that holds {@code path}, without it. */
  static ObjectNode withParentOf(String kind, String path) {
    ObjectNode spec = RealApiSupport.minimalSpec(kind);
    String top = path.split("[.\\[]", 2)[0];
    if (path.contains(".") || path.contains("[")) {
      spec.set(top, RealApiSupport.richSpec(kind).path(top).deepCopy());
    }
    JsonNode parent = at(spec, parentOf(path));
    if (parent.isObject()) {
      ((ObjectNode) parent).remove(leafOf(path));
    }
    return spec;
  }

  static String parentOf(String path) {
    int dot = path.lastIndexOf('.');
    return dot < 0 ? "" : path.substring(0, dot);
  }

  static String leafOf(String path) {
    return path.substring(path.lastIndexOf('.') + 1);
  }

  // ---- wrong types and enums

  @Test
  void wrongTypesAndValuesOutsideEnumsAreRefusedNamingTheField() {
    HostileSpecs specs = new HostileSpecs("http://clickhouse:8123");
    List<String> failures = new ArrayList<>();
    Map<String, String> messages = new LinkedHashMap<>();
    for (HostileSpecs.Case c : specs.wrongTypes()) {
      String where = c.name() + " " + c.kind() + " spec." + c.field();
      try {
        resources(client, c.kind()).inNamespace("hostile").resource(resource(c.kind(), "hostile", c.name(), c.spec()))
            .create();
        failures.add(where + ": admitted");
      } catch (KubernetesClientException e) {
        String message = message(e);
        messages.put(where, message);
        if (e.getCode() != 422 || !message.contains(c.mention())) {
          failures.add(where + ": refused with " + e.getCode() + ", not 422 naming " + c.mention() + ": " + message);
        }
      }
    }
    System.out.printf("wrong types: %d refused by the server with 422 naming the field%n", messages.size());
    messages.forEach((k, v) -> System.out.println("  " + k + " -> " + v));
    assertThat(failures).isEmpty();
    assertThat(specs.wrongTypes()).hasSizeGreaterThanOrEqualTo(16);
  }

  @Test
  void theMockSchemaCheckGivesTheServersVerdictOnEveryHostileInput() {
    HostileSpecs specs = new HostileSpecs("http://clickhouse:8123");
    List<HostileSpecs.Case> all = new ArrayList<>(specs.cases());
    all.addAll(specs.wrongTypes());
    List<String> disagreements = new ArrayList<>();
    int refused = 0;
    int refusedCases = 0;
    for (HostileSpecs.Case c : all) {
      boolean admitted;
      String message = "";
      try {
        resources(client, c.kind()).inNamespace("verdicts")
            .resource(resource(c.kind(), "verdicts", c.name(), c.spec().isEmpty() ? null : c.spec())).dryRun()
            .create();
        admitted = true;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 422) {
          throw e;
        }
        admitted = false;
        message = message(e);
        refused++;
        refusedCases += specs.cases().contains(c) ? 1 : 0;
      }
      JsonNode specSchema = RealApiSupport.openApiSchema(c.kind()).path("properties").path("spec");
      List<String> mock = c.spec().isEmpty() ? List.of()
          : CrdSchemaValidator.validate(specSchema, JSON.valueToTree(c.spec()), "spec");
      if (admitted != mock.isEmpty()) {
        disagreements.add(c.name() + " " + c.kind() + " spec." + c.field() + ": server "
            + (admitted ? "admits" : "refuses (" + message + ")") + ", CrdSchemaValidator "
            + (mock.isEmpty() ? "admits" : "refuses " + mock));
      }
    }
    System.out.printf("hostile inputs: the server refuses %d of %d at admission (%d of the %d cases HostileInputIT"
        + " sends the operator, and the %d wrong types); CrdSchemaValidator disagrees on %d%n", refused, all.size(),
        refusedCases, specs.cases().size(), specs.wrongTypes().size(), disagreements.size());
    disagreements.forEach(d -> System.out.println("  " + d));
    assertThat(disagreements).isEmpty();
  }

  // ---- CEL rules

  /** For each transition rule, another valid value of the field it guards. */
  static final Map<String, String> CHANGED = Map.of(
      "ClickHouseBackup spec.storage", "{\"volume\": {\"path\": \"/backups/elsewhere\"}}",
      "ReportMart spec.table", "\"other_mart\"");

  /** For each rule that is not a transition rule, a value that breaks it (none yet). */
  static final Map<String, String> VIOLATING = Map.of();

  @Test
  void everyCelRuleIsEnforcedWithItsMessage() {
    List<Rule> rules = new ArrayList<>();
    for (String kind : RealApiSupport.kinds()) {
      rules.addAll(RealApiSupport.rules(kind, RealApiSupport.openApiSchema(kind), ""));
    }
    assertThat(rules).as("CEL rules in the CRDs").isNotEmpty();
    List<String> failures = new ArrayList<>();
    int n = 0;
    for (Rule rule : rules) {
      String key = rule.kind() + " " + rule.path().substring(1);
      String field = rule.path().substring(".spec.".length());
      String name = "cel" + (n++) + "-" + rule.kind().toLowerCase();
      var ops = resources(client, rule.kind()).inNamespace("cel");
      ObjectNode spec = RealApiSupport.minimalSpec(rule.kind());
      if (rule.transition()) {
        if (!CHANGED.containsKey(key)) {
          failures.add(key + ": no changed value for the transition rule " + rule.rule() + " in CrdConformanceIT.CHANGED");
          continue;
        }
        GenericKubernetesResource created = ops.resource(resource(rule.kind(), "cel", name, spec)).create();
        // an unrelated change passes the rule
        ObjectNode other = spec.deepCopy();
        other.set("connectionRef", RealApiSupport.json("{\"name\": \"other\"}"));
        created.setAdditionalProperty("spec", JSON.convertValue(other, Map.class));
        created = ops.resource(created).update();
        // a change of the guarded field does not
        ObjectNode changed = other.deepCopy();
        changed.set(field, RealApiSupport.json("{\"v\": " + CHANGED.get(key) + "}").get("v"));
        created.setAdditionalProperty("spec", JSON.convertValue(changed, Map.class));
        try {
          ops.resource(created).update();
          failures.add(key + ": changing it was admitted despite " + rule.rule());
        } catch (KubernetesClientException e) {
          String message = message(e);
          System.out.printf("CEL %s (%s) -> %d %s%n", key, rule.rule(), e.getCode(), message);
          if (e.getCode() != 422 || !message.contains(rule.message()) || !message.contains(rule.path().substring(1))) {
            failures.add(key + ": refused with " + e.getCode() + " but not with the rule's message and path: "
                + message);
          }
        }
      } else {
        if (!VIOLATING.containsKey(key)) {
          failures.add(key + ": no violating value for the rule " + rule.rule() + " in CrdConformanceIT.VIOLATING");
          continue;
        }
        spec.set(field, RealApiSupport.json("{\"v\": " + VIOLATING.get(key) + "}").get("v"));
        try {
          ops.resource(resource(rule.kind(), "cel", name, spec)).create();
          failures.add(key + ": a value that breaks " + rule.rule() + " was admitted");
        } catch (KubernetesClientException e) {
          if (e.getCode() != 422 || !message(e).contains(rule.message())) {
            failures.add(key + ": refused, but not with the rule's message: " + message(e));
          }
        }
      }
    }
    System.out.printf("CEL rules: %d in the CRDs, each enforced with its message%n", rules.size());
    assertThat(failures).isEmpty();
  }

  /** The message of the Status the server answered with (the exception's own message if there was none). */
  static String message(KubernetesClientException e) {
    return e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage();
  }
}
