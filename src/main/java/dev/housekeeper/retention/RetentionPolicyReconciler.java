package dev.housekeeper.retention;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.api.retention.RetentionPolicyStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.AfterWrite;
import dev.housekeeper.common.EventRecorder;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.StatusWriter;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.Transient;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectionEventSource;
import dev.housekeeper.connection.ConnectionResolver;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.PatternSyntaxException;

/**
 * Reconciles RetentionPolicy: keeps a preview of the next run and storage statistics in status,
 * starts retention and OPTIMIZE runs when their schedule (or a run-now annotation) says so, and
 * folds their reports into status.
 */
@ControllerConfiguration(name = "retentionpolicy", generationAwareEventProcessing = false)
public class RetentionPolicyReconciler implements Reconciler<RetentionPolicy>, Cleaner<RetentionPolicy> {

  static final String KIND = "RetentionPolicy";
  private static final Duration POLL = Duration.ofSeconds(1);
  private static final Duration REFRESH = Duration.ofMinutes(5);

  private final ConnectionResolver resolver;
  private final WorkExecutor work;
  private final StatusWriter statusWriter;
  private final EventRecorder events;
  /** A finished run's Events and counters, said once the status recording it is written. */
  private final AfterWrite afterWrite;
  private final HousekeeperMetrics metrics;
  private final Clock clock;
  private final Map<String, String> runKinds = new ConcurrentHashMap<>();
  private final Map<String, String> announced = new ConcurrentHashMap<>();
  private InformerEventSource<ClickHouseConnection, RetentionPolicy> connectionSource;

  public RetentionPolicyReconciler(ConnectionResolver resolver, WorkExecutor work, StatusWriter statusWriter,
      EventRecorder events, HousekeeperMetrics metrics, Clock clock) {
    this.resolver = resolver;
    this.work = work;
    this.statusWriter = statusWriter;
    this.events = events;
    this.afterWrite = new AfterWrite(events);
    this.metrics = metrics;
    this.clock = clock;
  }

  @Override
  public List<EventSource<?, RetentionPolicy>> prepareEventSources(EventSourceContext<RetentionPolicy> ctx) {
    connectionSource = ConnectionEventSource.create(RetentionPolicy.class, ctx,
        p -> p.getSpec() == null ? null : p.getSpec().getConnectionRef());
    return List.of(connectionSource);
  }

  private record Pass(Phase phase, boolean ready, String reason, String message, Duration requeue) {}

  @Override
  public UpdateControl<RetentionPolicy> reconcile(RetentionPolicy resource, Context<RetentionPolicy> ctx) {
    Pass pass;
    try {
      RetentionPolicyStatus previous = java.util.Objects.requireNonNullElseGet(statusWriter.current(resource), RetentionPolicyStatus::new);
      RetentionPolicyStatus status = Objects.requireNonNullElseGet(Serialization.clone(previous),
          RetentionPolicyStatus::new);
      status.setObservedGeneration(resource.getMetadata().getGeneration());
      pass = pass(resource, status);
      apply(resource, status, pass);
      statusWriter.write(resource, status, RetentionPolicy::new);
    } catch (RuntimeException e) {
      afterWrite.dropped(key(resource));
      throw e;
    }
    work.settle(key(resource));
    afterWrite.written(key(resource));
    return pass.requeue() == null ? UpdateControl.noUpdate()
        : UpdateControl.<RetentionPolicy>noUpdate().rescheduleAfter(pass.requeue());
  }

  private static String key(RetentionPolicy p) {
    return p.getMetadata().getNamespace() + "/" + p.getMetadata().getName();
  }

  private Pass pass(RetentionPolicy resource, RetentionPolicyStatus status) {
    String key = key(resource);
    var task = work.<Object>get(key);
    if (task.isPresent() && !task.get().done()) {
      return new Pass(Phase.Progressing, status.phase == Phase.Ready, "Running", task.get().progress(), POLL);
    }
    if (task.isPresent()) {
      work.take(key);
      String kind = runKinds.remove(key);
      try {
        Object result = task.get().future().get();
        if (result instanceof RetentionPolicyStatus.RunReport run) {
          status.lastRun = run;
          afterWrite.then(key, () -> record(resource, run));
          boolean passing = run.tables.stream().anyMatch(t -> "Failed".equals(t.reason)
              && Boolean.TRUE.equals(t.retriable));
          if (passing) {
            retry(status, true);
          } else if (!run.dryRun) {
            status.consecutiveFailures = null;
            status.retryTime = null;
          }
        } else if (result instanceof RetentionPolicyStatus.OptimizeReport opt) {
          status.lastOptimize = opt;
        }
      } catch (Exception e) {
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        afterWrite.then(key, () -> metrics.action(KIND, resource.getMetadata().getNamespace(),
            kind == null ? "run" : kind, "failure"));
        String retry = "retention".equals(kind) ? retry(status, Transient.is(cause)) : "";
        return new Pass(Phase.Degraded, false, "RunFailed", "The " + kind + " run failed: " + cause.getMessage()
            + (retry.isEmpty() ? ". It runs again at its next time." : retry + "."), POLL);
      }
    }
    RetentionPolicySpec spec = resource.getSpec();
    List<String> problems = validate(spec);
    if (!problems.isEmpty()) {
      return new Pass(Phase.Failed, false, "ValidationError", "The spec is invalid: " + String.join("; ", problems)
          + ". Nothing runs until it is fixed.", null);
    }
    String ns = resource.getMetadata().getNamespace();
    String connName = spec.getConnectionRef().getName();
    ConnectionResolver.Resolved conn;
    try {
      conn = resolver.resolve(ns, connName, connectionSource.get(new ResourceID(connName, ns)).orElse(null));
    } catch (ConnectionResolver.NotReady e) {
      return new Pass(status.phase == null ? Phase.Pending : status.phase, false, e.reason(), e.getMessage(),
          Duration.ofSeconds(ConnectionResolver.WARMING_UP.equals(e.reason()) ? 2 : 15));
    }
    String configured = spec.getDatabase() != null ? spec.getDatabase() : conn.connection().getSpec().getDatabase();
    String database = configured == null ? "default" : configured;
    RetentionPlanner.ServerFeatures server =
        RetentionPlanner.ServerFeatures.of(conn.connection().getStatus().getCapabilities());
    ZoneId zone = zone(spec);
    Instant now = clock.instant();

    // schedules: a missed time runs once, then the next time counts from now
    Instant nextRun = next(spec.getSchedule(), status.nextRunTime, now, spec.isSuspend());
    Instant nextOptimize = spec.getOptimize() == null ? null
        : next(spec.getOptimize().getSchedule(), status.nextOptimizeTime, now, spec.isSuspend());
    String runNow = annotation(resource, RetentionPolicy.RUN_NOW_ANNOTATION);
    String optimizeNow = annotation(resource, RetentionPolicy.OPTIMIZE_NOW_ANNOTATION);
    boolean runDue = (runNow != null && !runNow.equals(status.acknowledgedRunNow))
        || (nextRun != null && !nextRun.isAfter(now))
        || (status.retryTime != null && !spec.isSuspend() && !Instant.parse(status.retryTime).isAfter(now));
    boolean optimizeDue = (optimizeNow != null && !optimizeNow.equals(status.acknowledgedOptimizeNow))
        || (nextOptimize != null && !nextOptimize.isAfter(now));
    status.statementTimeout = StatementTimeout.text(StatementTimeout.of(spec.getStatementTimeout(),
        StatementTimeout.RETENTION));
    if (runDue) {
      status.acknowledgedRunNow = runNow;
      status.retryTime = null;
      status.nextRunTime = spec.getSchedule() == null || spec.isSuspend() ? null
          : format(schedule(spec.getSchedule()).next(now));
      runKinds.put(key, "retention");
      LocalDate today = LocalDate.ofInstant(now, zone);
      work.submit(key, progress -> ClusterRetention.applies(conn)
          ? ClusterRetention.run(conn, database, spec, server, zone, today, n -> notice(resource, n), progress)
          : new RetentionRunner(conn.forJob(), database, n -> notice(resource, n), progress).run(spec, server, zone, today));
      return new Pass(Phase.Progressing, status.phase == Phase.Ready, "Running", "retention run started", POLL);
    }
    if (optimizeDue) {
      status.acknowledgedOptimizeNow = optimizeNow;
      status.nextOptimizeTime = spec.getOptimize().getSchedule() == null || spec.isSuspend() ? null
          : format(schedule(spec.getOptimize().getSchedule()).next(now));
      runKinds.put(key, "optimize");
      work.submit(key, progress -> new RetentionRunner(conn.forJob(), database,
          n -> notice(resource, n), progress).optimize(spec));
      return new Pass(Phase.Progressing, status.phase == Phase.Ready, "Running", "OPTIMIZE run started", POLL);
    }
    status.nextRunTime = nextRun == null ? null : format(nextRun);
    status.nextOptimizeTime = nextOptimize == null ? null : format(nextOptimize);

    // preview and statistics: read-only metadata queries
    status.preview = new ArrayList<>();
    status.tables = new ArrayList<>();
    status.databaseBytes = 0L;
    try {
      // on a cluster each shard has its own data: a preview and statistics per shard
      Map<Integer, ClickHouseClient> shards = ClusterRetention.applies(conn) ? conn.shardClients()
          : Map.of(0, conn.forJob());
      for (var e : shards.entrySet()) {
        RetentionPlanner.Plan plan = new RetentionPlanner(e.getValue(), database, server)
            .plan(spec, zone, LocalDate.ofInstant(now, zone));
        Integer shard = e.getKey() == 0 ? null : e.getKey();
        plan.work().forEach(w -> {
          w.plan().shard = shard;
          status.preview.add(w.plan());
        });
        plan.stats().forEach(t -> {
          t.shard = shard;
          status.tables.add(t);
        });
        status.databaseBytes += plan.databaseBytes();
      }
    } catch (ClickHouseException e) {
      return new Pass(Phase.Degraded, false, "PreviewFailed", "Reading table metadata failed: " + e.getMessage(),
          Duration.ofSeconds(30));
    }
    Duration requeue = shortest(REFRESH, nextRun == null ? null : Duration.between(now, nextRun),
        nextOptimize == null ? null : Duration.between(now, nextOptimize));
    List<String> refused = new ArrayList<>();
    String firstReason = null;
    for (var p : status.preview) {
      if (p.reason != null) {
        refused.add(p.table + ": " + p.error);
        firstReason = firstReason == null ? p.reason : firstReason;
      }
    }
    if (status.lastRun != null) {
      for (var t : status.lastRun.tables) {
        if ("Failed".equals(t.reason)) {
          refused.add(t.table + " (last run): " + t.error);
          firstReason = firstReason == null ? "TableFailed" : firstReason;
        }
      }
      if (status.lastRun.replicas != null) {
        for (var r : status.lastRun.replicas) {
          if ("Differs".equals(r.state)) {
            refused.add("shard " + r.shard + " replica " + r.replica + " (" + r.endpoint + ") has other partitions"
                + " than its shard's other replicas after the last run (replication has not caught up, or the table is"
                + " not Replicated*MergeTree)");
            firstReason = firstReason == null ? "ReplicasDiffer" : firstReason;
          }
        }
      }
    }
    if (status.retryTime != null) {
      refused.add("the failed tables are tried again at " + status.retryTime + " (retry " + status.consecutiveFailures
          + " of " + Transient.MAX_RETRIES + ")");
      Duration untilRetry = Duration.between(now, Instant.parse(status.retryTime)).plusMillis(500);
      requeue = requeue == null || untilRetry.compareTo(requeue) < 0 ? untilRetry : requeue;
    }
    if (!refused.isEmpty()) {
      return new Pass(Phase.Degraded, true, firstReason, String.join("; ", refused), requeue);
    }
    return new Pass(Phase.Ready, true, "Ready", "Policy in force; next run " + (status.nextRunTime == null
        ? "on request (annotation " + RetentionPolicy.RUN_NOW_ANNOTATION + ")" : "at " + status.nextRunTime) + ".",
        requeue);
  }

  private void record(RetentionPolicy resource, RetentionPolicyStatus.RunReport run) {
    String ns = resource.getMetadata().getNamespace();
    metrics.action(KIND, ns, run.dryRun ? "dryrun" : "run", "success");
    metrics.duration(KIND, ns, "run", Duration.ofMillis(run.durationMillis == null ? 0 : run.durationMillis));
    var registry = metrics.registry();
    registry.counter("housekeeper_retention_partitions_dropped", "namespace", ns).increment(run.partitionsDroppedCount);
    registry.counter("housekeeper_retention_rows_deleted", "namespace", ns).increment(run.rowsDeleted);
    registry.counter("housekeeper_retention_bytes_freed", "namespace", ns).increment(run.bytesFreed);
    long failures = run.tables.stream().filter(t -> "Failed".equals(t.reason)).count();
    // registered at zero from the first run on, so that increase() sees the first failure
    registry.counter("housekeeper_retention_table_failures", "namespace", ns).increment(failures);
  }

  /** After a failed run: counts it and, for a passing failure with retries left, when it runs again. */
  private String retry(RetentionPolicyStatus status, boolean retriable) {
    RetryPolicy.Retry retry = RetryPolicy.BOUNDED.after(status.consecutiveFailures, retriable, clock.instant());
    status.consecutiveFailures = retry.failures();
    status.retryTime = retry.at() == null ? null : format(retry.at());
    return retry.words("it runs again");
  }

  private void notice(RetentionPolicy resource, RetentionRunner.Notice n) {
    if (n.warning()) {
      events.warning(resource, n.reason(), n.message());
    } else {
      events.normal(resource, n.reason(), n.message());
    }
  }

  private void apply(RetentionPolicy resource, RetentionPolicyStatus status, Pass pass) {
    Long gen = resource.getMetadata().getGeneration();
    status.phase = pass.phase();
    boolean degraded = pass.phase() == Phase.Degraded || pass.phase() == Phase.Failed;
    var c = Conditions.standard(status.getConditions(), pass.ready(), pass.phase() == Phase.Progressing, degraded,
        pass.reason(), pass.message(), gen, clock);
    status.setConditions(c);
    String key = key(resource);
    if (!"Running".equals(pass.reason()) && !Objects.equals(announced.put(key, pass.reason() + pass.message()),
        pass.reason() + pass.message()) && !"Ready".equals(pass.reason())) {
      events.warning(resource, pass.reason(), pass.message());
    }
    String ns = resource.getMetadata().getNamespace();
    String name = resource.getMetadata().getName();
    metrics.ready(KIND, ns, name, pass.phase() == Phase.Ready);
    metrics.phase(KIND, ns, name, pass.phase().name());
    metrics.timestamp(HousekeeperMetrics.LAST_SUCCESS, KIND, ns, name,
        status.lastRun == null || status.lastRun.dryRun ? null : status.lastRun.endTime);
    metrics.timestamp(HousekeeperMetrics.NEXT_RUN, KIND, ns, name, status.nextRunTime);
  }

  static List<String> validate(RetentionPolicySpec spec) {
    List<String> problems = new ArrayList<>();
    if (spec == null) {
      return List.of("spec is missing");
    }
    StatementTimeout.check(spec.getStatementTimeout(), problems);
    if (spec.getConnectionRef() == null || spec.getConnectionRef().getName() == null) {
      problems.add("spec.connectionRef.name is required");
    }
    if (spec.getDatabase() != null && !Identifiers.isValid(spec.getDatabase())) {
      problems.add("spec.database: " + Identifiers.describe(spec.getDatabase()) + " is not a valid database name");
    }
    if (spec.getColumn() != null && !Identifiers.isValid(spec.getColumn())) {
      problems.add("spec.column: " + Identifiers.describe(spec.getColumn()) + " is not a valid column name");
    }
    tryRun(problems, () -> Keep.parse("spec.keep", spec.getKeep()));
    var tables = spec.getTables();
    if (tables == null || ((tables.getNames() == null || tables.getNames().isEmpty())
        && (tables.getPattern() == null || tables.getPattern().isBlank()))) {
      problems.add("spec.tables: give names and/or a pattern");
    } else {
      if (tables.getNames() != null) {
        tables.getNames().stream().filter(n -> !Identifiers.isValid(n))
            .forEach(n -> problems.add("spec.tables.names: " + Identifiers.describe(n) + " is not a valid table name"));
      }
      if (tables.getPattern() != null && !tables.getPattern().isBlank()) {
        if (!tables.getPattern().matches("^[A-Za-z0-9_.*+?^$|()\\[\\]{},\\\\-]{1,1024}$")) {
          problems.add("spec.tables.pattern: " + Identifiers.describe(tables.getPattern()) + " has characters no table"
              + " name has: use letters, digits, _ and regular-expression operators");
        } else {
          try {
            java.util.regex.Pattern.compile(tables.getPattern());
          } catch (PatternSyntaxException e) {
            problems.add("spec.tables.pattern: not a regular expression: " + e.getDescription());
          }
        }
      }
      if (tables.getExclude() != null) {
        tables.getExclude().stream().filter(n -> !Identifiers.isValid(n))
            .forEach(n -> problems.add("spec.tables.exclude: " + Identifiers.describe(n) + " is not a valid table name"));
      }
    }
    if (spec.getOverrides() != null) {
      for (var o : spec.getOverrides()) {
        if (!Identifiers.isValid(o.getTable())) {
          problems.add("spec.overrides.table: " + Identifiers.describe(o.getTable()) + " is not a valid table name");
        }
        if (o.getColumn() != null && !Identifiers.isValid(o.getColumn())) {
          problems.add("spec.overrides.column: " + Identifiers.describe(o.getColumn()) + " is not a valid column name");
        }
        if (o.getKeep() != null) {
          tryRun(problems, () -> Keep.parse("spec.overrides[" + o.getTable() + "].keep", o.getKeep()));
        }
      }
    }
    if (spec.getSchedule() != null) {
      tryRun(problems, () -> schedule(spec.getSchedule()));
    }
    if (spec.getOptimize() != null && spec.getOptimize().getSchedule() != null) {
      tryRun(problems, () -> CronSchedule.parse("spec.optimize.schedule", spec.getOptimize().getSchedule().getCron(),
          spec.getOptimize().getSchedule().getTimeZone()));
    }
    if (spec.getOptimize() != null && (spec.getOptimize().getLastPartitions() < 0
        || spec.getOptimize().getLastPartitions() > 100_000 || spec.getOptimize().getMinParts() < 1
        || spec.getOptimize().getMinParts() > 100_000)) {
      problems.add("spec.optimize: lastPartitions must be between 0 and 100000, minParts between 1 and 100000");
    }
    if (spec.getMaxPartitionsPerRun() < 1 || spec.getMaxPartitionsPerRun() > 100_000) {
      problems.add("spec.maxPartitionsPerRun must be between 1 and 100000");
    }
    if (spec.getMaxRowsPerRun() < 1) {
      problems.add("spec.maxRowsPerRun must be at least 1");
    }
    return problems;
  }

  private static void tryRun(List<String> problems, Runnable check) {
    try {
      check.run();
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
  }

  private static CronSchedule schedule(RetentionPolicySpec.Schedule s) {
    return CronSchedule.parse("spec.schedule", s.getCron(), s.getTimeZone());
  }

  private static ZoneId zone(RetentionPolicySpec spec) {
    return spec.getSchedule() != null ? schedule(spec.getSchedule()).zone() : ZoneId.of("UTC");
  }

  private static Instant next(RetentionPolicySpec.Schedule s, String recorded, Instant now, boolean suspend) {
    if (s == null || suspend) {
      return null;
    }
    if (recorded != null) {
      return Instant.parse(recorded);
    }
    return CronSchedule.parse("schedule", s.getCron(), s.getTimeZone()).next(now);
  }

  private static String annotation(RetentionPolicy r, String name) {
    return r.getMetadata().getAnnotations() == null ? null : r.getMetadata().getAnnotations().get(name);
  }

  private static String format(Instant i) {
    return i.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private static Duration shortest(Duration a, Duration... others) {
    Duration out = a;
    for (Duration d : others) {
      if (d != null && d.compareTo(out) < 0) {
        out = d.isNegative() ? Duration.ofSeconds(1) : d.plusSeconds(1);
      }
    }
    return out;
  }

  @Override
  public DeleteControl cleanup(RetentionPolicy resource, Context<RetentionPolicy> ctx) {
    work.cancel(key(resource));
    runKinds.remove(key(resource));
    announced.remove(key(resource));
    metrics.forget(KIND, resource.getMetadata().getNamespace(), resource.getMetadata().getName());
    statusWriter.forget(resource);
    return DeleteControl.defaultDelete();
  }
}
