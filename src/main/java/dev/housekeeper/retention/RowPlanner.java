package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus.TablePlan;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.List;

/**
 * The delete and ttl actions: both remove the rows whose Date or DateTime column is older than the
 * cutoff (a DELETE now, a TTL at the next merges), so both count those rows first and are refused
 * when that is every row or more than maxRowsPerRun.
 */
final class RowPlanner {

  private final ClickHouseClient client;
  private final String database;
  private final RetentionPlanner.ServerFeatures server;

  RowPlanner(ClickHouseClient client, String database, RetentionPlanner.ServerFeatures server) {
    this.client = client;
    this.database = database;
    this.server = server;
  }

  RetentionPlanner.Work delete(TablePlan plan, String table, String column, LocalDate cutoff, ZoneId zone,
      RetentionPolicySpec spec) {
    if (column == null) {
      return RetentionPlanner.refuseWork(plan, "ColumnRequired", "action delete needs column: <Date or DateTime"
          + " column> for " + table);
    }
    PastCutoff past = pastCutoff(plan, table, column, cutoff, zone, spec, "delete");
    if (past.refused() != null || plan.rows == 0) {
      return past.refused() != null ? past.refused() : new RetentionPlanner.Work(plan, List.of(), column);
    }
    return new RetentionPlanner.Work(plan, List.of(RetentionSql.delete(server.lightweightDelete(), database, table,
        column, past.limit())), column);
  }

  RetentionPlanner.Work ttl(TablePlan plan, String table, String column, Keep keep, LocalDate cutoff, ZoneId zone,
      RetentionPolicySpec spec) {
    if (column == null) {
      return RetentionPlanner.refuseWork(plan, "ColumnRequired", "action ttl needs column: <Date or DateTime column>"
          + " for " + table);
    }
    if (!server.ttl()) {
      return RetentionPlanner.refuseWork(plan, "TtlNotSupported", "this ClickHouse server has no table TTL (it needs"
          + " 19.6 or later); use action dropPartitions or delete for " + table);
    }
    PastCutoff past = pastCutoff(plan, table, column, cutoff, zone, spec, "expire");
    if (past.refused() != null) {
      return past.refused();
    }
    String engine = client.query(Sql.query("SELECT engine_full FROM system.tables WHERE database = ? AND name = ?",
        database, table)).get(0).string("engine_full");
    List<String> rules = TtlRules.of(engine);
    if (rules.stream().anyMatch(rule -> TtlRules.sameDelete(rule, column, keep))) {
      // already in place: MODIFY TTL again would rewrite every part (materialize_ttl_after_modify) for nothing
      return new RetentionPlanner.Work(plan, List.of(), column);
    }
    // the table's other rules (moves to volumes, recompression, deletes on other columns) stay
    List<String> kept = rules.stream().filter(rule -> !TtlRules.deletesBy(rule, column)).toList();
    if (kept.stream().anyMatch(rule -> rule.indexOf('?') >= 0)) {
      return RetentionPlanner.refuseWork(plan, "TtlNotUnderstood", "the TTL of " + table + " has a rule with '?' that"
          + " Housekeeper cannot carry over; set the TTL by hand or use action delete. Nothing was changed.");
    }
    return new RetentionPlanner.Work(plan, List.of(RetentionSql.ttl(database, table, column, keep, kept)), column);
  }

  /** The cutoff as a value of the column's type, or the refusal of a run that would remove too much. */
  private record PastCutoff(Object limit, RetentionPlanner.Work refused) {}

  /**
   * Counts the rows of {@code table} older than the cutoff into {@code plan.rows}, and refuses the
   * work when that is every row (a wrong clock or keep) or more than maxRowsPerRun.
   */
  private PastCutoff pastCutoff(TablePlan plan, String table, String column, LocalDate cutoff, ZoneId zone,
      RetentionPolicySpec spec, String verb) {
    List<Row> type = client.query(Sql.query("SELECT type FROM system.columns WHERE database = ? AND table = ?"
        + " AND name = ?", database, table, column));
    if (type.isEmpty()) {
      return new PastCutoff(null, RetentionPlanner.refuseWork(plan, "ColumnNotFound", "table " + table
          + " has no column " + column));
    }
    String t = type.get(0).string("type").replace("Nullable(", "");
    Object limit;
    if (t.startsWith("Date") && !t.startsWith("DateTime")) {
      limit = cutoff;
    } else if (t.startsWith("DateTime")) {
      limit = cutoff.atStartOfDay(zone).toInstant();
    } else {
      return new PastCutoff(null, RetentionPlanner.refuseWork(plan, "ColumnNotTemporal", "column " + column + " of "
          + table + " is " + t + ", not Date or DateTime"));
    }
    Row counts = client.query(Sql.query("SELECT count() AS total, countIf(? < ?) AS old FROM ?", Sql.id(column), limit,
        Sql.table(database, table))).get(0);
    plan.rows = counts.longValue("old");
    long total = counts.longValue("total");
    if (plan.rows > 0 && plan.rows >= total) {
      return new PastCutoff(limit, RetentionPlanner.refuseWork(plan, "AllRowsWouldBeRemoved", "the run would " + verb
          + " every row of " + table + " (cutoff " + cutoff + "); check spec.keep and the server clock. Nothing was"
          + " removed."));
    }
    if (plan.rows > spec.getMaxRowsPerRun()) {
      return new PastCutoff(limit, RetentionPlanner.refuseWork(plan, "RowLimitExceeded", "the run would " + verb + " "
          + plan.rows + " rows of " + table + ", more than maxRowsPerRun (" + spec.getMaxRowsPerRun() + ")."
          + " Nothing was removed."));
    }
    return new PastCutoff(limit, null);
  }
}
