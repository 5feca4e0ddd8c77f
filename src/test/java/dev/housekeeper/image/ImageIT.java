package dev.housekeeper.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.housekeeper.deploy.HelmChart;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.KubernetesApi;
import dev.housekeeper.testing.TestPorts;
import dev.housekeeper.testing.TestProcesses;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The operator's image as {@code bin/build-image} builds it, from this build's classes and jars: its
 * archive is a valid OCI layout, its layers are unpacked in order into a root filesystem, and its
 * configured entrypoint runs there (tools/image/run-rootfs: own mount and PID namespaces, chroot, the
 * image's user, a read-only root with /tmp on a tmpfs, as the chart runs it) against the mock API and
 * the test ClickHouse, until /readyz answers, a ClickHouseConnection is Ready and a migration has
 * created its table.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ImageIT {

  static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", ".")).toAbsolutePath();
  static final Path IMAGE = PROJECT.resolve("target/image");
  static final ObjectMapper JSON = new ObjectMapper();
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final String NS = "image";

  static Path dir;
  static Path layout;
  static Path rootfs;
  static String reference;
  static JsonNode manifest;
  static JsonNode config;
  static Duration buildTime;

  @BeforeAll
  static void buildAndUnpack() throws Exception {
    dir = Files.createTempDirectory("hk-image-it-");
    Path log = dir.resolve("build.log");
    ProcessBuilder build = new ProcessBuilder(PROJECT.resolve("bin/build-image").toString(), "--no-maven")
        .directory(PROJECT.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
    // the training API runs on this test run's classpath: the build's classes, test classes and jars
    build.environment().put("HK_TRAINING_CLASSPATH",
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    long start = System.nanoTime();
    Process p = TestProcesses.start(build);
    assertThat(p.waitFor(15, TimeUnit.MINUTES)).as("bin/build-image finished").isTrue();
    buildTime = Duration.ofNanos(System.nanoTime() - start);
    List<String> lines = Files.readAllLines(log);
    assertThat(p.exitValue()).as("bin/build-image: %s", String.join("\n", lines)).isZero();
    reference = lines.get(lines.size() - 1);
    System.out.printf("[image] built in %.1f s: %s%n", buildTime.toMillis() / 1000.0, reference);
    lines.stream().filter(l -> l.startsWith("build-image:")).forEach(l -> System.out.println("[image] " + l));

    layout = dir.resolve("layout");
    Files.createDirectories(layout);
    Path archive = IMAGE.resolve("housekeeper-" + chartAppVersion() + ".tar");
    run(List.of("tar", "-xf", archive.toString(), "-C", layout.toString()));
    JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
    manifest = JSON.readTree(blob(index.at("/manifests/0/digest").asText()));
    config = JSON.readTree(blob(manifest.at("/config/digest").asText()));

    // the layers in the manifest's order, as a container runtime unpacks them
    rootfs = dir.resolve("rootfs");
    Files.createDirectories(rootfs);
    for (JsonNode layer : manifest.get("layers")) {
      run(List.of("tar", "-xzpf", blobPath(layer.get("digest").asText()).toString(), "-C", rootfs.toString()));
    }
    long bytes;
    try (Stream<Path> files = Files.walk(rootfs)) {
      bytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
    long compressed = 0;
    for (JsonNode layer : manifest.get("layers")) {
      compressed += layer.get("size").asLong();
    }
    System.out.printf("[image] %d layers, %.1f MB compressed, %.1f MB unpacked%n", manifest.get("layers").size(),
        compressed / 1e6, bytes / 1e6);
  }

  @AfterAll
  static void cleanUp() throws IOException {
    if (dir != null) {
      run(List.of("rm", "-rf", dir.toString()));
    }
  }

  @Test
  @Order(1)
  void theArchiveIsAnOciLayoutWhoseBlobsAreWhatTheirDigestsSay() throws Exception {
    assertThat(Files.readString(layout.resolve("oci-layout"))).contains("\"imageLayoutVersion\":\"1.0.0\"");
    JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
    String manifestDigest = index.at("/manifests/0/digest").asText();
    assertThat(reference).isEqualTo(Files.readString(IMAGE.resolve("name")).strip() + "@" + manifestDigest);
    assertThat(Files.readString(IMAGE.resolve("digest")).strip()).isEqualTo(manifestDigest);
    assertThat(index.at("/manifests/0/annotations/org.opencontainers.image.ref.name").asText())
        .isEqualTo(chartAppVersion());
    assertThat(manifest.get("mediaType").asText()).isEqualTo("application/vnd.oci.image.manifest.v1+json");

    // every blob: its name is the sha256 of its bytes, its size the one recorded
    assertDigest(manifestDigest, index.at("/manifests/0/size").asLong());
    assertDigest(manifest.at("/config/digest").asText(), manifest.at("/config/size").asLong());
    List<String> diffIds = new ArrayList<>();
    for (JsonNode layer : manifest.get("layers")) {
      assertThat(layer.get("mediaType").asText()).isEqualTo("application/vnd.oci.image.layer.v1.tar+gzip");
      assertDigest(layer.get("digest").asText(), layer.get("size").asLong());
      try (InputStream in = new GZIPInputStream(Files.newInputStream(blobPath(layer.get("digest").asText())))) {
        diffIds.add("sha256:" + sha256(in));
      }
    }
    assertThat(diffIds).as("rootfs.diff_ids: the digests of the uncompressed layers")
        .isEqualTo(JSON.convertValue(config.at("/rootfs/diff_ids"), List.class));
    assertThat(manifest.get("layers")).hasSize(5);

    // Docker's archive index beside it names the same config and layers, and the tag
    JsonNode docker = JSON.readTree(layout.resolve("manifest.json").toFile()).get(0);
    assertThat(docker.get("Config").asText()).isEqualTo(blobName(manifest.at("/config/digest").asText()));
    assertThat(docker.at("/RepoTags/0").asText()).isEqualTo(Files.readString(IMAGE.resolve("name")).strip());
    List<String> layers = new ArrayList<>();
    manifest.get("layers").forEach(l -> layers.add(blobName(l.get("digest").asText())));
    assertThat(JSON.convertValue(docker.get("Layers"), List.class)).isEqualTo(layers);
  }

  @Test
  @Order(2)
  void theConfigRunsTheOperatorAsANonRootUserWithoutAShell() throws Exception {
    JsonNode c = config.get("config");
    assertThat(c.get("User").asText()).isEqualTo("10001:10001");
    assertThat(Files.readString(rootfs.resolve("etc/passwd"))).contains("housekeeper:x:10001:10001:");
    List<String> entrypoint = JSON.convertValue(c.get("Entrypoint"), List.class);
    assertThat(entrypoint.get(0)).isEqualTo("/opt/java/bin/java");
    assertThat(Files.isExecutable(rootfs.resolve("opt/java/bin/java"))).isTrue();
    assertThat(entrypoint).contains("-XX:SharedArchiveFile=/app/housekeeper.jsa", "-jar", "/app/housekeeper.jar");
    assertThat(rootfs.resolve("app/housekeeper.jsa")).isRegularFile();
    assertThat(c.has("Cmd")).as("no Cmd: nothing for a shell to run").isFalse();
    for (String shell : List.of("bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/bash", "bin/dash", "usr/bin/dash",
        "bin/busybox", "usr/bin/env")) {
      assertThat(Files.exists(rootfs.resolve(shell), java.nio.file.LinkOption.NOFOLLOW_LINKS))
          .as("%s in the image", shell).isFalse();
    }
    // the operator's own default ports
    assertThat(iterable(c.get("ExposedPorts").fieldNames())).containsExactlyInAnyOrder("8080/tcp", "8081/tcp");
    JsonNode labels = c.get("Labels");
    assertThat(labels.get("org.opencontainers.image.version").asText()).isEqualTo(chartAppVersion());
    assertThat(labels.get("org.opencontainers.image.revision").asText()).isEqualTo(gitHead());
    assertThat(labels.get("org.opencontainers.image.source").asText())
        .isEqualTo(YAML.readTree(PROJECT.resolve("helm/housekeeper/Chart.yaml").toFile()).get("home").asText());
    assertThat(manifest.get("annotations")).as("the manifest's annotations are the labels").isEqualTo(labels);
    // the runtime has only the modules the operator needs
    String release = Files.readString(rootfs.resolve("opt/java/release"));
    assertThat(release).contains("java.base", "java.net.http", "java.sql").doesNotContain("jdk.compiler", "java.rmi");
    // the Debian packages it was made from, with their licences
    assertThat(Files.readString(rootfs.resolve("usr/share/doc/housekeeper/debian-packages.txt")))
        .contains("libc6 ", "zlib1g ");
    assertThat(rootfs.resolve("usr/share/doc/libc6/copyright")).isRegularFile();
  }

  @Test
  @Order(3)
  void theSbomListsEveryJarTheImageRuns() throws Exception {
    JsonNode bom = JSON.readTree(rootfs.resolve("app/sbom.cdx.json").toFile());
    assertThat(bom.get("bomFormat").asText()).isEqualTo("CycloneDX");
    Set<String> components = new TreeSet<>();
    for (JsonNode component : bom.get("components")) {
      components.add(component.get("name").asText() + "-" + component.get("version").asText());
    }
    List<String> jars;
    try (Stream<Path> files = Files.list(rootfs.resolve("app/lib"))) {
      jars = files.map(f -> f.getFileName().toString()).sorted().toList();
    }
    assertThat(jars).hasSizeGreaterThan(50);
    for (String jar : jars) {
      String stem = jar.substring(0, jar.length() - ".jar".length());
      assertThat(components.stream().anyMatch(stem::startsWith)).as("%s in the SBOM", jar).isTrue();
    }
    assertThat(bom.get("components")).hasSize(jars.size());
  }

  @Test
  @Order(4)
  void theChartAndTheBundleReferenceTheBuiltImage() throws Exception {
    String name = Files.readString(IMAGE.resolve("name")).strip();
    String digest = Files.readString(IMAGE.resolve("digest")).strip();
    assertThat(deploymentImage(HelmChart.render(Map.of()))).isEqualTo(name);
    assertThat(deploymentImage(HelmChart.render(Map.of("image.digest", digest))))
        .isEqualTo(name.substring(0, name.lastIndexOf(':')) + "@" + digest);
    JsonNode bundle = YAML.readTree(PROJECT.resolve("deploy/kubectl/30-deployment.yaml").toFile());
    assertThat(bundle.at("/spec/template/spec/containers/0/image").asText()).isEqualTo(name);
  }

  @Test
  @Order(5)
  void theEntrypointRunsInTheUnpackedImageAndTheOperatorDoesItsWork() throws Exception {
    ClickHouseServer clickhouse = ClickHouseServer.shared();
    clickhouse.sql("DROP DATABASE IF EXISTS image_it");
    clickhouse.sql("CREATE DATABASE image_it");
    try (KubernetesApi api = KubernetesApi.start()) {
      api.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
          .create();
      // the API's kubeconfig inside the image's filesystem (in a pod it is the service account)
      Path kubeconfig = rootfs.resolve("etc/housekeeper/kubeconfig");
      Files.createDirectories(kubeconfig.getParent());
      api.writeKubeconfig(kubeconfig, "image", null, api.url().replace("localhost", "127.0.0.1"));
      apply(api, """
          apiVersion: v1
          kind: Secret
          metadata: {name: ch-credentials, labels: {housekeeper.dev/allow: "true"}}
          data: {username: %s, password: %s}
          ---
          apiVersion: housekeeper.dev/v1alpha1
          kind: ClickHouseConnection
          metadata: {name: ch}
          spec:
            endpoints: [%s]
            database: image_it
            credentials: {secretName: ch-credentials}
          ---
          apiVersion: housekeeper.dev/v1alpha1
          kind: ClickHouseMigration
          metadata: {name: schema}
          spec:
            connectionRef: {name: ch}
            database: image_it
            migrations:
              - version: 1
                name: create_events
                up: CREATE TABLE events (d Date, n UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY n
          """.formatted(base64(ClickHouseServer.USER), base64(ClickHouseServer.PASSWORD),
          clickhouse.httpUrl().replace("localhost", "127.0.0.1")));

      try (Started operator = start(Map.of())) {
        System.out.printf("[image] start-up to /readyz from the image (class-data sharing on): %d ms%n",
            operator.readyAfter.toMillis());
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
          assertThat(condition(api, "ClickHouseConnection", "ch", "Ready")).isEqualTo("True");
          assertThat(condition(api, "ClickHouseMigration", "schema", "Ready")).isEqualTo("True");
        });
        assertThat(clickhouse.sql("SELECT count() FROM system.tables WHERE database = 'image_it' AND name = 'events'")
            .strip()).isEqualTo("1");
        assertThat(clickhouse.sql("SELECT max(version) FROM image_it.housekeeper_migrations").strip()).isEqualTo("1");
        assertThat(operator.stop()).as("the operator stops on SIGTERM").isIn(0, 143);
        String log = Files.readString(operator.log);
        assertThat(log).doesNotContain(ClickHouseServer.PASSWORD).doesNotContain("Exception in thread");
      }
    }
  }

  @Test
  @Order(6)
  void theClassDataSharingArchiveIsUsed() throws Exception {
    try (KubernetesApi api = KubernetesApi.start()) {
      Path kubeconfig = rootfs.resolve("etc/housekeeper/kubeconfig");
      api.writeKubeconfig(kubeconfig, "image", null, api.url().replace("localhost", "127.0.0.1"));
      long shared;
      long all;
      try (Started operator = start(Map.of("JAVA_TOOL_OPTIONS", "-Xlog:class+load=info:stdout"))) {
        operator.stop();
        List<String> loads = Files.readAllLines(operator.log).stream().filter(l -> l.contains("[class,load]")).toList();
        all = loads.size();
        shared = loads.stream().filter(l -> l.contains("source: shared objects file")).count();
        long operatorShared = loads.stream()
            .filter(l -> l.contains(" dev.housekeeper.") && l.contains("source: shared objects file")).count();
        System.out.printf("[image] classes loaded until /readyz: %d, of which from the archive %d (%.0f%%),"
            + " %d of them the operator's own%n", all, shared, 100.0 * shared / all, operatorShared);
        assertThat(operatorShared).as("the operator's classes come from the archive").isGreaterThan(50);
      }
      assertThat(shared).as("most classes come from the archive").isGreaterThan(all * 8 / 10);
      try (Started operator = start(Map.of("JAVA_TOOL_OPTIONS", "-Xshare:off"))) {
        System.out.printf("[image] start-up to /readyz from the image, class-data sharing off: %d ms%n",
            operator.readyAfter.toMillis());
        operator.stop();
      }
    }
  }

  /** The image's entrypoint, run as its configured user in the unpacked root, read-only. */
  static Started start(Map<String, String> extraEnvironment) throws Exception {
    int probePort = TestPorts.take();
    List<String> cmd = new ArrayList<>(List.of(PROJECT.resolve("tools/image/run-rootfs").toString(), "--read-only",
        rootfs.toString(), config.at("/config/User").asText().split(":")[0]));
    for (JsonNode env : config.at("/config/Env")) {
      cmd.add(env.asText());
    }
    cmd.addAll(List.of("KUBECONFIG=/etc/housekeeper/kubeconfig", "HTTP_PORT=" + TestPorts.take(),
        "PROBE_PORT=" + probePort, "WATCH_NAMESPACES=" + NS));
    extraEnvironment.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.add("--");
    config.at("/config/Entrypoint").forEach(a -> cmd.add(a.asText()));
    Path log = Files.createTempFile(dir, "operator-", ".log");
    long start = System.nanoTime();
    Process p = TestProcesses.start(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()));
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    HttpRequest readyz = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probePort + "/readyz"))
        .timeout(Duration.ofSeconds(2)).build();
    long deadline = start + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new AssertionError("the image's entrypoint exited " + p.exitValue() + ": " + Files.readString(log));
      }
      try {
        if (http.send(readyz, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return new Started(p, log, Duration.ofNanos(System.nanoTime() - start));
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(20);
    }
    p.destroyForcibly();
    throw new AssertionError("/readyz did not answer 200 within 90 s: " + Files.readString(log));
  }

  record Started(Process process, Path log, Duration readyAfter) implements AutoCloseable {
    /** SIGTERM, as the kubelet stops a container; the exit status. */
    int stop() throws InterruptedException {
      process.destroy();
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("stopped within 30 s of SIGTERM").isTrue();
      return process.exitValue();
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }

  static void apply(KubernetesApi api, String yaml) {
    for (HasMetadata item : api.client().load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)))
        .items()) {
      item.getMetadata().setNamespace(NS);
      api.client().resource(item).inNamespace(NS).createOr(NonDeletingOperation::update);
    }
  }

  static String condition(KubernetesApi api, String kind, String name, String type) {
    GenericKubernetesResource r = api.client().genericKubernetesResources("housekeeper.dev/v1alpha1", kind)
        .inNamespace(NS).withName(name).get();
    JsonNode status = JSON.valueToTree(r.getAdditionalProperties().get("status"));
    if (status == null || !status.has("conditions")) {
      return null;
    }
    for (JsonNode c : status.get("conditions")) {
      if (type.equals(c.get("type").asText())) {
        return c.get("status").asText();
      }
    }
    return null;
  }

  static String deploymentImage(List<JsonNode> documents) {
    return documents.stream().filter(d -> "Deployment".equals(d.path("kind").asText())).findFirst().orElseThrow()
        .at("/spec/template/spec/containers/0/image").asText();
  }

  static String chartAppVersion() throws IOException {
    return YAML.readTree(PROJECT.resolve("helm/housekeeper/Chart.yaml").toFile()).get("appVersion").asText();
  }

  static String gitHead() throws Exception {
    Process p = new ProcessBuilder("git", "rev-parse", "HEAD").directory(PROJECT.toFile()).start();
    String head = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    p.waitFor();
    return head;
  }

  static void assertDigest(String digest, long size) throws Exception {
    Path blob = blobPath(digest);
    assertThat(Files.size(blob)).as("size of %s", digest).isEqualTo(size);
    try (InputStream in = Files.newInputStream(blob)) {
      assertThat("sha256:" + sha256(in)).isEqualTo(digest);
    }
  }

  static String sha256(InputStream in) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    byte[] buffer = new byte[1 << 16];
    for (int n; (n = in.read(buffer)) > 0; ) {
      sha.update(buffer, 0, n);
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  static String blobName(String digest) {
    return "blobs/sha256/" + digest.substring("sha256:".length());
  }

  static Path blobPath(String digest) {
    return layout.resolve(blobName(digest));
  }

  static byte[] blob(String digest) throws IOException {
    return Files.readAllBytes(blobPath(digest));
  }

  static String base64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static <T> List<T> iterable(java.util.Iterator<T> it) {
    List<T> list = new ArrayList<>();
    it.forEachRemaining(list::add);
    return list;
  }

  static void run(List<String> cmd) throws IOException {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IOException(String.join(" ", cmd) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
