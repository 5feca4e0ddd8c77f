package dev.housekeeper.migration;

import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.common.AfterWrite;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectionResolver;
import dev.housekeeper.migration.MigrationRunner.Outcome;
import dev.housekeeper.migration.MigrationRunner.Report;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Folds a finished run into status: what the ledger says, when to run again, the pass that shows
 * it, and the Events and counters of each migration applied or rolled back (said once the status
 * is written). On a cluster, a run at the target also compares every replica's schema.
 */
final class MigrationOutcome {

  static final String REPLICAS_PENDING = "ReplicasPending";
  private static final Duration POLL = RunTiming.POLL;

  private final ClickHouseMigration resource;
  private final ClickHouseMigrationStatus status;
  private final AfterWrite afterWrite;
  private final HousekeeperMetrics metrics;
  private final Instant now;

  MigrationOutcome(ClickHouseMigration resource, ClickHouseMigrationStatus status, AfterWrite afterWrite,
      HousekeeperMetrics metrics, Instant now) {
    this.resource = resource;
    this.status = status;
    this.afterWrite = afterWrite;
    this.metrics = metrics;
    this.now = now;
  }

  /**
   * @param ran the runner of the task when this process still has it (null after a status write
   *     failed and the task is folded again): its client's breaker and the DDL it left to the queue
   * @param connection the connection for the replicas' check; null when it is not Ready
   */
  Pass<Phase> fold(WorkExecutor.Task<Report> task, MigrationRunner ran,
      Supplier<ConnectionResolver.Resolved> connection) {
    Duration blocked = ran == null ? Duration.ZERO : ran.clientBlockedFor();
    Report report;
    try {
      report = task.future().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Pass.running(Phase.Progressing, "Running", "interrupted", POLL);
    } catch (CancellationException e) {
      return Pass.running(Phase.Progressing, "Retrying", "the run was cancelled; starting again", POLL);
    } catch (ExecutionException e) {
      return failed(e.getCause(), ran == null ? null : ran.request().inputs(), blocked);
    }
    return fold(report, ran == null ? List.of() : ran.queuedOnCluster(), blocked, connection);
  }

  private Pass<Phase> failed(Throwable cause, String inputs, Duration blocked) {
    String message = cause instanceof ClickHouseException ce ? ce.kind().reason() + ": " + ce.getMessage()
        : String.valueOf(cause);
    status.setLastError(message);
    status.runInputs = inputs;
    MigrationTiming.failed(status, blocked, now);
    return Pass.failed(Phase.Failed, "RunFailed", "The run failed: " + message + ". Retrying.",
        MigrationTiming.wake(status, now));
  }

  private Pass<Phase> fold(Report report, List<String> queued, Duration blocked,
      Supplier<ConnectionResolver.Resolved> connection) {
    if (report.request().retry() != null) {
      status.setAcknowledgedRetry(report.request().retry());
    }
    LedgerStatus.fill(status, report, resource.getSpec());
    actions(report);
    status.runInputs = report.request().inputs();
    Pass<Phase> pass = passFor(report);
    if (report.outcome() == Outcome.READY && resource.getSpec().isOnCluster()) {
      pass = replicas(pass, queued, connection.get());
    } else {
      status.replicas = null;
    }
    if (report.outcome() == Outcome.RETRY) {
      MigrationTiming.failed(status, blocked, now);
    } else {
      MigrationTiming.ended(status, report.outcome(), REPLICAS_PENDING.equals(pass.reason()), now);
    }
    return pass.requeue(MigrationTiming.wake(status, now));
  }

  /** An Event and the counters for each migration the run applied or rolled back. */
  private void actions(Report report) {
    String key = key();
    String ns = resource.getMetadata().getNamespace();
    for (MigrationRunner.Action a : report.actions()) {
      boolean up = "up".equals(a.direction());
      afterWrite.normal(key, resource, up ? "MigrationApplied" : "MigrationRolledBack", (up ? "Applied"
          : "Rolled back") + " version " + a.version() + " (" + a.name() + "): " + a.statements() + " statement(s) in "
          + a.durationMs() + " ms");
      afterWrite.then(key, () -> {
        metrics.action(ClickHouseMigrationReconciler.KIND, ns, up ? "apply" : "rollback", "success");
        metrics.duration(ClickHouseMigrationReconciler.KIND, ns, up ? "apply" : "rollback",
            Duration.ofMillis(a.durationMs()));
      });
    }
  }

  private Pass<Phase> passFor(Report report) {
    return switch (report.outcome()) {
      case READY -> Pass.ok(Phase.Ready, report.actions().isEmpty() ? "UpToDate" : "Applied",
          "At version " + status.getCurrentVersion() + "; " + report.message() + ".", null);
      case PLANNED -> Pass.ok(Phase.Ready, "DryRunPlanned", "Dry run: " + report.plan().size()
          + " step(s) would run (see status.plan); nothing ran.", null);
      case LOCKED -> Pass.running(Phase.Progressing, "WaitingForLock", report.message() + ".", null);
      case DIRTY -> {
        status.setLastError(report.message());
        String ns = resource.getMetadata().getNamespace();
        afterWrite.then(key(), () -> metrics.action(ClickHouseMigrationReconciler.KIND, ns, "apply", "failure"));
        yield Pass.failed(Phase.Dirty, "MigrationFailed", report.message(), null);
      }
      case DRIFT -> Pass.failed(Phase.Drift, "DriftDetected", report.message(), null);
      case BLOCKED -> Pass.failed(Phase.Failed, report.message().contains("no down script") ? "MissingDownScript"
          : "Blocked", report.message(), null);
      case RETRY -> {
        status.setLastError(report.message());
        yield Pass.running(Phase.Progressing, "Retrying", report.message() + "; retrying.", null);
      }
    };
  }

  /** After a run on a cluster: every replica's schema against the node it ran through. */
  private Pass<Phase> replicas(Pass<Phase> pass, List<String> queued, ConnectionResolver.Resolved conn) {
    if (conn == null) {
      return pass;
    }
    try {
      status.replicas = ClusterSchema.check(conn, MigrationStart.database(resource.getSpec(), conn));
    } catch (ClickHouseException e) {
      return pass;
    }
    if (ClusterSchema.converged(status.replicas)) {
      return pass;
    }
    String behind = status.replicas.stream().filter(r -> !"InSync".equals(r.state) && !"Unknown".equals(r.state))
        .map(r -> "shard " + r.shard + " replica " + r.replica + " (" + r.endpoint + ", " + r.state + ")")
        .collect(Collectors.joining(", "));
    return Pass.ok(Phase.Ready, REPLICAS_PENDING, pass.message() + " Not yet on " + behind + ": ClickHouse"
        + " runs the queued ON CLUSTER DDL there when the node returns"
        + (queued.isEmpty() ? "" : " (" + queued.size() + " statement(s) of this run were left to the queue)")
        + "; checking every 15s. If the node is gone for good, remove it from remote_servers and its endpoint from"
        + " the connection.", null).degradedWhen(true);
  }

  private String key() {
    return WorkExecutor.keyOf(resource);
  }
}
