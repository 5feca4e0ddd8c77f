package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.ReplicatedEngine;
import dev.housekeeper.clickhouse.Sql;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The mart's statements (its DDL, counts of its rows) and the hash that says when its schema changed. */
public final class MartSql {

  private MartSql() {}

  /** CREATE TABLE for the mart's schema under another name (the staging table). */
  public static Sql createTable(ReportMartSpec spec, String database, String table) {
    return createTable(spec, database, table, null, null);
  }

  /**
   * CREATE TABLE, ON CLUSTER when {@code cluster} is given, with {@code pathSuffix} appended to a
   * replicated engine's ZooKeeper path (each build of a replicated mart is a new replicated table).
   * The spec's types, engine and keys enter as checked fragments.
   */
  public static Sql createTable(ReportMartSpec spec, String database, String table, String cluster,
      String pathSuffix) {
    String engine = engine(spec);
    if (pathSuffix != null && replicatedWithPath(spec)) {
      engine = ReplicatedEngine.withPath(engine, path -> path + pathSuffix);
    }
    Sql.Fragment partitionBy = spec.partitionBy == null || spec.partitionBy.isBlank() ? Sql.empty()
        : Sql.fragment(" PARTITION BY ?", Sql.expression("spec.partitionBy", spec.partitionBy.strip()));
    return Sql.command("CREATE TABLE ?? (?) ENGINE = ?? ORDER BY ??", Sql.table(database, table),
        Sql.onCluster(cluster), columns(spec), Sql.expression("spec.engine", engine), partitionBy,
        Sql.expression("spec.orderBy", spec.orderBy.strip()), settings(spec));
  }

  private static Sql.Fragment columns(ReportMartSpec spec) {
    List<Sql.Fragment> columns = new ArrayList<>();
    for (var c : spec.columns) {
      columns.add(Sql.fragment("? ?", Sql.id(c.name), Sql.type("spec.columns[" + c.name + "].type", c.type.strip())));
    }
    return Sql.Fragment.join(columns, ", ");
  }

  /** {@code SETTINGS name = value, ...} in name order, or nothing; a value is a number or a quoted string. */
  private static Sql.Fragment settings(ReportMartSpec spec) {
    if (spec.settings == null || spec.settings.isEmpty()) {
      return Sql.empty();
    }
    List<Sql.Fragment> settings = new ArrayList<>();
    for (var e : new TreeMap<>(spec.settings).entrySet()) {
      Identifiers.quote(e.getKey()); // a setting's name is a plain identifier, written without quotes
      String v = e.getValue().strip();
      Object value = v.matches("^-?[0-9]+(\\.[0-9]+)?$") ? new BigDecimal(v) : v;
      settings.add(Sql.fragment("? = ?", Sql.expression("spec.settings", e.getKey()), value));
    }
    return Sql.fragment(" SETTINGS ?", Sql.Fragment.join(settings, ", "));
  }

  /** The rows of a table, or those that match {@code where} (null: all); a read, retried after a dropped connection. */
  static long count(ClickHouseClient client, String database, String table, Sql.Fragment where) {
    return client.query(Sql.query("SELECT count() AS n FROM ??", Sql.table(database, table),
        where == null ? Sql.empty() : Sql.fragment(" WHERE ?", where))).get(0).longValue("n");
  }

  /** The condition that selects the rows of the window: {@code column >= start AND column < end}. */
  static Sql.Fragment inWindow(String column, Window window) {
    return Sql.fragment("? >= ? AND ? < ?", Sql.id(column), window.start(), Sql.id(column), window.end());
  }

  private static String engine(ReportMartSpec spec) {
    String e = spec.engine == null || spec.engine.isBlank() ? "MergeTree" : spec.engine.strip();
    return e.endsWith(")") ? e : e + "()";
  }

  /** Whether the engine is a replicated one with an explicit ZooKeeper path. */
  public static boolean replicatedWithPath(ReportMartSpec spec) {
    return ReplicatedEngine.namesPath(engine(spec));
  }

  /** Hash of everything that shapes the table: columns, engine, keys, settings. */
  public static String schemaHash(ReportMartSpec spec) {
    StringBuilder canonical = new StringBuilder();
    for (var c : spec.columns) {
      canonical.append(c.name).append(' ').append(c.type.strip()).append('\n');
    }
    canonical.append("engine=").append(engine(spec)).append('\n')
        .append("partitionBy=").append(spec.partitionBy == null ? "" : spec.partitionBy.strip()).append('\n')
        .append("orderBy=").append(spec.orderBy == null ? "" : spec.orderBy.strip()).append('\n');
    Map<String, String> settings = spec.settings == null ? Map.of() : new TreeMap<>(spec.settings);
    settings.forEach((k, v) -> canonical.append(k).append('=').append(v).append('\n'));
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
