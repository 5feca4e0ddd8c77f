package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.ClickHouseClient;
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
    String onCluster = cluster == null ? "" : " ON CLUSTER " + dev.housekeeper.clickhouse.Identifiers.quote(cluster);
    String engine = cluster == null ? "MergeTree"
        : "ReplicatedMergeTree(" + dev.housekeeper.clickhouse.SqlLiterals.quoteString(
            "/clickhouse/housekeeper/" + database + "/" + table) + ", '{replica}')";
    return Sql.command("CREATE TABLE IF NOT EXISTS ?" + onCluster + " ("
        + "version UInt64, name String, direction String, event String, checksum String,"
        + " statement_index Int32, statement_count UInt32, statement_checksum String, query_id String,"
        + " error String, duration_ms UInt64, run_id String, resource String,"
        + " event_time DateTime DEFAULT now(), seq UInt64"
        + ") ENGINE = " + engine + " ORDER BY (version, seq)", Sql.table(database, table)).idempotent(true);
  }

  public void ensureTable() {
    MigrationRunner.ensureTable(client, createTable(), database, table, cluster);
  }

  /** Whether the ledger table exists (read-only; for dry runs). */
  public boolean exists() {
    return client.tableExists(database, table);
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

  /** Appends one event; {@code seq} continues from the highest in the ledger. */
  public void append(long version, String name, String direction, String event, String checksum, int statementIndex,
      int statementCount, String statementChecksum, String queryId, String error, long durationMs, String runId,
      String resource) {
    Sql append = appendSql(version, name, direction, event, checksum, statementIndex, statementCount,
        statementChecksum, queryId, error, durationMs, runId, resource, ++seq);
    client.execute(quorum > 1 ? append.withSetting("insert_quorum", String.valueOf(quorum)) : append);
  }

  /** The INSERT of one event row. */
  public Sql appendSql(long version, String name, String direction, String event, String checksum, int statementIndex,
      int statementCount, String statementChecksum, String queryId, String error, long durationMs, String runId,
      String resource, long seqValue) {
    return Sql.command("INSERT INTO ? (version, name, direction, event, checksum, statement_index,"
            + " statement_count, statement_checksum, query_id, error, duration_ms, run_id, resource, event_time, seq)"
            + " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?",
        Sql.table(database, table), version, name, direction, event, checksum, statementIndex, statementCount,
        statementChecksum, queryId, error, durationMs, runId, resource, seqValue);
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
  }

  /** Folds events into per-version state, by version. */
  public static Map<Long, VersionState> fold(List<Event> events) {
    Map<Long, VersionState> out = new TreeMap<>();
    for (Event e : events) {
      VersionState s = out.computeIfAbsent(e.version(), VersionState::new);
      s.name = e.name();
      switch (e.event()) {
        case STARTED -> {
          s.state = "in_progress";
          s.direction = e.direction();
          s.statementCount = e.statementCount();
          // a run from statement 0; a resumed run writes no 'started'
          s.doneIndex = -1;
          s.doneChecksums.clear();
          s.error = "";
          s.failedIndex = -1;
          s.inFlightIndex = null;
          if ("up".equals(e.direction())) {
            s.checksum = e.checksum();
          }
        }
        case STATEMENT_STARTED -> {
          s.state = "in_progress";
          s.inFlightIndex = e.statementIndex();
          s.inFlightQueryId = e.queryId();
          s.inFlightChecksum = e.statementChecksum();
        }
        case STATEMENT_DONE -> {
          s.doneIndex = Math.max(s.doneIndex, e.statementIndex());
          s.doneChecksums.put(e.statementIndex(), e.statementChecksum());
          s.inFlightIndex = null;
        }
        case FAILED -> {
          s.state = "failed";
          s.direction = e.direction();
          s.failedIndex = e.statementIndex();
          s.error = e.error();
          s.inFlightIndex = null;
        }
        case APPLIED -> {
          s.state = "applied";
          s.checksum = e.checksum();
          s.statementCount = e.statementCount();
          s.appliedAt = e.eventTime();
          s.durationMs = e.durationMs();
          s.inFlightIndex = null;
          s.doneIndex = -1;
          s.doneChecksums.clear();
          s.error = "";
          s.failedIndex = -1;
        }
        case ROLLED_BACK -> {
          s.state = "rolled_back";
          s.inFlightIndex = null;
          s.doneIndex = -1;
          s.doneChecksums.clear();
          s.error = "";
          s.failedIndex = -1;
        }
        default -> {
          // unknown events from a newer operator are ignored
        }
      }
    }
    return out;
  }
}
