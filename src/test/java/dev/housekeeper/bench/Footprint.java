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
 * Footprint of the operator as its own JVM process against the embedded API: time from process
 * start to /readyz answering 200, and RSS and heap after 10 s idle. The baseline, measured in the
 * same run with the same JVM flags, is a bare JVM that prints a line and sleeps.
 */
public final class Footprint {

  static final List<String> JVM_FLAGS = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-Xshare:auto");

  private Footprint() {}

  /** One row of a benchmark table. */
  public record Row(String name, String figure, String baseline, String ratio, String target) {}

  public static List<Row> measure() throws Exception {
    String classpath = System.getProperty("hk.runtimeClasspath", System.getProperty("java.class.path"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<Row> rows = new ArrayList<>();

    // baseline: bare JVM
    long t0 = System.nanoTime();
    List<String> cmd = new ArrayList<>(List.of(java));
    cmd.addAll(JVM_FLAGS);
    cmd.addAll(List.of("-cp", Path.of(System.getProperty("housekeeper.projectDir", "."), "target/test-classes").toString(),
        Idle.class.getName()));
    Process idle = new ProcessBuilder(cmd).start();
    new BufferedReader(new InputStreamReader(idle.getInputStream(), StandardCharsets.UTF_8)).readLine();
    long idleStartMs = (System.nanoTime() - t0) / 1_000_000;
    Thread.sleep(10_000);
    long idleRssKb = rssKb(idle.pid());
    idle.destroy();

    Path dir = Files.createTempDirectory("hk-footprint-");
    try (ClickHouseServer ch = new ClickHouseServer(dir.resolve("clickhouse"));
        KubernetesApi api = KubernetesApi.start()) {
      ch.start();
      Path kubeconfig = dir.resolve("kubeconfig");
      api.writeKubeconfig(kubeconfig);
      // as in the image (a jar and its libraries); class-data sharing also archives classes from jars only
      classpath = jarred(classpath, dir);
      HttpClient http = HttpClient.newHttpClient();

      // AppCDS: a training run writes the archive of the classes loaded until the operator is ready
      Path archive = dir.resolve("housekeeper.jsa");
      Started training = startOperator(java, classpath, kubeconfig, List.of("-XX:ArchiveClassesAtExit=" + archive),
          dir.resolve("training.log"), http);
      training.process().destroy(); // SIGTERM: the JVM exits normally and writes the archive
      training.process().waitFor();
      boolean cds = Files.exists(archive);

      Started withCds = null;
      if (cds) {
        withCds = startOperator(java, classpath, kubeconfig, List.of("-XX:SharedArchiveFile=" + archive),
            dir.resolve("operator-cds.log"), http);
        withCds.process().destroy();
        withCds.process().waitFor();
      }

      Started op = startOperator(java, classpath, kubeconfig, List.of(), dir.resolve("operator.log"), http);
      int port = op.port();
      Thread.sleep(10_000);
      long opRssKb = rssKb(op.process().pid());
      double heapMb = heapMb(http, port);

      // the same operator with 1,000 resources of mixed kinds, all Ready
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
      while (System.nanoTime() < deadline) {
        ready = ConvergenceBench.readyCount(client);
        if (ready >= all.size()) {
          break;
        }
        Thread.sleep(500);
      }
      long allReadyMs = (System.nanoTime() - created) / 1_000_000;
      Thread.sleep(10_000);
      long loadedRssKb = rssKb(op.process().pid());
      double loadedHeapMb = heapMb(http, port);
      // the profile: what is live after a full collection (jcmd's class histogram runs one first)
      Histogram live = histogram(op.process().pid());
      System.out.printf("%nlive heap with 1,000 resources: %.1f MB; largest classes:%n%s%n", live.mb(),
          String.join("\n", live.top()));
      op.process().destroy();
      op.process().waitFor();

      rows.add(new Row("start-up to /readyz (ms)", String.valueOf(op.readyMs()), String.valueOf(idleStartMs),
          ratio(op.readyMs(), idleStartMs), "< 5000 ms"));
      if (withCds != null) {
        rows.add(new Row("start-up to /readyz with AppCDS (ms)", String.valueOf(withCds.readyMs()),
            op.readyMs() + " (without)", ratio(withCds.readyMs(), op.readyMs()), "< 5000 ms"));
      }
      rows.add(new Row("RSS idle, 0 resources (MB)", mb(opRssKb), mb(idleRssKb), ratio(opRssKb, idleRssKb),
          "< 256 MB"));
      rows.add(new Row("heap used idle (MB)", String.format("%.1f", heapMb), "-", "-", "< 128 MB"));
      String notAll = ready < all.size() ? " (only " + ready + " Ready)" : "";
      rows.add(new Row("operator process: 1,000 resources all Ready (s)" + notAll,
          String.format("%.1f", allReadyMs / 1000.0), "-", "-", "report"));
      rows.add(new Row("RSS with 1,000 resources (MB)", mb(loadedRssKb), mb(opRssKb) + " (idle)",
          ratio(loadedRssKb, opRssKb), "< 384 MB"));
      rows.add(new Row("heap used with 1,000 resources (MB)", String.format("%.1f", loadedHeapMb),
          String.format("%.1f (idle)", heapMb), ratio(loadedHeapMb, heapMb), "< 200 MB"));
      rows.add(new Row("  live heap after a full GC, 1,000 resources (MB)", String.format("%.1f", live.mb()), "-",
          "-", "report"));
    }
    return rows;
  }

  /** An operator process and how long it took to answer /readyz. */
  record Started(Process process, int port, long readyMs) {}

  static Started startOperator(String java, String classpath, Path kubeconfig, List<String> extraFlags, Path log,
      HttpClient http) throws Exception {
    int port = TestPorts.take();
    int probePort = TestPorts.take();
    List<String> cmd = new ArrayList<>(List.of(java));
    cmd.addAll(JVM_FLAGS);
    cmd.addAll(extraFlags);
    cmd.addAll(List.of("-cp", classpath, "dev.housekeeper.operator.HousekeeperOperator"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(Map.of("KUBECONFIG", kubeconfig.toString(), "HTTP_PORT", String.valueOf(port),
        "PROBE_PORT", String.valueOf(probePort)));
    long t0 = System.nanoTime();
    Process op = pb.start();
    while ((System.nanoTime() - t0) < 120_000_000_000L) {
      try {
        var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probePort + "/readyz")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return new Started(op, port, (System.nanoTime() - t0) / 1_000_000);
        }
      } catch (java.io.IOException e) {
        Thread.sleep(20);
      }
    }
    op.destroyForcibly();
    throw new IllegalStateException("the operator was not ready in 120 s; see " + log);
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

  /** The class path with each folder of classes packed into a jar in {@code dir}. */
  static String jarred(String classpath, Path dir) throws java.io.IOException {
    List<String> out = new ArrayList<>();
    for (String entry : classpath.split(java.io.File.pathSeparator)) {
      Path folder = Path.of(entry);
      if (!Files.isDirectory(folder)) {
        out.add(entry);
        continue;
      }
      Path jar = dir.resolve("classes-" + out.size() + ".jar");
      try (var jos = new java.util.jar.JarOutputStream(Files.newOutputStream(jar));
          var files = Files.walk(folder)) {
        for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
          jos.putNextEntry(new java.util.jar.JarEntry(folder.relativize(f).toString().replace('\\', '/')));
          Files.copy(f, jos);
          jos.closeEntry();
        }
      }
      out.add(jar.toString());
    }
    return String.join(java.io.File.pathSeparator, out);
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
    System.out.printf("%nJVM flags: %s (Java %s)%n", String.join(" ", JVM_FLAGS), System.getProperty("java.version"));
    System.out.printf("%-34s %10s %10s %8s %12s%n", "benchmark", "figure", "baseline", "ratio", "target");
    for (Row r : rows) {
      System.out.printf("%-34s %10s %10s %8s %12s%n", r.name(), r.figure(), r.baseline(), r.ratio(), r.target());
    }
  }
}
