package dev.housekeeper.bench;

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
      Path kubeconfig = dir.resolve("kubeconfig");
      Files.writeString(kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: "
          + api.url() + "\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
          + "users:\n- name: u\n  user:\n    token: t\n");
      int port = ClickHouseServer.freePort();
      cmd = new ArrayList<>(List.of(java));
      cmd.addAll(JVM_FLAGS);
      cmd.addAll(List.of("-cp", classpath, "dev.housekeeper.operator.HousekeeperOperator"));
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(dir.resolve("operator.log").toFile());
      pb.environment().putAll(Map.of("KUBECONFIG", kubeconfig.toString(), "HTTP_PORT", String.valueOf(port)));
      t0 = System.nanoTime();
      Process op = pb.start();
      HttpClient http = HttpClient.newHttpClient();
      long readyMs = -1;
      while (readyMs < 0 && (System.nanoTime() - t0) < 120_000_000_000L) {
        try {
          var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).build(),
              HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() == 200) {
            readyMs = (System.nanoTime() - t0) / 1_000_000;
          }
        } catch (java.io.IOException e) {
          Thread.sleep(20);
        }
      }
      Thread.sleep(10_000);
      long opRssKb = rssKb(op.pid());
      String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      double heapMb = sum(metrics, "jvm_memory_used_bytes\\{area=\"heap\"[^}]*\\} ([0-9.E+]+)") / 1048576.0;
      op.destroy();
      op.waitFor();
      rows.add(new Row("start-up to /readyz (ms)", String.valueOf(readyMs), String.valueOf(idleStartMs),
          ratio(readyMs, idleStartMs), "< 5000 ms"));
      rows.add(new Row("RSS idle, 0 resources (MB)", mb(opRssKb), mb(idleRssKb), ratio(opRssKb, idleRssKb),
          "< 256 MB"));
      rows.add(new Row("heap used idle (MB)", String.format("%.1f", heapMb), "-", "-", "< 128 MB"));
    }
    return rows;
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
