package dev.housekeeper.retention;

import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicySpec.Action;
import dev.housekeeper.api.retention.RetentionPolicyStatus.TablePlan;
import dev.housekeeper.api.retention.RetentionPolicyStatus.TableStats;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.retention.RetentionCatalog.Partition;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import dev.housekeeper.common.SpecPattern;

/**
 * Reads system.tables, system.columns and system.parts (nothing else, and nothing is written) and
 * works out, per covered table, what a run would remove, applying every safety rule: never the
 * newest partition, never every row, and the per-run limits. The actions are planned by
 * {@link DropPlanner} (dropPartitions) and {@link RowPlanner} (delete, ttl).
 */
public final class RetentionPlanner {

  /** One table's plan with the statements that carry it out. */
  public record Work(TablePlan plan, List<Sql> statements, String column, Map<String, long[]> partitionSizes) {
    Work(TablePlan plan, List<Sql> statements, String column) {
      this(plan, statements, column, Map.of());
    }
  }

  /** The plan of a whole policy, and the statistics read on the way. */
  public record Plan(LocalDate cutoff, List<Work> work, List<TableStats> stats, long databaseBytes) {}

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

  /** The rule for one table: the spec's, with the table's override where it has one. */
  private record Rule(Action action, String column, Keep keep) {
    static Rule of(RetentionPolicySpec spec, String table) {
      RetentionPolicySpec.TableRule override = spec.getOverrides() == null ? null : spec.getOverrides().stream()
          .filter(o -> table.equals(o.getTable())).findFirst().orElse(null);
      if (override == null) {
        return new Rule(spec.getAction(), spec.getColumn(), Keep.parse("keep", spec.getKeep()));
      }
      return new Rule(override.getAction() != null ? override.getAction() : spec.getAction(),
          override.getColumn() != null ? override.getColumn() : spec.getColumn(),
          Keep.parse("keep", override.getKeep() != null ? override.getKeep() : spec.getKeep()));
    }
  }

  private final ClickHouseClient client;
  private final String database;
  private final RowPlanner rows;

  public RetentionPlanner(ClickHouseClient client, String database, ServerFeatures server) {
    this.client = client;
    this.database = database;
    this.rows = new RowPlanner(client, database, server);
  }

  /** The plan from the catalog as the server holds it now (a run plans so). */
  public Plan plan(RetentionPolicySpec spec, ZoneId zone, LocalDate today) {
    return plan(spec, zone, today, RetentionCatalog.Snapshot.read(client, database));
  }

  /** The plan from a catalog read before (a preview may share one with the other policies of its database). */
  Plan plan(RetentionPolicySpec spec, ZoneId zone, LocalDate today, RetentionCatalog.Snapshot catalog) {
    Map<String, String> existing = catalog.tables();
    Set<String> wanted = select(spec.getTables(), existing.keySet());
    Map<String, List<Partition>> allPartitions = catalog.partitions();
    List<Work> work = new ArrayList<>();
    List<TableStats> stats = new ArrayList<>();
    LocalDate policyCutoff = Keep.parse("spec.keep", spec.getKeep()).cutoff(today);
    for (String table : wanted) {
      Rule rule = Rule.of(spec, table);
      TablePlan plan = new TablePlan();
      plan.table = table;
      plan.action = rule.action().name();
      if (!existing.containsKey(table)) {
        work.add(refuseWork(plan, "TableNotFound", "table " + database + "." + table + " does not exist; the other"
            + " tables are processed", rule.column()));
      } else if (!existing.get(table).contains("MergeTree")) {
        work.add(refuseWork(plan, "NotMergeTree", "table " + table + " has engine " + existing.get(table)
            + "; retention works on MergeTree tables only", rule.column()));
      } else {
        List<Partition> partitions = allPartitions.getOrDefault(table, List.of());
        stats.add(RetentionCatalog.stats(table, partitions));
        work.add(planTable(plan, table, rule, partitions, zone, today, spec));
      }
    }
    long dbBytes = allPartitions.values().stream().flatMap(List::stream).mapToLong(Partition::bytes).sum();
    return new Plan(policyCutoff, work, stats, dbBytes);
  }

  private Work planTable(TablePlan plan, String table, Rule rule, List<Partition> partitions, ZoneId zone,
      LocalDate today, RetentionPolicySpec spec) {
    LocalDate cutoff = rule.keep().cutoff(today);
    return switch (rule.action()) {
      case dropPartitions -> DropPlanner.plan(database, plan, table, partitions, cutoff, spec);
      case delete -> rows.delete(plan, table, rule.column(), cutoff, zone, spec);
      case ttl -> rows.ttl(plan, table, rule.column(), rule.keep(), cutoff, zone, spec);
    };
  }

  /** The tables a selector covers: its names and the existing tables its pattern matches, less the excluded. */
  static Set<String> select(RetentionPolicySpec.TableSelector selector, Set<String> existing) {
    Set<String> out = new LinkedHashSet<>();
    if (selector == null) {
      return out;
    }
    if (selector.getNames() != null) {
      out.addAll(selector.getNames());
    }
    if (selector.getPattern() != null && !selector.getPattern().isBlank()) {
      SpecPattern p = SpecPattern.compile("spec.tables.pattern", selector.getPattern());
      existing.stream().filter(p::matches).sorted().forEach(out::add);
    }
    if (selector.getExclude() != null) {
      out.removeAll(selector.getExclude());
    }
    out.removeIf(t -> t.startsWith("housekeeper_") || t.startsWith(".inner")); // the operator's own tables
    return out;
  }

  /** A table refused: its reason and message in the plan, and no statements. */
  static Work refuseWork(TablePlan plan, String reason, String message) {
    return refuseWork(plan, reason, message, null);
  }

  private static Work refuseWork(TablePlan plan, String reason, String message, String column) {
    plan.reason = reason;
    plan.error = message;
    return new Work(plan, List.of(), column);
  }
}
