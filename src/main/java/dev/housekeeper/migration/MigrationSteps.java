package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import dev.housekeeper.migration.MigrationRunner.Action;
import dev.housekeeper.migration.MigrationRunner.Outcome;
import dev.housekeeper.migration.MigrationRunner.Report;
import dev.housekeeper.migration.MigrationRunner.Request;
import dev.housekeeper.migration.MigrationRunner.Step;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Runs a plan under the lock, statement by statement: each is recorded in the ledger as started
 * (with its query id) before it is sent and as done after, so that a run cut off in between is
 * settled by {@link InFlight} instead of sending the statement again.
 */
final class MigrationSteps {

  private final ClickHouseClient client;
  private final Ledger ledger;
  private final Request request;
  private final String runId;
  private final Consumer<String> progress;
  private final List<Action> actions = new ArrayList<>();
  /** ON CLUSTER statements that some nodes had not run when the wait ended (they run them from the queue). */
  private final List<String> queued = new CopyOnWriteArrayList<>();
  private volatile String currentQueryId;

  MigrationSteps(ClickHouseClient client, Ledger ledger, Request request, String runId, Consumer<String> progress) {
    this.client = client;
    this.ledger = ledger;
    this.request = request;
    this.runId = runId;
    this.progress = progress;
  }

  /** The query id of the statement running now, if any (to KILL it when the resource is deleted). */
  String currentQueryId() {
    return currentQueryId;
  }

  /** The migrations applied or rolled back so far. */
  List<Action> actions() {
    return actions;
  }

  List<String> queued() {
    return List.copyOf(queued);
  }

  Report execute(List<Step> plan, MigrationLock lock) throws InterruptedException {
    for (Step step : plan) {
      Report stopped = execute(step, plan, lock);
      if (stopped != null) {
        return stopped;
      }
    }
    return report(Outcome.READY, "ran " + actions.size() + " migration(s)", List.of());
  }

  /** Runs one step's statements and records it applied or rolled back; a report when the run stops there. */
  private Report execute(Step step, List<Step> plan, MigrationLock lock) throws InterruptedException {
    MigrationScript script = step.script();
    List<String> statements = step.texts();
    long start = System.nanoTime();
    if (step.fromIndex() == 0) {
      recordWithNext(step, Ledger.STARTED, -1, "", "", 0);
    }
    for (int i = step.fromIndex(); i < statements.size(); i++) {
      if (Thread.interrupted()) {
        throw new InterruptedException("migration run cancelled");
      }
      lock.renewIfDue();
      Report stopped = execute(step, i, statements.get(i), plan, lock);
      if (stopped != null) {
        return stopped;
      }
    }
    long durationMs = (System.nanoTime() - start) / 1_000_000;
    record(step, "down".equals(step.direction()) ? Ledger.ROLLED_BACK : Ledger.APPLIED, -1, "", "", "", durationMs);
    actions.add(new Action(script.version(), script.name(), step.direction(), statements.size(), durationMs));
    return null;
  }

  /** Runs statement {@code i} of a step, recorded before and after; a report when the run stops there. */
  private Report execute(Step step, int i, String statement, List<Step> plan, MigrationLock lock) {
    MigrationScript script = step.script();
    String checksum = MigrationScript.sha256(statement);
    String qid = "hk-mig-" + runId + "-v" + script.version() + "-" + step.direction() + "-s" + i;
    progress.accept((step.direction().equals("up") ? "applying" : "rolling back") + " version " + script.version()
        + " (" + script.name() + "), statement " + (i + 1) + " of " + step.statements());
    record(step, Ledger.STATEMENT_STARTED, i, checksum, qid, "", 0);
    long t0 = System.nanoTime();
    currentQueryId = qid;
    try (LockKeepAlive held = lock.keepAlive()) {
      client.execute(MigrationRunner.userStatement(request, statement, qid));
    } catch (ClickHouseException e) {
      long ms = (System.nanoTime() - t0) / 1_000_000;
      if (request.cluster() != null && MigrationRunner.queuedOnCluster(e)) {
        // ran where the nodes answered; the distributed DDL queue runs it on the others when they return
        queued.add("version " + script.version() + " statement " + i + ": " + e.getMessage());
        record(step, Ledger.STATEMENT_DONE, i, checksum, qid, "queued on the cluster: " + e.getMessage(), ms);
        return null;
      }
      if (MigrationRunner.TRANSIENT.contains(e.kind())
          || (e.kind() == Kind.CANCELLED && Thread.currentThread().isInterrupted())) {
        // the outcome is unknown: the next run settles it by query id
        return report(Outcome.RETRY, "connection lost during statement " + i + " of version " + script.version()
            + ": " + e.getMessage(), plan);
      }
      record(step, Ledger.FAILED, i, checksum, qid, e.getMessage(), ms);
      return report(Outcome.DIRTY, "version " + script.version() + " (" + script.name() + ") failed at"
          + " statement " + i + ": " + e.getMessage() + ". Nothing after it ran. Fix the migration, then set the"
          + " annotation housekeeper.dev/retry to a new value to run it again from that statement.", plan);
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    if (i == step.texts().size() - 1) {
      recordWithNext(step, Ledger.STATEMENT_DONE, i, checksum, qid, ms); // the version's end follows at once
    } else {
      record(step, Ledger.STATEMENT_DONE, i, checksum, qid, "", ms);
    }
    return null;
  }

  /** Appends one event of a step to the ledger. */
  private void record(Step step, String event, int index, String statementChecksum, String qid, String error,
      long durationMs) {
    MigrationScript script = step.script();
    ledger.append(script.version(), script.name(), step.direction(), event, script.checksum(), index,
        step.statements(), statementChecksum, qid, error, durationMs, runId, request.resource());
  }

  /** Holds an event of a step back, to be written with the next one (see Ledger#appendWithNext). */
  private void recordWithNext(Step step, String event, int index, String statementChecksum, String qid,
      long durationMs) {
    MigrationScript script = step.script();
    ledger.appendWithNext(script.version(), script.name(), step.direction(), event, script.checksum(), index,
        step.statements(), statementChecksum, qid, "", durationMs, runId, request.resource());
  }

  /** A report of the ledger as it is now. */
  private Report report(Outcome outcome, String message, List<Step> plan) {
    return new Report(request, outcome, message, Ledger.fold(ledger.read()), plan, actions, List.of());
  }
}
