package dev.housekeeper.bench;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.bench.Footprint.Row;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One retention run over 500 tables (2 old partitions each to drop, 1 kept), against the same
 * 1,000 DROP PARTITION statements sent by clickhouse-client (one process, --multiquery: the
 * fastest way to send them), in the same run, after a warm-up run of the operator over 100 other tables.
 */
public final class RetentionBench {

  static final int TABLES = 500;

  static final String NS = "bench-ret";

  private RetentionBench() {}

  /** Creates a policy over the database's t_* tables, run now, keeping 1 year: seconds until its run's status. */
  static double run(OperatorHarness harness, String name, String database) throws InterruptedException {
    var spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef("ch"));
    spec.setDatabase(database);
    var sel = new RetentionPolicySpec.TableSelector();
    sel.setPattern("t_.*");
    spec.setTables(sel);
    spec.setKeep("1y");
    var policy = new RetentionPolicy();
    policy.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS)
        .withAnnotations(Map.of(RetentionPolicy.RUN_NOW_ANNOTATION, "1")).build());
    policy.setSpec(spec);
    long t0 = System.nanoTime();
    harness.client().resource(policy).create();
    while (true) {
      var now = harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName(name).get();
      if (now.getStatus() != null && now.getStatus().lastRun != null) {
        return (System.nanoTime() - t0) / 1e9;
      }
      if (System.nanoTime() - t0 > 900_000_000_000L) {
        throw new IllegalStateException("retention run " + name + " did not finish in 15 minutes");
      }
      Thread.sleep(50);
    }
  }

  static void setup(ClickHouseServer ch, String db, int tables) {
    StringBuilder sql = new StringBuilder("DROP DATABASE IF EXISTS " + db + "; CREATE DATABASE " + db + ";");
    for (int i = 0; i < tables; i++) {
      sql.append("CREATE TABLE ").append(db).append(".t_").append(i)
          .append(" (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id;")
          .append("INSERT INTO ").append(db).append(".t_").append(i)
          .append(" SELECT arrayJoin([toDate('2001-01-05'), toDate('2001-02-05'), today()]) AS d, 1 AS id;");
    }
    ch.sql(sql.toString());
  }

  static final int ROUNDS = 3;

  public static List<Row> measure(OperatorHarness harness) throws Exception {
    ClickHouseServer ch = harness.clickhouse();
    harness.namespace(NS);
    harness.readyConnection(NS, "ch");
    // a warm-up run over 100 other tables first, as a running operator has run before: the timed runs are
    // not the first of their code paths in this JVM
    setup(ch, "bench_ret_warm", 100);
    run(harness, "warm-up", "bench_ret_warm");
    // rounds of both on fresh databases, in turns (the baseline first, then the operator first), since
    // this server's time per statement moves between minutes by 2x or more
    List<Double> baseline = new ArrayList<>();
    List<Double> operator = new ArrayList<>();
    String since = null;
    for (int round = 0; round < ROUNDS; round++) {
      setup(ch, "bench_ret_base_" + round, TABLES);
      setup(ch, "bench_ret_op_" + round, TABLES);
      if (round % 2 == 0) {
        baseline.add(baseline(ch, "bench_ret_base_" + round));
      }
      Thread.sleep(1_000); // the query log counts whole seconds: statements before this round's run end before
      since = DirectClickHouse.serverNow(ch);
      operator.add(run(harness, "bench-" + round, "bench_ret_op_" + round));
      long left = ch.sqlLong("SELECT count() FROM system.parts WHERE database = 'bench_ret_op_" + round + "' AND active");
      if (left != TABLES) {
        throw new IllegalStateException("expected " + TABLES + " parts left, found " + left);
      }
      if (round % 2 == 1) {
        baseline.add(baseline(ch, "bench_ret_base_" + round));
      }
    }
    // where the operator's time went on the server in the last round: its statements by kind, with their server time
    var sent = DirectClickHouse.sentSince(ch, since);
    var lastRun = harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName("bench-" + (ROUNDS - 1))
        .get().getStatus().lastRun;
    System.out.printf("%nretention runs (s): operator %s, baseline %s; the last: %d ms inside the operator (its"
        + " report); %d statements sent; by kind (count, server ms):%n", operator, baseline, lastRun.durationMillis,
        sent.size());
    DirectClickHouse.byKind(sent).entrySet().stream().limit(8).forEach(e -> System.out.printf("  %6d %8d  %s%n",
        e.getValue()[0], e.getValue()[1], e.getKey()));
    System.gc();
    double heapMb = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1048576.0;
    double op = BackupBench.median(operator);
    double base = BackupBench.median(baseline);
    return List.of(
        new Row("retention: 500 tables, 1000 drops, median of 3 (s)", String.format("%.2f", op),
            String.format("%.2f", base), String.format("%.2fx", op / base), "<= 1.2x"),
        new Row("  heap after run, incl. mock API (MB)", String.format("%.1f", heapMb), "-", "-", "< 256 MB"));
  }

  /** The same DROP PARTITION statements, in one clickhouse-client --multiquery: seconds. */
  static double baseline(ClickHouseServer ch, String database) throws Exception {
    StringBuilder drops = new StringBuilder();
    for (int i = 0; i < TABLES; i++) {
      drops.append("ALTER TABLE ").append(database).append(".t_").append(i).append(" DROP PARTITION ID '200101';")
          .append("ALTER TABLE ").append(database).append(".t_").append(i).append(" DROP PARTITION ID '200102';");
    }
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder("clickhouse-client", "--host", "127.0.0.1", "--port", String.valueOf(ch.tcpPort()),
        "--user", ClickHouseServer.USER, "--password", ClickHouseServer.PASSWORD, "--multiquery", "--query",
        drops.toString()).inheritIO().start();
    if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("clickhouse-client failed");
    }
    return (System.nanoTime() - t0) / 1e9;
  }
}
