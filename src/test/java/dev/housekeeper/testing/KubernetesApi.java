package dev.housekeeper.testing;

import io.fabric8.kubernetes.api.model.APIGroupBuilder;
import io.fabric8.kubernetes.api.model.APIGroupListBuilder;
import io.fabric8.kubernetes.api.model.APIResource;
import io.fabric8.kubernetes.api.model.APIResourceBuilder;
import io.fabric8.kubernetes.api.model.APIResourceListBuilder;
import io.fabric8.kubernetes.api.model.APIVersionsBuilder;
import io.fabric8.kubernetes.api.model.GroupVersionForDiscoveryBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.stream.Stream;

/**
 * The Kubernetes API in tests and in the local run: fabric8's mock server in CRUD mode, with the
 * generated CRDs created in it, a SelfSubjectRulesReview answer (for leader election) and the
 * discovery documents that kubectl needs.
 */
public final class KubernetesApi implements AutoCloseable {

  private final KubernetesMockServer server;
  private final KubernetesClient client;
  private final List<CustomResourceDefinition> crds;
  private final ApiFaults faults;

  /** Strong references: java.util.logging forgets the level of a logger nobody holds. */
  private static final List<java.util.logging.Logger> QUIET = List.of(
      java.util.logging.Logger.getLogger("io.fabric8.mockwebserver"),
      java.util.logging.Logger.getLogger("io.fabric8.mockwebserver.MockWebServer"));

  static {
    // The mock web server logs every request through java.util.logging.
    QUIET.forEach(l -> l.setLevel(java.util.logging.Level.WARNING));
  }

  private KubernetesApi(int port) throws IOException {
    Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
    crds = loadCrds();
    faults = new ApiFaults(new TableDispatcher(new KubernetesMixedDispatcher(responses), crds), crds);
    server = new KubernetesMockServer(new Context(Serialization.jsonMapper()), new MockWebServer(), responses,
        faults, false);
    stubAuthorization();
    stubDiscovery();
    server.init(InetAddress.getLoopbackAddress(), port);
    client = server.createClient();
    for (CustomResourceDefinition crd : crds) {
      client.apiextensions().v1().customResourceDefinitions().resource(crd).createOr(NonDeletingOperation::update);
    }
  }

  /** A mock API on a free port. */
  public static KubernetesApi start() throws IOException {
    return new KubernetesApi(0);
  }

  /** A mock API on the given port (0 for a free one). */
  public static KubernetesApi start(int port) throws IOException {
    return new KubernetesApi(port);
  }

  public KubernetesClient client() {
    return client;
  }

  public KubernetesMockServer server() {
    return server;
  }

  /** Base URL of the API, for kubeconfigs. */
  public String url() {
    return "http://" + server.getHostName() + ":" + server.getPort();
  }

  /** Writes a kubeconfig that points at this API (any token is accepted); returns {@code file}. */
  public java.nio.file.Path writeKubeconfig(java.nio.file.Path file) throws java.io.IOException {
    return writeKubeconfig(file, "mock", null);
  }

  /** The same, with the names a person sees ({@code kubectl config view}) and a default namespace (null: none). */
  public java.nio.file.Path writeKubeconfig(java.nio.file.Path file, String name, String namespace)
      throws java.io.IOException {
    return writeKubeconfig(file, name, namespace, url());
  }

  /** The same, reaching the API at {@code server} (a proxy in front of it, say). */
  public java.nio.file.Path writeKubeconfig(java.nio.file.Path file, String name, String namespace, String server)
      throws java.io.IOException {
    return java.nio.file.Files.writeString(file, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: %1$s
          cluster:
            server: %2$s
        contexts:
        - name: %1$s
          context:
            cluster: %1$s
        %3$s    user: %1$s
        current-context: %1$s
        users:
        - name: %1$s
          user:
            token: %1$s
        """.formatted(name, server, namespace == null ? "" : "    namespace: " + namespace + "\n"));
  }

  /** Latency, conflicts and schema checks this API can be told to add. */
  public ApiFaults faults() {
    return faults;
  }

  public List<CustomResourceDefinition> crds() {
    return crds;
  }

  /** The CRDs the build generated from the Java model (target/classes/META-INF/fabric8). */
  public static List<CustomResourceDefinition> loadCrds() throws IOException {
    Path dir = Path.of(System.getProperty("housekeeper.projectDir", "."), "target/classes/META-INF/fabric8");
    List<CustomResourceDefinition> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".housekeeper.dev-v1.yml")).sorted()
          .toList()) {
        try (InputStream in = Files.newInputStream(file)) {
          out.add(Serialization.unmarshal(in, CustomResourceDefinition.class));
        }
      }
    }
    if (out.isEmpty()) {
      throw new IllegalStateException("no generated CRDs in " + dir + "; run mvn process-classes");
    }
    return out;
  }

  private void stubAuthorization() {
    // JOSDK checks that it may use Leases before it elects a leader; the mock echoes the review
    // without a status, so answer with a rule that grants Leases.
    var review = new SelfSubjectRulesReviewBuilder()
        .withNewSpec().withNamespace("default").endSpec()
        .withNewStatus()
        .addNewResourceRule()
        .withApiGroups("coordination.k8s.io").withResources("leases").withVerbs("*")
        .endResourceRule()
        .withIncomplete(false)
        .endStatus()
        .build();
    server.expect().post().withPath("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")
        .andReturn(201, review).always();
  }

  private void stubDiscovery() {
    var versions = new APIVersionsBuilder().withVersions("v1").build();
    var core = new APIResourceListBuilder().withGroupVersion("v1").withResources(
        resource("namespaces", "Namespace", false, List.of("ns")),
        resource("secrets", "Secret", true, List.of()),
        resource("configmaps", "ConfigMap", true, List.of("cm")),
        resource("events", "Event", true, List.of("ev")),
        resource("pods", "Pod", true, List.of("po")),
        resource("services", "Service", true, List.of("svc")),
        resource("serviceaccounts", "ServiceAccount", true, List.of("sa"))).build();
    var hk = new APIResourceListBuilder().withGroupVersion("housekeeper.dev/v1alpha1");
    for (CustomResourceDefinition crd : crds) {
      var names = crd.getSpec().getNames();
      hk.addToResources(new APIResourceBuilder()
          .withName(names.getPlural()).withSingularName(names.getSingular()).withKind(names.getKind())
          .withNamespaced(true).withShortNames(names.getShortNames()).withCategories(names.getCategories())
          .withVerbs("create", "delete", "get", "list", "patch", "update", "watch").build());
      hk.addToResources(new APIResourceBuilder().withName(names.getPlural() + "/status").withKind(names.getKind())
          .withNamespaced(true).withVerbs("get", "patch", "update").build());
    }
    var groups = new APIGroupListBuilder().withGroups(
        group("housekeeper.dev", "v1alpha1"),
        group("apiextensions.k8s.io", "v1"),
        group("coordination.k8s.io", "v1")).build();
    var extensions = new APIResourceListBuilder().withGroupVersion("apiextensions.k8s.io/v1").withResources(
        resource("customresourcedefinitions", "CustomResourceDefinition", false, List.of("crd", "crds"))).build();
    var coordination = new APIResourceListBuilder().withGroupVersion("coordination.k8s.io/v1").withResources(
        resource("leases", "Lease", true, List.of())).build();
    Map<String, Object> docs = new HashMap<>();
    docs.put("/api", versions);
    docs.put("/api/v1", core);
    docs.put("/apis", groups);
    docs.put("/apis/housekeeper.dev/v1alpha1", hk.build());
    docs.put("/apis/apiextensions.k8s.io/v1", extensions);
    docs.put("/apis/coordination.k8s.io/v1", coordination);
    docs.forEach((path, body) -> {
      // kubectl asks with and without a timeout parameter, and expectations match the query string.
      server.expect().get().withPath(path).andReturn(200, body).always();
      server.expect().get().withPath(path + "?timeout=32s").andReturn(200, body).always();
    });
  }

  private static APIResource resource(String plural, String kind, boolean namespaced, List<String> shortNames) {
    return new APIResourceBuilder().withName(plural).withKind(kind).withNamespaced(namespaced)
        .withShortNames(shortNames).withVerbs("create", "delete", "get", "list", "patch", "update", "watch").build();
  }

  private static io.fabric8.kubernetes.api.model.APIGroup group(String name, String version) {
    var gv = new GroupVersionForDiscoveryBuilder().withGroupVersion(name + "/" + version).withVersion(version).build();
    return new APIGroupBuilder().withName(name).withVersions(gv).withPreferredVersion(gv).build();
  }

  @Override
  public void close() {
    client.close();
    server.destroy();
  }
}
