package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.util.List;

/**
 * An order-independent fingerprint of a partition's rows, computed by the server: {@code count()} and
 * {@code sum(cityHash64(<columns>))} (the sum wraps around in UInt64, so it does not depend on the
 * order of rows or parts). A logical backup records it per partition in the manifest; a restore drill
 * computes it again on the restored table and compares. The columns are the ones {@code SELECT *}
 * returns (not MATERIALIZED, ALIAS or EPHEMERAL), in the table's order: exactly what a backup object
 * holds. Works the same on 18.16 and 26.7 (both give the same value for the same rows).
 */
final class ContentHash {

  /** Names the function in the manifest, so that a later change of it is never compared with this one. */
  static final String FUNCTION = "count()+sum(cityHash64(columns))";

  /** A partition's rows and hash (null: the server could not hash these columns). */
  record Fingerprint(long rows, String hash) {}

  /**
   * What a hash statement runs under: it reads every row of what it hashes, so the long-work limit
   * (spec.statementTimeout), not the connection's queryTimeout for metadata; and a backup's query id,
   * so that a cancelled backup kills it too.
   */
  interface Limit {
    Sql apply(Sql statement);
  }

  private ContentHash() {}

  /** The columns a backup object holds, in the table's order. */
  static List<String> columns(ClickHouseClient client, String database, String table) {
    return client.query(Sql.query("SELECT name FROM system.columns WHERE database = ? AND table = ?"
        + " AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL')", database, table)).stream()
        .map(r -> r.string("name")).toList();
  }

  /**
   * The fingerprint of the rows {@code where} selects; the hash is null when the server cannot hash a
   * column's type (an error of the statement itself, not of the connection, which is thrown).
   */
  static Fingerprint of(ClickHouseClient client, String database, String table, List<String> columns,
      Sql.Fragment where, Limit limit) {
    try {
      Row r = client.query(limit.apply(Sql.query("SELECT count() AS n, toString(sum(cityHash64(?))) AS h FROM ? WHERE ?",
          Sql.ids(columns), Sql.table(database, table), where))).get(0);
      return new Fingerprint(r.longValue("n"), r.string("h"));
    } catch (ClickHouseException e) {
      if (e.retriable() || e.kind() != ClickHouseException.Kind.SERVER) {
        throw e;
      }
      long n = client.query(limit.apply(Sql.query("SELECT count() AS n FROM ? WHERE ?", Sql.table(database, table),
          where))).get(0).longValue("n");
      return new Fingerprint(n, null);
    }
  }

  /**
   * Every partition's fingerprint of a restored table, by partition id ({@code all} for a table read
   * whole, which has no {@code _partition_id}); hashes null when the server cannot hash its columns.
   */
  static java.util.Map<String, Fingerprint> byPartition(ClickHouseClient client, String database, String table,
      boolean whole, Limit limit) {
    if (whole) {
      return java.util.Map.of(LogicalBackup.WHOLE, of(client, database, table, columns(client, database, table),
          Sql.fragment("1"), limit));
    }
    List<String> columns = columns(client, database, table);
    List<Row> rows;
    boolean hashed = true;
    try {
      rows = client.query(limit.apply(Sql.query("SELECT _partition_id AS p, count() AS n,"
          + " toString(sum(cityHash64(?))) AS h FROM ? GROUP BY p", Sql.ids(columns), Sql.table(database, table))));
    } catch (ClickHouseException e) {
      if (e.retriable() || e.kind() != ClickHouseException.Kind.SERVER) {
        throw e;
      }
      hashed = false;
      rows = client.query(limit.apply(Sql.query("SELECT _partition_id AS p, count() AS n FROM ? GROUP BY p",
          Sql.table(database, table))));
    }
    java.util.Map<String, Fingerprint> out = new java.util.TreeMap<>();
    for (Row r : rows) {
      out.put(r.string("p"), new Fingerprint(r.longValue("n"), hashed ? r.string("h") : null));
    }
    return out;
  }
}
