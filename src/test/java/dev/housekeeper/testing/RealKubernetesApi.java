package dev.housekeeper.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A real Kubernetes API server for custom resources in tests: k8s.io/apiextensions-apiserver (the
 * CRD half of kube-apiserver, Kubernetes 1.36) with its own etcd, both from Debian sid packages
 * built by {@code tools/kube-apiserver/build} (cached after the first build). It validates against
 * the structural schema, runs CEL rules, applies defaults, prunes unknown fields and serves
 * {@code /status}, as a cluster does; fabric8's mock ({@link KubernetesApi}) does none of that.
 *
 * <p>It serves only {@code apiextensions.k8s.io} and custom resources: no namespaces, Secrets,
 * Events or Leases. Custom resources can be created in any namespace name (the NamespaceLifecycle
 * admission plugin is off, there being no namespaces to look up).
 *
 * <p>Authentication and authorization are delegated, as an aggregated API server's are, to a
 * "core" API: here a small HTTP server in this JVM that approves every TokenReview (as the user
 * {@code admin} in {@code system:masters}) and every SubjectAccessReview, and answers the
 * server's informers with empty lists. One instance is shared by the JVM ({@link #shared()}) and
 * stopped by a shutdown hook; its processes are also stopped by the reaper if the JVM is killed.
 */
public final class RealKubernetesApi {

  private static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", "."));
  private static final Path BUILD = PROJECT.resolve("tools/kube-apiserver/build");
  private static final ObjectMapper JSON = new ObjectMapper();
  /** What the delegated authentication makes of any bearer token. */
  public static final String USER = "admin";

  private static RealKubernetesApi shared;
  /** Why the shared server could not be had: every later caller gets the same answer without building again. */
  private static RuntimeException failure;

  private final Path dir;
  private final Path binaries;
  private final String versions;
  private final Duration buildTime;
  private HttpServer core;
  private ExecutorService coreThreads;
  private final AtomicInteger tokenReviews = new AtomicInteger();
  private final AtomicInteger accessReviews = new AtomicInteger();
  private Process etcd;
  private Process apiserver;
  private int securePort;
  private String caPem;
  private KubernetesClient client;
  private Duration startTime;

  /** The server shared by every test of this JVM, built or found in the cache and started on first use. */
  public static synchronized RealKubernetesApi shared() {
    if (failure != null) {
      throw new IllegalStateException(failure.getMessage(), failure);
    }
    if (shared == null) {
      try {
        RealKubernetesApi api = new RealKubernetesApi();
        try {
          api.start();
        } catch (RuntimeException e) {
          api.stop(false); // the logs stay, for the message's "see ..."
          throw e;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> api.stop(true)));
        shared = api;
      } catch (RuntimeException e) {
        failure = e;
        throw e;
      }
    }
    return shared;
  }

  /**
   * A server of its own (its own etcd, so nothing of another user's), built or found in the cache;
   * the caller stops it with {@link #close()}. The local run uses one.
   */
  public static RealKubernetesApi startOwn() {
    RealKubernetesApi api = new RealKubernetesApi();
    try {
      api.start();
    } catch (RuntimeException e) {
      api.stop(false);
      throw e;
    }
    return api;
  }

  /** Stops a server of {@link #startOwn()} and deletes its folder. */
  public void close() {
    stop(true);
  }

  /**
   * Whether {@code tools/kube-apiserver/build} has a complete build in its cache (so that it answers
   * in well under a second, without the network): {@code ${HK_CACHE:-$HOME/.cache/housekeeper}/
   * kube-apiserver/<versions>/} with both binaries and versions.txt.
   */
  public static boolean cached() {
    String cache = System.getenv("HK_CACHE");
    Path base = (cache == null || cache.isBlank() ? Path.of(System.getProperty("user.home"), ".cache", "housekeeper")
        : Path.of(cache)).resolve("kube-apiserver");
    try (var dirs = Files.list(base)) {
      return dirs.anyMatch(d -> Files.isExecutable(d.resolve("apiextensions-apiserver"))
          && Files.isExecutable(d.resolve("etcd")) && Files.isRegularFile(d.resolve("versions.txt")));
    } catch (IOException e) {
      return false; // no cache folder yet
    }
  }

  private RealKubernetesApi() {
    try {
      dir = Files.createTempDirectory("hk-kube-api-");
    } catch (IOException e) {
      throw new IllegalStateException("cannot create a temporary folder", e);
    }
    long t0 = System.nanoTime();
    List<String> out = build(dir);
    buildTime = Duration.ofNanos(System.nanoTime() - t0);
    binaries = Path.of(out.get(out.size() - 1));
    versions = String.join("\n", out.subList(0, out.size() - 1));
  }

  /**
   * Runs {@code tools/kube-apiserver/build} (seconds when cached, about 5 minutes the first time)
   * and returns its output lines: the versions, then the folder of the binaries. A failed build
   * throws with the script's one-line reason.
   */
  private static List<String> build(Path dir) {
    Path stdout = dir.resolve("build.out");
    Path stderr = dir.resolve("build.err");
    System.out.println("RealKubernetesApi: running tools/kube-apiserver/build (seconds when cached, about 5 minutes"
        + " the first time; progress in " + stderr + ")");
    try {
      Process p = TestProcesses.start(new ProcessBuilder(BUILD.toAbsolutePath().toString())
          .directory(PROJECT.toFile())
          .redirectOutput(stdout.toFile())
          .redirectError(stderr.toFile()));
      boolean done = p.waitFor(30, TimeUnit.MINUTES);
      if (!done) {
        TestProcesses.stop(p, true, Duration.ofSeconds(5));
        throw new IllegalStateException(BUILD + " did not finish within 30 minutes; see " + stderr);
      }
      TestProcesses.forget(p.pid());
      List<String> err = Files.readAllLines(stderr);
      if (p.exitValue() != 0) {
        String reason = err.stream().filter(l -> l.startsWith("tools/kube-apiserver/build: ")).reduce((a, b) -> b)
            .orElse(err.isEmpty() ? "exit " + p.exitValue() : err.get(err.size() - 1));
        throw new IllegalStateException("no real Kubernetes API server: " + reason);
      }
      List<String> out = Files.readAllLines(stdout).stream().filter(l -> !l.isBlank()).toList();
      if (out.isEmpty() || !Files.isExecutable(Path.of(out.get(out.size() - 1), "apiextensions-apiserver"))) {
        throw new IllegalStateException("no real Kubernetes API server: " + BUILD + " printed no folder with the"
            + " binaries: " + out);
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException("no real Kubernetes API server: cannot run " + BUILD + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while building the Kubernetes API server", e);
    }
  }

  private void start() {
    long t0 = System.nanoTime();
    try {
      caPem = servingCertificate();
      startCore();
      for (int attempt = 1; ; attempt++) {
        try {
          startEtcd();
          startApiserver();
          break;
        } catch (PortTakenException e) {
          stopProcesses();
          if (attempt == 5) {
            throw e;
          }
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot start the real Kubernetes API server: " + e.getMessage(), e);
    }
    Config config = new ConfigBuilder(Config.empty())
        .withMasterUrl(url())
        .withCaCertData(Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.US_ASCII)))
        .withOauthToken(USER)
        .withNamespace("default")
        .withRequestTimeout(30_000)
        .build();
    client = new KubernetesClientBuilder().withConfig(config).build();
    startTime = Duration.ofNanos(System.nanoTime() - t0);
  }

  /** A self-signed certificate for 127.0.0.1 and localhost (openssl); returns it as PEM. */
  private String servingCertificate() throws IOException {
    Path key = dir.resolve("serving.key");
    Path cert = dir.resolve("serving.crt");
    run(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7", "-subj",
        "/CN=housekeeper-test-apiserver", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", key.toString(), "-out", cert.toString()));
    return Files.readString(cert);
  }

  private void run(List<String> command) throws IOException {
    Path log = dir.resolve("openssl.log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException(String.join(" ", command) + " failed: " + Files.readString(log).strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** The delegated "core" API: approves every review, and lists nothing. */
  private void startCore() throws IOException {
    core = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), TestPorts.take()), 50);
    coreThreads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "kube-core-stub");
      t.setDaemon(true);
      return t;
    });
    core.setExecutor(coreThreads);
    core.createContext("/", this::coreRequest);
    core.start();
    String kubeconfig = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: core
          cluster:
            server: http://127.0.0.1:%d
        contexts:
        - name: core
          context:
            cluster: core
            user: core
        current-context: core
        users:
        - name: core
          user:
            token: core
        """.formatted(core.getAddress().getPort());
    Files.writeString(dir.resolve("core.kubeconfig"), kubeconfig);
  }

  private void coreRequest(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      String query = String.valueOf(exchange.getRequestURI().getQuery());
      if ("POST".equals(exchange.getRequestMethod())) {
        ObjectNode review = (ObjectNode) JSON.readTree(exchange.getRequestBody());
        ObjectNode status = review.putObject("status");
        if (path.endsWith("/tokenreviews")) {
          tokenReviews.incrementAndGet();
          status.put("authenticated", true);
          ObjectNode user = status.putObject("user");
          user.put("username", USER);
          user.putArray("groups").add("system:masters").add("system:authenticated");
        } else if (path.endsWith("/subjectaccessreviews")) {
          accessReviews.incrementAndGet();
          status.put("allowed", true);
          status.put("reason", "the test API approves everything");
        } else {
          respond(exchange, 404, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":404}");
          return;
        }
        respond(exchange, 201, JSON.writeValueAsString(review));
      } else if (query.contains("watch=true") || query.contains("watch=1")) {
        // an informer's watch: the end of the (empty) initial list when asked for it, then nothing until it times out
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        if (query.contains("sendInitialEvents=true")) {
          String[] type = typeOf(path);
          out.write(("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"" + type[1] + "\",\"apiVersion\":\"" + type[0]
              + "\",\"metadata\":{\"resourceVersion\":\"1\",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}\n")
              .getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
        try {
          Thread.sleep(Duration.ofMinutes(5).toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      } else {
        String[] type = typeOf(path);
        respond(exchange, 200, "{\"kind\":\"" + type[1] + "List\",\"apiVersion\":\"" + type[0]
            + "\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}");
      }
    } catch (IOException e) {
      // the apiserver hung up (a watch it gave up, or it stopped)
    }
  }

  /**
   * The apiVersion and kind a core API path lists ({@code /api/v1/services}: v1, Service), as the
   * informer's decoder expects them.
   */
  static String[] typeOf(String path) {
    String[] parts = path.replaceAll("^/+|/+$", "").split("/");
    boolean core = parts[0].equals("api");
    String apiVersion = core ? parts[1] : parts[1] + "/" + parts[2];
    String plural = parts[parts.length - 1];
    String kind = switch (plural) {
      case "services" -> "Service";
      case "namespaces" -> "Namespace";
      case "flowschemas" -> "FlowSchema";
      case "prioritylevelconfigurations" -> "PriorityLevelConfiguration";
      default -> Character.toUpperCase(plural.charAt(0)) + plural.substring(1).replaceAll("s$", "");
    };
    return new String[] {apiVersion, kind};
  }

  private static void respond(HttpExchange exchange, int code, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(code, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  private int etcdPort;

  private void startEtcd() throws IOException {
    etcdPort = TestPorts.take();
    int peerPort = TestPorts.take();
    Path data = dir.resolve("etcd");
    TempDirs.delete(data);
    String client = "http://127.0.0.1:" + etcdPort;
    String peer = "http://127.0.0.1:" + peerPort;
    Path log = dir.resolve("etcd.log");
    etcd = TestProcesses.start(new ProcessBuilder(binaries.resolve("etcd").toString(),
        "--name", "test", "--data-dir", data.toString(),
        "--listen-client-urls", client, "--advertise-client-urls", client,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "test=" + peer,
        "--unsafe-no-fsync", "--log-level", "warn")
        .directory(dir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile()));
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    waitFor("etcd", etcd, log, Duration.ofSeconds(30), () -> {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(client + "/health"))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 && r.body().contains("true");
    });
  }

  private void startApiserver() throws IOException {
    securePort = TestPorts.take();
    Path log = dir.resolve("apiserver.log");
    Path kubeconfig = dir.resolve("core.kubeconfig");
    apiserver = TestProcesses.start(new ProcessBuilder(binaries.resolve("apiextensions-apiserver").toString(),
        "--etcd-servers", "http://127.0.0.1:" + etcdPort,
        "--bind-address", "127.0.0.1", "--secure-port", String.valueOf(securePort),
        "--tls-cert-file", dir.resolve("serving.crt").toString(),
        "--tls-private-key-file", dir.resolve("serving.key").toString(),
        "--kubeconfig", kubeconfig.toString(),
        "--authentication-kubeconfig", kubeconfig.toString(),
        "--authorization-kubeconfig", kubeconfig.toString(),
        // no extension-apiserver-authentication ConfigMap to read: the core stub serves none
        "--authentication-skip-lookup",
        // APF reads FlowSchemas from the core API, which has none
        "--enable-priority-and-fairness=false",
        // these plugins read namespaces and admission policies from the core API
        "--disable-admission-plugins", "NamespaceLifecycle,MutatingAdmissionPolicy,MutatingAdmissionWebhook,"
            + "ValidatingAdmissionPolicy,ValidatingAdmissionWebhook",
        "--profiling=false")
        .directory(dir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile()));
    HttpClient https = httpsClient();
    waitFor("apiextensions-apiserver", apiserver, log, Duration.ofSeconds(90), () -> https.send(
        HttpRequest.newBuilder(URI.create(url() + "/readyz")).timeout(Duration.ofSeconds(2)).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
  }

  /** An HTTPS client that trusts the serving certificate, for raw requests (no authentication). */
  public HttpClient httpsClient() {
    try {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      trust.setCertificateEntry("apiserver", CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(caPem.getBytes(StandardCharsets.US_ASCII))));
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      // HTTP/1.1: the JDK client gets GOAWAY from the Go server's HTTP/2 on a connection made before it was ready
      return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(ssl)
          .connectTimeout(Duration.ofSeconds(2)).build();
    } catch (Exception e) {
      throw new IllegalStateException("cannot trust the serving certificate", e);
    }
  }

  private interface Probe {
    boolean ok() throws Exception;
  }

  private void waitFor(String what, Process process, Path log, Duration timeout, Probe probe) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception probeError = null;
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        TestProcesses.forget(process.pid());
        String tail = tail(log, 15);
        if (tail.contains("address already in use")) {
          throw new PortTakenException(what + " could not bind its port: " + lastLine(tail));
        }
        throw new IllegalStateException(what + " exited with " + process.exitValue() + ": " + lastLine(tail)
            + "\n(see " + log + ")\n" + tail);
      }
      try {
        if (probe.ok()) {
          return;
        }
      } catch (Exception e) {
        probeError = e; // not listening yet
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    throw new IllegalStateException(what + " was not ready within " + timeout.toSeconds() + " s"
        + (probeError == null ? "" : " (last probe: " + probeError + ")") + "; see " + log + "\n" + tail(log, 15));
  }

  private static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static String lastLine(String text) {
    String[] lines = text.strip().split("\n");
    return lines[lines.length - 1];
  }

  /** A port was taken between {@link TestPorts#take()} and the bind: start again on other ports. */
  static final class PortTakenException extends IllegalStateException {
    PortTakenException(String message) {
      super(message);
    }
  }

  /** A client for the server, authenticated as {@link #USER}, default namespace {@code default}. */
  public KubernetesClient client() {
    return client;
  }

  /** Creates or updates the CRDs and waits until each is Established (at most 60 s each). */
  public RealKubernetesApi install(List<io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition> crds) {
    for (var crd : crds) {
      client.apiextensions().v1().customResourceDefinitions().resource(crd).forceConflicts().serverSideApply();
    }
    for (var crd : crds) {
      client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
          .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions().stream()
              .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())), 60, TimeUnit.SECONDS);
    }
    return this;
  }

  /** The server's base URL (https). */
  public String url() {
    return "https://127.0.0.1:" + securePort;
  }

  /** The serving certificate (self-signed, PEM), to trust. */
  public String caPem() {
    return caPem;
  }

  /** The versions the build used (apiextensions-apiserver, etcd, Go, the mirror and date). */
  public String versions() {
    return versions;
  }

  /** How long the build script took in this JVM (seconds when cached). */
  public Duration buildTime() {
    return buildTime;
  }

  /** How long it took to start etcd and the API server until /readyz answered. */
  public Duration startTime() {
    return startTime;
  }

  /** The folder holding the logs (etcd.log, apiserver.log) and data of this instance. */
  public Path dir() {
    return dir;
  }

  /** TokenReviews and SubjectAccessReviews the delegated core API approved. */
  public int reviews() {
    return tokenReviews.get() + accessReviews.get();
  }

  /** Writes a kubeconfig for this server (for kubectl); returns {@code file}. */
  public Path writeKubeconfig(Path file) throws IOException {
    return Files.writeString(file, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: real
          cluster:
            server: %s
            certificate-authority-data: %s
        contexts:
        - name: real
          context:
            cluster: real
            user: real
            namespace: default
        current-context: real
        users:
        - name: real
          user:
            token: %s
        """.formatted(url(), Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.US_ASCII)), USER));
  }

  /** Reads a JSON document from the server with the client's credentials (for discovery and raw checks). */
  public JsonNode getJson(String path) {
    return getJson(path, "application/json");
  }

  /** The same with another Accept header (a Table: {@code application/json;as=Table;v=v1;g=meta.k8s.io}). */
  public JsonNode getJson(String path, String accept) {
    try {
      HttpResponse<String> r = httpsClient().send(HttpRequest.newBuilder(URI.create(url() + path))
          .header("Authorization", "Bearer " + USER).header("Accept", accept).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new IllegalStateException("GET " + path + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private void stopProcesses() {
    if (apiserver != null) {
      TestProcesses.stop(apiserver, false, Duration.ofSeconds(10));
      apiserver = null;
    }
    if (etcd != null) {
      TestProcesses.stop(etcd, false, Duration.ofSeconds(10));
      etcd = null;
    }
  }

  private synchronized void stop(boolean deleteFolder) {
    if (client != null) {
      client.close();
    }
    stopProcesses();
    if (core != null) {
      core.stop(0);
      coreThreads.shutdownNow();
    }
    if (deleteFolder) {
      TempDirs.delete(dir);
    }
  }

  @Override
  public String toString() {
    return "apiextensions-apiserver at " + url() + " (" + versions.lines().findFirst().orElse("") + ")";
  }
}
