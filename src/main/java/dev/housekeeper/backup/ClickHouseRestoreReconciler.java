package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectedReconciler;
import dev.housekeeper.connection.ConnectionResolver;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Reconciles ClickHouseRestore: once (and again for each new value of the run-now annotation)
 * restores the chosen backup on the work pool and reports each table in status. The parts: the spec's
 * checks ({@link RestoreValidation}), when it runs ({@link RestoreTiming}), what it reads
 * ({@link RestoreSource}), the work ({@link RestoreWork}) and its result in status ({@link RestoreOutcome}).
 */
@ControllerConfiguration(name = "clickhouserestore", generationAwareEventProcessing = false)
public class ClickHouseRestoreReconciler
    extends ConnectedReconciler<ClickHouseRestore, ClickHouseRestoreStatus, Phase> {

  static final String KIND = "ClickHouseRestore";
  private static final Duration POLL = RunTiming.POLL;

  private final StorageSettings storage;
  private final RestoreOutcome outcome;
  /** The native restores running in this process, by resource: their server-side ids go to status. */
  private final Map<String, NativeRestore> natives = new ConcurrentHashMap<>();

  public ClickHouseRestoreReconciler(Services services, StorageSettings storage) {
    super(ClickHouseRestore.class, KIND, ClickHouseRestore::new, ClickHouseRestoreStatus::new,
        r -> r.getSpec().connectionRef, Set.of("Running", "Restored", "RestoreFailed", "TablesFailed", "Verified", "VerificationFailed",
        "Scheduled", "RestoreInterrupted"), services);
    this.storage = storage;
    this.outcome = new RestoreOutcome(afterWrite, metrics, clock);
  }

  /** A restore waiting for its backup starts as soon as that backup completes (no polling needed). */
  @Override
  protected List<EventSource<?, ClickHouseRestore>> moreEventSources(EventSourceContext<ClickHouseRestore> ctx) {
    return List.of(new InformerEventSource<>(InformerEventSourceConfiguration
        .from(ClickHouseBackup.class, ClickHouseRestore.class)
        .withName("backups")
        .withNamespacesInheritedFromController()
        .withSecondaryToPrimaryMapper(b -> ctx.getPrimaryCache().list(b.getMetadata().getNamespace())
            .filter(r -> r.getSpec() != null && r.getSpec().source != null
                && b.getMetadata().getName().equals(r.getSpec().source.backupName))
            .map(ResourceID::fromResource)
            .collect(Collectors.toSet()))
        .build(), ctx));
  }

  @Override
  protected void phase(ClickHouseRestoreStatus status, Phase phase) {
    status.phase = phase;
  }

  @Override
  protected Pass<Phase> pass(ClickHouseRestore resource, ClickHouseRestoreStatus status, KubernetesClient k8s) {
    Pass<Phase> pass = decide(resource, status, k8s);
    DrillMetrics.export(metrics, resource, status);
    return pass;
  }

  private Pass<Phase> decide(ClickHouseRestore resource, ClickHouseRestoreStatus status, KubernetesClient k8s) {
    var task = work.<RestoreDrill.Result>get(key(resource));
    if (task.isPresent()) {
      return task.get().done() ? finished(resource, status, task.get()) : watching(resource, status, task.get());
    }
    if (RestoreTiming.interrupted(status)) { // the process that ran it is gone, and the server runs nothing of it
      return outcome.interrupted(key(resource), resource, status);
    }
    List<String> problems = RestoreValidation.validate(resource.getSpec());
    if (problems.isEmpty() && resource.getSpec().source.storage != null) { // a location: inside the volume roots
      problems = storage.problems("spec.source.storage", resource.getMetadata().getNamespace(),
          resource.getSpec().source.storage);
    }
    if (!problems.isEmpty()) {
      String message = "The spec is invalid: " + String.join("; ", problems) + ".";
      return Pass.failed(Phase.Failed, "ValidationError", message, null);
    }
    RestoreTiming.next(resource, status, clock.instant());
    RestoreTiming.Run run = RestoreTiming.decide(resource, status, clock.instant());
    if (run == RestoreTiming.Run.NONE) {
      return outcome.settled(status);
    }
    return start(resource, status, k8s, run);
  }

  /** The run goes on in this process: its progress, and the server-side restore in flight into status. */
  private Pass<Phase> watching(ClickHouseRestore resource, ClickHouseRestoreStatus status,
      WorkExecutor.Task<RestoreDrill.Result> task) {
    NativeRestore running = natives.get(key(resource));
    if (running != null) {
      status.runningServerRestoreId = running.serverRestoreId();
      status.runningServerRestoreTable = running.tableInFlight();
    }
    return Pass.running(Phase.Running, "Running", task.progress(), POLL);
  }

  /**
   * The run ended: folded into status; unless this process stopped watching a server-side restore
   * (it is stopping), which goes on and is watched again by the next pass or the next operator.
   */
  private Pass<Phase> finished(ClickHouseRestore resource, ClickHouseRestoreStatus status,
      WorkExecutor.Task<RestoreDrill.Result> task) {
    String key = key(resource);
    work.take(key);
    NativeRestore stopped = natives.remove(key);
    if (stopped != null && stopped.serverRestoreId() != null && RestoreOutcome.interrupted(task)) {
      status.runningServerRestoreId = stopped.serverRestoreId();
      status.runningServerRestoreTable = stopped.tableInFlight();
      String message = "the server's restore " + stopped.serverRestoreId() + " goes on";
      return Pass.running(Phase.Running, "Running", message, POLL);
    }
    status.runningServerRestoreId = null;
    status.runningServerRestoreTable = null;
    return outcome.fold(key, resource, status, task);
  }

  /** Starts the run on the work pool once its connection, its backup and its storage are there. */
  private Pass<Phase> start(ClickHouseRestore resource, ClickHouseRestoreStatus status, KubernetesClient k8s,
      RestoreTiming.Run run) {
    NativeRestore.Resume resume = RestoreTiming.resume(status);
    ConnectionResolver.Resolved conn;
    try {
      conn = connection(resource, resource.getSpec().connectionRef.getName());
    } catch (ConnectionResolver.NotReady e) {
      return notReady(e, resume);
    }
    String ns = resource.getMetadata().getNamespace();
    var lookup = RestoreSource.find(k8s, ns, resource.getSpec(), storage,
        run.keepsRestored() ? status.backupId : null);
    if (lookup instanceof RestoreSource.Blocked blocked) {
      return blocked.pass();
    }
    RestoreSource source = ((RestoreSource.Found) lookup).source();
    RestoreSource.Opened opened;
    try {
      opened = source.open(k8s, ns, storage);
    } catch (BackupSetup.Problem e) {
      String message = e.getMessage() + ". The restore starts once this is fixed.";
      return Pass.failed(Phase.Pending, e.reason(), message, Duration.ofSeconds(10));
    }
    Set<String> done = begin(resource, status, source, run);
    status.location = BackupSetup.location(opened.store(), source.storage(), source.backupId());
    submit(resource, status, done, conn, source, opened, resume);
    if (resume != null) {
      events.normal(resource, "RestoreTakenOver", "Watching the server's restore " + resume.serverRestoreId()
          + " of " + resume.table() + ", started by an operator process that is gone, then restoring the rest of"
          + " backup " + source.backupId() + ".");
    } else {
      events.normal(resource, "RestoreStarted", "Restoring backup " + source.backupId() + " from "
          + status.location + ".");
    }
    return Pass.running(Phase.Running, "Running", "restore of " + source.backupId() + " started", POLL);
  }

  /** The connection is not Ready: the restore waits, or a server-side restore goes on meanwhile. */
  private static Pass<Phase> notReady(ConnectionResolver.NotReady e, NativeRestore.Resume resume) {
    if (resume != null) {
      return Pass.running(Phase.Running, e.reason(), e.getMessage() + " The server's restore "
          + resume.serverRestoreId() + " goes on; it is watched again when the connection is Ready.",
          notReadyRequeue(e));
    }
    String message = e.getMessage() + " The restore starts when it is Ready.";
    return Pass.waiting(Phase.Pending, e.reason(), message, notReadyRequeue(e));
  }

  /**
   * The status of a run that starts: a retry, or a run taken over, keeps what was restored and does the
   * rest; a new run starts over. The source tables already restored.
   */
  private Set<String> begin(ClickHouseRestore resource, ClickHouseRestoreStatus status, RestoreSource source,
      RestoreTiming.Run run) {
    status.acknowledgedRunNow = RunTiming.annotation(resource, ClickHouseRestore.RUN_NOW_ANNOTATION);
    RestoreTiming.started(resource, status, clock.instant());
    status.backupId = source.backupId();
    status.location = BackupSetup.location(source.storage(), source.backupId());
    // a drill's scratch database was dropped after a failure: its retry starts over (a take-over goes on)
    boolean keep = run == RestoreTiming.Run.TAKE_OVER || (run.keepsRestored() && scratch(resource) == null);
    List<ClickHouseRestoreStatus.TableResult> kept = keep ? status.tables.stream()
        .filter(t -> "Restored".equals(t.outcome)).toList() : List.of();
    // a new run counts failures afresh; a drill's retry starts over, but the failures before it still count
    status.consecutiveFailures = run == RestoreTiming.Run.NEW ? null : status.consecutiveFailures;
    status.startTime = keep ? status.startTime : format(clock.instant());
    status.retryTime = null;
    status.endTime = null;
    status.tables = new ArrayList<>(kept);
    status.rows = null;
    status.tablesRestored = null;
    status.applied = null;
    return new HashSet<>(kept.stream().map(t -> t.source).toList());
  }

  private void submit(ClickHouseRestore resource, ClickHouseRestoreStatus status, Set<String> done,
      ConnectionResolver.Resolved conn, RestoreSource source, RestoreSource.Opened opened,
      NativeRestore.Resume resume) {
    String key = key(resource);
    ClickHouseRestoreSpec spec = resource.getSpec();
    Duration limit = StatementTimeout.of(spec.statementTimeout, StatementTimeout.RESTORE);
    status.statementTimeout = StatementTimeout.text(limit);
    String scratch = scratch(resource);
    // the scratch database found at the start is this resource's own leftover when status still names it
    boolean leftover = scratch != null && scratch.equals(status.scratchDatabase);
    status.scratchDatabase = scratch;
    var drill = new RestoreDrill(spec, opened, source.backupId(), scratch, leftover, resume != null,
        (target, in) -> new RestoreWork(
        conn.forJob(), conn, target, source, in, done, limit, resume, running -> natives.put(key, running)));
    work.submit(key, drill, reconcileWhenDone(resource));
  }

  private static String scratch(ClickHouseRestore resource) {
    return RestoreDrill.scratchOf(resource.getSpec(), resource.getMetadata().getNamespace(),
        resource.getMetadata().getName());
  }

  @Override
  protected String nextRun(ClickHouseRestoreStatus status) {
    return status.nextScheduleTime;
  }

  @Override
  public DeleteControl cleanup(ClickHouseRestore resource, Context<ClickHouseRestore> ctx) {
    // a running restore finishes (or fails) on its own: it only ever loads staging tables until verified
    forget(resource);
    return DeleteControl.defaultDelete();
  }
}
