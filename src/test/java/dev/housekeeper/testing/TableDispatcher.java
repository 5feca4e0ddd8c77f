package dev.housekeeper.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Answers kubectl's {@code Accept: ...;as=Table} requests for Housekeeper's kinds with a Table
 * built from the CRD's printer columns, as an API server does; the mock itself only returns
 * objects, so {@code kubectl get} would show names alone. Everything else goes to the mock.
 */
final class TableDispatcher extends Dispatcher {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern PATH = Pattern.compile(
      "^/apis/housekeeper\\.dev/v1alpha1/(?:namespaces/[^/]+/)?([a-z]+)(?:/([^/?]+))?(?:\\?.*)?$");

  private final Dispatcher delegate;
  private final Map<String, CustomResourceDefinition> byPlural;

  TableDispatcher(Dispatcher delegate, List<CustomResourceDefinition> crds) {
    this.delegate = delegate;
    this.byPlural = new java.util.HashMap<>();
    crds.forEach(c -> byPlural.put(c.getSpec().getNames().getPlural(), c));
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    MockResponse response = delegate.dispatch(request);
    String accept = request.getHeader("Accept");
    if (!"GET".equals(request.getMethod()) || accept == null || !accept.contains("as=Table")
        || request.getPath().contains("watch=")) {
      return response;
    }
    Matcher m = PATH.matcher(request.getPath());
    if (!m.matches() || !byPlural.containsKey(m.group(1)) || response.code() != 200 || response.getBody() == null) {
      return response;
    }
    try {
      JsonNode body = JSON.readTree(new String(response.getBody().getBytes(), java.nio.charset.StandardCharsets.UTF_8));
      return new MockResponse().setResponseCode(200).setHeader("Content-Type", "application/json")
          .setBody(JSON.writeValueAsString(table(byPlural.get(m.group(1)), body)));
    } catch (Exception e) {
      return response;
    }
  }

  private static ObjectNode table(CustomResourceDefinition crd, JsonNode body) {
    List<CustomResourceColumnDefinition> columns = crd.getSpec().getVersions().get(0).getAdditionalPrinterColumns();
    ObjectNode table = JSON.createObjectNode();
    table.put("kind", "Table");
    table.put("apiVersion", "meta.k8s.io/v1");
    table.putObject("metadata").put("resourceVersion", body.path("metadata").path("resourceVersion").asText(""));
    ArrayNode defs = table.putArray("columnDefinitions");
    defs.addObject().put("name", "Name").put("type", "string").put("format", "name").put("priority", 0)
        .put("description", "Name of the resource");
    for (CustomResourceColumnDefinition c : columns) {
      defs.addObject().put("name", c.getName()).put("type", "date".equals(c.getType()) ? "string" : c.getType())
          .put("format", "").put("priority", c.getPriority() == null ? 0 : c.getPriority())
          .put("description", c.getDescription() == null ? "" : c.getDescription());
    }
    ArrayNode rows = table.putArray("rows");
    List<JsonNode> items = new ArrayList<>();
    if (body.has("items")) {
      body.get("items").forEach(items::add);
    } else {
      items.add(body);
    }
    for (JsonNode item : items) {
      ObjectNode row = rows.addObject();
      ArrayNode cells = row.putArray("cells");
      cells.add(item.path("metadata").path("name").asText());
      for (CustomResourceColumnDefinition c : columns) {
        JsonNode v = eval(item, c.getJsonPath());
        if (v == null || v.isNull() || v.isMissingNode()) {
          cells.add("<none>");
        } else if ("date".equals(c.getType())) {
          cells.add(age(v.asText()));
        } else if (v.isNumber()) {
          cells.add(v);
        } else {
          cells.add(v.asText());
        }
      }
      ObjectNode object = row.putObject("object");
      object.put("kind", "PartialObjectMetadata").put("apiVersion", "meta.k8s.io/v1");
      object.set("metadata", item.path("metadata"));
    }
    return table;
  }

  /** Evaluates the JSONPath forms used in printer columns: .a.b, [n] and [?(@.k=="v")]. */
  static JsonNode eval(JsonNode root, String path) {
    JsonNode node = root;
    Matcher m = Pattern.compile("\\.([A-Za-z0-9_]+)|\\[(\\d+)]|\\[\\?\\(@\\.([A-Za-z0-9_]+)==\"([^\"]*)\"\\)]")
        .matcher(path);
    while (m.find() && node != null) {
      if (m.group(1) != null) {
        node = node.get(m.group(1));
      } else if (m.group(2) != null) {
        node = node.isArray() ? node.get(Integer.parseInt(m.group(2))) : null;
      } else {
        JsonNode found = null;
        if (node.isArray()) {
          for (JsonNode e : node) {
            if (m.group(4).equals(e.path(m.group(3)).asText(null))) {
              found = e;
              break;
            }
          }
        }
        node = found;
      }
    }
    return node;
  }

  private static String age(String timestamp) {
    try {
      Duration d = Duration.between(Instant.parse(timestamp), Instant.now());
      long s = Math.max(0, d.toSeconds());
      if (s < 120) {
        return s + "s";
      }
      if (s < 7200) {
        return (s / 60) + "m";
      }
      if (s < 172800) {
        return (s / 3600) + "h";
      }
      return (s / 86400) + "d";
    } catch (RuntimeException e) {
      return timestamp;
    }
  }
}
