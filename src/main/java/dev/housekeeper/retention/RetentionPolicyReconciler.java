package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.api.retention.RetentionPolicyStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectedReconciler;
import dev.housekeeper.connection.ConnectionResolver;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reconciles RetentionPolicy: keeps a preview of the next run and storage statistics in status,
 * starts retention and OPTIMIZE runs when their schedule (or a run-now annotation, or a retry) says
 * so, and folds their reports into status. The parts: {@link RetentionValidation} (the spec),
 * {@link RetentionTiming} (what is due), {@link RetentionStart} (the work), {@link RetentionOutcome}
 * (a finished run into status), {@link RetentionPreview} (the policy between runs).
 */
@ControllerConfiguration(name = "retentionpolicy", generationAwareEventProcessing = false)
public class RetentionPolicyReconciler
    extends ConnectedReconciler<RetentionPolicy, RetentionPolicyStatus, Phase> {

  static final String KIND = "RetentionPolicy";
  private static final Duration POLL = Duration.ofSeconds(1);
  /** When to read the table metadata again after it could not be read. */
  private static final Duration PREVIEW_RETRY = Duration.ofSeconds(30);

  private final RetentionOutcome outcome;
  /** The catalog snapshots every policy's preview shares (per server and database, a few seconds). */
  private final PreviewCatalogs catalogs = new PreviewCatalogs();

  public RetentionPolicyReconciler(Services services) {
    super(RetentionPolicy.class, KIND, RetentionPolicy::new, RetentionPolicyStatus::new,
        p -> p.getSpec().getConnectionRef(), Set.of("Running", "Ready"), services);
    this.outcome = new RetentionOutcome(afterWrite, metrics, clock);
  }

  @Override
  protected void phase(RetentionPolicyStatus status, Phase phase) {
    status.phase = phase;
  }

  @Override
  protected String lastSuccess(RetentionPolicyStatus status) {
    return status.lastRun == null || status.lastRun.dryRun ? null : status.lastRun.endTime;
  }

  @Override
  protected String nextRun(RetentionPolicyStatus status) {
    return status.nextRunTime;
  }

  @Override
  protected Pass<Phase> pass(RetentionPolicy resource, RetentionPolicyStatus status, KubernetesClient k8s) {
    String key = key(resource);
    var task = work.<RetentionStart.Finished>get(key);
    if (task.isPresent() && !task.get().done()) {
      return running(status, task.get().progress());
    }
    if (task.isPresent()) {
      work.take(key);
      forgetCatalogOf(resource);
      Optional<Pass<Phase>> failed = outcome.fold(key, resource, status, task.get());
      if (failed.isPresent()) {
        return failed.get();
      }
    }
    RetentionPolicySpec spec = resource.getSpec();
    List<String> problems = RetentionValidation.problems(spec);
    if (!problems.isEmpty()) {
      return Pass.failed(Phase.Failed, "ValidationError", "The spec is invalid: " + String.join("; ", problems)
          + ". Nothing runs until it is fixed.", null);
    }
    RetentionStart.Target target;
    try {
      target = RetentionStart.Target.of(spec, connection(resource, spec.getConnectionRef().getName()));
    } catch (ConnectionResolver.NotReady e) {
      return notReady(status, e);
    }
    status.statementTimeout = StatementTimeout.text(StatementTimeout.of(spec.getStatementTimeout(),
        StatementTimeout.RETENTION));
    return decide(resource, status, target);
  }

  /** Starts the run that is due, else shows the preview of the next one. */
  private Pass<Phase> decide(RetentionPolicy resource, RetentionPolicyStatus status, RetentionStart.Target target) {
    RetentionTiming timing = RetentionTiming.of(resource, status, clock.instant());
    LocalDate today = LocalDate.ofInstant(timing.now(), target.zone());
    if (timing.runDue()) {
      timing.runStarted(status);
      start(resource, RetentionStart.retention(target, resource.getSpec(), today, n -> notice(resource, n)));
      return running(status, "retention run started");
    }
    if (timing.optimizeDue()) {
      timing.optimizeStarted(status);
      start(resource, RetentionStart.optimize(target, resource.getSpec(), n -> notice(resource, n)));
      return running(status, "OPTIMIZE run started");
    }
    timing.settled(status);
    try {
      RetentionPreview.read(target, resource.getSpec(), today, status, catalogs);
    } catch (ClickHouseException e) {
      return Pass.failed(Phase.Degraded, "PreviewFailed", "Reading table metadata failed: " + e.getMessage(),
          PREVIEW_RETRY);
    }
    return RetentionPreview.settled(status, timing.wake(status));
  }

  /**
   * A run ended (or failed part way): the preview reads its database again. Without a database in the
   * spec it is the connection's, not resolved yet here, and every snapshot goes.
   */
  private void forgetCatalogOf(RetentionPolicy resource) {
    String database = resource.getSpec() == null ? null : resource.getSpec().getDatabase();
    if (database == null) {
      catalogs.forgetAll();
    } else {
      catalogs.forget(database);
    }
  }

  private void start(RetentionPolicy resource, WorkExecutor.Work<RetentionStart.Finished> job) {
    work.submit(key(resource), job, reconcileWhenDone(resource));
  }

  /** Work under way; Ready still when the policy was Ready before it. */
  private static Pass<Phase> running(RetentionPolicyStatus status, String progress) {
    return Pass.running(Phase.Progressing, "Running", progress, POLL).stillReady(status.phase == Phase.Ready);
  }

  /** The connection is not ready: the phase stays (Pending at first), and so do its conditions. */
  /**
   * The ready gauge of a policy is 1 only in phase Ready: a policy in force yet Degraded (a table
   * refused, a run failed) is not counted as ready, as alerts on the gauge expect.
   */
  @Override
  protected boolean readyGauge(Pass<Phase> pass) {
    return pass.phase() == Phase.Ready;
  }

  private static Pass<Phase> notReady(RetentionPolicyStatus status, ConnectionResolver.NotReady e) {
    Phase phase = status.phase == null ? Phase.Pending : status.phase;
    if (phase == Phase.Progressing) {
      return Pass.running(phase, e.reason(), e.getMessage(), notReadyRequeue(e));
    }
    return Pass.waiting(phase, e.reason(), e.getMessage(), notReadyRequeue(e))
        .degradedWhen(phase == Phase.Degraded || phase == Phase.Failed);
  }

  /** A run's Events, said as they happen (from the work pool). */
  private void notice(RetentionPolicy resource, RetentionRunner.Notice n) {
    if (n.warning()) {
      events.warning(resource, n.reason(), n.message());
    } else {
      events.normal(resource, n.reason(), n.message());
    }
  }

  @Override
  public DeleteControl cleanup(RetentionPolicy resource, Context<RetentionPolicy> ctx) {
    work.cancel(key(resource));
    forget(resource);
    return DeleteControl.defaultDelete();
  }
}
