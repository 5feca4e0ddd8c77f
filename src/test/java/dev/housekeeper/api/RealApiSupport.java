package dev.housekeeper.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.housekeeper.testing.RealKubernetesApi;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/** What the tests against the real API server share: the CRDs of crds/, installed once, and valid specs. */
final class RealApiSupport {

  static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", "."));
  static final ObjectMapper JSON = new ObjectMapper();
  static final String GROUP_VERSION = "housekeeper.dev/v1alpha1";

  private static boolean installed;

  private RealApiSupport() {}

  /** The real server, with every CRD of crds/ created and Established. */
  static synchronized RealKubernetesApi api() {
    RealKubernetesApi api = RealKubernetesApi.shared();
    if (!installed) {
      for (CustomResourceDefinition crd : crds()) {
        api.client().apiextensions().v1().customResourceDefinitions().resource(crd).forceConflicts()
            .serverSideApply();
      }
      for (CustomResourceDefinition crd : crds()) {
        awaitEstablished(api.client(), crd.getMetadata().getName());
      }
      installed = true;
    }
    return api;
  }

  /** The CRDs checked in under crds/ (what users install). */
  static List<CustomResourceDefinition> crds() {
    try (Stream<Path> files = Files.list(PROJECT.resolve("crds"))) {
      List<CustomResourceDefinition> out = new ArrayList<>();
      for (Path f : files.filter(f -> f.toString().endsWith(".yml") || f.toString().endsWith(".yaml")).sorted()
          .toList()) {
        out.add(Serialization.unmarshal(Files.readString(f), CustomResourceDefinition.class));
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static CustomResourceDefinition crd(String kind) {
    return crds().stream().filter(c -> c.getSpec().getNames().getKind().equals(kind)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no CRD for " + kind + " in crds/"));
  }

  /** Waits until the CRD is Established; fails naming its conditions otherwise. */
  static CustomResourceDefinition awaitEstablished(KubernetesClient client, String name) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    CustomResourceDefinition crd = null;
    while (System.nanoTime() < deadline) {
      crd = client.apiextensions().v1().customResourceDefinitions().withName(name).get();
      if (crd != null && "True".equals(condition(crd, "Established"))) {
        return crd;
      }
      sleep(100);
    }
    throw new AssertionError("CRD " + name + " not Established within 60 s: "
        + (crd == null || crd.getStatus() == null ? "no status" : crd.getStatus().getConditions().stream()
            .map(c -> c.getType() + "=" + c.getStatus() + " " + c.getReason() + ": " + c.getMessage()).toList()));
  }

  static String condition(CustomResourceDefinition crd, String type) {
    if (crd.getStatus() == null || crd.getStatus().getConditions() == null) {
      return null;
    }
    return crd.getStatus().getConditions().stream().filter(c -> type.equals(c.getType()))
        .map(CustomResourceDefinitionCondition::getStatus).findFirst().orElse(null);
  }

  /** Generic access to a kind (no discovery needed). */
  static MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>>
      resources(KubernetesClient client, String kind) {
    return client.genericKubernetesResources(CustomResourceDefinitionContext.fromCrd(crd(kind)));
  }

  static GenericKubernetesResource resource(String kind, String namespace, String name, Object spec) {
    GenericKubernetesResource r = new GenericKubernetesResource();
    r.setApiVersion(GROUP_VERSION);
    r.setKind(kind);
    r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    if (spec != null) {
      r.setAdditionalProperty("spec", JSON.convertValue(spec, Map.class));
    }
    return r;
  }

  /** The smallest valid spec of each kind: its required fields. */
  static ObjectNode minimalSpec(String kind) {
    return json(switch (kind) {
      case "ClickHouseConnection" -> """
          {"endpoints": ["http://clickhouse:8123"], "credentials": {"secretName": "clickhouse-credentials"}}""";
      case "ClickHouseMigration" -> """
          {"connectionRef": {"name": "clickhouse"}}""";
      case "RetentionPolicy" -> """
          {"connectionRef": {"name": "clickhouse"}, "keep": "12M", "tables": {"pattern": "events_.*"}}""";
      case "ClickHouseBackup" -> """
          {"connectionRef": {"name": "clickhouse"}, "storage": {"volume": {"path": "/backups"}}}""";
      case "ClickHouseRestore" -> """
          {"connectionRef": {"name": "clickhouse"}, "source": {"backupName": "nightly"}}""";
      case "ReportMart" -> """
          {"connectionRef": {"name": "clickhouse"}, "table": "mart", "columns": [{"name": "k", "type": "UInt64"}],
           "orderBy": "k", "source": {"clickhouse": {"query": "SELECT 1 AS k"}}}""";
      default -> throw new IllegalArgumentException(kind);
    });
  }

  /**
   * A valid spec of each kind that sets every optional object (with the other alternative where
   * there is a choice: S3 storage, a JDBC source), so that every defaulted field has its parent.
   */
  static ObjectNode richSpec(String kind) {
    String s3 = """
        {"s3": {"endpoint": "http://minio:9000", "bucket": "backups", "prefix": "ch",
                "accessKeyId": {"name": "s3", "key": "id"}, "secretAccessKey": {"name": "s3", "key": "secret"}}}""";
    return json(switch (kind) {
      case "ClickHouseConnection" -> """
          {"endpoints": ["http://clickhouse:8123"], "credentials": {"secretName": "clickhouse-credentials"},
           "retry": {"maxAttempts": 4}, "circuitBreaker": {"failureThreshold": 9},
           "tls": {"caCertificate": {"name": "ca", "key": "ca.crt"}}}""";
      case "ClickHouseMigration" -> """
          {"connectionRef": {"name": "clickhouse"}, "database": "app",
           "migrations": [{"version": 1, "name": "init", "up": "CREATE TABLE t (x UInt8) ENGINE = Memory"}]}""";
      case "RetentionPolicy" -> """
          {"connectionRef": {"name": "clickhouse"}, "keep": "12M", "tables": {"pattern": "events_.*"},
           "schedule": {"cron": "0 3 * * *"}, "optimize": {"schedule": {"cron": "0 4 * * *"}}}""";
      case "ClickHouseBackup" -> """
          {"connectionRef": {"name": "clickhouse"}, "storage": %s, "schedule": {"cron": "0 2 * * *"},
           "incremental": {}}""".formatted(s3);
      case "ClickHouseRestore" -> """
          {"connectionRef": {"name": "clickhouse"}, "source": {"backupId": "nightly-1", "storage": %s},
           "schedule": {"cron": "0 5 * * 0"}, "verify": true}"""
          .formatted(s3);
      case "ReportMart" -> """
          {"connectionRef": {"name": "clickhouse"}, "table": "mart", "columns": [{"name": "k", "type": "UInt64"}],
           "orderBy": "k", "partitionBy": "k",
           "source": {"jdbc": {"url": "jdbc:postgresql://postgres:5432/app", "credentialsSecret": "pg",
                               "query": "SELECT 1 AS k"}},
           "refresh": {"schedule": {"cron": "5 * * * *"}, "incremental": {"column": "k"}}}""";
      default -> throw new IllegalArgumentException(kind);
    });
  }

  static ObjectNode json(String text) {
    try {
      return (ObjectNode) JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Where {@code sent} has something that {@code stored} has not, or has otherwise, as field paths;
   * empty when every field sent came back with its value (numbers compared by value).
   */
  static List<String> missingOrChanged(JsonNode sent, JsonNode stored, String path) {
    List<String> out = new ArrayList<>();
    diff(sent, stored, path, out);
    return out;
  }

  private static void diff(JsonNode sent, JsonNode stored, String path, List<String> out) {
    if (stored == null || stored.isMissingNode()) {
      out.add(path + " (pruned)");
    } else if (sent.isObject()) {
      if (!stored.isObject()) {
        out.add(path + " (became " + stored + ")");
        return;
      }
      sent.fields().forEachRemaining(f -> diff(f.getValue(), stored.get(f.getKey()), path + "." + f.getKey(), out));
    } else if (sent.isArray()) {
      if (!stored.isArray() || stored.size() != sent.size()) {
        out.add(path + " (became " + stored + ")");
        return;
      }
      for (int i = 0; i < sent.size(); i++) {
        diff(sent.get(i), stored.get(i), path + "[" + i + "]", out);
      }
    } else if (sent.isNumber() && stored.isNumber()) {
      if (sent.decimalValue().compareTo(stored.decimalValue()) != 0) {
        out.add(path + " (" + sent + " became " + stored + ")");
      }
    } else if (!Objects.equals(sent, stored)) {
      out.add(path + " (" + sent + " became " + stored + ")");
    }
  }

  /** A JSON value at a dotted path with [] for "the first element". */
  static JsonNode at(JsonNode node, String path) {
    JsonNode n = node;
    if (path.isEmpty()) {
      return n;
    }
    for (String part : path.split("\\.")) {
      if (part.endsWith("[]")) {
        n = n.path(part.substring(0, part.length() - 2)).path(0);
      } else {
        n = n.path(part);
      }
    }
    return n;
  }

  /** Every {@code default} in a schema: dotted path ([] for array items) to value. */
  static Map<String, JsonNode> defaults(JsonNode schema, String path) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    walkDefaults(schema, path, out);
    return out;
  }

  private static void walkDefaults(JsonNode schema, String path, Map<String, JsonNode> out) {
    if (schema.has("default")) {
      out.put(path, schema.get("default"));
    }
    schema.path("properties").fields().forEachRemaining(f -> walkDefaults(f.getValue(), path + "." + f.getKey(), out));
    if (schema.has("items")) {
      walkDefaults(schema.get("items"), path + "[]", out);
    }
    if (schema.path("additionalProperties").isObject()) {
      walkDefaults(schema.get("additionalProperties"), path + "{}", out);
    }
  }

  /** One CEL rule of a schema: where it is, its rule and message. */
  record Rule(String kind, String path, String rule, String message) {
    boolean transition() {
      return rule.contains("oldSelf");
    }
  }

  static List<Rule> rules(String kind, JsonNode schema, String path) {
    List<Rule> out = new ArrayList<>();
    walkRules(kind, schema, path, out);
    return out;
  }

  private static void walkRules(String kind, JsonNode schema, String path, List<Rule> out) {
    for (JsonNode v : schema.path("x-kubernetes-validations")) {
      out.add(new Rule(kind, path, v.path("rule").asText(), v.path("message").asText()));
    }
    schema.path("properties").fields().forEachRemaining(f -> walkRules(kind, f.getValue(), path + "." + f.getKey(),
        out));
    if (schema.has("items")) {
      walkRules(kind, schema.get("items"), path + "[]", out);
    }
    if (schema.path("additionalProperties").isObject()) {
      walkRules(kind, schema.get("additionalProperties"), path + "{}", out);
    }
  }

  static JsonNode openApiSchema(String kind) {
    return JSON.valueToTree(crd(kind).getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema());
  }

  static List<String> kinds() {
    return crds().stream().map(c -> c.getSpec().getNames().getKind()).toList();
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
