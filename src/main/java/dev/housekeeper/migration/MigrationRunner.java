package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.migration.Ledger.VersionState;
import java.time.Duration;
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
  static final Set<Kind> TRANSIENT = Set.of(Kind.CONNECTION, Kind.RETRIES_EXHAUSTED, Kind.CIRCUIT_OPEN);

  /** The progress while a run tries to take the lock. */
  static final String WAITING_FOR_LOCK = "waiting for the migration lock of database ";

  /** ClickHouse's error when a quorum INSERT meets another one still in flight on the same table. */
  static final int UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE = 286;

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

  /**
   * The user's statement as sent, the only SQL of the operator taken verbatim: ON CLUSTER added where
   * it takes it, with its query id, database and limit.
   */
  static Sql userStatement(Request request, String statement, String qid) {
    Sql sql = Sql.verbatim(OnCluster.rewrite(statement, request.cluster()))
        .withQueryId(qid)
        .inDatabase(request.database())
        .withTimeout(request.statementTimeout())
        .withSetting("log_queries", "1");
    if (request.cluster() != null && request.clusterDdlTimeout() != null) {
      sql = sql.withSetting("distributed_ddl_task_timeout", String.valueOf(request.clusterDdlTimeout().toSeconds()));
    }
    return sql;
  }

  /** How long the client this run used sends nothing, its circuit breakers open (see ClickHouseClient#blockedFor). */
  public Duration clientBlockedFor() {
    return client.blockedFor();
  }

  /** ON CLUSTER statements of this run left to the distributed DDL queue on some nodes. */
  public List<String> queuedOnCluster() {
    return steps.queued();
  }

  /**
   * What to run. {@code retry} is the value of the retry annotation this run acts upon (null: no
   * retry was asked for), {@code inputs} the hash of what it depends on besides the ledger; both come
   * back in its report, so that the status records what the run was started with.
   */
  public record Request(String resource, String database, String ledgerTable, List<MigrationScript> scripts,
      Long targetVersion, boolean dryRun, boolean allowDrift, String retry, String inputs, String cluster,
      Duration lockTtl, Duration statementTimeout, String holder, Duration clusterDdlTimeout, int lockQuorum) {

    /** Whether a failed migration may run again from its failed statement. */
    public boolean retryRequested() {
      return retry != null;
    }
  }

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
  public record Step(MigrationScript script, String direction, int fromIndex, int statements) {

    /** The statements of this direction, all of them (the step starts at {@link #fromIndex}). */
    List<String> texts() {
      return "down".equals(direction) ? script.downStatements() : script.upStatements();
    }
  }

  /** A migration applied or rolled back in this run. */
  public record Action(long version, String name, String direction, int statements, long durationMs) {}

  /** What a run (started with {@code request}) found and did. */
  public record Report(Request request, Outcome outcome, String message, Map<Long, VersionState> ledger,
      List<Step> plan, List<Action> actions, List<Long> drifted) {

    /** The same findings with another outcome and message. */
    Report with(Outcome other, String text) {
      return new Report(request, other, text, ledger, plan, actions, drifted);
    }
  }

  private final ClickHouseClient client;
  private final Request request;
  private final Consumer<String> progress;
  private final Ledger ledger;
  private final String runId = UUID.randomUUID().toString().substring(0, 8);
  private final MigrationSteps steps;
  private java.util.function.LongConsumer lockWaits = nanos -> { };

  public MigrationRunner(ClickHouseClient client, Request request, Consumer<String> progress) {
    this.client = client;
    this.request = request;
    this.progress = progress;
    this.ledger = new Ledger(client, request.database(), request.ledgerTable(), request.cluster())
        .withQuorum(request.lockQuorum());
    this.steps = new MigrationSteps(client, ledger, request, runId, progress);
  }

  /** Tells {@code waits} how long each lock acquisition waited for another contender to finish entering. */
  public MigrationRunner withLockWaits(java.util.function.LongConsumer waits) {
    this.lockWaits = waits;
    return this;
  }

  /** What this run was started with. */
  public Request request() {
    return request;
  }

  /** Kills the statement this run is executing, on the server that runs it (through the client the run uses). */
  public void cancelStatement() {
    String queryId = steps.currentQueryId();
    if (queryId != null) {
      client.cancel(queryId);
    }
  }

  /** Reads state and plans without writing anything (a dry run, or the check before taking the lock). */
  public Report plan() {
    Map<Long, VersionState> state = ledger.exists() ? Ledger.fold(ledger.read()) : new TreeMap<>();
    return MigrationPlan.decide(request, state);
  }

  /** Runs: plan, and if there is work, take the lock and do it. */
  public Report run() throws InterruptedException {
    Report first = plan();
    if (request.dryRun()) {
      return first.outcome() == Outcome.READY ? first.with(Outcome.PLANNED, first.message()) : first;
    }
    if (first.outcome() != Outcome.READY || first.plan().isEmpty()) {
      return first; // nothing to do, or stopped (Dirty, Drift, Blocked): no lock needed
    }
    MigrationLock lock = new MigrationLock(client, request.database(), "migrations:" + request.database(),
        request.holder(), request.lockTtl(), request.cluster()).withQuorum(request.lockQuorum()).withWaits(lockWaits);
    progress.accept(WAITING_FOR_LOCK + request.database());
    String other = acquire(lock);
    if (other != null) {
      return first.with(Outcome.LOCKED, "database " + request.database() + " is being migrated by " + other
          + "; waiting for its lock");
    }
    return underLock(first, lock);
  }

  /** Tries once to take the lock: null when taken, else who has it. */
  private static String acquire(MigrationLock lock) throws InterruptedException {
    try {
      return lock.tryAcquire();
    } catch (ClickHouseException e) {
      if (e.code() != UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE) {
        throw e;
      }
      // another holder's quorum write to the lock table is in flight (18.16 takes one at a time): busy
      return "another holder (its write to the lock is in flight)";
    }
  }

  /** Settles what an earlier run left in flight, plans again from the ledger and runs the plan. */
  private Report underLock(Report first, MigrationLock lock) throws InterruptedException {
    boolean release = true;
    try {
      ledger.ensureTable();
      Map<Long, VersionState> state = Ledger.fold(ledger.read());
      Report settled = new InFlight(client, ledger, request, runId).settle(state);
      if (settled != null) {
        release = settled.outcome() != Outcome.RETRY;
        return settled;
      }
      // settling may have recorded a statement done; with nothing in flight, the ledger is as just read
      Report decided = MigrationPlan.decide(request, InFlight.any(state) ? Ledger.fold(ledger.read()) : state);
      if (decided.outcome() != Outcome.READY) {
        return decided;
      }
      Report result = steps.execute(decided.plan(), lock);
      release = result.outcome() != Outcome.RETRY;
      return result;
    } catch (ClickHouseException e) {
      if (TRANSIENT.contains(e.kind())) {
        release = false; // the server is away: the lock expires by itself
        return new Report(request, Outcome.RETRY, e.getMessage(), first.ledger(), first.plan(), steps.actions(),
            first.drifted());
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
}
