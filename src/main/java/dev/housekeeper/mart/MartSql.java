package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.SqlLiterals;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/** The mart's DDL and the hash that says when it changed. */
public final class MartSql {

  private MartSql() {}

  /** CREATE TABLE for the mart's schema under another name (the staging table). */
  public static String createTable(ReportMartSpec spec, String database, String table) {
    return createTable(spec, database, table, null, null);
  }

  private static final java.util.regex.Pattern REPLICATED_PATH =
      java.util.regex.Pattern.compile("^(Replicated\\w*MergeTree\\s*\\(\\s*')([^']*)(')");

  /**
   * CREATE TABLE, ON CLUSTER when {@code cluster} is given, with {@code pathSuffix} appended to a
   * replicated engine's ZooKeeper path (each build of a replicated mart is a new replicated table).
   */
  public static String createTable(ReportMartSpec spec, String database, String table, String cluster,
      String pathSuffix) {
    StringBuilder sql = new StringBuilder("CREATE TABLE ").append(Identifiers.qualified(database, table))
        .append(cluster == null ? "" : " ON CLUSTER " + Identifiers.quote(cluster)).append(" (");
    for (int i = 0; i < spec.columns.size(); i++) {
      var c = spec.columns.get(i);
      sql.append(i == 0 ? "" : ", ").append(Identifiers.quote(c.name)).append(' ').append(c.type.strip());
    }
    String engine = engine(spec);
    java.util.regex.Matcher path = REPLICATED_PATH.matcher(engine);
    if (pathSuffix != null && path.find()) {
      engine = engine.substring(0, path.end(2)) + pathSuffix + engine.substring(path.end(2));
    }
    sql.append(") ENGINE = ").append(engine);
    if (spec.partitionBy != null && !spec.partitionBy.isBlank()) {
      sql.append(" PARTITION BY ").append(spec.partitionBy.strip());
    }
    sql.append(" ORDER BY ").append(spec.orderBy.strip());
    if (spec.settings != null && !spec.settings.isEmpty()) {
      sql.append(" SETTINGS ");
      boolean first = true;
      for (var e : new TreeMap<>(spec.settings).entrySet()) {
        sql.append(first ? "" : ", ").append(Identifiers.quote(e.getKey()).replace("`", "")).append(" = ")
            .append(setting(e.getValue()));
        first = false;
      }
    }
    return sql.toString();
  }

  private static String engine(ReportMartSpec spec) {
    String e = spec.engine == null || spec.engine.isBlank() ? "MergeTree" : spec.engine.strip();
    return e.endsWith(")") ? e : e + "()";
  }

  private static String setting(String value) {
    String v = value.strip();
    return v.matches("^-?[0-9]+(\\.[0-9]+)?$") ? v : SqlLiterals.quoteString(v);
  }

  /** Whether the engine is a replicated one with an explicit ZooKeeper path. */
  public static boolean replicatedWithPath(ReportMartSpec spec) {
    return REPLICATED_PATH.matcher(engine(spec)).find();
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
