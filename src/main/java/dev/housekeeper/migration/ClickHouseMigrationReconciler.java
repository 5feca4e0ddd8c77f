package dev.housekeeper.migration;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.Durations;
import dev.housekeeper.common.AfterWrite;
import dev.housekeeper.common.EventRecorder;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.StatusWriter;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectionEventSource;
import dev.housekeeper.connection.ConnectionResolver;
import dev.housekeeper.migration.MigrationRunner.Outcome;
import dev.housekeeper.migration.MigrationRunner.Report;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

/**
 * Reconciles ClickHouseMigration: validates, starts a {@link MigrationRunner} on the work pool,
 * polls it, and writes what the ledger says into status. It reacts to metadata changes too
 * (generation-unaware), because the retry annotation is how a user resumes a Dirty migration.
 */
@ControllerConfiguration(name = "clickhousemigration", generationAwareEventProcessing = false)
public class ClickHouseMigrationReconciler implements Reconciler<ClickHouseMigration>, Cleaner<ClickHouseMigration> {

  static final String KIND = "ClickHouseMigration";
  private static final Duration POLL = Duration.ofSeconds(1);
  private static final Duration RECHECK = Duration.ofMinutes(10);

  private final ConnectionResolver resolver;
  private final WorkExecutor work;
  private final StatusWriter statusWriter;
  private final EventRecorder events;
  /** A finished run's Events and counters, said once the status recording it is written. */
  private final AfterWrite afterWrite;
  private final HousekeeperMetrics metrics;
  private final Clock clock;
  private final String identity;
  private final Map<String, MigrationRunner> runners = new ConcurrentHashMap<>();
  private final Map<String, String> retryValues = new ConcurrentHashMap<>();
  private final Map<String, Integer> retryAttempts = new ConcurrentHashMap<>();
  /** Inputs for which a run reached a final outcome, so that the same inputs do not run again. */
  private final Map<String, Settled> settled = new ConcurrentHashMap<>();
  private final Map<String, String> runFingerprints = new ConcurrentHashMap<>();
  /** The Ready reason last announced by an Event, per resource (the informer cache may lag behind). */
  private final Map<String, String> announced = new ConcurrentHashMap<>();

  private record Settled(String fingerprint, java.time.Instant at, Pass pass) {}
  private InformerEventSource<ClickHouseConnection, ClickHouseMigration> connectionSource;
  private InformerEventSource<ConfigMap, ClickHouseMigration> configMapSource;

  public ClickHouseMigrationReconciler(ConnectionResolver resolver, WorkExecutor work, StatusWriter statusWriter,
      EventRecorder events, HousekeeperMetrics metrics, Clock clock, String identity) {
    this.resolver = resolver;
    this.work = work;
    this.statusWriter = statusWriter;
    this.events = events;
    this.afterWrite = new AfterWrite(events);
    this.metrics = metrics;
    this.clock = clock;
    this.identity = identity;
  }

  @Override
  public List<EventSource<?, ClickHouseMigration>> prepareEventSources(EventSourceContext<ClickHouseMigration> ctx) {
    connectionSource = ConnectionEventSource.create(ClickHouseMigration.class, ctx,
        m -> m.getSpec() == null ? null : m.getSpec().getConnectionRef());
    configMapSource = new InformerEventSource<>(InformerEventSourceConfiguration
        .from(ConfigMap.class, ClickHouseMigration.class)
        .withNamespacesInheritedFromController()
        .withSecondaryToPrimaryMapper(cm -> ctx.getPrimaryCache().list(cm.getMetadata().getNamespace())
            .filter(m -> m.getSpec() != null && m.getSpec().getConfigMaps() != null && m.getSpec().getConfigMaps()
                .stream().anyMatch(s -> cm.getMetadata().getName().equals(s.getName())))
            .map(ResourceID::fromResource).collect(Collectors.toSet()))
        .build(), ctx);
    return List.of(connectionSource, configMapSource);
  }

  private static String key(ClickHouseMigration m) {
    return m.getMetadata().getNamespace() + "/" + m.getMetadata().getName();
  }

  /** The result of one pass: status to write and when to come back. */
  private record Pass(Phase phase, boolean ready, String reason, String message, Duration requeue) {}

  @Override
  public UpdateControl<ClickHouseMigration> reconcile(ClickHouseMigration resource, Context<ClickHouseMigration> ctx) {
    Pass pass;
    try {
      ClickHouseMigrationStatus previous = java.util.Objects.requireNonNullElseGet(statusWriter.current(resource), ClickHouseMigrationStatus::new);
      ClickHouseMigrationStatus status = copyOf(previous);
      status.setObservedGeneration(resource.getMetadata().getGeneration());
      pass = pass(resource, status);
      apply(resource, previous, status, pass);
      statusWriter.write(resource, status, ClickHouseMigration::new);
    } catch (RuntimeException e) {
      afterWrite.dropped(key(resource));
      throw e;
    }
    work.settle(key(resource));
    afterWrite.written(key(resource));
    return pass.requeue() == null ? UpdateControl.noUpdate() : UpdateControl.<ClickHouseMigration>noUpdate()
        .rescheduleAfter(pass.requeue());
  }

  private Pass pass(ClickHouseMigration resource, ClickHouseMigrationStatus status) {
    String key = key(resource);
    var task = work.<Report>get(key);
    if (task.isPresent() && !task.get().done()) {
      return new Pass(Phase.Progressing, false, "Running", task.get().progress(), POLL);
    }
    if (task.isPresent()) {
      work.take(key);
      MigrationRunner ran = runners.remove(key);
      return finished(resource, status, task.get(), key, ran);
    }
    ClickHouseMigrationSpec spec = resource.getSpec();
    List<String> problems = validate(spec);
    if (!problems.isEmpty()) {
      return new Pass(Phase.Failed, false, "ValidationError", "The spec is invalid: " + String.join("; ", problems)
          + ". Nothing ran.", null);
    }
    String ns = resource.getMetadata().getNamespace();
    String fingerprint = fingerprint(resource);
    Settled last = settled.get(key);
    if (last != null && last.fingerprint().equals(fingerprint)) {
      Duration left = last.pass().phase() == Phase.Ready
          ? Duration.between(clock.instant(), last.at().plus(RECHECK)) : null;
      if (left == null || !left.isNegative()) {
        // nothing changed since the last run settled: keep what it found
        Pass p = last.pass();
        return new Pass(p.phase(), p.ready(), p.reason(), p.message(), left);
      }
    }
    String connName = spec.getConnectionRef().getName();
    ConnectionResolver.Resolved conn;
    try {
      conn = resolver.resolve(ns, connName, connectionSource.get(new ResourceID(connName, ns)).orElse(null));
    } catch (ConnectionResolver.NotReady e) {
      if (ConnectionResolver.WARMING_UP.equals(e.reason()) && status.getPhase() != null) {
        // the operator just started: keep the status as it is until the connection is probed
        var ready = Conditions.find(status.getConditions(), Conditions.READY);
        return new Pass(status.getPhase(), ready.map(c -> "True".equals(c.getStatus())).orElse(false),
            ready.map(c -> c.getReason()).orElse("Unknown"), ready.map(c -> c.getMessage()).orElse(""),
            Duration.ofSeconds(2));
      }
      return new Pass(status.getPhase() == null ? Phase.Pending : status.getPhase(), false, e.reason(),
          e.getMessage() + " Waiting for it.", Duration.ofSeconds(15));
    }
    MigrationSource.Collected collected = MigrationSource.collect(spec,
        name -> configMapSource.get(new ResourceID(name, ns)).orElse(null));
    if (!collected.problems().isEmpty()) {
      return new Pass(Phase.Failed, false, "ValidationError", "The migrations are invalid: "
          + String.join("; ", collected.problems()) + ". Nothing ran.", null);
    }
    String database = spec.getDatabase() != null ? spec.getDatabase() : conn.connection().getSpec().getDatabase();
    String cluster = spec.isOnCluster() ? conn.connection().getSpec().getCluster() : null;
    if (spec.isOnCluster() && (cluster == null || cluster.isBlank())) {
      return new Pass(Phase.Failed, false, "ValidationError", "spec.onCluster is true but ClickHouseConnection \""
          + connName + "\" names no cluster (spec.cluster).", null);
    }
    String retry = resource.getMetadata().getAnnotations() == null ? null
        : resource.getMetadata().getAnnotations().get(ClickHouseMigration.RETRY_ANNOTATION);
    boolean retryRequested = retry != null && !retry.equals(status.getAcknowledgedRetry());
    var request = new MigrationRunner.Request(key, database == null ? "default" : database, spec.getLedgerTable(),
        collected.scripts(), spec.getTargetVersion(), spec.isDryRun(), spec.isAllowDrift(), retryRequested, cluster,
        Durations.parse("lockTimeout", spec.getLockTimeout(), Duration.ofSeconds(60)),
        Durations.parse("statementTimeout", spec.getStatementTimeout(), Duration.ofSeconds(300)),
        identity + "/" + key, cluster == null ? null : clusterDdlTimeout(conn, spec), lockQuorum(conn, cluster));
    status.setStatementTimeout(dev.housekeeper.common.StatementTimeout.text(request.statementTimeout()));
    var progressSink = new java.util.concurrent.atomic.AtomicReference<java.util.function.Consumer<String>>(p -> { });
    // the lock claim is read back and the ledger appended and read: one server for the whole run (on a cluster, one
    // node at a time, which reads what was written through it)
    MigrationRunner runner = new MigrationRunner(conn.forJob(), request, p -> progressSink.get().accept(p));
    runners.put(key, runner);
    if (retryRequested) {
      retryValues.put(key, retry);
    } else {
      retryValues.remove(key);
    }
    runFingerprints.put(key, fingerprint);
    work.submit(key, progress -> {
      progressSink.set(progress);
      return runner.run();
    });
    return new Pass(Phase.Progressing, false, "Running", "run started", POLL);
  }

  private Pass finished(ClickHouseMigration resource, ClickHouseMigrationStatus status,
      WorkExecutor.Task<Report> task, String key, MigrationRunner ran) {
    String ns = resource.getMetadata().getNamespace();
    List<String> queued = ran == null ? List.of() : ran.queuedOnCluster();
    Duration blocked = ran == null ? Duration.ZERO : ran.clientBlockedFor();
    Report report;
    try {
      report = task.future().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Pass(Phase.Progressing, false, "Running", "interrupted", POLL);
    } catch (java.util.concurrent.CancellationException e) {
      return new Pass(Phase.Progressing, false, "Retrying", "the run was cancelled; starting again", POLL);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      String message = cause instanceof ClickHouseException ce ? ce.kind().reason() + ": " + ce.getMessage()
          : String.valueOf(cause);
      status.setLastError(message);
      return new Pass(Phase.Failed, false, "RunFailed", "The run failed: " + message + ". Retrying.",
          backoff(key, blocked));
    }
    String retry = retryValues.remove(key);
    if (retry != null) {
      status.setAcknowledgedRetry(retry);
    }
    fill(status, report, resource.getSpec());
    for (MigrationRunner.Action a : report.actions()) {
      boolean up = "up".equals(a.direction());
      afterWrite.normal(key, resource, up ? "MigrationApplied" : "MigrationRolledBack", (up ? "Applied"
          : "Rolled back") + " version " + a.version() + " (" + a.name() + "): " + a.statements() + " statement(s) in "
          + a.durationMs() + " ms");
      afterWrite.then(key, () -> {
        metrics.action(KIND, ns, up ? "apply" : "rollback", "success");
        metrics.duration(KIND, ns, up ? "apply" : "rollback", Duration.ofMillis(a.durationMs()));
      });
    }
    String ranWith = runFingerprints.remove(key);
    Pass pass = passFor(report, status, ns, key, blocked);
    if (report.outcome() == Outcome.READY && resource.getSpec().isOnCluster()) {
      pass = replicas(resource, status, pass, queued);
    } else {
      status.replicas = null;
    }
    if (report.outcome() != Outcome.RETRY && report.outcome() != Outcome.LOCKED) {
      retryAttempts.remove(key);
      if (ranWith != null && !REPLICAS_PENDING.equals(pass.reason())) {
        settled.put(key, new Settled(ranWith, clock.instant(), pass));
      }
    } else {
      settled.remove(key);
    }
    return pass;
  }

  static final String REPLICAS_PENDING = "ReplicasPending";

  /**
   * How long an ON CLUSTER statement waits for every node before the run goes on and leaves it to the
   * distributed DDL queue: briefly when the connection already sees a replica down, else up to the
   * statement timeout (at most 180 s, ClickHouse's default).
   */
  private static Duration clusterDdlTimeout(ConnectionResolver.Resolved conn, ClickHouseMigrationSpec spec) {
    var topology = conn.topology();
    boolean someDown = topology != null && topology.replicas.stream()
        .anyMatch(r -> Boolean.FALSE.equals(r.reachable));
    Duration statement = Durations.parse("statementTimeout", spec.getStatementTimeout(), Duration.ofSeconds(300));
    Duration limit = someDown ? Duration.ofSeconds(10) : Duration.ofSeconds(180);
    return statement.compareTo(limit) < 0 ? statement : limit;
  }

  /**
   * The lock table on a cluster is one replication group of every node: a claim counts once a
   * majority of them has it (and at most as many as answer now, or the claim would wait in vain).
   */
  private static int lockQuorum(ConnectionResolver.Resolved conn, String cluster) {
    var topology = conn.topology();
    if (cluster == null || topology == null) {
      return 0;
    }
    int all = topology.replicas.size();
    long up = topology.replicas.stream().filter(r -> Boolean.TRUE.equals(r.reachable)).count();
    return (int) Math.min(all / 2 + 1, Math.max(1, up));
  }

  /** After a run on a cluster: every replica's schema against the node it ran through. */
  private Pass replicas(ClickHouseMigration resource, ClickHouseMigrationStatus status, Pass pass,
      List<String> queued) {
    String ns = resource.getMetadata().getNamespace();
    String connName = resource.getSpec().getConnectionRef().getName();
    ConnectionResolver.Resolved conn;
    try {
      conn = resolver.resolve(ns, connName, connectionSource.get(new ResourceID(connName, ns)).orElse(null));
    } catch (ConnectionResolver.NotReady e) {
      return pass;
    }
    String database = resource.getSpec().getDatabase() != null ? resource.getSpec().getDatabase()
        : conn.connection().getSpec().getDatabase();
    try {
      status.replicas = ClusterSchema.check(conn, database == null ? "default" : database);
    } catch (ClickHouseException e) {
      return pass;
    }
    if (ClusterSchema.converged(status.replicas)) {
      return pass;
    }
    String behind = status.replicas.stream().filter(r -> !"InSync".equals(r.state) && !"Unknown".equals(r.state))
        .map(r -> "shard " + r.shard + " replica " + r.replica + " (" + r.endpoint + ", " + r.state + ")")
        .collect(java.util.stream.Collectors.joining(", "));
    return new Pass(Phase.Ready, true, REPLICAS_PENDING, pass.message() + " Not yet on " + behind + ": ClickHouse"
        + " runs the queued ON CLUSTER DDL there when the node returns"
        + (queued.isEmpty() ? "" : " (" + queued.size() + " statement(s) of this run were left to the queue)")
        + "; checking every 15s. If the node is gone for good, remove it from remote_servers and its endpoint from"
        + " the connection.", Duration.ofSeconds(15));
  }

  private Pass passFor(Report report, ClickHouseMigrationStatus status, String ns, String key, Duration blocked) {
    return switch (report.outcome()) {
      case READY -> new Pass(Phase.Ready, true, report.actions().isEmpty() ? "UpToDate" : "Applied",
          "At version " + status.getCurrentVersion() + "; " + report.message() + ".", RECHECK);
      case PLANNED -> new Pass(Phase.Ready, true, "DryRunPlanned", "Dry run: " + report.plan().size()
          + " step(s) would run (see status.plan); nothing ran.", RECHECK);
      case LOCKED -> new Pass(Phase.Progressing, false, "WaitingForLock", report.message() + ".", Duration.ofSeconds(3));
      case DIRTY -> {
        status.setLastError(report.message());
        metrics.action(KIND, ns, "apply", "failure");
        yield new Pass(Phase.Dirty, false, "MigrationFailed", report.message(), null);
      }
      case DRIFT -> new Pass(Phase.Drift, false, "DriftDetected", report.message(), null);
      case BLOCKED -> new Pass(Phase.Failed, false, report.message().contains("no down script") ? "MissingDownScript"
          : "Blocked", report.message(), null);
      case RETRY -> {
        status.setLastError(report.message());
        yield new Pass(Phase.Progressing, false, "Retrying", report.message() + "; retrying.", backoff(key, blocked));
      }
    };
  }

  /** What a run depends on besides the ledger: the spec, the retry annotation and the ConfigMaps' versions. */
  private String fingerprint(ClickHouseMigration resource) {
    StringBuilder out = new StringBuilder().append(resource.getMetadata().getGeneration());
    var annotations = resource.getMetadata().getAnnotations();
    out.append('|').append(annotations == null ? "" : annotations.get(ClickHouseMigration.RETRY_ANNOTATION));
    if (resource.getSpec().getConfigMaps() != null) {
      for (var ref : resource.getSpec().getConfigMaps()) {
        out.append('|').append(ref.getName()).append('@').append(configMapSource
            .get(new ResourceID(ref.getName(), resource.getMetadata().getNamespace()))
            .map(cm -> cm.getMetadata().getResourceVersion()).orElse("-"));
      }
    }
    return out.toString();
  }

  /**
   * When to try a failed run again: once the connection's circuit breaker lets requests through again
   * when it is open (an attempt before that fails at once and would only push the next one further
   * out), else 2, 4, 8 ... 60 s after the failure.
   */
  private Duration backoff(String key, Duration blocked) {
    if (blocked.compareTo(Duration.ZERO) > 0) {
      return blocked.plusMillis(500);
    }
    int attempt = retryAttempts.merge(key, 1, Integer::sum);
    return Duration.ofSeconds(Math.min(60, 1L << Math.min(attempt, 6)));
  }

  private static void fill(ClickHouseMigrationStatus status, Report report, ClickHouseMigrationSpec spec) {
    var applied = new ArrayList<ClickHouseMigrationStatus.AppliedMigration>();
    long current = 0;
    for (Ledger.VersionState s : report.ledger().values()) {
      if (s.applied()) {
        current = Math.max(current, s.version);
        var a = new ClickHouseMigrationStatus.AppliedMigration();
        a.setVersion(s.version);
        a.setName(s.name);
        a.setChecksum(s.checksum);
        a.setAppliedAt(s.appliedAt == null ? null : s.appliedAt.replace(' ', 'T') + "Z");
        a.setDurationMillis(s.durationMs);
        a.setStatements(s.statementCount);
        applied.add(0, a);
      }
    }
    status.setApplied(applied.size() > 50 ? new ArrayList<>(applied.subList(0, 50)) : applied);
    status.setCurrentVersion(current);
    var steps = report.plan().stream().map(s -> new ClickHouseMigrationStatus.PlannedStep(s.script().version(),
        s.script().name(), s.direction(), s.statements() - s.fromIndex())).toList();
    boolean stillPending = report.outcome() != Outcome.READY;
    status.setPending(stillPending ? new ArrayList<>(steps) : new ArrayList<>());
    status.setPendingCount(stillPending ? steps.size() : 0);
    status.setPlan(report.outcome() == Outcome.PLANNED ? new ArrayList<>(steps) : null);
    status.setDrifted(report.drifted().isEmpty() ? null : report.drifted());
    status.setTargetVersion(spec.getTargetVersion());
    status.setDirty(null);
    report.ledger().values().stream().filter(s -> "failed".equals(s.state)).findFirst().ifPresent(s -> {
      var d = new ClickHouseMigrationStatus.DirtyState();
      d.setVersion(s.version);
      d.setName(s.name);
      d.setDirection(s.direction);
      d.setStatementIndex(s.failedIndex);
      d.setError(s.error);
      status.setDirty(d);
    });
    if (status.getDirty() != null) {
      status.setPendingCount(Math.max(1, status.getPendingCount()));
    }
    status.setLastRun(report.message());
    if (report.outcome() == Outcome.READY || report.outcome() == Outcome.PLANNED) {
      status.setLastError(null);
    }
  }

  private void apply(ClickHouseMigration resource, ClickHouseMigrationStatus previous, ClickHouseMigrationStatus status,
      Pass pass) {
    Long gen = resource.getMetadata().getGeneration();
    status.setPhase(pass.phase());
    boolean degraded = pass.phase() == Phase.Dirty || pass.phase() == Phase.Drift || pass.phase() == Phase.Failed
        || REPLICAS_PENDING.equals(pass.reason());
    var conditions = Conditions.standard(status.getConditions(), pass.ready(), pass.phase() == Phase.Progressing,
        degraded, pass.reason(), pass.message(), gen, clock);
    status.setConditions(conditions);
    String before = announced.computeIfAbsent(key(resource), k -> Conditions.find(previous.getConditions(),
        Conditions.READY).map(c -> c.getReason()).orElse(""));
    boolean quiet = "Running".equals(pass.reason()) || "Applied".equals(pass.reason())
        || "UpToDate".equals(pass.reason());
    if (!quiet) {
      announced.put(key(resource), pass.reason());
    }
    if (!Objects.equals(before, pass.reason()) && !quiet) {
      if (degraded || "Retrying".equals(pass.reason()) || pass.reason().startsWith("Connection")) {
        events.warning(resource, pass.reason(), pass.message());
      } else {
        events.normal(resource, pass.reason(), pass.message());
      }
    }
    metrics.ready(KIND, resource.getMetadata().getNamespace(), resource.getMetadata().getName(), pass.ready());
    metrics.phase(KIND, resource.getMetadata().getNamespace(), resource.getMetadata().getName(), pass.phase().name());
  }

  static List<String> validate(ClickHouseMigrationSpec spec) {
    List<String> problems = new ArrayList<>();
    if (spec == null) {
      return List.of("spec is missing");
    }
    if (spec.getConnectionRef() == null || spec.getConnectionRef().getName() == null
        || spec.getConnectionRef().getName().isBlank()) {
      problems.add("spec.connectionRef.name is required");
    }
    if (spec.getDatabase() != null && !Identifiers.isValid(spec.getDatabase())) {
      problems.add("spec.database: " + Identifiers.describe(spec.getDatabase()) + " is not a valid database name");
    }
    if (!Identifiers.isValid(spec.getLedgerTable())) {
      problems.add("spec.ledgerTable: " + Identifiers.describe(spec.getLedgerTable()) + " is not a valid table name");
    }
    if (spec.getTargetVersion() != null && spec.getTargetVersion() < 0) {
      problems.add("spec.targetVersion must be 0 or more");
    }
    try {
      if (Durations.parse("spec.lockTimeout", spec.getLockTimeout(), Duration.ofSeconds(60)).toSeconds() < 5) {
        problems.add("spec.lockTimeout must be at least 5s");
      }
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    try {
      Durations.parse("spec.statementTimeout", spec.getStatementTimeout(), Duration.ofSeconds(300));
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    return problems;
  }

  private static ClickHouseMigrationStatus copyOf(ClickHouseMigrationStatus s) {
    var out = io.fabric8.kubernetes.client.utils.Serialization.clone(s);
    return out == null ? new ClickHouseMigrationStatus() : out;
  }

  @Override
  public DeleteControl cleanup(ClickHouseMigration resource, Context<ClickHouseMigration> ctx) {
    String key = key(resource);
    MigrationRunner runner = runners.remove(key);
    work.cancel(key);
    settled.remove(key);
    announced.remove(key);
    if (runner != null) {
      try {
        runner.cancelStatement();
      } catch (ClickHouseException e) {
        // nothing more can be done; the statement's own time limit ends it
      }
    }
    metrics.forget(KIND, resource.getMetadata().getNamespace(), resource.getMetadata().getName());
    statusWriter.forget(resource);
    return DeleteControl.defaultDelete();
  }
}
