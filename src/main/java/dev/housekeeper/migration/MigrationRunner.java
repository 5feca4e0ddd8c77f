package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.migration.Ledger.VersionState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One migration run: reads the ledger, settles a statement left in flight by an earlier run,
 * plans, takes the lock, applies or rolls back, and records every step in the ledger. A run never
 * re-sends a statement whose outcome it does not know: it asks {@code system.query_log} and
 * {@code system.processes} by the statement's query id first.
 */
public final class MigrationRunner {

  private static final Logger LOG = LoggerFactory.getLogger(MigrationRunner.class);
  /** Kinds of failure after which the statement's outcome is unknown and the run should come back later. */
  private static final Set<Kind> TRANSIENT = Set.of(Kind.CONNECTION, Kind.RETRIES_EXHAUSTED, Kind.CIRCUIT_OPEN);

  /** ClickHouse's error when a quorum INSERT meets another one still in flight on the same table. */
  static final int UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE = 286;

  /** ON CLUSTER statements that some nodes had not run when the wait ended (they run them from the queue). */
  private final List<String> queued = new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * ClickHouse's answer when an ON CLUSTER query waited distributed_ddl_task_timeout for nodes that did
   * not run it: it is in the distributed DDL queue, and they run it when they can (18.16 to 26.x).
   */
  static boolean queuedOnCluster(ClickHouseException e) {
    String m = e.getMessage() == null ? "" : e.getMessage();
    return m.contains("distributed_ddl_task_timeout") && m.contains("unfinished hosts");
  }

  /**
   * Creates a bookkeeping table (ledger, lock) unless this node has it. ON CLUSTER, the wait for
   * the other nodes is short and a node that is down gets it from the DDL queue when it returns.
   */
  static void ensureTable(ClickHouseClient client, Sql create, String database, String table, String cluster) {
    boolean exists = client.tableExists(database, table);
    if (exists) {
      return;
    }
    try {
      client.execute(cluster == null ? create : create.withSetting("distributed_ddl_task_timeout", "30"));
    } catch (ClickHouseException e) {
      if (cluster == null || !queuedOnCluster(e)) {
        throw e;
      }
    }
  }

  /** How long the client this run used sends nothing, its circuit breakers open (see ClickHouseClient#blockedFor). */
  public Duration clientBlockedFor() {
    return client.blockedFor();
  }

  /** ON CLUSTER statements of this run left to the distributed DDL queue on some nodes. */
  public List<String> queuedOnCluster() {
    return List.copyOf(queued);
  }

  /** What to run. */
  public record Request(String resource, String database, String ledgerTable, List<MigrationScript> scripts,
      Long targetVersion, boolean dryRun, boolean allowDrift, boolean retryRequested, String cluster,
      Duration lockTtl, Duration statementTimeout, String holder, Duration clusterDdlTimeout, int lockQuorum) {}

  /** How a run ended. */
  public enum Outcome {
    /** At the target; nothing left to do. */
    READY,
    /** Dry run: the plan is in the report, nothing ran. */
    PLANNED,
    /** Another holder has the lock. */
    LOCKED,
    /** A statement failed; the ledger says which. */
    DIRTY,
    /** Applied migrations changed. */
    DRIFT,
    /** The plan cannot run (for example a missing down script). */
    BLOCKED,
    /** ClickHouse could not be reached or a statement's outcome is not known yet; try later. */
    RETRY
  }

  /** One step of a plan. */
  public record Step(MigrationScript script, String direction, int fromIndex, int statements) {}

  /** A migration applied or rolled back in this run. */
  public record Action(long version, String name, String direction, int statements, long durationMs) {}

  /** What a run found and did. */
  public record Report(Outcome outcome, String message, Map<Long, VersionState> ledger, List<Step> plan,
      List<Action> actions, List<Long> drifted, String lockHolder) {}

  private final ClickHouseClient client;
  private final Request request;
  private final Consumer<String> progress;
  private final Ledger ledger;
  private final String runId = UUID.randomUUID().toString().substring(0, 8);
  private final List<Action> actions = new ArrayList<>();
  private volatile String currentQueryId;

  public MigrationRunner(ClickHouseClient client, Request request, Consumer<String> progress) {
    this.client = client;
    this.request = request;
    this.progress = progress;
    this.ledger = new Ledger(client, request.database(), request.ledgerTable(), request.cluster())
        .withQuorum(request.lockQuorum());
  }

  /** The query id of the statement running now, if any (to KILL it when the resource is deleted). */
  /** Kills the statement this run is executing, on the server that runs it (through the client the run uses). */
  public void cancelStatement() {
    String queryId = currentQueryId;
    if (queryId != null) {
      client.cancel(queryId);
    }
  }

  public String currentQueryId() {
    return currentQueryId;
  }

  /** Reads state and plans without writing anything (a dry run, or the check before taking the lock). */
  public Report plan() {
    Map<Long, VersionState> state = ledger.exists() ? Ledger.fold(ledger.read()) : new TreeMap<>();
    return decide(state);
  }

  /** Runs: plan, and if there is work, take the lock and do it. */
  public Report run() throws InterruptedException {
    Report first = plan();
    if (request.dryRun()) {
      return first.outcome() == Outcome.READY ? new Report(Outcome.PLANNED, first.message(), first.ledger(),
          first.plan(), List.of(), first.drifted(), null) : first;
    }
    if (first.outcome() != Outcome.READY || first.plan().isEmpty()) {
      return first; // nothing to do, or stopped (Dirty, Drift, Blocked): no lock needed
    }
    MigrationLock lock = new MigrationLock(client, request.database(), "migrations:" + request.database(),
        request.holder(), request.lockTtl(), request.cluster()).withQuorum(request.lockQuorum());
    progress.accept("waiting for the migration lock of database " + request.database());
    String other;
    try {
      other = lock.tryAcquire();
    } catch (ClickHouseException e) {
      if (e.code() != UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE) {
        throw e;
      }
      // another holder's quorum write to the lock table is in flight (18.16 takes one at a time): busy
      other = "another holder (its write to the lock is in flight)";
    }
    if (other != null) {
      return new Report(Outcome.LOCKED, "database " + request.database() + " is being migrated by " + other
          + "; waiting for its lock", first.ledger(), first.plan(), List.of(), first.drifted(), other);
    }
    boolean release = true;
    try {
      ledger.ensureTable();
      Map<Long, VersionState> state = Ledger.fold(ledger.read());
      Report settled = settleInFlight(state);
      if (settled != null) {
        release = settled.outcome() != Outcome.RETRY;
        return settled;
      }
      state = Ledger.fold(ledger.read());
      Report decided = decide(state);
      if (decided.outcome() != Outcome.READY) {
        return decided;
      }
      Report result = execute(decided.plan(), lock);
      release = result.outcome() != Outcome.RETRY;
      return result;
    } catch (ClickHouseException e) {
      if (TRANSIENT.contains(e.kind())) {
        release = false; // the server is away: the lock expires by itself
        return new Report(Outcome.RETRY, e.getMessage(), first.ledger(), first.plan(), actions, first.drifted(), null);
      }
      throw e;
    } finally {
      if (release && !Thread.currentThread().isInterrupted()) {
        try {
          lock.release();
        } catch (ClickHouseException e) {
          LOG.warn("could not release the migration lock (it expires by itself): {}", e.getMessage());
        }
      }
    }
  }

  /**
   * Settles a statement that an earlier run started but did not record as done: by its query id in
   * system.processes (still running: wait) and system.query_log (finished: record it; failed or
   * absent: it will be run again).
   *
   * @return a report to stop with, or null to go on
   */
  private Report settleInFlight(Map<Long, VersionState> state) {
    for (VersionState s : state.values()) {
      if (s.inFlightIndex == null || !"in_progress".equals(s.state)) {
        continue;
      }
      String qid = s.inFlightQueryId;
      boolean flushed = true;
      try {
        client.execute(Sql.command("SYSTEM FLUSH LOGS"));
      } catch (ClickHouseException e) {
        flushed = false;
      }
      if (!client.query(Sql.query("SELECT query_id FROM system.processes WHERE query_id = ?", qid)).isEmpty()) {
        return stop(Outcome.RETRY, "statement " + s.inFlightIndex + " of version " + s.version + " (query " + qid
            + ") from an earlier run is still running; waiting for it", state);
      }
      List<Row> log;
      try {
        log = client.query(Sql.query("SELECT toString(type) AS type, toUInt64(written_rows) AS written, exception"
            + " FROM system.query_log WHERE event_date >= yesterday() AND query_id = ?", qid));
      } catch (ClickHouseException e) {
        if (e.kind() == Kind.UNKNOWN_TABLE) {
          return failUnknown(s, "system.query_log is not enabled on the server", state);
        }
        throw e;
      }
      // the type is an Enum8 on current servers and a plain UInt8 on 18.16 (2: QueryFinish, 3 and 4: exceptions)
      boolean finished = log.stream().anyMatch(r -> List.of("QueryFinish", "2").contains(r.string("type")));
      List<Row> failures = log.stream().filter(r -> r.string("type").startsWith("Exception")
          || List.of("3", "4").contains(r.string("type"))).toList();
      boolean failed = !failures.isEmpty();
      long written = failures.stream().mapToLong(r -> r.longValue("written")).sum();
      if (!finished && written > 0) {
        return failUnknown(s, "it failed after writing " + written + " rows (" + failures.get(0).string("exception")
            + "), so running it again could write them twice", state);
      }
      if (finished) {
        LOG.info("statement {} of version {} (query {}) had finished; recording it", s.inFlightIndex, s.version, qid);
        ledger.append(s.version, s.name, s.direction, Ledger.STATEMENT_DONE, "", s.inFlightIndex, s.statementCount,
            s.inFlightChecksum, qid, "", 0, runId, request.resource());
      } else if (failed || flushed) {
        LOG.info("statement {} of version {} (query {}) did not complete ({}); it runs again", s.inFlightIndex,
            s.version, qid, failed ? "it failed" : "it never ran");
      } else {
        return stop(Outcome.RETRY, "cannot see yet whether statement " + s.inFlightIndex + " of version " + s.version
            + " ran (query_log not flushed, SYSTEM FLUSH LOGS not permitted); checking again shortly", state);
      }
    }
    return null;
  }

  private Report failUnknown(VersionState s, String why, Map<Long, VersionState> state) {
    String error = "cannot tell whether statement " + s.inFlightIndex + " of version " + s.version + " ran: " + why
        + ". Check the schema by hand; then set the annotation housekeeper.dev/retry to a new value to run it again.";
    ledger.append(s.version, s.name, s.direction, Ledger.FAILED, "", s.inFlightIndex, s.statementCount,
        s.inFlightChecksum, s.inFlightQueryId, error, 0, runId, request.resource());
    return stop(Outcome.DIRTY, error, Ledger.fold(ledger.read()));
  }

  private Report stop(Outcome outcome, String message, Map<Long, VersionState> state) {
    return new Report(outcome, message, state, List.of(), actions, List.of(), null);
  }

  /** Decides what to do from the ledger and the declared scripts. */
  Report decide(Map<Long, VersionState> state) {
    Map<Long, MigrationScript> scripts = new TreeMap<>();
    request.scripts().forEach(s -> scripts.put(s.version(), s));
    long latest = scripts.isEmpty() ? 0 : ((TreeMap<Long, MigrationScript>) scripts).lastKey();
    long target = request.targetVersion() != null ? request.targetVersion() : latest;

    List<Long> drifted = state.values().stream()
        .filter(s -> s.applied() && scripts.containsKey(s.version)
            && !scripts.get(s.version).checksum().equals(s.checksum))
        .map(s -> s.version).toList();
    if (!drifted.isEmpty() && !request.allowDrift()) {
      return new Report(Outcome.DRIFT, "applied migration(s) " + drifted + " changed since they were applied (checksum"
          + " differs from the ledger). Restore their text, or set spec.allowDrift: true to go on.", state, List.of(),
          actions, drifted, null);
    }

    List<Step> plan = new ArrayList<>();
    // a failed or interrupted migration comes first
    VersionState unfinished = state.values().stream()
        .filter(s -> "failed".equals(s.state) || "in_progress".equals(s.state)).findFirst().orElse(null);
    if (unfinished != null) {
      MigrationScript script = scripts.get(unfinished.version);
      if ("failed".equals(unfinished.state) && !request.retryRequested()) {
        return new Report(Outcome.DIRTY, "version " + unfinished.version + " (" + unfinished.name + ") failed at"
            + " statement " + unfinished.failedIndex + ": " + unfinished.error + ". Fix the migration, then set the"
            + " annotation housekeeper.dev/retry to a new value to run it again from that statement.", state,
            List.of(), actions, drifted, null);
      }
      if (script == null) {
        return new Report(Outcome.BLOCKED, "version " + unfinished.version + " is unfinished in the ledger but no"
            + " longer declared; declare it again to finish or roll it back.", state, List.of(), actions, drifted, null);
      }
      List<String> statements = "down".equals(unfinished.direction) ? script.downStatements() : script.upStatements();
      int from = unfinished.doneIndex + 1;
      for (Map.Entry<Integer, String> done : unfinished.doneChecksums.entrySet()) {
        int i = done.getKey();
        if (i >= statements.size() || !MigrationScript.sha256(statements.get(i)).equals(done.getValue())) {
          return new Report(Outcome.DIRTY, "version " + unfinished.version + ": statement " + i + " already ran but"
              + " its text changed; only the statements from " + from + " on may change before a retry.", state,
              List.of(), actions, drifted, null);
        }
      }
      plan.add(new Step(script, unfinished.direction, from, statements.size()));
    }

    long current = state.values().stream().filter(VersionState::applied).mapToLong(s -> s.version).max().orElse(0);
    boolean goingDown = target < current;
    if (!goingDown) {
      for (MigrationScript s : scripts.values()) {
        VersionState vs = state.get(s.version());
        boolean applied = vs != null && vs.applied();
        boolean first = unfinished != null && unfinished.version == s.version();
        if (s.version() <= target && !applied && !first) {
          plan.add(new Step(s, "up", 0, s.upStatements().size()));
        }
      }
    } else {
      List<Long> missingDown = new ArrayList<>();
      List<VersionState> toUndo = state.values().stream().filter(s -> s.applied() && s.version > target)
          .sorted(Comparator.comparingLong((VersionState s) -> s.version).reversed()).toList();
      for (VersionState vs : toUndo) {
        MigrationScript s = scripts.get(vs.version);
        if (s == null || !s.hasDown()) {
          missingDown.add(vs.version);
        } else if (unfinished == null || unfinished.version != vs.version) {
          plan.add(new Step(s, "down", 0, s.downStatements().size()));
        }
      }
      if (!missingDown.isEmpty()) {
        return new Report(Outcome.BLOCKED, "cannot roll back to version " + target + ": no down script for version(s) "
            + missingDown + ". Add a 'down' (or a V<version>__<name>.down.sql file), or choose a higher"
            + " targetVersion. Nothing was run.", state, plan, actions, drifted, null);
      }
    }
    String message = plan.isEmpty() ? "nothing to do"
        : plan.size() + " step(s) to reach version " + target;
    return new Report(Outcome.READY, message, state, plan, actions, drifted, null);
  }

  private Report execute(List<Step> plan, MigrationLock lock) throws InterruptedException {
    for (Step step : plan) {
      MigrationScript script = step.script();
      List<String> statements = "down".equals(step.direction()) ? script.downStatements() : script.upStatements();
      long start = System.nanoTime();
      if (step.fromIndex() == 0) {
        ledger.append(script.version(), script.name(), step.direction(), Ledger.STARTED, script.checksum(), -1,
            statements.size(), "", "", "", 0, runId, request.resource());
      }
      for (int i = step.fromIndex(); i < statements.size(); i++) {
        if (Thread.interrupted()) {
          throw new InterruptedException("migration run cancelled");
        }
        lock.renewIfDue();
        String statement = statements.get(i);
        String checksum = MigrationScript.sha256(statement);
        String qid = "hk-mig-" + runId + "-v" + script.version() + "-" + step.direction() + "-s" + i;
        progress.accept((step.direction().equals("up") ? "applying" : "rolling back") + " version " + script.version()
            + " (" + script.name() + "), statement " + (i + 1) + " of " + statements.size());
        ledger.append(script.version(), script.name(), step.direction(), Ledger.STATEMENT_STARTED, script.checksum(), i,
            statements.size(), checksum, qid, "", 0, runId, request.resource());
        long t0 = System.nanoTime();
        currentQueryId = qid;
        try {
          Sql sql = Sql.verbatim(OnCluster.rewrite(statement, request.cluster()))
              .withQueryId(qid)
              .inDatabase(request.database())
              .withTimeout(request.statementTimeout())
              .withSetting("log_queries", "1");
          if (request.cluster() != null && request.clusterDdlTimeout() != null) {
            sql = sql.withSetting("distributed_ddl_task_timeout", String.valueOf(request.clusterDdlTimeout().toSeconds()));
          }
          try (MigrationLock.KeepAlive held = lock.keepAlive()) {
            client.execute(sql);
          }
        } catch (ClickHouseException e) {
          if (request.cluster() != null && queuedOnCluster(e)) {
            // ran where the nodes answered; the distributed DDL queue runs it on the others when they return
            queued.add("version " + script.version() + " statement " + i + ": " + e.getMessage());
            ledger.append(script.version(), script.name(), step.direction(), Ledger.STATEMENT_DONE, script.checksum(),
                i, statements.size(), checksum, qid, "queued on the cluster: " + e.getMessage(),
                (System.nanoTime() - t0) / 1_000_000, runId, request.resource());
            continue;
          }
          if (TRANSIENT.contains(e.kind()) || (e.kind() == Kind.CANCELLED && Thread.currentThread().isInterrupted())) {
            // the outcome is unknown: the next run settles it by query id
            return new Report(Outcome.RETRY, "connection lost during statement " + i + " of version "
                + script.version() + ": " + e.getMessage(), Ledger.fold(ledger.read()), plan, actions, List.of(), null);
          }
          ledger.append(script.version(), script.name(), step.direction(), Ledger.FAILED, script.checksum(), i,
              statements.size(), checksum, qid, e.getMessage(), (System.nanoTime() - t0) / 1_000_000, runId,
              request.resource());
          return new Report(Outcome.DIRTY, "version " + script.version() + " (" + script.name() + ") failed at"
              + " statement " + i + ": " + e.getMessage() + ". Nothing after it ran. Fix the migration, then set the"
              + " annotation housekeeper.dev/retry to a new value to run it again from that statement.",
              Ledger.fold(ledger.read()), plan, actions, List.of(), null);
        }
        ledger.append(script.version(), script.name(), step.direction(), Ledger.STATEMENT_DONE, script.checksum(), i,
            statements.size(), checksum, qid, "", (System.nanoTime() - t0) / 1_000_000, runId, request.resource());
      }
      long durationMs = (System.nanoTime() - start) / 1_000_000;
      ledger.append(script.version(), script.name(), step.direction(),
          "down".equals(step.direction()) ? Ledger.ROLLED_BACK : Ledger.APPLIED, script.checksum(), -1,
          statements.size(), "", "", "", durationMs, runId, request.resource());
      actions.add(new Action(script.version(), script.name(), step.direction(), statements.size(), durationMs));
    }
    Map<Long, VersionState> state = Ledger.fold(ledger.read());
    return new Report(Outcome.READY, "ran " + actions.size() + " migration(s)", state, List.of(), actions, List.of(),
        null);
  }
}
