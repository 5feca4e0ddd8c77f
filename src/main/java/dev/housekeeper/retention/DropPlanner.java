package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus.TablePlan;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.retention.RetentionCatalog.Partition;
import java.time.LocalDate;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The dropPartitions action: the partitions whose newest row is older than the cutoff, never the
 * newest partition, never every row, and within the per-run limits.
 */
final class DropPlanner {

  private DropPlanner() {}

  static RetentionPlanner.Work plan(String database, TablePlan plan, String table, List<Partition> partitions,
      LocalDate cutoff, RetentionPolicySpec spec) {
    if (partitions.isEmpty()) {
      return new RetentionPlanner.Work(plan, List.of(), null);
    }
    if (partitions.stream().allMatch(p -> p.newest() == null)) {
      return RetentionPlanner.refuseWork(plan, "NotTimePartitioned", "table " + table + " is not partitioned by a Date"
          + " or DateTime column, so whole partitions cannot be dropped by age; use action: delete with column: <date"
          + " column> for it (in spec.overrides)");
    }
    Partition newest = partitions.stream().filter(p -> p.newest() != null)
        .max(Comparator.comparing(Partition::newest)).orElseThrow();
    List<Partition> old = partitions.stream()
        .filter(p -> p.newest() != null && p.newest().isBefore(cutoff) && p != newest).toList();
    for (Partition p : old) {
      plan.partitions.add(p.id());
      plan.rows += p.rows();
      plan.bytes += p.bytes();
    }
    if (old.isEmpty()) {
      return new RetentionPlanner.Work(plan, List.of(), null);
    }
    long total = partitions.stream().mapToLong(Partition::rows).sum();
    RetentionPlanner.Work refused = limits(plan, table, old.size(), total, cutoff, spec);
    if (refused != null) {
      return refused;
    }
    List<Sql> statements = old.stream().map(p -> RetentionSql.dropPartition(database, table, p.id())).toList();
    Map<String, long[]> sizes = new TreeMap<>();
    old.forEach(p -> sizes.put(p.id(), new long[] {p.rows(), p.bytes()}));
    return new RetentionPlanner.Work(plan, statements, null, sizes);
  }

  /** The refusal of a drop that would remove every row or go past a limit; null when it may go on. */
  private static RetentionPlanner.Work limits(TablePlan plan, String table, int partitions, long total,
      LocalDate cutoff, RetentionPolicySpec spec) {
    if (plan.rows >= total) {
      return RetentionPlanner.refuseWork(plan, "AllRowsWouldBeRemoved", "the run would remove every row of " + table
          + " (cutoff " + cutoff + "); check spec.keep and the server clock. Nothing was removed.");
    }
    if (partitions > spec.getMaxPartitionsPerRun()) {
      return RetentionPlanner.refuseWork(plan, "PartitionLimitExceeded", "the run would drop " + partitions
          + " partitions of " + table + ", more than maxPartitionsPerRun (" + spec.getMaxPartitionsPerRun()
          + "). Nothing was removed; raise the limit if this is intended.");
    }
    if (plan.rows > spec.getMaxRowsPerRun()) {
      return RetentionPlanner.refuseWork(plan, "RowLimitExceeded", "the run would remove " + plan.rows + " rows of "
          + table + ", more than maxRowsPerRun (" + spec.getMaxRowsPerRun() + "). Nothing was removed; raise the"
          + " limit if this is intended.");
    }
    return null;
  }
}
