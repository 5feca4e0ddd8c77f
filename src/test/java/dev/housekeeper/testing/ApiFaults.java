package dev.housekeeper.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the mock API can be told to do that a real one does: answer slowly, refuse a write with
 * 409 Conflict, and refuse an object that its CRD's schema does not admit (422 Invalid, as an API
 * server does; off by default, because most tests create invalid objects on purpose to see the
 * operator's own validation).
 */
public final class ApiFaults extends Dispatcher {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern PATH = Pattern.compile(
      "^/apis/housekeeper\\.dev/v1alpha1/(?:namespaces/[^/]+/)?([a-z]+)(/[^/?]+)?(/status)?(?:\\?.*)?$");

  private final Dispatcher delegate;
  private final Map<String, JsonNode> schemas = new HashMap<>();
  private final Map<String, String> kinds = new HashMap<>();
  private volatile boolean enforceSchemas;
  private volatile Duration latency = Duration.ZERO;
  private final AtomicInteger conflictsLeft = new AtomicInteger();
  private final AtomicInteger conflictsServed = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();
  /** Method and path of every request for Secrets or ConfigMaps (what the operator lists, watches and reads). */
  private final List<String> secretRequests = new java.util.concurrent.CopyOnWriteArrayList<>();

  ApiFaults(Dispatcher delegate, List<CustomResourceDefinition> crds) {
    this.delegate = delegate;
    for (CustomResourceDefinition crd : crds) {
      String plural = crd.getSpec().getNames().getPlural();
      schemas.put(plural, JSON.valueToTree(crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema()));
      kinds.put(plural, crd.getSpec().getNames().getKind() + "." + crd.getSpec().getGroup());
    }
  }

  /** Whether creates and replaces of Housekeeper's kinds are checked against the CRD schema. */
  public void enforceSchemas(boolean on) {
    enforceSchemas = on;
  }

  /** Every answer except watch streams is delayed this long. */
  public void latency(Duration delay) {
    latency = delay;
  }

  /** The next {@code n} writes (POST, PUT, PATCH) to Housekeeper's kinds are answered 409 Conflict. */
  public void conflicts(int n) {
    conflictsLeft.set(n);
  }

  /** How many 409 answers were served. */
  public int conflictsServed() {
    return conflictsServed.get();
  }

  /** How many requests were dispatched. */
  public int requests() {
    return requests.get();
  }

  /** Method and path of every request for Secrets or ConfigMaps so far. */
  public List<String> secretRequests() {
    return List.copyOf(secretRequests);
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    requests.incrementAndGet();
    String path = request.getPath();
    if (path != null && (path.contains("/secrets") || path.contains("/configmaps"))) {
      secretRequests.add(request.getMethod() + " " + path);
    }
    String method = request.getMethod();
    boolean write = "POST".equals(method) || "PUT".equals(method) || "PATCH".equals(method);
    Matcher m = PATH.matcher(request.getPath());
    if (write && m.matches() && conflictsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      conflictsServed.incrementAndGet();
      return delayed(status(409, "Conflict", "Operation cannot be fulfilled on " + m.group(1)
          + ": the object has been modified; please apply your changes to the latest version and try again"));
    }
    if (enforceSchemas && m.matches() && m.group(3) == null && ("POST".equals(method) || "PUT".equals(method))
        && schemas.containsKey(m.group(1))) {
      try {
        JsonNode body = JSON.readTree(request.getUtf8Body());
        JsonNode schema = schemas.get(m.group(1));
        List<String> errors = new java.util.ArrayList<>();
        JsonNode props = schema.path("properties");
        for (String field : List.of("spec", "status")) {
          if (body.has(field)) {
            errors.addAll(CrdSchemaValidator.validate(props.path(field), body.get(field), field));
          }
        }
        if (!errors.isEmpty()) {
          String name = body.path("metadata").path("name").asText();
          return delayed(status(422, "Invalid", kinds.get(m.group(1)) + " \"" + name + "\" is invalid: "
              + (errors.size() == 1 ? errors.get(0) : "[" + String.join(", ", errors) + "]")));
        }
      } catch (Exception e) {
        return delayed(status(400, "BadRequest", "the body is not JSON: " + e.getMessage()));
      }
    }
    MockResponse response = delegate.dispatch(request);
    return request.getPath().contains("watch=") ? response : delayed(response);
  }

  private MockResponse delayed(MockResponse response) {
    Duration d = latency;
    return d.isZero() ? response : response.setBodyDelay(d);
  }

  private static MockResponse status(int code, String reason, String message) {
    Map<String, Object> status = Map.of("kind", "Status", "apiVersion", "v1", "metadata", Map.of(),
        "status", "Failure", "message", message, "reason", reason, "code", code);
    return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json")
        .setBody(Serialization.asJson(status));
  }
}
