package dev.housekeeper.bench;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.bench.Footprint.Row;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One retention run over 500 tables (2 old partitions each to drop, 1 kept), against the same
 * 1,000 DROP PARTITION statements sent by clickhouse-client (one process, --multiquery: the
 * fastest way to send them), in the same run.
 */
public final class RetentionBench {

  static final int TABLES = 500;

  private RetentionBench() {}

  static void setup(ClickHouseServer ch, String db) {
    StringBuilder sql = new StringBuilder("DROP DATABASE IF EXISTS " + db + "; CREATE DATABASE " + db + ";");
    for (int i = 0; i < TABLES; i++) {
      sql.append("CREATE TABLE ").append(db).append(".t_").append(i)
          .append(" (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id;")
          .append("INSERT INTO ").append(db).append(".t_").append(i)
          .append(" SELECT arrayJoin([toDate('2001-01-05'), toDate('2001-02-05'), today()]) AS d, 1 AS id;");
    }
    ch.sql(sql.toString());
  }

  public static List<Row> measure(OperatorHarness harness) throws Exception {
    ClickHouseServer ch = harness.clickhouse();
    setup(ch, "bench_ret_base");
    setup(ch, "bench_ret_op");
    StringBuilder drops = new StringBuilder();
    for (int i = 0; i < TABLES; i++) {
      drops.append("ALTER TABLE bench_ret_base.t_").append(i).append(" DROP PARTITION ID '200101';")
          .append("ALTER TABLE bench_ret_base.t_").append(i).append(" DROP PARTITION ID '200102';");
    }
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder("clickhouse-client", "--host", "127.0.0.1", "--port", String.valueOf(ch.tcpPort()),
        "--user", ClickHouseServer.USER, "--password", ClickHouseServer.PASSWORD, "--multiquery", "--query",
        drops.toString()).inheritIO().start();
    if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("clickhouse-client failed");
    }
    double baseline = (System.nanoTime() - t0) / 1e9;

    harness.namespace("bench-ret");
    harness.readyConnection("bench-ret", "ch");
    var spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef("ch"));
    spec.setDatabase("bench_ret_op");
    var sel = new RetentionPolicySpec.TableSelector();
    sel.setPattern("t_.*");
    spec.setTables(sel);
    spec.setKeep("1y");
    var policy = new RetentionPolicy();
    policy.setMetadata(new ObjectMetaBuilder().withName("bench").withNamespace("bench-ret")
        .withAnnotations(Map.of(RetentionPolicy.RUN_NOW_ANNOTATION, "1")).build());
    policy.setSpec(spec);
    String since = DirectClickHouse.serverNow(ch);
    t0 = System.nanoTime();
    harness.client().resource(policy).create();
    while (true) {
      var now = harness.client().resources(RetentionPolicy.class).inNamespace("bench-ret").withName("bench").get();
      if (now.getStatus() != null && now.getStatus().lastRun != null) {
        break;
      }
      if (System.nanoTime() - t0 > 900_000_000_000L) {
        throw new IllegalStateException("retention run did not finish in 15 minutes");
      }
      Thread.sleep(50);
    }
    double operator = (System.nanoTime() - t0) / 1e9;
    long left = ch.sqlLong("SELECT count() FROM system.parts WHERE database = 'bench_ret_op' AND active");
    if (left != TABLES) {
      throw new IllegalStateException("expected " + TABLES + " parts left, found " + left);
    }
    // where the operator's time went on the server: its statements by kind, with their server time
    var sent = DirectClickHouse.sentSince(ch, since);
    var lastRun = harness.client().resources(RetentionPolicy.class).inNamespace("bench-ret").withName("bench").get()
        .getStatus().lastRun;
    System.out.printf("%nretention run: %d ms inside the operator (its report), %.0f ms from the policy's creation to"
        + " its status; %d statements sent; by kind (count, server ms):%n", lastRun.durationMillis, operator * 1000,
        sent.size());
    DirectClickHouse.byKind(sent).entrySet().stream().limit(8).forEach(e -> System.out.printf("  %6d %8d  %s%n",
        e.getValue()[0], e.getValue()[1], e.getKey()));
    System.gc();
    double heapMb = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1048576.0;
    return List.of(
        new Row("retention: 500 tables, 1000 drops (s)", String.format("%.2f", operator),
            String.format("%.2f", baseline), String.format("%.2fx", operator / baseline), "report"),
        new Row("  heap after run, incl. mock API (MB)", String.format("%.1f", heapMb), "-", "-", "< 256 MB"));
  }
}
