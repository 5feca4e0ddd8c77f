package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.migration.Ledger.VersionState;
import dev.housekeeper.migration.MigrationRunner.Outcome;
import dev.housekeeper.migration.MigrationRunner.Report;
import dev.housekeeper.migration.MigrationRunner.Request;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Settles a statement that an earlier run started but did not record as done: by its query id in
 * system.processes (still running: wait) and system.query_log (finished: record it; failed or
 * absent: it runs again; failed after writing rows: nobody can tell, the migration is Dirty).
 */
final class InFlight {

  private static final Logger LOG = LoggerFactory.getLogger(InFlight.class);

  private final ClickHouseClient client;
  private final Ledger ledger;
  private final Request request;
  private final String runId;

  InFlight(ClickHouseClient client, Ledger ledger, Request request, String runId) {
    this.client = client;
    this.ledger = ledger;
    this.request = request;
    this.runId = runId;
  }

  /** What the query log says about one statement's query id. */
  private record Logged(boolean finished, boolean failed, long writtenByFailures, String firstError) {

    static Logged of(List<Row> log) {
      // the type is an Enum8 on current servers and a plain UInt8 on 18.16 (2: QueryFinish, 3 and 4: exceptions)
      boolean finished = log.stream().anyMatch(r -> List.of("QueryFinish", "2").contains(r.string("type")));
      List<Row> failures = log.stream().filter(r -> r.string("type").startsWith("Exception")
          || List.of("3", "4").contains(r.string("type"))).toList();
      long written = failures.stream().mapToLong(r -> r.longValue("written")).sum();
      return new Logged(finished, !failures.isEmpty(), written,
          failures.isEmpty() ? "" : failures.get(0).string("exception"));
    }
  }

  /** Whether an earlier run left a statement in flight, which {@link #settle} looks into. */
  static boolean any(Map<Long, VersionState> state) {
    return state.values().stream().anyMatch(InFlight::inFlight);
  }

  private static boolean inFlight(VersionState s) {
    return s.inFlightIndex != null && "in_progress".equals(s.state);
  }

  /** @return a report to stop with, or null to go on */
  Report settle(Map<Long, VersionState> state) {
    for (VersionState s : state.values()) {
      if (!inFlight(s)) {
        continue;
      }
      Report stop = settle(s, state);
      if (stop != null) {
        return stop;
      }
    }
    return null;
  }

  private Report settle(VersionState s, Map<Long, VersionState> state) {
    String qid = s.inFlightQueryId;
    boolean flushed = flushLogs();
    if (!client.query(Sql.query("SELECT query_id FROM system.processes WHERE query_id = ?", qid)).isEmpty()) {
      return stop(Outcome.RETRY, "statement " + s.inFlightIndex + " of version " + s.version + " (query " + qid
          + ") from an earlier run is still running; waiting for it", state);
    }
    Logged logged;
    try {
      logged = Logged.of(client.query(Sql.query("SELECT toString(type) AS type, toUInt64(written_rows) AS written,"
          + " exception FROM system.query_log WHERE event_date >= yesterday() AND query_id = ?", qid)));
    } catch (ClickHouseException e) {
      if (e.kind() == Kind.UNKNOWN_TABLE) {
        return failUnknown(s, "system.query_log is not enabled on the server");
      }
      throw e;
    }
    if (!logged.finished() && logged.writtenByFailures() > 0) {
      return failUnknown(s, "it failed after writing " + logged.writtenByFailures() + " rows (" + logged.firstError()
          + "), so running it again could write them twice");
    }
    if (logged.finished()) {
      LOG.info("statement {} of version {} (query {}) had finished; recording it", s.inFlightIndex, s.version, qid);
      ledger.append(s.version, s.name, s.direction, Ledger.STATEMENT_DONE, "", s.inFlightIndex, s.statementCount,
          s.inFlightChecksum, qid, "", 0, runId, request.resource());
    } else if (logged.failed() || flushed) {
      LOG.info("statement {} of version {} (query {}) did not complete ({}); it runs again", s.inFlightIndex,
          s.version, qid, logged.failed() ? "it failed" : "it never ran");
    } else {
      return stop(Outcome.RETRY, "cannot see yet whether statement " + s.inFlightIndex + " of version " + s.version
          + " ran (query_log not flushed, SYSTEM FLUSH LOGS not permitted); checking again shortly", state);
    }
    return null;
  }

  private boolean flushLogs() {
    try {
      client.execute(Sql.command("SYSTEM FLUSH LOGS"));
      return true;
    } catch (ClickHouseException e) {
      return false;
    }
  }

  private Report failUnknown(VersionState s, String why) {
    String error = "cannot tell whether statement " + s.inFlightIndex + " of version " + s.version + " ran: " + why
        + ". Check the schema by hand; then set the annotation housekeeper.dev/retry to a new value to run it again.";
    ledger.append(s.version, s.name, s.direction, Ledger.FAILED, "", s.inFlightIndex, s.statementCount,
        s.inFlightChecksum, s.inFlightQueryId, error, 0, runId, request.resource());
    return stop(Outcome.DIRTY, error, Ledger.fold(ledger.read()));
  }

  private Report stop(Outcome outcome, String message, Map<Long, VersionState> state) {
    return new Report(request, outcome, message, state, List.of(), List.of(), List.of());
  }
}
