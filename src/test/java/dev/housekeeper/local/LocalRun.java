package dev.housekeeper.local;

import dev.housekeeper.operator.HousekeeperOperator;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ApiRouter;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.KubernetesApi;
import dev.housekeeper.testing.RealKubernetesApi;
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
 * <p>Settings (environment): HK_LOCAL_DIR (.local), HK_API_PORT (16443), HK_HTTP_PORT (8080, /metrics),
 * HK_PROBE_PORT (8081, /healthz and /readyz), HK_CLICKHOUSE_HTTP_PORT (18123), HK_CLICKHOUSE_TCP_PORT (19000).
 * Arguments: {@code --once} stops after printing the status; {@code --real-api} serves Housekeeper's
 * kinds from the real apiextensions-apiserver (building it first if it is not cached), {@code --mock-api}
 * from the mock; without either, the real server when its build is cached.
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
  private final dev.housekeeper.testing.S3Server s3;
  /** The real API server and the router in front of it and the mock; null on the mock alone. */
  private final RealKubernetesApi real;
  private final ApiRouter router;
  /** The API users and the operator talk to: the router's, or the mock's. */
  private final String apiUrl;
  private final KubernetesClient client;
  private final dev.housekeeper.testing.PostgresServer postgres;
  /** The PostgreSQL the BionicPRO marts name (examples/bionicpro); the local run starts one and loads its data. */
  public static final String EXAMPLE_POSTGRES = "postgres:5432";
  /** The S3 endpoint the backup examples name; the local run points it at an embedded s3rver. */
  public static final String EXAMPLE_S3 = "minio:9000";
  /** The Secret holding the examples' S3 keys; the local run sets the embedded server's keys in it. */
  public static final String EXAMPLE_S3_SECRET = "backup-s3-credentials";

  /** On the embedded API alone (fabric8's mock). */
  public LocalRun(Path dir, int apiPort, int httpPort, int probePort, int chHttpPort, int chTcpPort) throws Exception {
    this(dir, apiPort, httpPort, probePort, chHttpPort, chTcpPort, false);
  }

  /**
   * With {@code realApi}, Housekeeper's kinds (and the CRDs and the OpenAPI documents) are served by a
   * real apiextensions-apiserver of its own ({@link RealKubernetesApi#startOwn()}: built on first use,
   * about 5 minutes, then cached) behind an {@link ApiRouter} on {@code apiPort}, the rest (Secrets,
   * Events, Leases, namespaces) by the mock: schema validation, defaults and {@code kubectl explain}
   * work as in a cluster. See docs/local-run.md.
   */
  public LocalRun(Path dir, int apiPort, int httpPort, int probePort, int chHttpPort, int chTcpPort, boolean realApi)
      throws Exception {
    this.dir = dir;
    Files.createDirectories(dir);
    clickhouse = new ClickHouseServer(dir.resolve("clickhouse"), chHttpPort, chTcpPort, EXAMPLE_USER,
        EXAMPLE_PASSWORD);
    clickhouse.start();
    kubeconfig = dir.resolve("kubeconfig");
    if (realApi) {
      api = KubernetesApi.start(0);
      real = RealKubernetesApi.startOwn().install(api.crds());
      router = new ApiRouter(api.url(), real, apiPort);
      apiUrl = router.url();
    } else {
      api = KubernetesApi.start(apiPort);
      real = null;
      router = null;
      apiUrl = api.url();
    }
    client = realApi ? router.client("housekeeper-local", NAMESPACE) : api.client();
    api.writeKubeconfig(kubeconfig, "housekeeper-local", NAMESPACE, apiUrl);
    Map<String, String> aliases = new java.util.HashMap<>(Map.of("clickhouse:8123", "127.0.0.1:"
        + clickhouse.httpPort()));
    if (Files.exists(dev.housekeeper.testing.ChdbEngine.TOOL.resolve("node_modules/s3rver"))) {
      s3 = new dev.housekeeper.testing.S3Server("backups").start();
      aliases.put(EXAMPLE_S3, s3.endpoint().substring("http://".length()));
    } else {
      s3 = null; // npm install --prefix tools/chdb installs it
    }
    if (dev.housekeeper.testing.PostgresServer.installed()) {
      postgres = startPostgres();
      aliases.put(EXAMPLE_POSTGRES, "127.0.0.1:" + postgres.port());
    } else {
      postgres = null; // bin/setup-debian installs it
    }
    // the examples back up to S3; volume roots, if wanted, come from the environment as in a pod
    OperatorSettings settings = OperatorSettings.fromEnvironment(Map.of())
        .withHttpPort(httpPort)
        .withProbePort(probePort)
        .withHostAliases(aliases)
        .withVolumeRoots(dev.housekeeper.backup.storage.VolumeRoots.parse(
            System.getenv().getOrDefault("HOUSEKEEPER_VOLUME_ROOTS", ""),
            System.getenv().getOrDefault("HOUSEKEEPER_SHARED_VOLUME_ROOTS", "")));
    operator = new HousekeeperOperator(realApi ? router.client("housekeeper-local", NAMESPACE) : api.server().createClient(),
        settings).start();
    api.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata()
        .build()).createOr(NonDeletingOperation::update);
  }

  /**
   * PostgreSQL with the BionicPRO schema and generated data (examples/bionicpro), and the examples'
   * read-only user (reports_reader / change-me, as in the example's Secret).
   */
  private static dev.housekeeper.testing.PostgresServer startPostgres() throws Exception {
    var pg = new dev.housekeeper.testing.PostgresServer().start();
    Path bionicpro = Path.of(System.getProperty("housekeeper.projectDir", ".")).resolve("examples/bionicpro");
    pg.sql(Files.readString(bionicpro.resolve("postgres-schema.sql")));
    pg.sql(Files.readString(bionicpro.resolve("generate.sql")));
    pg.sql("CREATE ROLE reports_reader LOGIN PASSWORD 'change-me';"
        + " GRANT USAGE ON SCHEMA crm, telemetry TO reports_reader;"
        + " GRANT SELECT ON ALL TABLES IN SCHEMA crm, telemetry TO reports_reader;");
    return pg;
  }

  public dev.housekeeper.testing.PostgresServer postgres() {
    return postgres;
  }

  /** A client of the API kubectl sees (through the router when the real server is used). */
  public KubernetesClient client() {
    return client;
  }

  /** Whether the real apiextensions-apiserver serves Housekeeper's kinds. */
  public boolean realApi() {
    return real != null;
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

  /**
   * Applies every YAML file of a folder and its subfolders (the Argo CD Application aside: it is
   * Argo CD's kind) to the default namespace: first everything but backups, restores, marts and
   * retention policies; once the migrations are applied (they create the tables those name), the
   * sample data ({@link #SAMPLE_DATA}, when the folder has it), then the rest, so that each shows real
   * rows from its first run.
   */
  public List<HasMetadata> apply(Path examples) throws Exception {
    List<HasMetadata> items = new ArrayList<>();
    for (Path file : exampleFiles(examples)) {
      if (postgres == null && examples.relativize(file).startsWith("bionicpro")) {
        continue; // its marts read PostgreSQL
      }
      try (InputStream in = Files.newInputStream(file)) {
        items.addAll(client.load(in).items());
      }
    }
    List<String> later = List.of("ClickHouseBackup", "ClickHouseRestore", "ReportMart", "RetentionPolicy");
    List<HasMetadata> applied = new ArrayList<>();
    for (HasMetadata item : items) {
      if (!later.contains(item.getKind())) {
        applied.add(applyOne(item));
      }
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline && statusTable().stream()
        .anyMatch(r -> "ClickHouseMigration".equals(r[0]) && !"True".equals(r[3]))) {
      Thread.sleep(250);
    }
    Path sample = examples.resolve(SAMPLE_DATA);
    if (Files.exists(sample)) {
      loadSampleData(sample);
    }
    for (HasMetadata item : items) {
      if (later.contains(item.getKind())) {
        applied.add(applyOne(item));
      }
    }
    return applied;
  }

  /** The sample page views (examples/sample-data/page-views.sql), relative to examples/. */
  public static final String SAMPLE_DATA = "sample-data/page-views.sql";

  /**
   * Loads the sample page views into default.page_views and its rollup, generated on the server
   * (INSERT ... SELECT FROM numbers(...)), unless page_views has rows already (a local run started
   * again on its data folder). Needs the tables of examples/clickhouse-migration.yaml. Returns the
   * rows of page_views afterwards.
   */
  public long loadSampleData(Path sql) throws java.io.IOException {
    long rows = clickhouse.sqlLong("SELECT count() FROM default.page_views");
    if (rows > 0) {
      System.out.printf("Sample data: default.page_views has %,d rows already; not loaded again.%n", rows);
      return rows;
    }
    long t0 = System.nanoTime();
    clickhouse.sql(Files.readString(sql));
    long millis = (System.nanoTime() - t0) / 1_000_000;
    rows = clickhouse.sqlLong("SELECT count() FROM default.page_views");
    sampleLoadMillis = millis;
    System.out.printf("Sample data: %,d page views in %s partitions (%s) loaded in %,d ms.%n", rows,
        clickhouse.sql("SELECT uniqExact(partition) FROM system.parts WHERE active AND database = 'default'"
            + " AND table = 'page_views'"),
        clickhouse.sql("SELECT formatReadableSize(sum(bytes_on_disk)) FROM system.parts WHERE active"
            + " AND database = 'default' AND table = 'page_views'"), millis);
    return rows;
  }

  private volatile long sampleLoadMillis = -1;

  /** How long the last {@link #loadSampleData} took to generate its rows (-1: it loaded nothing). */
  public long sampleLoadMillis() {
    return sampleLoadMillis;
  }

  /** The example manifests: *.yaml of examples/ and its subfolders, but not examples/argocd (Argo CD's kinds). */
  public static List<Path> exampleFiles(Path examples) throws java.io.IOException {
    try (Stream<Path> files = Files.walk(examples)) {
      return files.filter(f -> f.toString().endsWith(".yaml"))
          .filter(f -> !examples.relativize(f).startsWith("argocd")).sorted().toList();
    }
  }

  private HasMetadata applyOne(HasMetadata item) {
    item.getMetadata().setNamespace(NAMESPACE);
    if (s3 != null && item instanceof io.fabric8.kubernetes.api.model.Secret secret
        && EXAMPLE_S3_SECRET.equals(secret.getMetadata().getName())) {
      useEmbeddedS3Keys(secret);
    }
    return client.resource(item).inNamespace(NAMESPACE).createOr(NonDeletingOperation::update);
  }

  /** The embedded S3 server accepts only its own keys: they replace the example's placeholders. */
  public static void useEmbeddedS3Keys(io.fabric8.kubernetes.api.model.Secret secret) {
    secret.setStringData(null);
    secret.setData(Map.of(
        "AWS_ACCESS_KEY_ID", java.util.Base64.getEncoder().encodeToString(
            dev.housekeeper.testing.S3Server.ACCESS_KEY.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
        "AWS_SECRET_ACCESS_KEY", java.util.Base64.getEncoder().encodeToString(
            dev.housekeeper.testing.S3Server.SECRET_KEY.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
  }

  public dev.housekeeper.testing.S3Server s3() {
    return s3;
  }

  /** Every Housekeeper resource, with its phase and Ready condition. */
  public List<String[]> statusTable() throws Exception {
    List<String[]> rows = new ArrayList<>();
    for (CustomResourceDefinition crd : api.crds()) {
      String kind = crd.getSpec().getNames().getKind();
      for (GenericKubernetesResource r : client.genericKubernetesResources("housekeeper.dev/v1alpha1", kind)
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
        && rows.stream().anyMatch(r -> r[3].isEmpty() || "Progressing".equals(r[2]) || "Running".equals(r[2]))) {
      Thread.sleep(250);
      rows = statusTable();
    }
    return rows;
  }

  static String format(List<String[]> rows) {
    StringBuilder out = new StringBuilder(String.format("%-22s %-34s %-9s %-6s %-22s %s%n", "KIND", "NAME", "PHASE",
        "READY", "REASON", "MESSAGE"));
    for (String[] r : rows) {
      out.append(String.format("%-22s %-34s %-9s %-6s %-22s %s%n", (Object[]) r));
    }
    return out.toString();
  }

  @Override
  public void close() {
    operator.close();
    operator.kubernetesClient().close();
    if (router != null) {
      client.close();
      router.close();
      real.close();
    }
    api.close();
    clickhouse.close();
    if (s3 != null) {
      s3.close();
    }
    if (postgres != null) {
      postgres.close();
    }
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
    // the real API server when asked for, or when its build is cached (then it starts in seconds); see docs/local-run.md
    boolean realApi = List.of(args).contains("--real-api")
        || (!List.of(args).contains("--mock-api") && RealKubernetesApi.cached());
    if (List.of(args).contains("--real-api") && !RealKubernetesApi.cached()) {
      System.out.println("Building the real Kubernetes API server (tools/kube-apiserver/build: about 5 minutes, once;"
          + " then cached)...");
    }
    LocalRun run = new LocalRun(dir, env("HK_API_PORT", 16443), env("HK_HTTP_PORT", 8080), env("HK_PROBE_PORT", 8081),
        env("HK_CLICKHOUSE_HTTP_PORT", 18123), env("HK_CLICKHOUSE_TCP_PORT", 19000), realApi);
    System.out.printf("%nHousekeeper is running locally (started in %d ms).%n", (System.nanoTime() - t0) / 1_000_000);
    System.out.printf("  ClickHouse %s   user %s, password %s (data in %s)%n", run.clickhouse.httpUrl(), EXAMPLE_USER,
        EXAMPLE_PASSWORD, run.clickhouse.dir());
    System.out.printf("  Kubernetes API  %s  %s%n", run.apiUrl, run.realApi()
        ? "Housekeeper's kinds on a real apiextensions-apiserver (schema validation, kubectl explain), the rest embedded"
        : "embedded (fabric8's mock: no schema validation or kubectl explain; bin/run-local --real-api for both)");
    System.out.printf("  S3 (s3rver)     %s%n", run.s3 == null ? "not installed: npm install --prefix tools/chdb"
        : run.s3.endpoint() + "  bucket backups, named " + EXAMPLE_S3 + " in the examples");
    System.out.printf("  PostgreSQL      %s%n", run.postgres == null ? "not installed: bin/setup-debian"
        : "127.0.0.1:" + run.postgres.port() + "  BionicPRO data, named " + EXAMPLE_POSTGRES + " in examples/bionicpro");
    System.out.printf("  Operator        http://127.0.0.1:%d/metrics  http://127.0.0.1:%d/healthz  /readyz%n",
        run.operator.httpPort(), run.operator.probePort());
    List<HasMetadata> applied = run.apply(project.resolve("examples"));
    System.out.printf("%nApplied %d objects from examples/. Status:%n%n", applied.size());
    System.out.println(format(run.awaitStatus(Duration.ofSeconds(60))));
    System.out.printf("Use kubectl against it:%n  export KUBECONFIG=%s%n  kubectl get housekeeper%n"
        + "  kubectl housekeeper status%n  kubectl apply%s -f examples/%n%n", run.kubeconfig.toAbsolutePath(),
        run.realApi() ? "" : " --validate=false");
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
