package dev.housekeeper.bench;

import dev.housekeeper.testing.TestPorts;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.KubernetesApi;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Footprint of the operator as the image runs it: the image built by {@code bin/build-image}, its layers
 * unpacked, its entrypoint run by {@code tools/image/run-rootfs} (chroot, own mount and PID namespaces,
 * read-only root) with the chart's {@code JAVA_TOOL_OPTIONS} and {@code -XX:MaxRAM=512m} standing for the
 * chart's 512Mi memory limit, which a JVM in a pod reads from its cgroup. Rows: time from process start
 * to /readyz answering 200 (median of 3), RSS 10 s after, and the heap with 1,000 resources under
 * {@code -Xmx128m}. The baseline, measured in the same run, is a bare JVM that prints a line and sleeps.
 */
public final class Footprint {

  static final List<String> JVM_FLAGS = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-Xshare:auto");
  /** The chart's JAVA_TOOL_OPTIONS (helm/housekeeper/values.yaml), and the 512Mi limit as the JVM sees it. */
  static final String CHART_JAVA_OPTIONS = "-XX:MaxRAMPercentage=60 -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError"
      + " -XX:MaxRAM=512m";
  static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", "."));

  private Footprint() {}

  /** One row of a benchmark table. */
  public record Row(String name, String figure, String baseline, String ratio, String target) {}

  public static List<Row> measure() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<Row> rows = new ArrayList<>();

    // baseline: bare JVM
    long t0 = System.nanoTime();
    List<String> cmd = new ArrayList<>(List.of(java));
    cmd.addAll(JVM_FLAGS);
    cmd.addAll(List.of("-cp", PROJECT.resolve("target/test-classes").toString(), Idle.class.getName()));
    Process idle = new ProcessBuilder(cmd).start();
    new BufferedReader(new InputStreamReader(idle.getInputStream(), StandardCharsets.UTF_8)).readLine();
    long idleStartMs = (System.nanoTime() - t0) / 1_000_000;
    Thread.sleep(10_000);
    long idleRssKb = rssKb(idle.pid());
    idle.destroy();

    Path dir = Files.createTempDirectory("hk-footprint-");
    Path rootfs = ImageRootfs.buildAndUnpack(dir);
    try (ClickHouseServer ch = new ClickHouseServer(dir.resolve("clickhouse"));
        KubernetesApi api = KubernetesApi.start()) {
      ch.start();
      // the root is mounted read-only when the operator runs: its kubeconfig is written before
      Path kubeconfig = rootfs.resolve("etc/housekeeper/kubeconfig");
      Files.createDirectories(kubeconfig.getParent());
      api.writeKubeconfig(kubeconfig);
      HttpClient http = HttpClient.newHttpClient();

      List<Long> startMs = new ArrayList<>();
      long opRssKb = 0;
      for (int round = 0; round < 3; round++) {
        Started op = startOperator(rootfs, CHART_JAVA_OPTIONS, dir.resolve("operator-" + round + ".log"), http);
        startMs.add(op.readyMs());
        if (round == 2) {
          Thread.sleep(10_000);
          opRssKb = rssKb(op.javaPid());
        }
        op.stop();
      }
      long readyMs = startMs.stream().sorted().toList().get(1);

      // the same operator with 1,000 resources of mixed kinds, all Ready, in a heap of 128 MB
      Started op = startOperator(rootfs, CHART_JAVA_OPTIONS + " -Xmx128m", dir.resolve("operator-1000.log"), http);
      Loaded loaded = loadThousand(ch, api, op, http);
      op.stop();

      rows.add(new Row("start-up to /readyz as the image runs it, median of 3 (ms)", String.valueOf(readyMs),
          idleStartMs + " (bare JVM)", ratio(readyMs, idleStartMs), "<= 1500 ms"));
      rows.add(new Row("RSS idle as the image runs it, 0 resources (MB)", mb(opRssKb), mb(idleRssKb) + " (bare JVM)",
          ratio(opRssKb, idleRssKb), "<= 128 MB"));
      String notAll = loaded.ready() < 1000 ? " (only " + loaded.ready() + " Ready)" : "";
      rows.add(new Row("1,000 resources all Ready, image, -Xmx128m (s)" + notAll,
          String.format("%.1f", loaded.allReadyMs() / 1000.0), "-", "-", "report"));
      rows.add(new Row("heap used with 1,000 resources, -Xmx128m: sampled; live after a full GC (MB)",
          String.format("%.1f; %.1f", loaded.heapMb(), loaded.liveMb()), "-", "-", "<= 128 MB"));
      rows.add(new Row("RSS with 1,000 resources (MB)", mb(loaded.rssKb()), mb(opRssKb) + " (idle)",
          ratio(loaded.rssKb(), opRssKb), "report"));
    }
    return rows;
  }

  /** What the operator held with 1,000 resources Ready. */
  record Loaded(int ready, long allReadyMs, double heapMb, double liveMb, long rssKb) {}

  static Loaded loadThousand(ClickHouseServer ch, KubernetesApi api, Started op, HttpClient http)
      throws Exception {
    ConvergenceBench.prepare(ch);
    var client = api.client();
    client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
        .withName(ConvergenceBench.NS).endMetadata().build()).create();
    client.secrets().inNamespace(ConvergenceBench.NS).resource(new io.fabric8.kubernetes.api.model.SecretBuilder()
        .withNewMetadata().withName("ch-credentials")
        .addToLabels(dev.housekeeper.common.Secrets.ALLOW_LABEL, "true").endMetadata()
        .withData(Map.of("username", b64(ClickHouseServer.USER), "password", b64(ClickHouseServer.PASSWORD)))
        .build()).create();
    var all = ConvergenceBench.resources(ch, ConvergenceBench.NS);
    long created = System.nanoTime();
    for (var r : all) {
      client.resource(r).create();
    }
    int ready = 0;
    long deadline = System.nanoTime() + 900_000_000_000L;
    while (System.nanoTime() < deadline && op.process().isAlive()) {
      ready = ConvergenceBench.readyCount(client);
      if (ready >= all.size()) {
        break;
      }
      Thread.sleep(500);
    }
    long allReadyMs = (System.nanoTime() - created) / 1_000_000;
    if (!op.process().isAlive()) {
      throw new IllegalStateException("the operator exited with 1,000 resources (-Xmx128m); see its log");
    }
    Thread.sleep(10_000);
    long rss = rssKb(op.javaPid());
    double heap = heapMb(http, op.port());
    // the profile: what is live after a full collection (jcmd's class histogram runs one first)
    Histogram live = histogram(op.javaPid());
    System.out.printf("%nlive heap with 1,000 resources: %.1f MB; largest classes:%n%s%n", live.mb(),
        String.join("\n", live.top()));
    return new Loaded(ready, allReadyMs, heap, live.mb(), rss);
  }

  /** An operator process, its JVM's pid (in the host's view), and how long it took to answer /readyz. */
  record Started(Process process, long javaPid, int port, long readyMs) {
    void stop() throws InterruptedException {
      process.destroy(); // run-rootfs passes SIGTERM to the JVM, PID 1 of its namespace
      if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  /** The image's entrypoint in the unpacked root, as user 10001, read-only, with these JAVA_TOOL_OPTIONS. */
  static Started startOperator(Path rootfs, String javaToolOptions, Path log, HttpClient http) throws Exception {
    int port = TestPorts.take();
    int probePort = TestPorts.take();
    List<String> cmd = new ArrayList<>(List.of(PROJECT.resolve("tools/image/run-rootfs").toString(), "--read-only",
        rootfs.toString(), "10001"));
    cmd.addAll(ImageRootfs.environment());
    cmd.addAll(List.of("KUBECONFIG=/etc/housekeeper/kubeconfig", "HTTP_PORT=" + port,
        "PROBE_PORT=" + probePort, "JAVA_TOOL_OPTIONS=" + javaToolOptions, "--"));
    cmd.addAll(ImageRootfs.entrypoint());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    long t0 = System.nanoTime();
    Process op = pb.start();
    while ((System.nanoTime() - t0) < 120_000_000_000L) {
      try {
        var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probePort + "/readyz")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          long readyMs = (System.nanoTime() - t0) / 1_000_000;
          long javaPid = op.descendants().filter(Footprint::isJava).findFirst().orElseThrow().pid();
          return new Started(op, javaPid, port, readyMs);
        }
      } catch (java.io.IOException e) {
        Thread.sleep(20);
      }
    }
    op.destroyForcibly();
    throw new IllegalStateException("the operator was not ready in 120 s; see " + log);
  }

  private static boolean isJava(ProcessHandle p) {
    try {
      return Files.readString(Path.of("/proc/" + p.pid() + "/comm")).trim().equals("java");
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** What {@code jcmd PID GC.class_histogram} found live: MB in all, and the ten largest classes' lines. */
  record Histogram(double mb, List<String> top) {}

  static Histogram histogram(long pid) throws Exception {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(jcmd.toString(), String.valueOf(pid), "GC.class_histogram").redirectErrorStream(true)
        .start();
    List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    p.waitFor();
    List<String> top = lines.stream().filter(l -> l.matches("\\s*\\d+:.*")).limit(10).toList();
    double mb = lines.stream().filter(l -> l.startsWith("Total")).findFirst()
        .map(l -> Long.parseLong(l.trim().split("\\s+")[2]) / 1048576.0).orElse(Double.NaN);
    return new Histogram(mb, top);
  }

  static double heapMb(HttpClient http, int port) throws Exception {
    String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    return sum(metrics, "jvm_memory_used_bytes\\{area=\"heap\"[^}]*\\} ([0-9.E+]+)") / 1048576.0;
  }

  static String b64(String s) {
    return java.util.Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static long rssKb(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS for " + pid);
  }

  static double sum(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    double total = 0;
    while (m.find()) {
      total += Double.parseDouble(m.group(1));
    }
    return total;
  }

  static String mb(long kb) {
    return String.format("%.1f", kb / 1024.0);
  }

  static String ratio(double a, double b) {
    return String.format("%.2fx", a / b);
  }

  public static void main(String[] args) throws Exception {
    print(measure());
  }

  static void print(List<Row> rows) {
    System.out.printf("%nThe bare JVM's flags: %s (Java %s)%n", String.join(" ", JVM_FLAGS), System.getProperty("java.version"));
    System.out.printf("%-34s %10s %10s %8s %12s%n", "benchmark", "figure", "baseline", "ratio", "target");
    for (Row r : rows) {
      System.out.printf("%-34s %10s %10s %8s %12s%n", r.name(), r.figure(), r.baseline(), r.ratio(), r.target());
    }
  }
}
