package dev.housekeeper.backup;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.Transient;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectedReconciler;
import dev.housekeeper.connection.ConnectionResolver;
import dev.housekeeper.common.KubernetesNames;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reconciles ClickHouseRestore: once (and again for each new value of the run-now annotation)
 * restores the chosen backup on the work pool and reports each table in status.
 */
@ControllerConfiguration(name = "clickhouserestore", generationAwareEventProcessing = false)
public class ClickHouseRestoreReconciler
    extends ConnectedReconciler<ClickHouseRestore, ClickHouseRestoreStatus, Phase> {

  static final String KIND = "ClickHouseRestore";
  private static final Duration POLL = Duration.ofSeconds(1);

  private final Map<String, String> hostAliases;
  /** The native restores running in this process, by resource: their server-side ids go to status. */
  private final Map<String, NativeRestore> natives = new java.util.concurrent.ConcurrentHashMap<>();

  public ClickHouseRestoreReconciler(Services services, Map<String, String> hostAliases) {
    super(ClickHouseRestore.class, KIND, ClickHouseRestore::new, ClickHouseRestoreStatus::new,
        r -> r.getSpec().connectionRef, Set.of("Running", "Restored", "RestoreFailed", "TablesFailed"), services);
    this.hostAliases = hostAliases;
  }

  /** What a restore produced. */
  record Outcome(String backupId, String method, List<LogicalRestore.TableResult> tables) {}

  /** A backup taken on a cluster, restored into the connection's cluster shard by shard. */
  private static List<LogicalRestore.TableResult> restoreOnCluster(ConnectionResolver.Resolved conn,
      LogicalRestore restore, Manifest manifest, java.util.function.Function<Manifest.TableEntry, String> target,
      java.util.function.Predicate<Manifest.TableEntry> selected, LogicalRestore.Mode mode) throws IOException {
    var topology = conn.topology();
    if (topology == null) {
      throw new IOException("the backup was taken on a cluster (its data is per shard) but the connection names no"
          + " cluster (spec.cluster); restore it through a connection to a cluster");
    }
    Map<Integer, List<ClickHouseClient>> replicas = new java.util.TreeMap<>();
    for (var r : topology.replicas) {
      conn.replica(r).ifPresent(c -> replicas.computeIfAbsent(r.shard, k -> new ArrayList<>()).add(c));
    }
    return restore.runOnCluster(manifest, target, selected, mode, topology.cluster, conn.shardClients(), replicas);
  }

  /** A restore waiting for its backup starts as soon as that backup completes (no polling needed). */
  @Override
  protected List<io.javaoperatorsdk.operator.processing.event.source.EventSource<?, ClickHouseRestore>>
      moreEventSources(io.javaoperatorsdk.operator.api.reconciler.EventSourceContext<ClickHouseRestore> ctx) {
    return List.of(new io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource<>(
        io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration
            .from(ClickHouseBackup.class, ClickHouseRestore.class)
            .withName("backups")
            .withNamespacesInheritedFromController()
            .withSecondaryToPrimaryMapper(b -> ctx.getPrimaryCache().list(b.getMetadata().getNamespace())
                .filter(r -> r.getSpec() != null && r.getSpec().source != null
                    && b.getMetadata().getName().equals(r.getSpec().source.backupName))
                .map(io.javaoperatorsdk.operator.processing.event.ResourceID::fromResource)
                .collect(java.util.stream.Collectors.toSet()))
            .build(), ctx));
  }

  @Override
  protected void phase(ClickHouseRestoreStatus status, Phase phase) {
    status.phase = phase;
  }

  @Override
  protected Pass<Phase> pass(ClickHouseRestore resource, ClickHouseRestoreStatus status, KubernetesClient k8s) {
    String key = key(resource);
    var task = work.<Outcome>get(key);
    if (task.isPresent() && !task.get().done()) {
      NativeRestore running = natives.get(key);
      if (running != null) {
        status.runningServerRestoreId = running.serverRestoreId();
        status.runningServerRestoreTable = running.tableInFlight();
      }
      return Pass.running(Phase.Running, "Running", task.get().progress(), POLL);
    }
    if (task.isPresent()) {
      work.take(key);
      NativeRestore stopped = natives.remove(key);
      if (stopped != null && stopped.serverRestoreId() != null && interrupted(task.get())) {
        // this process stopped watching (it is stopping); the server's restore goes on and is watched again
        status.runningServerRestoreId = stopped.serverRestoreId();
        status.runningServerRestoreTable = stopped.tableInFlight();
        return Pass.running(Phase.Running, "Running", "the server's restore "
            + stopped.serverRestoreId() + " goes on", POLL);
      }
      status.runningServerRestoreId = null;
      status.runningServerRestoreTable = null;
      return fold(resource, status, task.get());
    }
    // a native restore that a process now gone left running on the server: watched to its end, not started again
    NativeRestore.Resume resume = status.runningServerRestoreId != null
        ? new NativeRestore.Resume(status.runningServerRestoreId, status.runningServerRestoreTable) : null;
    ClickHouseRestoreSpec spec = resource.getSpec();
    List<String> problems = validate(spec);
    if (!problems.isEmpty()) {
      return Pass.failed(Phase.Failed, "ValidationError", "The spec is invalid: "
          + String.join("; ", problems) + ".", null);
    }
    String runNow = annotation(resource, ClickHouseRestore.RUN_NOW_ANNOTATION);
    boolean asked = runNow != null && !runNow.equals(status.acknowledgedRunNow);
    boolean ran = status.phase == Phase.Succeeded || (status.phase == Phase.Failed && status.startTime != null);
    boolean retryDue = !asked && ran && status.retryTime != null
        && !Instant.parse(status.retryTime).isAfter(clock.instant());
    if (ran && !asked && !retryDue && resume == null) {
      return settled(status);
    }
    String ns = resource.getMetadata().getNamespace();
    ConnectionResolver.Resolved conn;
    try {
      conn = connection(resource, spec.connectionRef.getName());
    } catch (ConnectionResolver.NotReady e) {
      if (resume != null) {
        // the server goes on restoring meanwhile; watching it resumes when the connection is Ready
        return Pass.running(Phase.Running, e.reason(), e.getMessage() + " The server's restore "
            + resume.serverRestoreId() + " goes on; it is watched again when the connection is Ready.", notReadyRequeue(e));
      }
      return Pass.waiting(Phase.Pending, e.reason(), e.getMessage() + " The restore starts when it is"
          + " Ready.", notReadyRequeue(e));
    }
    // the source: a backup resource (its newest complete backup by default) or a location
    BackupStorage storage;
    String backupId = spec.source.backupId;
    String keySecret = spec.keySecret;
    if (spec.source.backupName != null) {
      ClickHouseBackup backup = k8s.resources(ClickHouseBackup.class).inNamespace(ns)
          .withName(spec.source.backupName).get();
      if (backup == null) {
        return Pass.waiting(Phase.Pending, "BackupNotFound", "ClickHouseBackup "
            + spec.source.backupName + " does not exist in namespace " + ns + ".", Duration.ofSeconds(15));
      }
      storage = backup.getSpec().storage;
      if (keySecret == null && backup.getSpec().encryption != null) {
        keySecret = backup.getSpec().encryption.keySecret;
      }
      if (backupId == null) {
        var last = backup.getStatus() == null ? null : backup.getStatus().lastSuccessful;
        if (last == null) {
          return Pass.waiting(Phase.Pending, "NoCompleteBackup", "ClickHouseBackup "
              + spec.source.backupName + " has no complete backup yet; the restore starts when it has one.", Duration.ofSeconds(15));
        }
        backupId = last.id;
      } else if (backup.getStatus() != null && backup.getStatus().backups.stream()
          .anyMatch(b -> backupId(b.id, spec) && !"Complete".equals(b.outcome))) {
        return Pass.failed(Phase.Failed, "BackupIncomplete", "Backup " + backupId + " of "
            + spec.source.backupName + " is not complete and cannot be restored.", null);
      }
    } else {
      storage = spec.source.storage;
    }
    Map<String, byte[]> keys = null;
    ObjectStore store;
    BackupSetup.S3Credentials credentials = null;
    try {
      if (keySecret != null) {
        keys = BackupSetup.keys(k8s, ns, keySecret);
      }
      if (storage.s3 != null) {
        credentials = BackupSetup.credentials(k8s, ns, storage.s3);
      }
      store = BackupSetup.open(k8s, ns, storage, hostAliases);
    } catch (BackupSetup.Problem e) {
      return Pass.failed(Phase.Pending, e.reason(), e.getMessage() + ". The restore starts once this"
          + " is fixed.", Duration.ofSeconds(10));
    }
    status.acknowledgedRunNow = runNow;
    status.backupId = backupId;
    status.location = BackupSetup.location(storage, backupId);
    // a retry after a passing failure, or a run taken over, keeps what was restored and does the rest; a new run
    // starts over
    boolean retrying = retryDue || resume != null;
    List<ClickHouseRestoreStatus.TableResult> kept = retrying ? status.tables.stream()
        .filter(t -> "Restored".equals(t.outcome)).toList() : List.of();
    java.util.Set<String> done = new java.util.HashSet<>(kept.stream().map(t -> t.source).toList());
    if (!retrying) {
      status.consecutiveFailures = null;
      status.startTime = format(clock.instant());
    }
    status.retryTime = null;
    status.endTime = null;
    status.tables = new ArrayList<>(kept);
    status.rows = null;
    status.tablesRestored = null;
    String id = backupId;
    Map<String, byte[]> theKeys = keys;
    BackupSetup.S3Credentials creds = credentials;
    ClickHouseClient client = conn.forJob();
    java.time.Duration limit = StatementTimeout.of(spec.statementTimeout, StatementTimeout.RESTORE);
    status.statementTimeout = StatementTimeout.text(limit);
    work.submit(key, progress -> {
      try (store) {
        LogicalRestore restore = new LogicalRestore(client, store, theKeys, progress).statementTimeout(limit);
        Manifest manifest = restore.manifest(id);
        var selected = (java.util.function.Predicate<Manifest.TableEntry>) t ->
            BackupScope.matches(spec.tables, t.database, t.table) && !done.contains(t.database + "." + t.table);
        var target = (java.util.function.Function<Manifest.TableEntry, String>) t ->
            spec.targetDatabase != null ? spec.targetDatabase : t.database;
        checkTargets(manifest, selected, target);
        LogicalRestore.Mode mode = LogicalRestore.Mode.valueOf(spec.mode == null ? "createMissing" : spec.mode.name());
        if ("native".equals(manifest.method)) {
          NativeRestore nativeRestore = new NativeRestore(client, storage, creds, manifest, limit, progress, resume);
          natives.put(key, nativeRestore);
          return new Outcome(id, "native", nativeRestore.run(selected, target, mode));
        }
        if (manifest.tables.stream().anyMatch(t -> t.shard != null)) {
          return new Outcome(id, "logical", restoreOnCluster(conn, restore, manifest, target, selected, mode));
        }
        return new Outcome(id, "logical", restore.run(manifest, target, selected, mode));
      }
    }, reconcileWhenDone(resource));
    if (resume != null) {
      events.normal(resource, "RestoreTakenOver", "Watching the server's restore " + resume.serverRestoreId() + " of "
          + resume.table() + ", started by an operator process that is gone, then restoring the rest of backup "
          + backupId + ".");
    } else {
      events.normal(resource, "RestoreStarted", "Restoring backup " + backupId + " from " + status.location + ".");
    }
    return Pass.running(Phase.Running, "Running", "restore of " + backupId + " started", POLL);
  }

  private static boolean backupId(String id, ClickHouseRestoreSpec spec) {
    return id != null && id.equals(spec.source.backupId);
  }

  /** Two tables restored into one database must not share a name. */
  private static void checkTargets(Manifest manifest, java.util.function.Predicate<Manifest.TableEntry> selected,
      java.util.function.Function<Manifest.TableEntry, String> target) throws IOException {
    Map<String, String> seen = new HashMap<>();
    for (Manifest.TableEntry t : manifest.tables) {
      if (!selected.test(t)) {
        continue;
      }
      String to = target.apply(t) + "." + t.table;
      String before = seen.put(to, t.database + "." + t.table);
      if (before != null && !before.equals(t.database + "." + t.table)) { // one table's shards are one table
        throw new IOException("both " + before + " and " + t.database + "." + t.table + " would be restored as " + to
            + "; restore them separately or narrow spec.tables");
      }
    }
    if (seen.isEmpty()) {
      throw new IOException("no table of backup " + manifest.backupId + " matches spec.tables; it holds "
          + manifest.tables.stream().map(t -> t.database + "." + t.table).toList());
    }
  }

  /** Whether the task ended because its thread was interrupted (this process stopping). */
  private static boolean interrupted(WorkExecutor.Task<Outcome> task) {
    try {
      task.future().get();
      return false;
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause() instanceof InterruptedException;
    } catch (java.util.concurrent.CancellationException e) {
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return true;
    }
  }

  private Pass<Phase> fold(ClickHouseRestore resource, ClickHouseRestoreStatus status, WorkExecutor.Task<Outcome> task) {
    String ns = resource.getMetadata().getNamespace();
    status.endTime = format(clock.instant());
    Duration took = Duration.between(task.started(), Instant.now());
    afterWrite.then(key(resource), () -> metrics.duration(KIND, ns, "restore", took));
    Outcome outcome;
    try {
      outcome = task.future().get();
    } catch (Exception e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      afterWrite.then(key(resource), () -> metrics.action(KIND, ns, "restore", "failure"));
      String message = "The restore of " + status.backupId + " failed: " + BackupJob.rootMessage(cause)
          + retry(status, Transient.is(cause));
      afterWrite.warning(key(resource), resource, "RestoreFailed", message);
      return Pass.failed(Phase.Failed, "RestoreFailed", message, retryIn(status));
    }
    status.method = outcome.method();
    boolean retriable = true;
    for (var t : outcome.tables()) {
      var r = new ClickHouseRestoreStatus.TableResult();
      r.source = t.source();
      r.target = t.target();
      r.outcome = t.outcome();
      r.rows = t.rows();
      r.partitions = t.partitions();
      r.message = t.error();
      status.tables.add(r);
      if ("Failed".equals(t.outcome()) && !t.retriable()) {
        retriable = false;
      }
    }
    long rows = 0;
    int restored = 0;
    List<String> failed = new ArrayList<>();
    for (var t : status.tables) {
      rows += t.rows;
      if ("Restored".equals(t.outcome)) {
        restored++;
      } else if ("Failed".equals(t.outcome)) {
        failed.add(t.source + ": " + t.message);
      }
    }
    status.rows = rows;
    status.tablesRestored = restored;
    if (!failed.isEmpty()) {
      afterWrite.then(key(resource), () -> metrics.action(KIND, ns, "restore", "failure"));
      String message = failed.size() + " table(s) failed and were left untouched: " + String.join("; ", failed)
          + retry(status, retriable);
      afterWrite.warning(key(resource), resource, "TablesFailed", message);
      return Pass.failed(Phase.Failed, "TablesFailed", message, retryIn(status));
    }
    status.consecutiveFailures = null;
    afterWrite.then(key(resource), () -> metrics.action(KIND, ns, "restore", "success"));
    String message = "Restored " + restored + " table(s), " + rows + " rows verified, from backup " + status.backupId
        + (outcome.tables().size() > restored ? " (" + (outcome.tables().size() - restored) + " skipped)" : "") + ".";
    afterWrite.normal(key(resource), resource, "Restored", message);
    return Pass.ok(Phase.Succeeded, "Restored", message, null);
  }

  /** After a failure: counts it and, for a passing one with retries left, when the failed tables are tried again. */
  private String retry(ClickHouseRestoreStatus status, boolean retriable) {
    RetryPolicy.Retry retry = RetryPolicy.BOUNDED.after(status.consecutiveFailures, retriable, clock.instant());
    status.consecutiveFailures = retry.failures();
    status.retryTime = retry.at() == null ? null : format(retry.at());
    return retry.words("those are tried again");
  }

  private Duration retryIn(ClickHouseRestoreStatus status) {
    return status.retryTime == null ? null
        : Duration.between(clock.instant(), Instant.parse(status.retryTime)).plusMillis(500);
  }

  private Pass<Phase> settled(ClickHouseRestoreStatus status) {
    var ready = Conditions.find(status.getConditions(), Conditions.READY);
    String reason = ready.map(c -> c.getReason()).orElse(status.phase == Phase.Succeeded ? "Restored" : "RestoreFailed");
    String message = ready.map(c -> c.getMessage()).orElse("");
    Duration requeue = retryIn(status);
    return Pass.waiting(status.phase, reason, message, requeue == null || requeue.isNegative() ? null : requeue).stillReady(status.phase == Phase.Succeeded).degradedWhen(status.phase == Phase.Failed);
  }

  static List<String> validate(ClickHouseRestoreSpec spec) {
    List<String> problems = new ArrayList<>();
    if (spec == null) {
      return List.of("spec is missing");
    }
    StatementTimeout.check(spec.statementTimeout, problems);
    if (spec.connectionRef == null || spec.connectionRef.getName() == null) {
      problems.add("spec.connectionRef.name is required");
    }
    if (spec.source == null || (spec.source.backupName == null) == (spec.source.storage == null)) {
      problems.add("spec.source: give exactly one of backupName and storage");
    } else if (spec.source.storage != null) {
      problems.addAll(BackupSetup.validate("spec.source.storage", spec.source.storage));
      if (spec.source.backupId == null) {
        problems.add("spec.source.backupId is required with spec.source.storage");
      }
    }
    if (spec.source != null && spec.source.backupId != null
        && !spec.source.backupId.matches("^[A-Za-z0-9][-A-Za-z0-9_.]*$")) {
      problems.add("spec.source.backupId: " + spec.source.backupId + " is not a backup id");
    }
    if (spec.source != null && spec.source.backupName != null && !KubernetesNames.isObjectName(spec.source.backupName)) {
      problems.add("spec.source.backupName: " + Identifiers.describe(spec.source.backupName)
          + " is not the name of a ClickHouseBackup");
    }
    if (spec.keySecret != null && !KubernetesNames.isObjectName(spec.keySecret)) {
      problems.add("spec.keySecret: " + Identifiers.describe(spec.keySecret)
          + " is not the name of a Secret");
    }
    if (spec.targetDatabase != null && !Identifiers.isValid(spec.targetDatabase)) {
      problems.add("spec.targetDatabase is not a database name");
    }
    problems.addAll(BackupScope.validate("spec.tables", spec.tables));
    return problems;
  }


  @Override
  public DeleteControl cleanup(ClickHouseRestore resource, Context<ClickHouseRestore> ctx) {
    // a running restore finishes (or fails) on its own: it only ever loads staging tables until verified
    forget(resource);
    return DeleteControl.defaultDelete();
  }
}
