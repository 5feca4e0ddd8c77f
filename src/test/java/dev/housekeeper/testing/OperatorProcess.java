package dev.housekeeper.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The operator as its own JVM process, as it runs in a pod, pointed at the mock API by a
 * kubeconfig; {@link #kill()} is SIGKILL, as when a node dies: no shutdown hook, no lease release.
 */
public final class OperatorProcess implements AutoCloseable {

  private final Process process;
  /** The probe port (/healthz, /readyz). */
  private final int port;
  private final Path log;

  private OperatorProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Starts one replica with leader election on, identity {@code name}, and waits for /healthz. */
  public static OperatorProcess start(KubernetesApi api, Path dir, String name, String leaseNamespace,
      Duration lease) throws IOException {
    return start(api, api.url(), dir, name, leaseNamespace, lease);
  }

  /** The same, reaching the API at {@code apiUrl} (a proxy that a test can cut). */
  public static OperatorProcess start(KubernetesApi api, String apiUrl, Path dir, String name, String leaseNamespace,
      Duration lease) throws IOException {
    Files.createDirectories(dir);
    Path kubeconfig = dir.resolve(name + ".kubeconfig");
    api.writeKubeconfig(kubeconfig, "mock", null, apiUrl);
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    int port = TestPorts.take();
    int probePort = TestPorts.take();
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath,
        "dev.housekeeper.operator.HousekeeperOperator"));
    Path log = dir.resolve(name + ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(Map.of("KUBECONFIG", kubeconfig.toString(), "HTTP_PORT", String.valueOf(port),
        "PROBE_PORT", String.valueOf(probePort),
        "LEADER_ELECTION", "true", "LEADER_ELECTION_NAMESPACE", leaseNamespace, "POD_NAME", name,
        "LEADER_ELECTION_LEASE_SECONDS", String.valueOf(lease.toSeconds()),
        // the tests' backups go to folders made in the temporary folder (as OperatorSettings.forTests)
        "HOUSEKEEPER_SHARED_VOLUME_ROOTS", System.getProperty("java.io.tmpdir")));
    OperatorProcess p = new OperatorProcess(TestProcesses.start(pb), probePort, log);
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.process.isAlive()) {
        throw new IllegalStateException("operator " + name + " exited; see " + log);
      }
      if (p.probe("/healthz") == 200) {
        return p;
      }
      sleep(100);
    }
    p.kill();
    throw new IllegalStateException("operator " + name + " did not answer /healthz in 90 s; see " + log);
  }

  /** The status code of a GET of {@code path} on the probe port ({@code /healthz}, {@code /readyz}); -1: no answer. */
  public int probe(String path) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** SIGKILL, and wait until the process is gone. */
  public void kill() {
    TestProcesses.stop(process, true, Duration.ofSeconds(30));
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public Path log() {
    return log;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    kill();
  }
}
