package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.mart.MartRefresh.Failed;
import java.util.ArrayList;
import java.util.List;

/**
 * An incremental refresh's swap: the window's partitions of the mart are replaced by the staging
 * table's (REPLACE PARTITION), and those of the window with no rows any more are dropped. Only
 * partitions that lie wholly inside the window are touched.
 */
final class PartitionReplace {

  private final ClickHouseClient client;
  private final String database;
  private final String column;

  /** {@code column}: the incremental column that the window filters on. */
  PartitionReplace(ClickHouseClient client, String database, String column) {
    this.client = client;
    this.database = database;
    this.column = column;
  }

  void replace(String table, String staging, Window window, ReportMartStatus.Refresh r) throws Failed {
    Sql.Fragment inWindow = MartSql.inWindow(column, window);
    long outside = MartSql.count(client, database, staging, Sql.fragment("NOT (?)", inWindow));
    if (outside > 0) {
      throw Failed.lasting("RowsOutsideWindow", "the source returned " + outside + " rows outside the window ["
          + window.start() + ", " + window.end() + "); filter on {window_start} and {window_end}. The mart is"
          + " unchanged.", null);
    }
    List<String> fresh = new ArrayList<>();
    for (Row row : client.query(Sql.query("SELECT DISTINCT partition_id FROM system.parts WHERE database = ? AND"
        + " table = ? AND active ORDER BY partition_id", database, staging))) {
      fresh.add(row.string("partition_id"));
    }
    List<String> touched = new ArrayList<>();
    for (Row row : client.query(Sql.query("SELECT DISTINCT _partition_id AS p FROM ? WHERE ? ORDER BY p",
        Sql.table(database, table), inWindow))) {
      touched.add(row.string("p"));
    }
    checkAligned(table, window, inWindow, fresh, touched);
    for (String p : fresh) {
      client.execute(Sql.command("ALTER TABLE ? REPLACE PARTITION ID ? FROM ?", Sql.table(database, table), p,
          Sql.table(database, staging)));
      r.partitionsReplaced.add(p);
    }
    for (String p : touched) {
      if (!fresh.contains(p)) {
        client.execute(Sql.command("ALTER TABLE ? DROP PARTITION ID ?", Sql.table(database, table), p));
        r.partitionsDropped.add(p);
      }
    }
    r.swap = "replacePartition";
  }

  /** A partition must lie wholly inside the window, or replacing or dropping it would lose rows outside it. */
  private void checkAligned(String table, Window window, Sql.Fragment inWindow, List<String> fresh,
      List<String> touched) throws Failed {
    List<String> changed = new ArrayList<>(fresh);
    touched.stream().filter(p -> !fresh.contains(p)).forEach(changed::add);
    for (String p : changed) {
      long beyond = MartSql.count(client, database, table, Sql.fragment("_partition_id = ? AND NOT (?)", p,
          inWindow));
      if (beyond > 0) {
        throw Failed.lasting("WindowNotAligned", "partition " + p + " of the mart has " + beyond + " rows outside the"
            + " window [" + window.start() + ", " + window.end() + "); the window's periods must line up with"
            + " partitionBy. The mart is unchanged.", null);
      }
    }
  }
}
