package dev.housekeeper.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.testing.KubernetesApi;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The operator's two HTTP listeners (issue 20, finding 6): idle and slow connections, from any pod, neither
 * stall the liveness probe nor stay open past the read limit; probes and metrics answer on their own ports.
 * The operator is the real one, over HTTP to the mock Kubernetes API; clients are raw sockets, bound to other
 * loopback addresses (127.0.0.2, ...) where a test plays several pods.
 */
class HttpEndpointsIT {

  /** Generous bound for an answer on an idle machine shared with other test JVMs. */
  static final long ANSWER_MS = 2_000;

  @Test
  void idleConnectionsUpToTheLimitDoNotStallTheProbesOrTheScrape() throws Exception {
    OperatorSettings.HttpLimits limits = OperatorSettings.HttpLimits.DEFAULT;
    try (KubernetesApi api = KubernetesApi.start();
        Operator op = new Operator(api, OperatorSettings.forTests())) {
      await().atMost(Duration.ofSeconds(30)).until(() -> get(op.probePort(), "/readyz").code() == 200);
      List<Socket> idle = new ArrayList<>();
      try {
        // three "pods" each open as many idle connections as one client may, to both ports: 24 in all; half of
        // them send the start of a request line and stop (two of those stalled the JDK HttpServer's /healthz)
        int clients = limits.maxConnections() / limits.maxPerClient() - 1;
        for (int c = 0; c < clients; c++) {
          for (int i = 0; i < limits.maxPerClient(); i++) {
            for (int port : new int[] {op.probePort(), op.metricsPort()}) {
              Socket s = connect(loopback(2 + c), port);
              if (i % 2 == 1) {
                s.getOutputStream().write("GET /healthz HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
              }
              idle.add(s);
            }
          }
        }
        assertThat(idle).hasSize(2 * clients * limits.maxPerClient()).hasSizeGreaterThanOrEqualTo(24);
        // one more from a client at its limit is closed at once, not queued
        try (Socket over = connect(loopback(2), op.probePort())) {
          assertThat(closedWithin(over, ANSWER_MS)).as("a connection over the per-client limit is closed").isTrue();
        }

        Answer healthz = get(op.probePort(), "/healthz");
        Answer readyz = get(op.probePort(), "/readyz");
        Answer metrics = get(op.metricsPort(), "/metrics");
        assertEquals(200, healthz.code());
        assertEquals("ok\n", healthz.body());
        assertEquals(200, readyz.code());
        assertEquals(200, metrics.code());
        assertThat(metrics.body()).contains("jvm_memory_used_bytes");
        assertThat(healthz.millis()).as("/healthz with %d idle connections open", idle.size()).isLessThan(ANSWER_MS);
        assertThat(readyz.millis()).isLessThan(ANSWER_MS);
        assertThat(metrics.millis()).isLessThan(ANSWER_MS);
        System.out.printf("HttpEndpointsIT: %d idle connections open; /healthz %d ms, /readyz %d ms, /metrics %d ms%n",
            idle.size(), healthz.millis(), readyz.millis(), metrics.millis());
      } finally {
        for (Socket s : idle) {
          s.close();
        }
      }
    }
  }

  @Test
  void anIdleOrSlowConnectionIsClosedAfterTheReadLimit() throws Exception {
    try (KubernetesApi api = KubernetesApi.start();
        Operator op = new Operator(api, OperatorSettings.forTests())) {
      long limitMs = OperatorSettings.HttpLimits.DEFAULT.readTime().toMillis();
      for (int port : new int[] {op.probePort(), op.metricsPort()}) {
        try (Socket idle = connect(loopback(2), port);
            Socket slow = connect(loopback(3), port)) {
          long t0 = System.nanoTime();
          // the slow one sends a request line and then a header byte every 500 ms: each byte does not buy more time
          OutputStream out = slow.getOutputStream();
          out.write("GET /healthz HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
          long slowClosedMs = -1;
          while (elapsedMs(t0) < 3 * limitMs) {
            try {
              out.write('X');
              out.flush();
            } catch (SocketException e) {
              slowClosedMs = elapsedMs(t0);
              break;
            }
            if (closedWithin(slow, 500)) {
              slowClosedMs = elapsedMs(t0);
              break;
            }
          }
          assertThat(slowClosedMs).as("slow connection to port %d closed (ms)", port)
              .isBetween(limitMs - 1_000, limitMs + 3_000);
          // the idle one sent nothing; it was closed too, at the same limit
          assertThat(closedWithin(idle, 3_000)).as("idle connection to port %d closed", port).isTrue();
          long idleClosedMs = elapsedMs(t0);
          assertThat(idleClosedMs).isLessThan(limitMs + 4_000);
          System.out.printf("HttpEndpointsIT: port %d, read limit %d ms: slow connection closed at %d ms, idle by %d ms%n",
              port, limitMs, slowClosedMs, idleClosedMs);
        }
      }
      // and the listeners still answer
      assertEquals(200, get(op.probePort(), "/healthz").code());
      assertEquals(200, get(op.metricsPort(), "/metrics").code());
    }
  }

  @Test
  void probesAndMetricsAnswerOnlyOnTheirOwnPorts() throws Exception {
    try (KubernetesApi api = KubernetesApi.start();
        Operator op = new Operator(api, OperatorSettings.forTests())) {
      assertThat(op.probePort()).isNotEqualTo(op.metricsPort());
      await().atMost(Duration.ofSeconds(30)).until(() -> get(op.probePort(), "/readyz").code() == 200);
      assertEquals(200, get(op.probePort(), "/healthz").code());
      assertEquals(200, get(op.probePort(), "/healthz?verbose=1").code());
      assertEquals(404, get(op.probePort(), "/metrics").code());
      assertEquals(404, get(op.metricsPort(), "/healthz").code());
      assertEquals(404, get(op.metricsPort(), "/readyz").code());
      Answer metrics = get(op.metricsPort(), "/metrics");
      assertEquals(200, metrics.code());
      assertThat(metrics.body()).contains("# TYPE");
      assertEquals(405, request(op.probePort(), "POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n").code());
      assertEquals(400, request(op.probePort(), "garbage\r\n\r\n").code());
    }
  }

  @Test
  void theTotalLimitHoldsAndFreedSlotsAreTakenAgain() throws Exception {
    var limits = new OperatorSettings.HttpLimits(Duration.ofSeconds(2), Duration.ofSeconds(5), 4, 2);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (HttpEndpoints http = new HttpEndpoints(0, 0, limits, registry, () -> true, () -> true)) {
      List<Socket> idle = new ArrayList<>();
      for (int c = 0; c < 2; c++) {
        for (int i = 0; i < 2; i++) {
          idle.add(connect(loopback(2 + c), http.probePort()));
        }
      }
      // the listener took all four before the next one comes
      Thread.sleep(200);
      try (Socket fifth = connect(loopback(1), http.probePort())) {
        assertThat(closedWithin(fifth, ANSWER_MS)).as("a connection over the total limit is closed at once").isTrue();
      }
      // once the idle ones are closed by the read limit, the probe answers again
      await().atMost(Duration.ofSeconds(10)).until(() -> get(http.probePort(), "/healthz").code() == 200);
      for (Socket s : idle) {
        assertThat(closedWithin(s, 1_000)).isTrue();
        s.close();
      }
    }
  }

  @Test
  void closingTwiceIsHarmlessAndFreesBothPorts() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    HttpEndpoints http = new HttpEndpoints(0, 0, OperatorSettings.HttpLimits.DEFAULT, registry, () -> true,
        () -> true);
    int probes = http.probePort();
    int metrics = http.metricsPort();
    Socket idle = connect(loopback(2), probes);
    http.close();
    http.close();
    assertThat(closedWithin(idle, ANSWER_MS)).as("an open connection is closed with the listener").isTrue();
    idle.close();
    for (int port : new int[] {probes, metrics}) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1_000);
        throw new AssertionError("port " + port + " still accepts after close");
      } catch (ConnectException expected) {
        // closed
      }
    }
    // the operator too: close() after close() (a lost lease and the shutdown hook both call it)
    try (KubernetesApi api = KubernetesApi.start()) {
      HousekeeperOperator op = new HousekeeperOperator(api.server().createClient(), OperatorSettings.forTests()).start();
      op.close();
      op.close();
      op.kubernetesClient().close();
    }
  }

  /** The real operator, started on free ports. */
  static final class Operator implements AutoCloseable {
    final HousekeeperOperator operator;

    Operator(KubernetesApi api, OperatorSettings settings) throws IOException {
      operator = new HousekeeperOperator(api.server().createClient(), settings).start();
    }

    int probePort() {
      return operator.probePort();
    }

    int metricsPort() {
      return operator.httpPort();
    }

    @Override
    public void close() {
      try {
        operator.close();
      } finally {
        operator.kubernetesClient().close();
      }
    }
  }

  record Answer(int code, String body, long millis) {}

  static Answer get(int port, String path) throws IOException {
    return request(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: kube-probe/1.30\r\n\r\n");
  }

  /** One request from 127.0.0.1, as the kubelet or a scraper sends it; the answer read to its end. */
  static Answer request(int port, String head) throws IOException {
    long t0 = System.nanoTime();
    try (Socket s = connect(loopback(1), port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
      String text = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int code = text.startsWith("HTTP/1.1 ") ? Integer.parseInt(text.substring(9, 12)) : -1;
      int bodyAt = text.indexOf("\r\n\r\n");
      return new Answer(code, bodyAt < 0 ? "" : text.substring(bodyAt + 4), elapsedMs(t0));
    }
  }

  static InetAddress loopback(int last) throws IOException {
    return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) last});
  }

  static Socket connect(InetAddress from, int port) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(from, 0));
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2_000);
    return s;
  }

  /** Whether the server closed the connection (end of stream or reset) within the time. */
  static boolean closedWithin(Socket s, long millis) throws IOException {
    s.setSoTimeout((int) millis);
    try {
      InputStream in = s.getInputStream();
      while (true) {
        if (in.read() < 0) {
          return true;
        }
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (SocketException e) {
      return true; // reset
    }
  }

  static long elapsedMs(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }
}
