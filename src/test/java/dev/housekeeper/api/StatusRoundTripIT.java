package dev.housekeeper.api;

import static dev.housekeeper.api.RealApiSupport.JSON;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.common.StatusWriter;
import dev.housekeeper.testing.RealKubernetesApi;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Nothing the operator writes into a status is pruned by a real API server: for every kind, a
 * status with every field of its Java model set (nested objects, every list with two elements,
 * conditions in full) is written the way the operator writes it ({@link StatusWriter}: a JSON
 * Patch of {@code /status}) and read back equal. A field the CRD schema does not declare would be
 * dropped silently by the server, and with it what the operator needs on its next pass.
 */
class StatusRoundTripIT {

  static final List<Class<? extends CustomResource<?, ?>>> KINDS = List.of(ClickHouseConnection.class,
      ClickHouseMigration.class, RetentionPolicy.class, ClickHouseBackup.class, ClickHouseRestore.class,
      ReportMart.class);
  static final String NS = "status";

  static RealKubernetesApi api;
  static KubernetesClient client;

  @BeforeAll
  static void start() {
    api = RealApiSupport.api();
    client = api.client();
  }

  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void everyStatusFieldTheOperatorWritesComesBackUnpruned() throws Exception {
    List<String> covered = new ArrayList<>();
    for (Class<? extends CustomResource<?, ?>> type : KINDS) {
      covered.add(type.getDeclaredConstructor().newInstance().getKind());
    }
    assertThat(covered).as("every kind of crds/ is round-tripped").containsExactlyInAnyOrderElementsOf(
        RealApiSupport.kinds());
    List<String> failures = new ArrayList<>();
    int fields = 0;
    for (Class<? extends CustomResource<?, ?>> type : KINDS) {
      List<String> pruned = roundTrip((Class) type);
      ObjectNode full = fullStatus(type);
      fields += leaves(full);
      failures.addAll(pruned);
      System.out.printf("status round trip: %s, %d fields written, %s%n", type.getSimpleName(), leaves(full),
          pruned.isEmpty() ? "all read back" : pruned.size() + " lost: " + pruned);
    }
    assertThat(failures).as("status fields the real API server did not keep").isEmpty();
    assertThat(fields).isGreaterThan(100);

    // kubectl get: every printer column of every kind shows a value for a resource with a full status
    List<String> empty = new ArrayList<>();
    for (Class<? extends CustomResource<?, ?>> type : KINDS) {
      var names = RealApiSupport.crd(type.getDeclaredConstructor().newInstance().getKind()).getSpec().getNames();
      JsonNode table = api.getJson("/apis/housekeeper.dev/v1alpha1/namespaces/" + NS + "/" + names.getPlural()
          + "/full-" + names.getKind().toLowerCase(), "application/json;as=Table;v=v1;g=meta.k8s.io");
      assertThat(table.path("kind").asText()).as(names.getKind() + " as a Table: " + table).isEqualTo("Table");
      JsonNode cells = table.path("rows").path(0).path("cells");
      List<String> columns = new ArrayList<>();
      StringBuilder line = new StringBuilder(names.getShortNames().get(0) + ":");
      for (int i = 0; i < table.path("columnDefinitions").size(); i++) {
        String column = table.path("columnDefinitions").path(i).path("name").asText();
        columns.add(column);
        JsonNode cell = cells.path(i);
        line.append(' ').append(column).append('=').append(cell.isNull() ? "<none>" : cell.asText());
        if (cell.isMissingNode() || cell.isNull() || cell.asText().isEmpty()) {
          empty.add(names.getKind() + " column " + column);
        }
      }
      System.out.println("kubectl get " + line);
    }
    assertThat(empty).as("printer columns with no value for a full status").isEmpty();
  }

  /** The control: the server does prune what the schema does not declare, so the round trip above can fail. */
  @Test
  void aStatusFieldTheSchemaDoesNotDeclareIsPruned() {
    String kind = "ClickHouseConnection";
    RealApiSupport.resources(client, kind).inNamespace(NS).resource(RealApiSupport.resource(kind, NS, "undeclared",
        RealApiSupport.minimalSpec(kind))).create();
    GenericKubernetesResource after = RealApiSupport.resources(client, kind).inNamespace(NS).withName("undeclared")
        .subresource("status").patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
            io.fabric8.kubernetes.client.dsl.base.PatchType.JSON),
            "[{\"op\":\"add\",\"path\":\"/status\",\"value\":{\"phase\":\"Ready\",\"notInTheSchema\":\"x\","
                + "\"topology\":{\"cluster\":\"c\",\"alsoNot\":1}}}]");
    JsonNode status = JSON.valueToTree(after.getAdditionalProperties()).path("status");
    assertThat(status.path("phase").asText()).isEqualTo("Ready");
    assertThat(status.path("topology").path("cluster").asText()).isEqualTo("c");
    assertThat(status.has("notInTheSchema")).isFalse();
    assertThat(status.path("topology").has("alsoNot")).isFalse();
  }

  /**
   * The operator skips the watch event of its own status write (its update filter), and no other:
   * on a real API server, the version the write produced is recognised, and an annotation added
   * after it makes a version that is not.
   */
  @Test
  void theWriterKnowsTheVersionItsOwnWriteMadeAndNoOther() {
    RealApiSupport.resources(client, "ClickHouseConnection").inNamespace(NS).resource(RealApiSupport.resource(
        "ClickHouseConnection", NS, "own-write", RealApiSupport.minimalSpec("ClickHouseConnection"))).create();
    ClickHouseConnection before = client.resources(ClickHouseConnection.class).inNamespace(NS).withName("own-write")
        .get();
    StatusWriter writer = new StatusWriter(client);
    assertThat(writer.producedVersion(before)).as("a version the writer did not make").isFalse();
    var status = new dev.housekeeper.api.connection.ClickHouseConnectionStatus();
    status.setObservedGeneration(1L);
    assertThat(writer.write(before, status, ClickHouseConnection::new)).isTrue();
    ClickHouseConnection written = client.resources(ClickHouseConnection.class).inNamespace(NS)
        .withName("own-write").get();
    assertThat(written.getMetadata().getResourceVersion()).isNotEqualTo(before.getMetadata().getResourceVersion());
    assertThat(writer.producedVersion(written)).as("the version its write made").isTrue();
    ClickHouseConnection annotated = client.resources(ClickHouseConnection.class).inNamespace(NS)
        .withName("own-write").edit(c -> {
          c.getMetadata().setAnnotations(java.util.Map.of("housekeeper.dev/probe", "now"));
          return c;
        });
    assertThat(writer.producedVersion(annotated)).as("a user's change after the write").isFalse();
  }

  /** Creates a resource of the kind, writes a full status through StatusWriter, and returns what did not come back. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static <S, R extends CustomResource<?, S>> List<String> roundTrip(Class<R> type) throws Exception {
    R blank = type.getDeclaredConstructor().newInstance();
    String kind = blank.getKind();
    String name = "full-" + kind.toLowerCase();
    GenericKubernetesResource generic = RealApiSupport.resource(kind, NS, name, RealApiSupport.minimalSpec(kind));
    RealApiSupport.resources(client, kind).inNamespace(NS).resource(generic).create();
    R current = client.resources(type).inNamespace(NS).withName(name).get();

    ObjectNode full = fullStatus((Class) type);
    Class<?> statusType = statusType(type);
    S status = (S) Serialization.jsonMapper().treeToValue(full, statusType);
    // the model itself keeps every field (a field without a getter or setter would be lost before any server)
    ObjectNode serialized = (ObjectNode) JSON.readTree(Serialization.asJson(status));
    List<String> lost = new ArrayList<>(RealApiSupport.missingOrChanged(full, serialized, kind + " model: status"));

    boolean sent = new StatusWriter(client).write(current, status, () -> {
      try {
        return type.getDeclaredConstructor().newInstance();
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThat(sent).as(kind + ": the status was written").isTrue();

    GenericKubernetesResource stored = RealApiSupport.resources(client, kind).inNamespace(NS).withName(name).get();
    JsonNode storedStatus = JSON.valueToTree(stored.getAdditionalProperties()).path("status");
    lost.addAll(RealApiSupport.missingOrChanged(serialized, storedStatus, kind + " status"));
    // and what the operator reads back on its next pass is the same object
    R typed = client.resources(type).inNamespace(NS).withName(name).get();
    if (!Serialization.asJson(typed.getStatus()).equals(Serialization.asJson(status))) {
      lost.add(kind + ": the status read back through the model differs from the one written");
    }
    return lost;
  }

  /** A status of the kind with every field of its model set, as a JSON tree. */
  static ObjectNode fullStatus(Class<? extends CustomResource<?, ?>> type) {
    Class<?> statusType = statusType(type);
    ObjectMapper mapper = Serialization.jsonMapper();
    return (ObjectNode) new Filler(mapper).fill(mapper.constructType(statusType), "status", "");
  }

  /** S of {@code CustomResource<P, S>}. */
  static Class<?> statusType(Class<?> type) {
    return (Class<?>) ((java.lang.reflect.ParameterizedType) type.getGenericSuperclass()).getActualTypeArguments()[1];
  }

  /** Builds JSON for a model type with every property set to a distinct, plausible value. */
  static final class Filler {
    private final ObjectMapper mapper;
    private int counter;

    Filler(ObjectMapper mapper) {
      this.mapper = mapper;
    }

    JsonNode fill(JavaType type, String path, String name) {
      Class<?> raw = type.getRawClass();
      counter++;
      if (raw == String.class) {
        return JSON.getNodeFactory().textNode(text(path, name));
      }
      if (raw == int.class || raw == Integer.class || raw == short.class || raw == Short.class) {
        return JSON.getNodeFactory().numberNode(counter);
      }
      if (raw == long.class || raw == Long.class) {
        // beyond 32 bits: byte and row counts are
        return JSON.getNodeFactory().numberNode(5_000_000_000L + counter);
      }
      if (raw == boolean.class || raw == Boolean.class) {
        return JSON.getNodeFactory().booleanNode(true);
      }
      if (raw == double.class || raw == Double.class || raw == float.class || raw == Float.class) {
        return JSON.getNodeFactory().numberNode(counter + 0.5);
      }
      if (raw.isEnum()) {
        Object[] constants = raw.getEnumConstants();
        return mapper.valueToTree(constants[constants.length - 1]);
      }
      if (type.isCollectionLikeType() || type.isArrayType()) {
        ArrayNode a = JSON.createArrayNode();
        for (int i = 0; i < 2; i++) {
          a.add(fill(type.getContentType(), path + "[" + i + "]", name));
        }
        return a;
      }
      if (type.isMapLikeType()) {
        ObjectNode m = JSON.createObjectNode();
        m.set("key-a", fill(type.getContentType(), path + ".key-a", "key-a"));
        m.set("key-b", fill(type.getContentType(), path + ".key-b", "key-b"));
        return m;
      }
      if (raw == Object.class || JsonNode.class.isAssignableFrom(raw)) {
        throw new IllegalStateException(path + " is untyped (" + raw.getName() + "): say in the model what it holds");
      }
      BeanDescription bean = mapper.getSerializationConfig().introspect(type);
      ObjectNode o = JSON.createObjectNode();
      for (BeanPropertyDefinition p : bean.findProperties()) {
        if (!p.couldSerialize()) {
          continue;
        }
        o.set(p.getName(), fill(p.getPrimaryType(), path + "." + p.getName(), p.getName()));
      }
      return o;
    }

    /** A plausible string for a field: times as RFC 3339, condition fields as the operator writes them. */
    private String text(String path, String name) {
      if (name.endsWith("Time") || name.endsWith("At") || name.equals("cutoff")) {
        return "2026-12-01T10:%02d:%02dZ".formatted(counter / 60 % 60, counter % 60);
      }
      return switch (name) {
        case "status" -> "True";
        case "type" -> "Ready";
        case "reason" -> "Connected";
        case "message" -> "every endpoint answers (" + path + ")";
        default -> path + "-" + counter;
      };
    }
  }

  static int leaves(JsonNode node) {
    if (node.isContainerNode()) {
      int n = 0;
      for (JsonNode child : node) {
        n += leaves(child);
      }
      return n;
    }
    return 1;
  }
}
