package dev.housekeeper.testing;

import dev.housekeeper.operator.HousekeeperOperator;
import dev.housekeeper.operator.OperatorSettings;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

/**
 * The real operator, in-process, talking HTTP to the Kubernetes mock API, plus the real ClickHouse
 * server of this test run. One per test class.
 */
public final class OperatorHarness implements AutoCloseable {

  private final KubernetesApi api;
  private HousekeeperOperator operator;
  private final OperatorSettings settings;
  private final ClickHouseServer clickhouse;
  private final java.time.Clock clock;
  /** With a real API server for Housekeeper's kinds: it, the router in front of it and the mock, and a client of that. */
  private final RealKubernetesApi real;
  private final ApiRouter router;
  private final KubernetesClient routedClient;

  private OperatorHarness(KubernetesApi api, HousekeeperOperator operator, ClickHouseServer clickhouse,
      OperatorSettings settings, java.time.Clock clock, RealKubernetesApi real, ApiRouter router) {
    this.clock = clock;
    this.api = api;
    this.operator = operator;
    this.clickhouse = clickhouse;
    this.settings = settings;
    this.real = real;
    this.router = router;
    this.routedClient = router == null ? null : router.client("harness", "default");
  }

  /** Stops the operator (as a crash would: work in flight is interrupted) and starts a new one. */
  public void restartOperator() {
    stopOperator();
    startOperator();
  }

  public void stopOperator() {
    if (operator != null) { // none yet where startOnRealApi was told so
      operator.close();
      operator.kubernetesClient().close();
    }
  }

  public void startOperator() {
    try {
      operator = new HousekeeperOperator(operatorClient(api, router), settings, clock).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The operator gets its own client, as a separate process would. */
  private static KubernetesClient operatorClient(KubernetesApi api, ApiRouter router) {
    // with the operator's own JSON mapping (HousekeeperOperator.main's), so that every test reads the API through it
    return router == null ? api.server().createClient(b -> b.withKubernetesSerialization(HousekeeperOperator.serialization()))
        : router.client("operator", "default", HousekeeperOperator.serialization());
  }

  /** A Secret and a ClickHouseConnection to the test server, awaited until Ready. */
  public dev.housekeeper.api.connection.ClickHouseConnection readyConnection(String namespace, String name) {
    return connection(namespace, name, List.of(clickhouse.httpUrl()), spec -> { }, r -> true, 20);
  }

  /** A Secret and a ClickHouseConnection to the given endpoints (a proxy in front of the test server, say), awaited until Ready. */
  public dev.housekeeper.api.connection.ClickHouseConnection readyConnection(String namespace, String name,
      List<String> endpoints) {
    return connection(namespace, name, endpoints, spec -> { }, r -> true, 20);
  }

  /** A Secret and a ClickHouseConnection to the given endpoints with more settings, awaited until Ready. */
  public dev.housekeeper.api.connection.ClickHouseConnection readyConnection(String namespace, String name,
      List<String> endpoints, java.util.function.Consumer<dev.housekeeper.api.connection.ClickHouseConnectionSpec> more) {
    return connection(namespace, name, endpoints, more, r -> true, 20);
  }

  /** A ClickHouseConnection to every node of a cluster (spec.cluster set), awaited until Ready. */
  public dev.housekeeper.api.connection.ClickHouseConnection readyClusterConnection(String namespace, String name,
      ClickHouseCluster cluster) {
    return connection(namespace, name, cluster.httpUrls(), spec -> {
      spec.setCluster(ClickHouseCluster.NAME);
      spec.setProbeInterval("5s");
    }, r -> r.getStatus().topology != null, 30);
  }

  private dev.housekeeper.api.connection.ClickHouseConnection connection(String namespace, String name,
      List<String> endpoints, java.util.function.Consumer<dev.housekeeper.api.connection.ClickHouseConnectionSpec> more,
      java.util.function.Predicate<dev.housekeeper.api.connection.ClickHouseConnection> also, int seconds) {
    clickhouseSecret(namespace, name + "-credentials");
    var spec = new dev.housekeeper.api.connection.ClickHouseConnectionSpec();
    spec.setEndpoints(endpoints);
    var creds = new dev.housekeeper.api.connection.ClickHouseConnectionSpec.Credentials();
    creds.setSecretName(name + "-credentials");
    spec.setCredentials(creds);
    more.accept(spec);
    var c = new dev.housekeeper.api.connection.ClickHouseConnection();
    c.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace(namespace)
        .build());
    c.setSpec(spec);
    client().resource(c).createOr(op -> op.update());
    return org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(seconds)).until(
        () -> client().resources(dev.housekeeper.api.connection.ClickHouseConnection.class).inNamespace(namespace)
            .withName(name).get(),
        r -> r != null && r.getStatus() != null
            && dev.housekeeper.common.Conditions.isTrue(r.getStatus().getConditions(), "Ready") && also.test(r));
  }

  public static OperatorHarness start() {
    return start(OperatorSettings.forTests());
  }

  public static OperatorHarness start(OperatorSettings settings) {
    return start(settings, java.time.Clock.systemUTC());
  }

  /** With a clock the test moves (see {@link TestClock}), for schedules. */
  public static OperatorHarness start(OperatorSettings settings, java.time.Clock clock) {
    try {
      ClickHouseServer clickhouse = ClickHouseServer.shared();
      KubernetesApi api = KubernetesApi.start();
      HousekeeperOperator operator = new HousekeeperOperator(operatorClient(api, null), settings, clock).start();
      return new OperatorHarness(api, operator, clickhouse, settings, clock, null, null);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * With Housekeeper's kinds served by a real apiextensions-apiserver of its own (its own etcd) behind
   * an {@link ApiRouter}, the rest (Secrets, Events, Leases, namespaces) by the mock, as the local run's
   * real-API mode: {@link #client()} and the operator talk to the router. {@code operatorRunning}
   * false: no operator yet ({@link #startOperator()}).
   */
  public static OperatorHarness startOnRealApi(OperatorSettings settings, boolean operatorRunning) {
    KubernetesApi api = null;
    RealKubernetesApi real = null;
    try {
      api = KubernetesApi.start();
      real = RealKubernetesApi.startOwn().install(api.crds());
      ApiRouter router = new ApiRouter(api.url(), real);
      HousekeeperOperator operator = operatorRunning
          ? new HousekeeperOperator(operatorClient(api, router), settings, java.time.Clock.systemUTC()).start() : null;
      return new OperatorHarness(api, operator, ClickHouseServer.shared(), settings, java.time.Clock.systemUTC(), real,
          router);
    } catch (IOException | RuntimeException e) {
      if (real != null) {
        real.close();
      }
      if (api != null) {
        api.close();
      }
      throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
    }
  }

  public KubernetesClient client() {
    return routedClient != null ? routedClient : api.client();
  }

  public KubernetesApi api() {
    return api;
  }

  public HousekeeperOperator operator() {
    return operator;
  }

  public ClickHouseServer clickhouse() {
    return clickhouse;
  }

  public void namespace(String name) {
    client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .createOr(op -> op.update());
  }

  /** Creates or replaces a Secret with string data, labelled for Housekeeper's use (Secrets.ALLOW_LABEL). */
  public Secret secret(String namespace, String name, Map<String, String> data) {
    return secret(namespace, name, data, true);
  }

  /** Creates or replaces a Secret with string data; {@code allowed}: whether it carries the opt-in label. */
  public Secret secret(String namespace, String name, Map<String, String> data, boolean allowed) {
    Secret s = new SecretBuilder().withNewMetadata().withName(name).withNamespace(namespace)
        .withLabels(allowed ? Map.of(dev.housekeeper.common.Secrets.ALLOW_LABEL, "true") : Map.of()).endMetadata()
        .withStringData(data).build();
    // The mock does not turn stringData into data; do it as the API server would.
    s.setData(data.entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey,
        e -> java.util.Base64.getEncoder().encodeToString(e.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8)))));
    s.setStringData(null);
    return client().secrets().inNamespace(namespace).resource(s).createOr(op -> op.update());
  }

  /** The Secret holding the test ClickHouse user's credentials. */
  public Secret clickhouseSecret(String namespace, String name) {
    return secret(namespace, name, Map.of("username", ClickHouseServer.USER, "password", ClickHouseServer.PASSWORD));
  }

  /** Events recorded on a resource. */
  public List<Event> events(HasMetadata resource) {
    return client().v1().events().inNamespace(resource.getMetadata().getNamespace()).list().getItems().stream()
        .filter(e -> e.getInvolvedObject() != null
            && resource.getMetadata().getName().equals(e.getInvolvedObject().getName())
            && resource.getKind().equals(e.getInvolvedObject().getKind()))
        .toList();
  }

  /** GET on the operator's probe port ({@code /healthz}, {@code /readyz}) or its metrics port (the rest). */
  public HttpResponse<String> http(String path) {
    int port = path.equals("/healthz") || path.equals("/readyz") ? operator.probePort() : operator.httpPort();
    try {
      return HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    try {
      stopOperator();
    } finally {
      if (router != null) {
        routedClient.close();
        router.close();
        real.close();
      }
      api.close();
    }
  }
}
