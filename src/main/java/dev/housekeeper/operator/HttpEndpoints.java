package dev.housekeeper.operator;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * {@code /metrics} (Prometheus text) on the metrics port, {@code /healthz} and {@code /readyz} on the probe
 * port: two listeners, so that connections to the metrics port (open to any pod that may scrape) can never
 * delay the kubelet's probes, and each listener bounds the time and number of its connections.
 */
final class HttpEndpoints implements AutoCloseable {

  private final HttpListener metrics;
  private final HttpListener probes;

  HttpEndpoints(int metricsPort, int probePort, OperatorSettings.HttpLimits limits, PrometheusMeterRegistry registry,
      BooleanSupplier live, BooleanSupplier ready) throws IOException {
    metrics = new HttpListener("metrics", metricsPort, Map.of("/metrics",
        () -> new HttpListener.Response(200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape())), limits);
    try {
      probes = new HttpListener("probes", probePort, Map.of("/healthz", () -> probe(live),
          "/readyz", () -> probe(ready)), limits);
    } catch (IOException | RuntimeException e) {
      metrics.close();
      throw e;
    }
  }

  int metricsPort() {
    return metrics.port();
  }

  int probePort() {
    return probes.port();
  }

  private static HttpListener.Response probe(BooleanSupplier check) {
    boolean ok;
    try {
      ok = check.getAsBoolean();
    } catch (RuntimeException e) {
      ok = false;
    }
    return new HttpListener.Response(ok ? 200 : 503, "text/plain", ok ? "ok\n" : "not ready\n");
  }

  /** Closes both listeners; safe to call more than once (the operator's close and a lost lease both do). */
  @Override
  public void close() {
    try {
      probes.close();
    } finally {
      metrics.close();
    }
  }
}
