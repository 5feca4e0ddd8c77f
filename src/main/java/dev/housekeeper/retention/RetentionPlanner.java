package dev.housekeeper.retention;

import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicySpec.Action;
import dev.housekeeper.api.retention.RetentionPolicyStatus.TablePlan;
import dev.housekeeper.api.retention.RetentionPolicyStatus.TableStats;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Reads system.tables, system.columns and system.parts (nothing else, and nothing is written) and
 * works out, per covered table, what a run would remove, applying every safety rule: never the
 * newest partition, never every row, and the per-run limits.
 */
public final class RetentionPlanner {

  private static final LocalDate EPOCH = LocalDate.of(1970, 1, 1);

  /** One table's plan with the statements that carry it out. */
  public record Work(TablePlan plan, List<Sql> statements, String column, Map<String, long[]> partitionSizes) {
    Work(TablePlan plan, List<Sql> statements, String column) {
      this(plan, statements, column, Map.of());
    }
  }

  /** The plan of a whole policy, and the statistics read on the way. */
  public record Plan(LocalDate cutoff, List<Work> work, List<TableStats> stats, long databaseBytes) {}

  /** One partition, from system.parts. */
  record Partition(String id, long rows, long bytes, long uncompressed, long compressed, long parts, LocalDate newest) {}

  /**
   * What the server offers for retention: table TTL (19.6+) and lightweight DELETE (23.3+: rows are
   * masked at once and parts rewritten later by merges, instead of a mutation rewriting every part
   * that holds an old row).
   */
  public record ServerFeatures(boolean ttl, boolean lightweightDelete) {
    public static ServerFeatures of(ClickHouseConnectionStatus.Capabilities capabilities) {
      return capabilities == null ? new ServerFeatures(false, false)
          : new ServerFeatures(capabilities.isTableTtl(), capabilities.isLightweightDelete());
    }
  }

  private final ClickHouseClient client;
  private final String database;
  private final ServerFeatures server;

  public RetentionPlanner(ClickHouseClient client, String database, ServerFeatures server) {
    this.client = client;
    this.database = database;
    this.server = server;
  }

  public Plan plan(RetentionPolicySpec spec, ZoneId zone, LocalDate today) {
    Map<String, String> existing = new TreeMap<>();
    for (Row r : client.query(Sql.query("SELECT name, engine FROM system.tables WHERE database = ?", database))) {
      existing.put(r.string("name"), r.string("engine"));
    }
    Set<String> wanted = select(spec.getTables(), existing.keySet());
    Map<String, List<Partition>> allPartitions = partitions();
    List<Work> work = new ArrayList<>();
    List<TableStats> stats = new ArrayList<>();
    LocalDate policyCutoff = Keep.parse("spec.keep", spec.getKeep()).cutoff(today);
    for (String table : wanted) {
      RetentionPolicySpec.TableRule override = spec.getOverrides() == null ? null : spec.getOverrides().stream()
          .filter(o -> table.equals(o.getTable())).findFirst().orElse(null);
      Action action = override != null && override.getAction() != null ? override.getAction() : spec.getAction();
      String column = override != null && override.getColumn() != null ? override.getColumn() : spec.getColumn();
      Keep keep = Keep.parse("keep", override != null && override.getKeep() != null ? override.getKeep()
          : spec.getKeep());
      TablePlan plan = new TablePlan();
      plan.table = table;
      plan.action = action.name();
      if (!existing.containsKey(table)) {
        refuse(plan, "TableNotFound", "table " + database + "." + table + " does not exist; the other tables are"
            + " processed");
        work.add(new Work(plan, List.of(), column));
        continue;
      }
      if (!existing.get(table).contains("MergeTree")) {
        refuse(plan, "NotMergeTree", "table " + table + " has engine " + existing.get(table)
            + "; retention works on MergeTree tables only");
        work.add(new Work(plan, List.of(), column));
        continue;
      }
      List<Partition> partitions = allPartitions.getOrDefault(table, List.of());
      stats.add(stats(table, partitions));
      LocalDate cutoff = keep.cutoff(today);
      work.add(switch (action) {
        case dropPartitions -> planDrop(plan, table, partitions, cutoff, spec);
        case delete -> planDelete(plan, table, column, cutoff, zone, spec);
        case ttl -> planTtl(plan, table, column, keep, cutoff, zone, spec);
      });
    }
    long dbBytes = allPartitions.values().stream().flatMap(List::stream).mapToLong(Partition::bytes).sum();
    return new Plan(policyCutoff, work, stats, dbBytes);
  }

  static Set<String> select(RetentionPolicySpec.TableSelector selector, Set<String> existing) {
    Set<String> out = new LinkedHashSet<>();
    if (selector == null) {
      return out;
    }
    if (selector.getNames() != null) {
      out.addAll(selector.getNames());
    }
    if (selector.getPattern() != null && !selector.getPattern().isBlank()) {
      Pattern p = Pattern.compile(selector.getPattern());
      existing.stream().filter(t -> p.matcher(t).matches()).sorted().forEach(out::add);
    }
    if (selector.getExclude() != null) {
      out.removeAll(selector.getExclude());
    }
    out.removeIf(t -> t.startsWith("housekeeper_") || t.startsWith(".inner")); // the operator's own tables
    return out;
  }

  /** Active partitions of every table of the database, in one query. */
  private Map<String, List<Partition>> partitions() {
    Map<String, List<Partition>> out = new TreeMap<>();
    for (Row r : client.query(Sql.query("SELECT table, partition_id, sum(rows) AS rows, sum(bytes_on_disk) AS bytes,"
        + " sum(data_uncompressed_bytes) AS uncompressed, sum(data_compressed_bytes) AS compressed, count() AS parts,"
        + " toString(greatest(max(max_date), toDate(max(max_time)))) AS newest"
        + " FROM system.parts WHERE database = ? AND active GROUP BY table, partition_id ORDER BY table, partition_id",
        database))) {
      LocalDate newest = LocalDate.parse(r.string("newest").startsWith("0000") ? "1970-01-01" : r.string("newest"));
      out.computeIfAbsent(r.string("table"), t -> new ArrayList<>()).add(new Partition(r.string("partition_id"),
          r.longValue("rows"), r.longValue("bytes"), r.longValue("uncompressed"), r.longValue("compressed"),
          r.longValue("parts"), newest.isAfter(EPOCH) ? newest : null));
    }
    return out;
  }

  private static TableStats stats(String table, List<Partition> partitions) {
    TableStats s = new TableStats();
    s.table = table;
    long compressed = 0;
    for (Partition p : partitions) {
      s.rows += p.rows();
      s.bytesOnDisk += p.bytes();
      s.uncompressedBytes += p.uncompressed();
      s.activeParts += p.parts();
      compressed += p.compressed();
    }
    s.compressionRatio = compressed == 0 ? null : String.format("%.2f", (double) s.uncompressedBytes / compressed);
    if (!partitions.isEmpty()) {
      s.oldestPartition = partitions.get(0).id();
      s.newestPartition = partitions.get(partitions.size() - 1).id();
    }
    return s;
  }

  private Work planDrop(TablePlan plan, String table, List<Partition> partitions, LocalDate cutoff,
      RetentionPolicySpec spec) {
    if (partitions.isEmpty()) {
      return new Work(plan, List.of(), null);
    }
    if (partitions.stream().allMatch(p -> p.newest() == null)) {
      refuse(plan, "NotTimePartitioned", "table " + table + " is not partitioned by a Date or DateTime column, so whole"
          + " partitions cannot be dropped by age; use action: delete with column: <date column> for it (in"
          + " spec.overrides)");
      return new Work(plan, List.of(), null);
    }
    Partition newest = partitions.stream().filter(p -> p.newest() != null)
        .max(Comparator.comparing(Partition::newest)).orElseThrow();
    List<Partition> old = partitions.stream()
        .filter(p -> p.newest() != null && p.newest().isBefore(cutoff) && p != newest).toList();
    long total = partitions.stream().mapToLong(Partition::rows).sum();
    for (Partition p : old) {
      plan.partitions.add(p.id());
      plan.rows += p.rows();
      plan.bytes += p.bytes();
    }
    if (old.isEmpty()) {
      return new Work(plan, List.of(), null);
    }
    if (plan.rows >= total) {
      return refuseWork(plan, "AllRowsWouldBeRemoved", "the run would remove every row of " + table + " (cutoff "
          + cutoff + "); check spec.keep and the server clock. Nothing was removed.");
    }
    if (old.size() > spec.getMaxPartitionsPerRun()) {
      return refuseWork(plan, "PartitionLimitExceeded", "the run would drop " + old.size() + " partitions of " + table
          + ", more than maxPartitionsPerRun (" + spec.getMaxPartitionsPerRun() + "). Nothing was removed; raise the"
          + " limit if this is intended.");
    }
    if (plan.rows > spec.getMaxRowsPerRun()) {
      return refuseWork(plan, "RowLimitExceeded", "the run would remove " + plan.rows + " rows of " + table
          + ", more than maxRowsPerRun (" + spec.getMaxRowsPerRun() + "). Nothing was removed; raise the limit if this"
          + " is intended.");
    }
    List<Sql> statements = old.stream().map(p -> Sql.command("ALTER TABLE ? DROP PARTITION ID ?",
        Sql.table(database, table), p.id())).toList();
    Map<String, long[]> sizes = new TreeMap<>();
    old.forEach(p -> sizes.put(p.id(), new long[] {p.rows(), p.bytes()}));
    return new Work(plan, statements, null, sizes);
  }

  private Work planDelete(TablePlan plan, String table, String column, LocalDate cutoff, ZoneId zone,
      RetentionPolicySpec spec) {
    if (column == null) {
      return refuseWork(plan, "ColumnRequired", "action delete needs column: <Date or DateTime column> for " + table);
    }
    PastCutoff past = pastCutoff(plan, table, column, cutoff, zone, spec, "delete");
    if (past.refused() != null || plan.rows == 0) {
      return past.refused() != null ? past.refused() : new Work(plan, List.of(), column);
    }
    return new Work(plan, List.of(deleteStatement(database, table, column, past.limit())), column);
  }

  /** The cutoff as a value of the column's type, or the refusal of a run that would remove too much. */
  private record PastCutoff(Object limit, Work refused) {}

  /**
   * Counts the rows of {@code table} older than the cutoff into {@code plan.rows}, and refuses the
   * work when that is every row (a wrong clock or keep) or more than maxRowsPerRun: the same safety
   * for a DELETE and for a TTL, which removes the same rows at its next merge.
   */
  private PastCutoff pastCutoff(TablePlan plan, String table, String column, LocalDate cutoff, ZoneId zone,
      RetentionPolicySpec spec, String verb) {
    List<Row> type = client.query(Sql.query("SELECT type FROM system.columns WHERE database = ? AND table = ?"
        + " AND name = ?", database, table, column));
    if (type.isEmpty()) {
      return new PastCutoff(null, refuseWork(plan, "ColumnNotFound", "table " + table + " has no column " + column));
    }
    String t = type.get(0).string("type").replace("Nullable(", "");
    Object limit;
    if (t.startsWith("Date") && !t.startsWith("DateTime")) {
      limit = cutoff;
    } else if (t.startsWith("DateTime")) {
      limit = cutoff.atStartOfDay(zone).toInstant();
    } else {
      return new PastCutoff(null, refuseWork(plan, "ColumnNotTemporal", "column " + column + " of " + table + " is "
          + t + ", not Date or DateTime"));
    }
    Row counts = client.query(Sql.query("SELECT count() AS total, countIf(? < ?) AS old FROM ?", Sql.id(column), limit,
        Sql.table(database, table))).get(0);
    plan.rows = counts.longValue("old");
    long total = counts.longValue("total");
    if (plan.rows > 0 && plan.rows >= total) {
      return new PastCutoff(limit, refuseWork(plan, "AllRowsWouldBeRemoved", "the run would " + verb + " every row of "
          + table + " (cutoff " + cutoff + "); check spec.keep and the server clock. Nothing was removed."));
    }
    if (plan.rows > spec.getMaxRowsPerRun()) {
      return new PastCutoff(limit, refuseWork(plan, "RowLimitExceeded", "the run would " + verb + " " + plan.rows
          + " rows of " + table + ", more than maxRowsPerRun (" + spec.getMaxRowsPerRun() + "). Nothing was removed."));
    }
    return new PastCutoff(limit, null);
  }

  /** A lightweight DELETE where the server has it, else an ALTER TABLE ... DELETE mutation. */
  Sql deleteStatement(String database, String table, String column, Object limit) {
    return server.lightweightDelete()
        ? Sql.command("DELETE FROM ? WHERE ? < ?", Sql.table(database, table), Sql.id(column), limit)
        : Sql.command("ALTER TABLE ? DELETE WHERE ? < ?", Sql.table(database, table), Sql.id(column), limit);
  }

  private Work planTtl(TablePlan plan, String table, String column, Keep keep, LocalDate cutoff, ZoneId zone,
      RetentionPolicySpec spec) {
    if (column == null) {
      return refuseWork(plan, "ColumnRequired", "action ttl needs column: <Date or DateTime column> for " + table);
    }
    if (!server.ttl()) {
      return refuseWork(plan, "TtlNotSupported", "this ClickHouse server has no table TTL (it needs 19.6 or later);"
          + " use action dropPartitions or delete for " + table);
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
      return new Work(plan, List.of(), column);
    }
    // the table's other rules (moves to volumes, recompression, deletes on other columns) stay
    List<String> kept = rules.stream().filter(rule -> !TtlRules.deletesBy(rule, column)).toList();
    if (kept.stream().anyMatch(rule -> rule.indexOf('?') >= 0)) {
      return refuseWork(plan, "TtlNotUnderstood", "the TTL of " + table + " has a rule with '?' that Housekeeper"
          + " cannot carry over; set the TTL by hand or use action delete. Nothing was changed.");
    }
    return new Work(plan, List.of(ttlStatement(database, table, column, keep, kept)), column);
  }

  /** ALTER TABLE ... MODIFY TTL column + INTERVAL n UNIT. */
  public static Sql ttlStatement(String database, String table, String column, Keep keep) {
    return ttlStatement(database, table, column, keep, List.of());
  }

  /**
   * ALTER TABLE ... MODIFY TTL with the table's other rules, as the server reported them in
   * system.tables (its own text of the table's definition, not input), then column + INTERVAL n UNIT.
   */
  public static Sql ttlStatement(String database, String table, String column, Keep keep, List<String> otherRules) {
    String others = otherRules.stream().map(rule -> rule + ", ").collect(java.util.stream.Collectors.joining());
    return Sql.command("ALTER TABLE ? MODIFY TTL " + others + "? + " + keep.interval(),
        Sql.table(database, table), Sql.id(column));
  }

  private static void refuse(TablePlan plan, String reason, String message) {
    plan.reason = reason;
    plan.error = message;
  }

  private static Work refuseWork(TablePlan plan, String reason, String message) {
    refuse(plan, reason, message);
    return new Work(plan, List.of(), null);
  }
}
