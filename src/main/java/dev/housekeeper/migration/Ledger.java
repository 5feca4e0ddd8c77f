package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ReplicatedEngine;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The migration ledger in ClickHouse: an append-only log of events (started, statement_started,
 * statement_done, applied, failed, rolled_back), one row each. A migration's state is the fold of
 * its rows in {@code seq} order, so the ledger never needs an UPDATE (a mutation, asynchronous in
 * ClickHouse). Only the holder of the migration lock writes to it.
 */
public final class Ledger {

  /** Event names. */
  public static final String STARTED = "started";
  public static final String STATEMENT_STARTED = "statement_started";
  public static final String STATEMENT_DONE = "statement_done";
  public static final String APPLIED = "applied";
  public static final String FAILED = "failed";
  public static final String ROLLED_BACK = "rolled_back";

  private final ClickHouseClient client;
  private final String database;
  private final String table;
  private final String cluster;
  private long seq;
  /** Whether this run saw the table (null: it did not look). A ledger is never dropped under a run. */
  private Boolean seen;
  /** Events held back to go with the next append, in order. */
  private final List<Sql.Fragment> heldBack = new ArrayList<>();
  /** On a cluster: rows count once a majority of the ledger's replicas has them (see MigrationLock#withQuorum). */
  private int quorum;

  /** Writes with insert_quorum and reads with select_sequential_consistency on a cluster. */
  public Ledger withQuorum(int replicas) {
    this.quorum = replicas;
    return this;
  }

  public Ledger(ClickHouseClient client, String database, String table, String cluster) {
    this.client = client;
    this.database = database;
    this.table = table;
    this.cluster = cluster;
  }

  /** The ledger's DDL: plain MergeTree, or ReplicatedMergeTree ON CLUSTER. Runs on 18.16 and 26.x. */
  public Sql createTable() {
    return Sql.command("CREATE TABLE IF NOT EXISTS ?? ("
        + "version UInt64, name String, direction String, event String, checksum String,"
        + " statement_index Int32, statement_count UInt32, statement_checksum String, query_id String,"
        + " error String, duration_ms UInt64, run_id String, resource String,"
        + " event_time DateTime DEFAULT now(), seq UInt64"
        + ") ENGINE = ? ORDER BY (version, seq)", Sql.table(database, table), Sql.onCluster(cluster),
        ReplicatedEngine.mergeTree(cluster != null, "/clickhouse/housekeeper/" + database + "/" + table))
        .idempotent(true);
  }

  /**
   * Creates the ledger unless it exists. Where this run's {@link #exists} saw it, nothing is sent;
   * where it saw none, the CREATE (IF NOT EXISTS) is sent without asking again.
   */
  public void ensureTable() {
    if (Boolean.TRUE.equals(seen)) {
      return;
    }
    if (Boolean.FALSE.equals(seen) && cluster == null) {
      client.execute(createTable());
    } else {
      MigrationRunner.ensureTable(client, createTable(), database, table, cluster);
    }
    seen = true;
  }

  /** Whether the ledger table exists (read-only; for dry runs). */
  public boolean exists() {
    seen = client.tableExists(database, table);
    return seen;
  }

  /** One event row. */
  public record Event(long version, String name, String direction, String event, String checksum, int statementIndex,
      int statementCount, String statementChecksum, String queryId, String error, long durationMs, String runId,
      String resource, String eventTime, long seq) {}

  /** All events, in order. */
  public List<Event> read() {
    List<Event> out = new ArrayList<>();
    Sql read = readSql();
    for (Row r : client.query(quorum > 1 ? read.withSetting("select_sequential_consistency", "1") : read)) {
      out.add(new Event(r.longValue("version"), r.string("name"), r.string("direction"), r.string("event"),
          r.string("checksum"), (int) r.longValue("statement_index"), (int) r.longValue("statement_count"),
          r.string("statement_checksum"), r.string("query_id"), r.string("error"), r.longValue("duration_ms"),
          r.string("run_id"), r.string("resource"), r.string("event_time"), r.longValue("seq")));
    }
    seq = out.isEmpty() ? 0 : Math.max(seq, out.get(out.size() - 1).seq());
    return out;
  }

  /** The query that reads every event in order. */
  public Sql readSql() {
    return Sql.query("SELECT version, name, direction, event, checksum, statement_index,"
        + " statement_count, statement_checksum, query_id, error, duration_ms, run_id, resource,"
        + " toString(event_time) AS event_time, seq FROM ? ORDER BY seq", Sql.table(database, table));
  }

  /** Appends one event, with any held back by {@link #appendWithNext}, in one INSERT. */
  public void append(long version, String name, String direction, String event, String checksum, int statementIndex,
      int statementCount, String statementChecksum, String queryId, String error, long durationMs, String runId,
      String resource) {
    appendWithNext(version, name, direction, event, checksum, statementIndex, statementCount, statementChecksum,
        queryId, error, durationMs, runId, resource);
    Sql append = Sql.command("INSERT INTO ? (version, name, direction, event, checksum, statement_index,"
        + " statement_count, statement_checksum, query_id, error, duration_ms, run_id, resource, event_time, seq) ?",
        Sql.table(database, table), Sql.Fragment.join(heldBack, " UNION ALL "));
    heldBack.clear();
    client.execute(quorum > 1 ? append.withSetting("insert_quorum", String.valueOf(quorum)) : append);
  }

  /**
   * Holds an event back, to be written in one INSERT with the next {@link #append} (each INSERT is a
   * part on the server, tens of milliseconds on 18.16). Only for an event whose loss in a crash the
   * next run settles as it settles the event's absence today: a version's start, which the first
   * statement's start follows, and the last statement's end, which the version's end follows (the
   * next run asks the query log about a statement started and not ended).
   */
  public void appendWithNext(long version, String name, String direction, String event, String checksum,
      int statementIndex, int statementCount, String statementChecksum, String queryId, String error,
      long durationMs, String runId, String resource) {
    heldBack.add(rowSql(version, name, direction, event, checksum, statementIndex, statementCount, statementChecksum,
        queryId, error, durationMs, runId, resource, ++seq));
  }

  /** The INSERT of one event row. */
  public Sql appendSql(long version, String name, String direction, String event, String checksum, int statementIndex,
      int statementCount, String statementChecksum, String queryId, String error, long durationMs, String runId,
      String resource, long seqValue) {
    return Sql.command("INSERT INTO ? (version, name, direction, event, checksum, statement_index,"
            + " statement_count, statement_checksum, query_id, error, duration_ms, run_id, resource, event_time, seq) ?",
        Sql.table(database, table), rowSql(version, name, direction, event, checksum, statementIndex, statementCount,
            statementChecksum, queryId, error, durationMs, runId, resource, seqValue));
  }

  private static Sql.Fragment rowSql(long version, String name, String direction, String event, String checksum,
      int statementIndex, int statementCount, String statementChecksum, String queryId, String error,
      long durationMs, String runId, String resource, long seqValue) {
    // not now(): a constant can differ between the statement's header and its rows (MigrationLock.NOW)
    return Sql.fragment("SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " + MigrationLock.NOW + ", ?", version, name, direction, event,
        checksum, statementIndex, statementCount, statementChecksum, queryId, error, durationMs, runId, resource,
        seqValue);
  }

  /** The state of one version after folding its events. */
  public static final class VersionState {
    public final long version;
    public String name;
    public String checksum = "";
    /** applied, rolled_back, failed, in_progress */
    public String state = "";
    public String direction = "";
    public int statementCount;
    /** Index of the last statement known done in the current run of this version (-1: none). */
    public int doneIndex = -1;
    /** Checksums of done statements, by index. */
    public final Map<Integer, String> doneChecksums = new TreeMap<>();
    /** A statement started but not known done: its index and query id. */
    public Integer inFlightIndex;
    public String inFlightQueryId;
    public String inFlightChecksum;
    public String error = "";
    public int failedIndex = -1;
    public String appliedAt;
    public long durationMs;

    VersionState(long version) {
      this.version = version;
    }

    public boolean applied() {
      return "applied".equals(state);
    }

    /** Takes one event of this version into its state. */
    void apply(Event e) {
      name = e.name();
      switch (e.event()) {
        case STARTED -> started(e);
        case STATEMENT_STARTED -> {
          state = "in_progress";
          inFlightIndex = e.statementIndex();
          inFlightQueryId = e.queryId();
          inFlightChecksum = e.statementChecksum();
        }
        case STATEMENT_DONE -> {
          doneIndex = Math.max(doneIndex, e.statementIndex());
          doneChecksums.put(e.statementIndex(), e.statementChecksum());
          inFlightIndex = null;
        }
        case FAILED -> {
          state = "failed";
          direction = e.direction();
          failedIndex = e.statementIndex();
          error = e.error();
          inFlightIndex = null;
        }
        case APPLIED -> applied(e);
        case ROLLED_BACK -> {
          state = "rolled_back";
          clearRun();
        }
        default -> {
          // unknown events from a newer operator are ignored
        }
      }
    }

    /** A run from statement 0 (a resumed run writes no 'started'). */
    private void started(Event e) {
      clearRun();
      state = "in_progress";
      direction = e.direction();
      statementCount = e.statementCount();
      if ("up".equals(e.direction())) {
        checksum = e.checksum();
      }
    }

    private void applied(Event e) {
      clearRun();
      state = "applied";
      checksum = e.checksum();
      statementCount = e.statementCount();
      appliedAt = e.eventTime();
      durationMs = e.durationMs();
    }

    /** Forgets the statements of the run before: done, in flight, failed. */
    private void clearRun() {
      inFlightIndex = null;
      doneIndex = -1;
      doneChecksums.clear();
      error = "";
      failedIndex = -1;
    }
  }

  /** Folds events into per-version state, by version. */
  public static Map<Long, VersionState> fold(List<Event> events) {
    Map<Long, VersionState> out = new TreeMap<>();
    for (Event e : events) {
      out.computeIfAbsent(e.version(), VersionState::new).apply(e);
    }
    return out;
  }
}
