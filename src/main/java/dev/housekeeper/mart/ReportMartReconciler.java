package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.api.mart.ReportMartStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.Secrets;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectedReconciler;
import dev.housekeeper.connection.ConnectionResolver;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reconciles ReportMart: refreshes the mart when it is created, when its schema changes (fully),
 * on its schedule and on request, on the work pool; folds the outcome into status; retries an
 * unreachable source with backoff. Its parts: {@link MartValidation} (the spec), {@link MartTiming}
 * (when and how), {@link MartStart} and {@link MartRefresh} (the work), {@link MartOutcome} (status).
 */
@ControllerConfiguration(name = "reportmart", generationAwareEventProcessing = false)
public class ReportMartReconciler extends ConnectedReconciler<ReportMart, ReportMartStatus, Phase> {

  static final String KIND = "ReportMart";

  private final Map<String, String> hostAliases;
  private final MartOutcome outcome;

  public ReportMartReconciler(Services services, Map<String, String> hostAliases) {
    super(ReportMart.class, KIND, ReportMart::new, ReportMartStatus::new, m -> m.getSpec().connectionRef,
        Set.of("Refreshing", "Refreshed", "Scheduled"), services);
    this.hostAliases = hostAliases;
    this.outcome = new MartOutcome(afterWrite, metrics);
  }

  @Override
  protected void phase(ReportMartStatus status, Phase phase) {
    status.phase = phase;
  }

  @Override
  protected Pass<Phase> pass(ReportMart resource, ReportMartStatus status, KubernetesClient k8s) {
    String key = key(resource);
    Instant now = clock.instant();
    var task = work.<MartStart.Built>get(key);
    if (task.isPresent() && !task.get().done()) {
      return MartOutcome.refreshing(status, task.get().progress());
    }
    Pass<Phase> failed = null;
    if (task.isPresent()) {
      work.take(key);
      failed = outcome.fold(resource, key, status, task.get(), now);
      if (failed != null) {
        announced(resource, failed.reason(), failed.message());
      }
    }
    ReportMartSpec spec = resource.getSpec();
    List<String> problems = MartValidation.problems(spec);
    if (!problems.isEmpty()) {
      status.nextRefreshTime = null;
      return Pass.failed(Phase.Failed, "ValidationError", "The spec is invalid: " + String.join("; ", problems)
          + ". Nothing runs until it is fixed.", null);
    }
    ConnectionResolver.Resolved conn;
    try {
      conn = connection(resource, spec.connectionRef.getName());
    } catch (ConnectionResolver.NotReady e) {
      return Pass.waiting(keptPhase(status), e.reason(), e.getMessage(), notReadyRequeue(e));
    }
    String database = database(spec, conn);
    status.table = database + "." + spec.table;
    status.statementTimeout = StatementTimeout.text(StatementTimeout.of(spec.statementTimeout,
        StatementTimeout.MART));
    Instant next = MartTiming.next(MartTiming.refresh(spec), status, now);
    status.nextRefreshTime = next == null ? null : format(next);
    boolean exists;
    try {
      exists = conn.forJob().tableExists(database, spec.table);
    } catch (ClickHouseException e) {
      return Pass.failed(keptPhase(status), "ClickHouseError", "Looking up the mart table failed: "
          + e.getMessage(), Duration.ofSeconds(30));
    }
    MartTiming.Requests asked = MartTiming.Requests.of(resource, status);
    MartTiming.Plan plan = MartTiming.plan(spec, status, asked, next, exists, now);
    if (plan == null) {
      return failed != null ? failed : MartOutcome.settled(status, next, now);
    }
    return start(resource, status, k8s, conn, database, plan, asked, now);
  }

  /** The mart's database: the spec's, else the connection's, else default. */
  private static String database(ReportMartSpec spec, ConnectionResolver.Resolved conn) {
    String configured = conn.connection().getSpec().getDatabase();
    return spec.database != null ? spec.database : configured == null ? "default" : configured;
  }

  /** The phase a pass that waits keeps: the one status has, Pending at first. */
  private static Phase keptPhase(ReportMartStatus status) {
    return status.phase == null ? Phase.Pending : status.phase;
  }

  /** Acknowledges what asked for the refresh and starts it on the work pool. */
  private Pass<Phase> start(ReportMart resource, ReportMartStatus status, KubernetesClient k8s,
      ConnectionResolver.Resolved conn, String database, MartTiming.Plan plan, MartTiming.Requests asked,
      Instant now) {
    ReportMartSpec spec = resource.getSpec();
    MartRefresh.JdbcCredentials credentials;
    try {
      credentials = MartStart.credentials(k8s, resource.getMetadata().getNamespace(), spec);
    } catch (Secrets.Problem e) {
      return Pass.failed(keptPhase(status), e.reason(), e.getMessage() + ". The refresh starts once it is fixed.",
          Duration.ofSeconds(10));
    }
    status.acknowledgedRunNow = asked.runNow();
    status.acknowledgedFullNow = asked.fullNow();
    if (plan.scheduled()) {
      status.nextRefreshTime = format(MartTiming.schedule(MartTiming.refresh(spec)).next(now));
    }
    status.retryTime = null;
    String clusterProblem = MartStart.clusterProblem(spec, conn);
    if (clusterProblem != null) {
      return Pass.failed(Phase.Failed, "ValidationError", clusterProblem, null);
    }
    work.submit(key(resource), WorkExecutor.Lane.SCHEMA, MartStart.work(spec, conn, database, plan, credentials,
        hostAliases, clock), reconcileWhenDone(resource));
    String mode = plan.mode().name();
    events.normal(resource, "RefreshStarted", (plan.mode() == ReportMartSpec.Mode.full ? "Full" : "Incremental")
        + " refresh of " + status.table + " started (" + plan.why() + ", window [" + plan.window().start() + ", "
        + plan.window().end() + ")).");
    return MartOutcome.refreshing(status, mode + " refresh started: " + plan.why());
  }

  @Override
  protected String lastSuccess(ReportMartStatus status) {
    return status.lastSuccessfulRefreshTime;
  }

  @Override
  protected String nextRun(ReportMartStatus status) {
    return status.nextRefreshTime;
  }

  @Override
  public DeleteControl cleanup(ReportMart resource, Context<ReportMart> ctx) {
    // the mart table stays: it holds reports that readers use. A running refresh is cancelled (its source
    // query on the source server too, see SourceWatch) and drops its staging table on the way out.
    String key = key(resource);
    boolean running = work.get(key).map(t -> !t.done()).orElse(false);
    work.cancel(key);
    if (running) {
      events.normal(resource, "RefreshCancelled", "The running refresh was cancelled because the mart was deleted;"
          + " its source query was cancelled too. The mart table stays.");
    }
    forget(resource);
    return DeleteControl.defaultDelete();
  }
}
