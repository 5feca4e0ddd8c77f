package dev.housekeeper.bench;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.bench.Footprint.Row;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * 200 small migrations applied by the operator (create to Ready at version 200), against the same
 * 200 statements sent one by one with clickhouse-client, in the same run.
 */
public final class MigrationBench {

  static final int N = 200;

  private MigrationBench() {}

  static String statement(int i) {
    return "CREATE TABLE t_" + i + " (id UInt64, v String) ENGINE = MergeTree ORDER BY id";
  }

  public static List<Row> measure(OperatorHarness harness) throws Exception {
    ClickHouseServer ch = harness.clickhouse();
    ch.sql("DROP DATABASE IF EXISTS bench_base; CREATE DATABASE bench_base;"
        + " DROP DATABASE IF EXISTS bench_op; CREATE DATABASE bench_op");
    long t0 = System.nanoTime();
    for (int i = 1; i <= N; i++) {
      Process p = new ProcessBuilder("clickhouse-client", "--host", "127.0.0.1", "--port",
          String.valueOf(ch.tcpPort()), "--user", ClickHouseServer.USER, "--password", ClickHouseServer.PASSWORD,
          "--database", "bench_base", "--query", statement(i)).inheritIO().start();
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("clickhouse-client failed on statement " + i);
      }
    }
    double baseline = (System.nanoTime() - t0) / 1e9;

    harness.namespace("bench");
    harness.readyConnection("bench", "ch");
    var spec = new ClickHouseMigrationSpec();
    spec.setConnectionRef(new ConnectionRef("ch"));
    spec.setDatabase("bench_op");
    List<ClickHouseMigrationSpec.Migration> migrations = new ArrayList<>();
    for (int i = 1; i <= N; i++) {
      migrations.add(new ClickHouseMigrationSpec.Migration(i, "create_t_" + i, statement(i), "DROP TABLE t_" + i));
    }
    spec.setMigrations(migrations);
    var m = new ClickHouseMigration();
    m.setMetadata(new ObjectMetaBuilder().withName("bench").withNamespace("bench").build());
    m.setSpec(spec);
    t0 = System.nanoTime();
    harness.client().resource(m).create();
    while (true) {
      var now = harness.client().resources(ClickHouseMigration.class).inNamespace("bench").withName("bench").get();
      if (now.getStatus() != null && now.getStatus().getPhase() == ClickHouseMigrationStatus.Phase.Ready
          && now.getStatus().getCurrentVersion() != null && now.getStatus().getCurrentVersion() == N) {
        break;
      }
      if (System.nanoTime() - t0 > 600_000_000_000L) {
        throw new IllegalStateException("migrations did not finish in 10 minutes");
      }
      Thread.sleep(20);
    }
    double operator = (System.nanoTime() - t0) / 1e9;
    long tables = ch.sqlLong("SELECT count() FROM system.tables WHERE database = 'bench_op'");
    if (tables != N + 2) { // + ledger and lock tables
      throw new IllegalStateException("expected " + (N + 2) + " tables, found " + tables);
    }
    return List.of(new Row("migrations: 200 applied (s)", String.format("%.2f", operator),
        String.format("%.2f", baseline), String.format("%.2fx", operator / baseline), "<= 1.5x"));
  }
}
