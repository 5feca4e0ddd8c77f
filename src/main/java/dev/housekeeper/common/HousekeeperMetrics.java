package dev.housekeeper.common;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The project's own meters, all under the {@code housekeeper_} prefix, with low-cardinality tags
 * ({@code kind}, {@code namespace}, {@code outcome}); only {@code housekeeper_resource_ready}
 * carries the resource name, one series per resource, as kube-state-metrics does.
 */
public class HousekeeperMetrics {

  private final MeterRegistry registry;
  private final Map<String, AtomicInteger> ready = new ConcurrentHashMap<>();

  public HousekeeperMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** One action taken on ClickHouse (a probe, a DROP PARTITION, a migration ...). */
  public void action(String kind, String namespace, String action, String outcome) {
    Counter.builder("housekeeper_actions")
        .description("Actions taken on ClickHouse, by kind, action and outcome")
        .tags("kind", kind, "namespace", namespace, "action", action, "outcome", outcome)
        .register(registry)
        .increment();
  }

  /** Duration of an action. */
  public void duration(String kind, String namespace, String action, Duration duration) {
    Timer.builder("housekeeper_action_duration")
        .description("Duration of actions taken on ClickHouse")
        .tags("kind", kind, "namespace", namespace, "action", action)
        .register(registry)
        .record(duration);
  }

  /** Whether a resource is Ready (1) or not (0). */
  public void ready(String kind, String namespace, String name, boolean isReady) {
    String key = kind + "/" + namespace + "/" + name;
    ready.computeIfAbsent(key, k -> {
      AtomicInteger value = new AtomicInteger();
      registry.gauge("housekeeper_resource_ready",
          io.micrometer.core.instrument.Tags.of("kind", kind, "namespace", namespace, "name", name), value);
      return value;
    }).set(isReady ? 1 : 0);
  }

  /** Forgets a deleted resource's series. */
  public void forget(String kind, String namespace, String name) {
    ready.remove(kind + "/" + namespace + "/" + name);
    registry.find("housekeeper_resource_ready").tags("kind", kind, "namespace", namespace, "name", name)
        .meters().forEach(registry::remove);
  }
}
