package dev.housekeeper.migration;

import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.Secrets;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectedReconciler;
import dev.housekeeper.connection.ConnectionResolver;
import dev.housekeeper.migration.MigrationRunner.Report;
import io.fabric8.kubernetes.api.model.ConfigMap;
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
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Reconciles ClickHouseMigration: validates, starts a {@link MigrationRunner} on the work pool when
 * the inputs are new or a retry or recheck is due ({@link MigrationTiming}), and folds what the run
 * found into status ({@link MigrationOutcome}). It reacts to metadata changes too
 * (generation-unaware), because the retry annotation is how a user resumes a Dirty migration.
 */
@ControllerConfiguration(name = "clickhousemigration", generationAwareEventProcessing = false)
public class ClickHouseMigrationReconciler
    extends ConnectedReconciler<ClickHouseMigration, ClickHouseMigrationStatus, Phase> {

  static final String KIND = "ClickHouseMigration";
  private static final Duration POLL = RunTiming.POLL;
  /** Reasons said by a Normal Event when they or their message change (the template says only Warnings). */
  private static final Set<String> NORMAL = Set.of("WaitingForLock", "DryRunPlanned");
  private static final Set<String> ROUTINE = Set.of("Running", "Applied", "UpToDate", "WaitingForLock",
      "DryRunPlanned");

  private final String identity;
  /**
   * The runner of each resource's last run, to kill its statement when the resource is deleted; kept
   * after the run ends, so that a result folded again (after a failed status write) still finds it.
   */
  private final Map<String, MigrationRunner> runners = new ConcurrentHashMap<>();

  public ClickHouseMigrationReconciler(Services services, String identity) {
    super(ClickHouseMigration.class, KIND, ClickHouseMigration::new, ClickHouseMigrationStatus::new,
        m -> m.getSpec().getConnectionRef(), ROUTINE, services);
    this.identity = identity;
  }

  @Override
  protected List<EventSource<?, ClickHouseMigration>> moreEventSources(EventSourceContext<ClickHouseMigration> ctx) {
    InformerEventSource<ConfigMap, ClickHouseMigration> configMaps = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(ConfigMap.class, ClickHouseMigration.class)
            .withNamespacesInheritedFromController()
            // only ConfigMaps that opted in are cached (and may feed SQL to a server): see Secrets.ALLOW_LABEL
            .withLabelSelector(Secrets.ALLOW_SELECTOR)
            .withSecondaryToPrimaryMapper(cm -> ctx.getPrimaryCache().list(cm.getMetadata().getNamespace())
                .filter(m -> readsConfigMap(m, cm.getMetadata().getName()))
                .map(ResourceID::fromResource).collect(Collectors.toSet()))
            .build(), ctx);
    informer(ConfigMap.class, configMaps);
    return List.of(configMaps);
  }

  private static boolean readsConfigMap(ClickHouseMigration m, String name) {
    return m.getSpec() != null && m.getSpec().getConfigMaps() != null
        && m.getSpec().getConfigMaps().stream().anyMatch(s -> name.equals(s.getName()));
  }

  @Override
  protected void phase(ClickHouseMigrationStatus status, Phase phase) {
    status.setPhase(phase);
  }

  @Override
  protected Pass<Phase> pass(ClickHouseMigration resource, ClickHouseMigrationStatus status, KubernetesClient k8s) {
    Pass<Phase> pass = decide(resource, status);
    if (NORMAL.contains(pass.reason()) && !Conditions.find(status.getConditions(), Conditions.READY)
        .map(c -> pass.reason().equals(c.getReason())).orElse(false)) {
      afterWrite.normal(key(resource), resource, pass.reason(), pass.message());
    }
    return pass;
  }

  private Pass<Phase> decide(ClickHouseMigration resource, ClickHouseMigrationStatus status) {
    String key = key(resource);
    var task = work.<Report>get(key);
    if (task.isPresent() && !task.get().done()) {
      return running(status, task.get().progress());
    }
    if (task.isPresent()) {
      work.take(key);
      return new MigrationOutcome(resource, status, afterWrite, metrics, clock.instant())
          .fold(task.get(), runners.get(key), () -> connectionOrNull(resource));
    }
    List<String> problems = MigrationValidation.problems(resource.getSpec());
    if (!problems.isEmpty()) {
      status.runInputs = null;
      return Pass.failed(Phase.Failed, MigrationValidation.REASON, "The spec is invalid: "
          + String.join("; ", problems) + ". Nothing ran.", null);
    }
    String inputs = MigrationStart.inputs(resource, name -> configMap(resource, name));
    Pass<Phase> kept = MigrationTiming.kept(status, inputs, clock.instant());
    return kept != null ? kept : start(resource, status, inputs);
  }

  /**
   * A run in flight: Running with its progress, or, while a rerun (retry, recheck, another try for
   * the lock) only reads the ledger and waits for the lock, the status as written.
   */
  private Pass<Phase> running(ClickHouseMigrationStatus status, String progress) {
    boolean quiet = progress == null || "queued".equals(progress)
        || progress.startsWith(MigrationRunner.WAITING_FOR_LOCK);
    if (status.runInputs != null && quiet) {
      return MigrationTiming.asWritten(status, POLL);
    }
    return Pass.running(Phase.Progressing, "Running", progress, POLL);
  }

  private Pass<Phase> start(ClickHouseMigration resource, ClickHouseMigrationStatus status, String inputs) {
    ClickHouseMigrationSpec spec = resource.getSpec();
    ConnectionResolver.Resolved conn;
    try {
      conn = connection(resource, spec.getConnectionRef().getName());
    } catch (ConnectionResolver.NotReady e) {
      return notReady(status, e);
    }
    var collected = MigrationSource.collect(spec, name -> configMap(resource, name));
    String problem = MigrationValidation.beforeRun(spec, collected, conn);
    if (problem != null) {
      status.runInputs = null;
      return Pass.failed(Phase.Failed, MigrationValidation.REASON, problem, null);
    }
    String retry = RunTiming.newRequest(resource, ClickHouseMigration.RETRY_ANNOTATION, status.getAcknowledgedRetry());
    var request = MigrationStart.request(resource, conn, collected.scripts(), retry, inputs,
        // the lock's owner as earlier versions wrote it, so that a lock taken before an upgrade is still ours
        identity + "/" + resource.getMetadata().getNamespace() + "/" + resource.getMetadata().getName());
    status.setStatementTimeout(StatementTimeout.text(request.statementTimeout()));
    MigrationTiming.started(status, inputs);
    submit(resource, conn, request);
    return MigrationTiming.rerun(status, inputs) ? MigrationTiming.asWritten(status, POLL)
        : Pass.running(Phase.Progressing, "Running", "run started", POLL);
  }

  /** Starts the run on the work pool; the resource is reconciled again as soon as it ends. */
  private void submit(ClickHouseMigration resource, ConnectionResolver.Resolved conn,
      MigrationRunner.Request request) {
    String key = key(resource);
    var progressSink = new AtomicReference<Consumer<String>>(p -> { });
    // the lock claim is read back and the ledger appended and read: one server for the whole run (on a cluster, one
    // node at a time, which reads what was written through it)
    MigrationRunner runner = new MigrationRunner(conn.forJob(), request, p -> progressSink.get().accept(p))
        .withLockWaits(nanos -> metrics.steps().record(dev.housekeeper.common.StepTimes.Step.LOCK_WAIT, nanos));
    runners.put(key, runner);
    work.submit(key, WorkExecutor.Lane.SCHEMA, progress -> {
      progressSink.set(progress);
      return runner.run();
    }, reconcileWhenDone(resource));
  }

  /**
   * The connection is not Ready: while this process warms up, the status stays as it is (when there
   * is one); else say why and wait.
   */
  private static Pass<Phase> notReady(ClickHouseMigrationStatus status, ConnectionResolver.NotReady e) {
    if (ConnectionResolver.WARMING_UP.equals(e.reason()) && status.getPhase() != null) {
      return MigrationTiming.asWritten(status, notReadyRequeue(e));
    }
    Phase phase = status.getPhase() == null ? Phase.Pending : status.getPhase();
    String message = e.getMessage() + " Waiting for it.";
    if (phase == Phase.Progressing) {
      // a run retrying or waiting for the lock is still on its way
      return Pass.running(phase, e.reason(), message, notReadyRequeue(e));
    }
    return Pass.waiting(phase, e.reason(), message, notReadyRequeue(e))
        .degradedWhen(phase == Phase.Dirty || phase == Phase.Drift || phase == Phase.Failed);
  }

  private ConnectionResolver.Resolved connectionOrNull(ClickHouseMigration resource) {
    try {
      return connection(resource, resource.getSpec().getConnectionRef().getName());
    } catch (ConnectionResolver.NotReady e) {
      return null;
    }
  }

  /** A ConfigMap that opted in; one without the label is treated as absent, as the informer does. */
  private ConfigMap configMap(ClickHouseMigration resource, String name) {
    ConfigMap cm = secondary(ConfigMap.class, resource.getMetadata().getNamespace(), name);
    return Secrets.allowed(cm) ? cm : null;
  }

  /**
   * A migration announces by reason alone: a run retried without end says the error of each attempt,
   * and one Warning per kind of trouble is enough.
   */
  @Override
  protected String announcement(String reason, String message) {
    return reason;
  }

  @Override
  public DeleteControl cleanup(ClickHouseMigration resource, Context<ClickHouseMigration> ctx) {
    String key = key(resource);
    MigrationRunner runner = runners.remove(key);
    work.cancel(key);
    if (runner != null) {
      try {
        runner.cancelStatement();
      } catch (ClickHouseException e) {
        // nothing more can be done; the statement's own time limit ends it
      }
    }
    forget(resource);
    return DeleteControl.defaultDelete();
  }
}
