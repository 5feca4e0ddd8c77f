package dev.housekeeper.local;

import dev.housekeeper.operator.HousekeeperOperator;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.KubernetesApi;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

/**
 * Runs Housekeeper locally on embedded defaults: a local clickhouse-server, an embedded Kubernetes
 * API (fabric8's mock server, CRUD mode) with the CRDs, and the operator. It applies examples/,
 * prints the resources' status and writes a kubeconfig so that kubectl can be used against it.
 *
 * <p>Settings (environment): HK_LOCAL_DIR (.local), HK_API_PORT (16443), HK_HTTP_PORT (8080),
 * HK_CLICKHOUSE_HTTP_PORT (18123), HK_CLICKHOUSE_TCP_PORT (19000). Argument {@code --once} stops
 * after printing the status.
 */
public final class LocalRun implements AutoCloseable {

  public static final String NAMESPACE = "default";
  /** The examples' ClickHouse user and password. */
  public static final String EXAMPLE_USER = "housekeeper";
  public static final String EXAMPLE_PASSWORD = "change-me";

  private final Path dir;
  private final ClickHouseServer clickhouse;
  private final KubernetesApi api;
  private final HousekeeperOperator operator;
  private final Path kubeconfig;

  public LocalRun(Path dir, int apiPort, int httpPort, int chHttpPort, int chTcpPort) throws Exception {
    this.dir = dir;
    Files.createDirectories(dir);
    clickhouse = new ClickHouseServer(dir.resolve("clickhouse"), chHttpPort, chTcpPort, EXAMPLE_USER,
        EXAMPLE_PASSWORD);
    clickhouse.start();
    api = KubernetesApi.start(apiPort);
    kubeconfig = dir.resolve("kubeconfig");
    Files.writeString(kubeconfig, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: housekeeper-local
          cluster:
            server: %s
        contexts:
        - name: housekeeper-local
          context:
            cluster: housekeeper-local
            namespace: %s
            user: local
        current-context: housekeeper-local
        users:
        - name: local
          user:
            token: local
        """.formatted(api.url(), NAMESPACE));
    OperatorSettings settings = OperatorSettings.fromEnvironment(Map.of())
        .withHttpPort(httpPort)
        .withHostAliases(Map.of("clickhouse:8123", "127.0.0.1:" + clickhouse.httpPort()));
    operator = new HousekeeperOperator(api.server().createClient(), settings).start();
    api.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata()
        .build()).createOr(NonDeletingOperation::update);
  }

  public KubernetesClient client() {
    return api.client();
  }

  public Path kubeconfig() {
    return kubeconfig;
  }

  public ClickHouseServer clickhouse() {
    return clickhouse;
  }

  public HousekeeperOperator operator() {
    return operator;
  }

  /** Applies every YAML file of a folder, in name order, to the default namespace. */
  public List<HasMetadata> apply(Path examples) throws Exception {
    List<HasMetadata> applied = new ArrayList<>();
    try (Stream<Path> files = Files.list(examples)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        try (InputStream in = Files.newInputStream(file)) {
          for (HasMetadata item : api.client().load(in).items()) {
            item.getMetadata().setNamespace(NAMESPACE);
            applied.add(api.client().resource(item).inNamespace(NAMESPACE).createOr(NonDeletingOperation::update));
          }
        }
      }
    }
    return applied;
  }

  /** Every Housekeeper resource, with its phase and Ready condition. */
  public List<String[]> statusTable() throws Exception {
    List<String[]> rows = new ArrayList<>();
    for (CustomResourceDefinition crd : api.crds()) {
      String kind = crd.getSpec().getNames().getKind();
      for (GenericKubernetesResource r : api.client().genericKubernetesResources("housekeeper.dev/v1alpha1", kind)
          .inNamespace(NAMESPACE).list().getItems()) {
        Map<String, Object> status = r.get("status");
        String phase = status == null ? "" : String.valueOf(status.getOrDefault("phase", ""));
        String ready = "";
        String reason = "";
        String message = "";
        if (status != null && status.get("conditions") instanceof List<?> conditions) {
          for (Object o : conditions) {
            if (o instanceof Map<?, ?> c && "Ready".equals(c.get("type"))) {
              ready = String.valueOf(c.get("status"));
              reason = String.valueOf(c.get("reason"));
              message = String.valueOf(c.get("message"));
            }
          }
        }
        rows.add(new String[] {kind, r.getMetadata().getName(), phase, ready, reason, message});
      }
    }
    return rows;
  }

  /** Waits until every Housekeeper resource has a Ready condition and none is Progressing, or the time is up. */
  public List<String[]> awaitStatus(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String[]> rows = statusTable();
    while (System.nanoTime() < deadline
        && rows.stream().anyMatch(r -> r[3].isEmpty() || "Progressing".equals(r[2]))) {
      Thread.sleep(250);
      rows = statusTable();
    }
    return rows;
  }

  static String format(List<String[]> rows) {
    StringBuilder out = new StringBuilder(String.format("%-22s %-24s %-9s %-6s %-22s %s%n", "KIND", "NAME", "PHASE",
        "READY", "REASON", "MESSAGE"));
    for (String[] r : rows) {
      out.append(String.format("%-22s %-24s %-9s %-6s %-22s %s%n", (Object[]) r));
    }
    return out.toString();
  }

  @Override
  public void close() {
    operator.close();
    operator.kubernetesClient().close();
    api.close();
    clickhouse.close();
  }

  private static int env(String name, int fallback) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? fallback : Integer.parseInt(v);
  }

  public static void main(String[] args) throws Exception {
    long t0 = System.nanoTime();
    Path project = Path.of(System.getProperty("housekeeper.projectDir", "."));
    Path dir = Path.of(System.getenv().getOrDefault("HK_LOCAL_DIR", project.resolve(".local").toString()));
    boolean once = List.of(args).contains("--once");
    LocalRun run = new LocalRun(dir, env("HK_API_PORT", 16443), env("HK_HTTP_PORT", 8080),
        env("HK_CLICKHOUSE_HTTP_PORT", 18123), env("HK_CLICKHOUSE_TCP_PORT", 19000));
    System.out.printf("%nHousekeeper is running locally (started in %d ms).%n", (System.nanoTime() - t0) / 1_000_000);
    System.out.printf("  ClickHouse %s   user %s, password %s (data in %s)%n", run.clickhouse.httpUrl(), EXAMPLE_USER,
        EXAMPLE_PASSWORD, run.clickhouse.dir());
    System.out.printf("  Kubernetes API  %s%n", run.api.url());
    System.out.printf("  Operator        http://127.0.0.1:%d/metrics  /healthz  /readyz%n", run.operator.httpPort());
    List<HasMetadata> applied = run.apply(project.resolve("examples"));
    System.out.printf("%nApplied %d objects from examples/. Status:%n%n", applied.size());
    System.out.println(format(run.awaitStatus(Duration.ofSeconds(60))));
    System.out.printf("Use kubectl against it:%n  export KUBECONFIG=%s%n  kubectl get housekeeper%n"
        + "  kubectl apply --validate=false -f examples/%n%n", run.kubeconfig.toAbsolutePath());
    if (once) {
      run.close();
      return;
    }
    System.out.println("Press Ctrl-C to stop.");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      run.close();
      stop.countDown();
    }));
    stop.await();
  }
}
