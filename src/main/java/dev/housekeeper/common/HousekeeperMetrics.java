package dev.housekeeper.common;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The project's own meters, all under the {@code housekeeper_} prefix, with low-cardinality tags
 * ({@code kind}, {@code namespace}, {@code outcome}); only {@code housekeeper_resource_ready}
 * and the per-resource gauges carry the resource name, one series per resource, as kube-state-metrics
 * does:
 * <ul>
 *   <li>{@code housekeeper_resource_ready}: 1 when Ready, else 0;
 *   <li>{@code housekeeper_resource_phase}: one series per phase the resource has been in, 1 for the
 *       current one (alerts select {@code phase="Failed"}, {@code phase=~"Dirty|Drift"} ...);
 *   <li>{@code housekeeper_last_success_timestamp_seconds}: the end of the last successful run
 *       (backup, retention run, mart refresh);
 *   <li>{@code housekeeper_next_run_timestamp_seconds}: the next scheduled run, absent when nothing
 *       is scheduled (one-shot or suspended);
 *   <li>{@code housekeeper_resource_created_timestamp_seconds}: when the resource was created (its
 *       metadata.creationTimestamp), so that an alert can tell "never succeeded, created long ago"
 *       from "never succeeded, brand new" (the last-success series exists only after a first success);
 *   <li>{@code housekeeper_backup_last_verified_timestamp_seconds} and
 *       {@code housekeeper_backup_recovery_time_seconds}: a restore drill's last passed verification
 *       and its measured recovery time;
 *   <li>{@code housekeeper_upload_buffer_bytes} (held now), {@code housekeeper_upload_buffer_peak_bytes}
 *       (the most held at once since start), {@code housekeeper_upload_buffer_budget_bytes} (the limit)
 *       and {@code housekeeper_upload_buffer_waiting} (streams waiting for memory): the process's
 *       {@link MemoryBudget} for upload buffers;
 *   <li>{@code housekeeper_work_running} and {@code housekeeper_work_queued}: long tasks per namespace
 *       handed to the pool, and waiting for their namespace's turn ({@link WorkExecutor}).
 * </ul>
 * Alerts in the Helm chart's PrometheusRule use only these names; a test checks them against a scrape.
 */
public class HousekeeperMetrics {

  private final MeterRegistry registry;
  public static final String PHASE = "housekeeper_resource_phase";
  public static final String LAST_SUCCESS = "housekeeper_last_success_timestamp_seconds";
  public static final String NEXT_RUN = "housekeeper_next_run_timestamp_seconds";
  /** When the resource was created: its metadata.creationTimestamp. */
  public static final String CREATED = "housekeeper_resource_created_timestamp_seconds";
  /** A restore drill's last passed verification (0: drills ran, none passed yet). */
  public static final String LAST_VERIFIED = "housekeeper_backup_last_verified_timestamp_seconds";
  /** A restore drill's measured recovery time: its last restore, start to end. */
  public static final String RECOVERY_TIME = "housekeeper_backup_recovery_time_seconds";

  private final Map<String, AtomicInteger> ready = new ConcurrentHashMap<>();
  private final Map<String, String> phases = new ConcurrentHashMap<>();
  private final Map<String, Boolean> phaseSeries = new ConcurrentHashMap<>();
  private final Map<String, double[]> times = new ConcurrentHashMap<>();
  private final java.util.Set<String> workNamespaces = ConcurrentHashMap.newKeySet();

  private final StepTimes steps;

  public HousekeeperMetrics(MeterRegistry registry) {
    this(registry, StepTimes.unread());
  }

  /** The same, with the process's step timers (registered on that registry by whoever made them). */
  public HousekeeperMetrics(MeterRegistry registry, StepTimes steps) {
    this.registry = registry;
    this.steps = steps;
  }

  /** Where the operator's time goes (docs/performance.md). */
  public StepTimes steps() {
    return steps;
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

  /** What a complete backup read and stored: rows, bytes as read (raw) and as stored (compressed, encrypted). */
  public void backupVolume(String namespace, long rows, long rawBytes, long storedBytes) {
    Counter.builder("housekeeper_backup_rows").description("Rows in complete backups")
        .tags("namespace", namespace).register(registry).increment(rows);
    Counter.builder("housekeeper_backup_bytes").description("Bytes in complete backups, as read and as stored")
        .tags("namespace", namespace, "stage", "raw").register(registry).increment(rawBytes);
    Counter.builder("housekeeper_backup_bytes").description("Bytes in complete backups, as read and as stored")
        .tags("namespace", namespace, "stage", "stored").register(registry).increment(storedBytes);
  }

  /**
   * How a complete logical backup came by its partition objects: uploaded, or reused from storage
   * (unchanged since an earlier backup uploaded them); objects and their stored bytes.
   */
  public void backupSharing(String namespace, long uploaded, long reused, long bytesUploaded, long bytesReused) {
    for (String outcome : new String[] {"uploaded", "reused"}) {
      boolean up = outcome.equals("uploaded");
      Counter.builder("housekeeper_backup_objects").description("Partition objects of complete backups, uploaded or"
          + " reused").tags("namespace", namespace, "outcome", outcome).register(registry).increment(up ? uploaded : reused);
      Counter.builder("housekeeper_backup_bytes").description("Bytes in complete backups, as read and as stored")
          .tags("namespace", namespace, "stage", outcome).register(registry).increment(up ? bytesUploaded : bytesReused);
    }
  }

  /** Duration of an action. */
  public void duration(String kind, String namespace, String action, Duration duration) {
    Timer.builder("housekeeper_action_duration")
        .description("Duration of actions taken on ClickHouse")
        .tags("kind", kind, "namespace", namespace, "action", action)
        .register(registry)
        .record(duration);
  }

  /**
   * What one retention run removed, counted per namespace: partitions dropped, rows deleted, bytes
   * freed, and tables that failed (registered at zero from the first run on, so that increase() sees
   * the first failure).
   */
  public void retentionRun(String namespace, long partitionsDropped, long rowsDeleted, long bytesFreed,
      long tableFailures) {
    registry.counter("housekeeper_retention_partitions_dropped", "namespace", namespace).increment(partitionsDropped);
    registry.counter("housekeeper_retention_rows_deleted", "namespace", namespace).increment(rowsDeleted);
    registry.counter("housekeeper_retention_bytes_freed", "namespace", namespace).increment(bytesFreed);
    registry.counter("housekeeper_retention_table_failures", "namespace", namespace).increment(tableFailures);
  }

  /** A mart refresh that succeeded: the rows it wrote into the mart and the rows its source returned. */
  public void martRows(String namespace, long written, long source) {
    registry.counter("housekeeper_mart_rows_written", "namespace", namespace).increment(written);
    registry.counter("housekeeper_mart_source_rows", "namespace", namespace).increment(source);
  }

  /**
   * Gauges of the process's upload budget, read from whichever budget is installed when scraped (the
   * operator installs one at start).
   */
  public void uploadBudget() {
    Gauge.builder("housekeeper_upload_buffer_bytes", () -> MemoryBudget.uploads().used())
        .description("Bytes of upload buffers held now by all running work").baseUnit("bytes").register(registry);
    Gauge.builder("housekeeper_upload_buffer_peak_bytes", () -> MemoryBudget.uploads().peak())
        .description("The most bytes of upload buffers held at once").baseUnit("bytes").register(registry);
    Gauge.builder("housekeeper_upload_buffer_budget_bytes", () -> MemoryBudget.uploads().limit())
        .description("The budget for upload buffers (HOUSEKEEPER_UPLOAD_BUFFER_BUDGET)").baseUnit("bytes")
        .register(registry);
    Gauge.builder("housekeeper_upload_buffer_waiting", () -> MemoryBudget.uploads().waiting())
        .description("Upload streams waiting for buffer memory").register(registry);
  }

  /** Long tasks of a namespace running and queued, registered once per namespace that had work. */
  public void workPerNamespace(WorkExecutor work, String namespace) {
    if (workNamespaces.add(namespace)) {
      Gauge.builder("housekeeper_work_running", () -> work.admitted(namespace))
          .description("Long tasks of a namespace handed to the work pool").tags("namespace", namespace)
          .register(registry);
      Gauge.builder("housekeeper_work_queued", () -> work.queuedIn(namespace))
          .description("Long tasks of a namespace waiting for its turn (HOUSEKEEPER_MAX_WORK_PER_NAMESPACE)")
          .tags("namespace", namespace).register(registry);
    }
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

  /** The resource's phase now: its series is 1, the series of the phases it was in before are 0. */
  public void phase(String kind, String namespace, String name, String phase) {
    if (phase == null) {
      return;
    }
    String key = kind + "/" + namespace + "/" + name;
    phases.put(key, phase);
    phaseSeries.computeIfAbsent(key + "/" + phase, k -> {
      Gauge.builder(PHASE, () -> phase.equals(phases.get(key)) ? 1 : 0)
          .description("1 for the phase a Housekeeper resource is in, 0 for the phases it was in before")
          .tags(Tags.of("kind", kind, "namespace", namespace, "name", name, "phase", phase))
          .register(registry);
      return Boolean.TRUE;
    });
  }

  /**
   * Sets a per-resource timestamp gauge ({@link #LAST_SUCCESS}, {@link #NEXT_RUN}, {@link #CREATED})
   * to an instant, or removes its series when there is none.
   */
  public void timestamp(String metric, String kind, String namespace, String name, Instant at) {
    gauge(metric, kind, namespace, name, at == null ? null : at.toEpochMilli() / 1000.0);
  }

  /** Sets a per-resource gauge (one of the names above) to a value, or removes its series when there is none. */
  public void gauge(String metric, String kind, String namespace, String name, Double value) {
    String key = metric + "/" + kind + "/" + namespace + "/" + name;
    if (value == null) {
      if (times.remove(key) != null) {
        registry.find(metric).tags("kind", kind, "namespace", namespace, "name", name).meters()
            .forEach(registry::remove);
      }
      return;
    }
    times.computeIfAbsent(key, k -> {
      double[] holder = new double[1];
      Gauge.builder(metric, holder, h -> h[0])
          .description(switch (metric) {
            case LAST_SUCCESS -> "When the resource's last successful run ended (seconds since the epoch)";
            case LAST_VERIFIED -> "When a restore drill's verification last passed (seconds since the epoch; 0: none"
                + " passed yet)";
            case RECOVERY_TIME -> "A restore drill's measured recovery time: its last restore from start to end";
            case CREATED -> "When the resource was created: its metadata.creationTimestamp (seconds since the epoch)";
            default -> "When the resource's next scheduled run is due (seconds since the epoch)";
          })
          .tags(Tags.of("kind", kind, "namespace", namespace, "name", name))
          .register(registry);
      return holder;
    })[0] = value;
  }

  /** {@link #timestamp} from a status field written as an ISO-8601 instant (null or blank: none). */
  public void timestamp(String metric, String kind, String namespace, String name, String iso) {
    Instant at = null;
    if (iso != null && !iso.isBlank()) {
      try {
        at = Instant.parse(iso);
      } catch (java.time.format.DateTimeParseException e) {
        at = null;
      }
    }
    timestamp(metric, kind, namespace, name, at);
  }

  /** Forgets a deleted resource's series. */
  public void forget(String kind, String namespace, String name) {
    String key = kind + "/" + namespace + "/" + name;
    ready.remove(key);
    phases.remove(key);
    phaseSeries.keySet().removeIf(k -> k.startsWith(key + "/"));
    times.keySet().removeIf(k -> k.endsWith("/" + key));
    for (String metric : java.util.List.of("housekeeper_resource_ready", PHASE, LAST_SUCCESS, NEXT_RUN,
        LAST_VERIFIED, RECOVERY_TIME, CREATED)) {
      registry.find(metric).tags("kind", kind, "namespace", namespace, "name", name)
          .meters().forEach(registry::remove);
    }
  }
}
