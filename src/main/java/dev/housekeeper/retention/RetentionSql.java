package dev.housekeeper.retention;

import dev.housekeeper.clickhouse.Sql;
import java.util.ArrayList;
import java.util.List;

/**
 * The statements a retention or OPTIMIZE run sends to change data, built from templates with
 * {@code ?} arguments: identifiers quoted, values as literals, a table's own TTL rules as the server
 * reported them.
 */
final class RetentionSql {

  private RetentionSql() {}

  /** ALTER TABLE ... DROP PARTITION ID ... */
  static Sql dropPartition(String database, String table, String partitionId) {
    return Sql.command("ALTER TABLE ? DROP PARTITION ID ?", Sql.table(database, table), partitionId);
  }

  /** A lightweight DELETE where the server has it, else an ALTER TABLE ... DELETE mutation. */
  static Sql delete(boolean lightweight, String database, String table, String column, Object limit) {
    return lightweight
        ? Sql.command("DELETE FROM ? WHERE ? < ?", Sql.table(database, table), Sql.id(column), limit)
        : Sql.command("ALTER TABLE ? DELETE WHERE ? < ?", Sql.table(database, table), Sql.id(column), limit);
  }

  /** ALTER TABLE ... MODIFY TTL column + INTERVAL n UNIT. */
  static Sql ttl(String database, String table, String column, Keep keep) {
    return ttl(database, table, column, keep, List.of());
  }

  /**
   * ALTER TABLE ... MODIFY TTL with the table's other rules, as the server reported them in
   * system.tables (its own text of the table's definition, not input), then column + INTERVAL n UNIT.
   */
  static Sql ttl(String database, String table, String column, Keep keep, List<String> otherRules) {
    List<Sql.Fragment> rules = new ArrayList<>(otherRules.stream().map(Sql::serverDdl).toList());
    rules.add(Sql.fragment("? + ?", Sql.id(column), keep.interval()));
    return Sql.command("ALTER TABLE ? MODIFY TTL ?", Sql.table(database, table), Sql.Fragment.join(rules, ", "));
  }

  /** OPTIMIZE TABLE ... PARTITION ID ... [FINAL] [DEDUPLICATE] */
  static Sql optimize(String database, String table, String partitionId, boolean finalMerge, boolean deduplicate) {
    return Sql.command("OPTIMIZE TABLE ? PARTITION ID ???", Sql.table(database, table), partitionId,
        finalMerge ? Sql.fragment(" FINAL") : Sql.empty(), deduplicate ? Sql.fragment(" DEDUPLICATE") : Sql.empty());
  }
}
