package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus.OptimizeReport;
import dev.housekeeper.api.retention.RetentionPolicyStatus.OptimizedPartition;
import dev.housekeeper.api.retention.RetentionPolicyStatus.RunReport;
import dev.housekeeper.api.retention.RetentionPolicyStatus.TablePlan;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.Transient;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out a retention plan, or an OPTIMIZE pass, on a worker thread. Each table is on its own:
 * a failure is recorded for it and the next table goes on. A DELETE mutation is waited for by
 * polling system.mutations (here, on the worker, never on a reconcile thread).
 */
public final class RetentionRunner {

  /** Something worth an Event: reason and message. */
  public record Notice(String reason, String message, boolean warning) {}

  private static final Logger LOG = LoggerFactory.getLogger(RetentionRunner.class);

  /** Tables worked on at once in one run. */
  static final int PARALLEL = 4;

  private final ClickHouseClient client;
  private final String database;
  private final Consumer<Notice> notices;
  private final Consumer<String> progress;
  /** The limit of each long statement of the run: spec.statementTimeout (see StatementTimeout). */
  private Duration limit = StatementTimeout.RETENTION;

  public RetentionRunner(ClickHouseClient client, String database, Consumer<Notice> notices, Consumer<String> progress) {
    this.client = client;
    this.database = database;
    this.notices = notices;
    this.progress = progress;
  }

  /** Plans and (unless dry) carries out one retention run. */
  public RunReport run(RetentionPolicySpec spec, RetentionPlanner.ServerFeatures server, ZoneId zone, LocalDate today)
      throws InterruptedException {
    limit = StatementTimeout.of(spec.getStatementTimeout(), StatementTimeout.RETENTION);
    Instant start = Instant.now();
    RetentionPlanner.Plan plan = new RetentionPlanner(client, database, server).plan(spec, zone, today);
    RunReport report = new RunReport();
    report.startTime = start.truncatedTo(ChronoUnit.SECONDS).toString();
    report.dryRun = spec.isDryRun();
    report.cutoff = plan.cutoff().toString();
    List<RetentionPlanner.Work> todo = new java.util.ArrayList<>();
    for (RetentionPlanner.Work work : plan.work()) {
      report.tables.add(work.plan());
      if (!spec.isDryRun() && work.plan().reason == null && !work.statements().isEmpty()) {
        todo.add(work);
      }
    }
    // tables are independent: work on up to PARALLEL of them at once; each table's statements stay in order
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
        Math.max(1, Math.min(PARALLEL, todo.size())));
    try {
      List<java.util.concurrent.Future<RunReport>> results = new java.util.ArrayList<>();
      // the run's log context (the policy) goes with each table's task, so that its log lines name the policy
      java.util.Map<String, String> context = org.slf4j.MDC.getCopyOfContextMap();
      for (RetentionPlanner.Work work : todo) {
        results.add(pool.submit(() -> {
          if (context != null) {
            org.slf4j.MDC.setContextMap(context);
          }
          return execute(work);
        }));
      }
      long[] droppedSize = new long[2];
      for (int i = 0; i < results.size(); i++) {
        RunReport part = results.get(i).get();
        report.partitionsDropped.addAll(part.partitionsDropped);
        report.rowsDeleted += part.rowsDeleted;
        report.bytesFreed += part.bytesFreed;
        if ("dropPartitions".equals(todo.get(i).plan().action)) {
          droppedSize[0] += part.rowsDeleted;
          droppedSize[1] += part.bytesFreed;
        }
      }
      dropped(report.partitionsDropped, droppedSize);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } finally {
      pool.shutdownNow();
    }
    Instant end = Instant.now();
    report.endTime = end.truncatedTo(ChronoUnit.SECONDS).toString();
    report.durationMillis = Duration.between(start, end).toMillis();
    report.partitionsDroppedCount = report.partitionsDropped.size();
    return report;
  }

  /** One table's work; a failure is recorded on the table, not thrown. */
  private RunReport execute(RetentionPlanner.Work work) throws InterruptedException {
    RunReport part = new RunReport();
    TablePlan table = work.plan();
    try {
      switch (table.action) {
        case "dropPartitions" -> drop(table, work, part);
        case "delete" -> delete(table, work, part);
        default -> {
          client.execute(work.statements().get(0).withTimeout(limit));
          notices.accept(new Notice("TtlSet", "Set TTL on " + database + "." + table.table + ": "
              + work.statements().get(0).text(), false));
        }
      }
    } catch (ClickHouseException e) {
      table.reason = "Failed";
      table.error = e.kind().reason() + ": " + e.getMessage();
      table.retriable = Transient.is(e) ? Boolean.TRUE : null;
      notices.accept(new Notice("TableFailed", "Retention of " + table.table + " failed: " + table.error, true));
    }
    return part;
  }

  private void drop(TablePlan table, RetentionPlanner.Work work, RunReport report) {
    List<String> ids = List.copyOf(table.partitions);
    table.partitions.clear();
    table.rows = 0;
    table.bytes = 0;
    for (int i = 0; i < ids.size(); i++) {
      long[] size = work.partitionSizes().getOrDefault(ids.get(i), new long[2]);
      progress.accept("dropping partition " + ids.get(i) + " of " + table.table);
      client.execute(work.statements().get(i));
      table.partitions.add(ids.get(i));
      table.rows += size[0];
      table.bytes += size[1];
      report.partitionsDropped.add(table.table + "/" + ids.get(i));
      report.rowsDeleted += size[0];
      report.bytesFreed += size[1];
      // the log names every partition as it goes; the run's one Event sums them up (see dropped())
      LOG.info("dropped partition {} of {}.{} ({} rows, {} bytes, as of the plan)", ids.get(i), database, table.table,
          size[0], size[1]);
    }
  }

  /** Partitions named in the run's Event; status.lastRun.partitionsDropped lists them all. */
  static final int NAMED_IN_EVENT = 10;

  /**
   * The run's one Event for its dropped partitions. One per partition flooded the API server: a run
   * over 500 tables posted 1,000 Events and took 2.99x the time of its statements sent by one client,
   * 1.43x without the Events (docs/performance.md). Kubernetes itself folds more than 10 similar
   * Events into one.
   */
  private void dropped(List<String> all, long[] rowsAndBytes) {
    if (all.isEmpty()) {
      return;
    }
    long tables = all.stream().map(p -> p.substring(0, p.lastIndexOf('/'))).distinct().count();
    String named = String.join(", ", all.subList(0, Math.min(NAMED_IN_EVENT, all.size())))
        + (all.size() > NAMED_IN_EVENT ? " and " + (all.size() - NAMED_IN_EVENT) + " more (status.lastRun lists"
            + " them all)" : "");
    notices.accept(new Notice("PartitionsDropped", "Dropped " + all.size() + " partition(s) of " + tables
        + " table(s) of " + database + " (" + rowsAndBytes[0] + " rows, " + rowsAndBytes[1]
        + " bytes, as of the plan): " + named, false));
  }

  private void delete(TablePlan table, RetentionPlanner.Work work, RunReport report) throws InterruptedException {
    Set<String> before = mutationIds(table.table);
    client.execute(work.statements().get(0).withTimeout(limit));
    notices.accept(new Notice("MutationIssued", "Issued on " + database + "." + table.table + ": "
        + work.statements().get(0).text() + " (" + table.rows + " rows)", false));
    Set<String> issued = new HashSet<>(mutationIds(table.table));
    issued.removeAll(before);
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      progress.accept("waiting for the DELETE mutation on " + table.table);
      long pending = 0;
      for (Row r : client.query(Sql.query("SELECT mutation_id, is_done FROM system.mutations WHERE database = ?"
          + " AND table = ?", database, table.table))) {
        if (issued.contains(r.string("mutation_id")) && !r.bool("is_done")) {
          pending++;
        }
      }
      if (pending == 0) {
        break;
      }
      if (System.nanoTime() > deadline) {
        throw new ClickHouseException(ClickHouseException.Kind.TIMEOUT, 0, false, null, null, "the DELETE mutation on "
            + table.table + " did not finish in " + limit.toMinutes() + " minutes; see system.mutations",
            null);
      }
      Thread.sleep(500);
    }
    report.rowsDeleted += table.rows;
  }

  private Set<String> mutationIds(String table) {
    Set<String> out = new HashSet<>();
    client.query(Sql.query("SELECT mutation_id FROM system.mutations WHERE database = ? AND table = ?", database, table))
        .forEach(r -> out.add(r.string("mutation_id")));
    return out;
  }

  /** OPTIMIZE the chosen partitions of every covered table. */
  public OptimizeReport optimize(RetentionPolicySpec spec) {
    limit = StatementTimeout.of(spec.getStatementTimeout(), StatementTimeout.RETENTION);
    RetentionPolicySpec.Optimize o = spec.getOptimize() != null ? spec.getOptimize() : new RetentionPolicySpec.Optimize();
    OptimizeReport report = new OptimizeReport();
    report.startTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    Set<String> existing = new HashSet<>();
    client.query(Sql.query("SELECT name FROM system.tables WHERE database = ? AND engine LIKE '%MergeTree%'", database))
        .forEach(r -> existing.add(r.string("name")));
    for (String table : RetentionPlanner.select(spec.getTables(), existing)) {
      if (!existing.contains(table)) {
        report.errors.add(table + ": table does not exist");
        continue;
      }
      try {
        List<Row> parts = client.query(Sql.query("SELECT partition_id, count() AS parts FROM system.parts"
            + " WHERE database = ? AND table = ? AND active GROUP BY partition_id ORDER BY partition_id DESC",
            database, table));
        if (o.getLastPartitions() > 0 && parts.size() > o.getLastPartitions()) {
          parts = parts.subList(0, o.getLastPartitions());
        }
        for (Row p : parts) {
          if (p.longValue("parts") <= o.getMinParts()) {
            continue;
          }
          String id = p.string("partition_id");
          progress.accept("OPTIMIZE " + table + " partition " + id);
          client.execute(RetentionSql.optimize(database, table, id, o.isFinalMerge(), o.isDeduplicate())
              .withTimeout(limit));
          OptimizedPartition done = new OptimizedPartition();
          done.table = table;
          done.partition = id;
          done.partsBefore = p.longValue("parts");
          done.partsAfter = client.query(Sql.query("SELECT count() AS n FROM system.parts WHERE database = ?"
              + " AND table = ? AND partition_id = ? AND active", database, table, id)).get(0).longValue("n");
          report.partitions.add(done);
          notices.accept(new Notice("Optimized", "OPTIMIZE " + database + "." + table + " partition " + id + ": "
              + done.partsBefore + " -> " + done.partsAfter + " active parts", false));
        }
      } catch (ClickHouseException e) {
        report.errors.add(table + ": " + e.kind().reason() + ": " + e.getMessage());
      }
    }
    report.endTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    return report;
  }
}
