package dev.housekeeper.bench;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.bench.Footprint.Row;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Convergence: 1,000 resources of mixed kinds created at once (100 connections, 300 migrations each
 * creating a table in its own database, 400 retention policies, 200 report marts built in
 * ClickHouse) until every one is Ready; create-to-Ready latency per resource (polled every 250 ms).
 * Baseline in the same run: the same 1,000 creates and a list of them against the API with no
 * operator (what the API alone costs).
 */
public final class ConvergenceBench {

  static final int CONNECTIONS = 100;
  static final int MIGRATIONS = 300;
  static final int RETENTION = 400;
  static final int MARTS = 200;
  static final String NS = "bench-conv";

  private ConvergenceBench() {}

  static List<HasMetadata> resources(ClickHouseServer ch, String ns) {
    List<HasMetadata> out = new ArrayList<>();
    for (int i = 0; i < CONNECTIONS; i++) {
      var spec = new ClickHouseConnectionSpec();
      spec.setEndpoints(List.of(ch.httpUrl()));
      var creds = new ClickHouseConnectionSpec.Credentials();
      creds.setSecretName("ch-credentials");
      spec.setCredentials(creds);
      var c = new ClickHouseConnection();
      c.setMetadata(new ObjectMetaBuilder().withName("conn-" + i).withNamespace(ns).build());
      c.setSpec(spec);
      out.add(c);
    }
    for (int i = 0; i < MIGRATIONS; i++) {
      var spec = new ClickHouseMigrationSpec();
      spec.setConnectionRef(new ConnectionRef("conn-" + (i % CONNECTIONS)));
      spec.setDatabase("bench_conv_m" + i);
      spec.setMigrations(new ArrayList<>(List.of(new ClickHouseMigrationSpec.Migration(1, "t",
          "CREATE TABLE t (id UInt64) ENGINE = MergeTree ORDER BY id", null))));
      var m = new ClickHouseMigration();
      m.setMetadata(new ObjectMetaBuilder().withName("mig-" + i).withNamespace(ns).build());
      m.setSpec(spec);
      out.add(m);
    }
    for (int i = 0; i < RETENTION; i++) {
      var spec = new RetentionPolicySpec();
      spec.setConnectionRef(new ConnectionRef("conn-" + (i % CONNECTIONS)));
      spec.setDatabase("bench_conv_r");
      var sel = new RetentionPolicySpec.TableSelector();
      sel.setPattern("t_" + i + "_.*");
      spec.setTables(sel);
      spec.setKeep("12M");
      var p = new RetentionPolicy();
      p.setMetadata(new ObjectMetaBuilder().withName("ret-" + i).withNamespace(ns).build());
      p.setSpec(spec);
      out.add(p);
    }
    for (int i = 0; i < MARTS; i++) {
      var spec = new ReportMartSpec();
      spec.connectionRef = new ConnectionRef("conn-" + (i % CONNECTIONS));
      spec.database = "bench_conv_marts";
      spec.table = "mart_" + i;
      spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("k", "UInt64"),
          new ReportMartSpec.Column("c", "UInt64")));
      spec.orderBy = "k";
      spec.source = new ReportMartSpec.Source();
      spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
      spec.source.clickhouse.query = "SELECT number % 10 AS k, count() AS c FROM (SELECT number FROM system.numbers"
          + " LIMIT " + (1000 + i) + ") GROUP BY k";
      var m = new ReportMart();
      m.setMetadata(new ObjectMetaBuilder().withName("mart-" + i).withNamespace(ns).build());
      m.setSpec(spec);
      out.add(m);
    }
    return out;
  }

  static void prepare(ClickHouseServer ch) {
    StringBuilder sql = new StringBuilder("DROP DATABASE IF EXISTS bench_conv_r; CREATE DATABASE bench_conv_r;"
        + " DROP DATABASE IF EXISTS bench_conv_marts;");
    for (int i = 0; i < MIGRATIONS; i++) {
      sql.append("DROP DATABASE IF EXISTS bench_conv_m").append(i).append("; CREATE DATABASE bench_conv_m").append(i)
          .append(";");
    }
    ch.sql(sql.toString());
  }

  /** How many of the benchmark's resources are Ready now. */
  static int readyCount(io.fabric8.kubernetes.client.KubernetesClient client) {
    return ready(client, ClickHouseConnection.class) + ready(client, ClickHouseMigration.class)
        + ready(client, RetentionPolicy.class) + ready(client, ReportMart.class);
  }

  private static <T extends HasMetadata> int ready(io.fabric8.kubernetes.client.KubernetesClient client, Class<T> kind) {
    int n = 0;
    for (T o : client.resources(kind).inNamespace(NS).list().getItems()) {
      Object status = ((CustomResource<?, ?>) o).getStatus();
      if (status instanceof dev.housekeeper.api.common.HousekeeperStatus s && Conditions.isTrue(s.getConditions(),
          "Ready")) {
        n++;
      }
    }
    return n;
  }

  /** Notes when each resource's status first says Ready (its create may come after: the earlier wins). */
  @SuppressWarnings("rawtypes")
  static io.fabric8.kubernetes.client.informers.ResourceEventHandler readyTimes(Map<String, Long> ready) {
    return new io.fabric8.kubernetes.client.informers.ResourceEventHandler<CustomResource>() {
      @Override
      public void onAdd(CustomResource r) {
        look(r);
      }

      @Override
      public void onUpdate(CustomResource before, CustomResource r) {
        look(r);
      }

      @Override
      public void onDelete(CustomResource r, boolean unknownFinalState) {}

      private void look(CustomResource r) {
        if (r.getStatus() != null && Conditions.isTrue(
            ((dev.housekeeper.api.common.HousekeeperStatus) r.getStatus()).getConditions(), "Ready")) {
          ready.putIfAbsent(r.getKind() + "/" + r.getMetadata().getName(), System.nanoTime());
        }
      }
    };
  }


  /**
   * The fair baseline: the statements the resources need, read from the query log of the run and
   * run again directly (after the same preparation), in as many sessions as the operator used
   * connections; and the operator's statements by kind, with the server's time for each.
   */
  static List<Row> direct(OperatorHarness harness, String since, long allMs, long apiMs, String notAll,
      int sessions) throws Exception {
    ClickHouseServer ch = harness.clickhouse();
    List<DirectClickHouse.Logged> sent = DirectClickHouse.sentSince(ch, since);
    StringBuilder ledgers = new StringBuilder();
    for (int i = 0; i < MIGRATIONS; i++) {
      ledgers.append(i == 0 ? "" : " UNION ALL ").append("SELECT DISTINCT query_id, 'bench_conv_m").append(i)
          .append("' AS db FROM bench_conv_m").append(i).append(".housekeeper_migrations WHERE query_id != ''");
    }
    Map<String, String> databases = new HashMap<>();
    for (String line : ch.sql(ledgers.toString()).split("\n")) {
      String[] f = line.split("\t");
      databases.put(f[0], f[1]);
    }
    List<List<String>> groups = DirectClickHouse.needed(sent, databases);
    int needed = groups.stream().mapToInt(List::size).sum();
    ch.sql("DROP DATABASE IF EXISTS bench_conv_marts");
    prepare(ch);
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("bench-direct");
    // what the operator sent, one statement a line, for a closer look than the breakdown's kinds
    java.nio.file.Files.write(dir.resolve("operator-statements.txt"), sent.stream().map(l -> l.durationMs() + "\t"
        + l.query().strip().replace('\n', ' ')).toList());
    double directS = DirectClickHouse.replay(ch, groups, sessions, dir);
    String made = ch.sql("SELECT countIf(database LIKE 'bench_conv_m%' AND database != 'bench_conv_marts'),"
        + " countIf(database = 'bench_conv_marts') FROM system.tables WHERE database LIKE 'bench_conv_%'"
        + " AND name NOT LIKE 'housekeeper%'").strip();
    if (!made.equals(MIGRATIONS + "\t" + MARTS)) {
      throw new IllegalStateException("the direct statements made " + made + " tables, not " + MIGRATIONS + " and "
          + MARTS + "; they are in " + dir);
    }
    double floorS = apiMs / 1000.0 + directS;
    List<Row> rows = new ArrayList<>();
    rows.add(new Row("1,000 mixed resources created at once, all Ready (s)" + notAll, String.format("%.1f",
        allMs / 1000.0), String.format("%.1f = %.1f API alone (the same creates and lists) + %.1f direct ClickHouse"
        + " (%d statements from the query log, in %d clickhouse-client sessions: the most the operator ran at once)",
        floorS, apiMs / 1000.0, directS, needed, sessions), String.format("%.2fx", allMs / 1000.0 / floorS), allMs / 1000.0 / floorS <= 1.5
        ? "<= 1.5x" : "**<= 1.5x (missed)**"));
    long serverMs = sent.stream().mapToLong(DirectClickHouse.Logged::durationMs).sum();
    rows.add(new Row("statements the operator sent; server time (thread-s)", sent.size() + "; " + String.format(
        "%.1f", serverMs / 1000.0), needed + " needed", String.format("%.1fx", sent.size()
        / (double) needed), "report"));
    DirectClickHouse.byKind(sent).entrySet().stream().limit(8).forEach(e -> rows.add(new Row("  ClickHouse: "
        + e.getKey() + " (statements; server thread-s)", e.getValue()[0] + "; " + String.format("%.1f",
        e.getValue()[1] / 1000.0), "-", "-", "breakdown")));
    return rows;
  }

  /** The operator's own account of where its time went (housekeeper_step_duration), in thread-seconds. */
  static List<Row> steps(OperatorHarness harness, long allMs) {
    List<Row> rows = new ArrayList<>();
    for (var step : dev.housekeeper.common.StepTimes.Step.values()) {
      String name = step.name().toLowerCase(java.util.Locale.ROOT);
      var timer = harness.operator().registry().find("housekeeper_step_duration").tag("step", name).timer();
      if (timer != null) {
        double s = timer.totalTime(java.util.concurrent.TimeUnit.SECONDS);
        rows.add(new Row("  operator: " + name + " (count; thread-s; mean ms)", timer.count() + "; "
            + String.format("%.1f; %.1f", s, timer.count() == 0 ? 0 : s * 1000 / timer.count()),
            String.format("%.1f s wall", allMs / 1000.0), String.format("%.2f threads busy", s * 1000 / allMs),
            "breakdown"));
      }
    }
    return rows;
  }

  /** On fabric8's mock API, in this JVM (the other benches' API). */
  public static List<Row> measure() throws Exception {
    return measure(false);
  }

  /**
   * On a real apiextensions-apiserver with its own etcd for Housekeeper's kinds (Secrets, Events,
   * Leases and namespaces on the mock), as {@code bin/run-local --real-api} runs it: the mock
   * answers every request under one lock, so that a busy operator's status writes slow the bench's
   * own creates (docs/performance.md).
   */
  public static List<Row> measureOnRealApi() throws Exception {
    return measure(true);
  }

  private static String where(boolean realApi) {
    return realApi ? " [real API server]" : "";
  }

  private static OperatorHarness harness(boolean realApi, boolean operatorRunning) {
    if (realApi) {
      return OperatorHarness.startOnRealApi(dev.housekeeper.operator.OperatorSettings.forTests(), operatorRunning);
    }
    OperatorHarness harness = OperatorHarness.start();
    if (!operatorRunning) {
      harness.stopOperator();
    }
    return harness;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  static List<Row> measure(boolean realApi) throws Exception {
    // baseline: the API alone (an operator that is not running)
    long baselineMs;
    try (OperatorHarness idle = harness(realApi, false)) {
      idle.namespace(NS);
      List<HasMetadata> all = resources(idle.clickhouse(), NS);
      long t0 = System.nanoTime();
      for (HasMetadata r : all) {
        idle.client().resource(r).create();
      }
      int listed = idle.client().resources(ClickHouseConnection.class).inNamespace(NS).list().getItems().size()
          + idle.client().resources(ClickHouseMigration.class).inNamespace(NS).list().getItems().size()
          + idle.client().resources(RetentionPolicy.class).inNamespace(NS).list().getItems().size()
          + idle.client().resources(ReportMart.class).inNamespace(NS).list().getItems().size();
      baselineMs = (System.nanoTime() - t0) / 1_000_000;
      if (listed != all.size()) {
        throw new IllegalStateException("listed " + listed + " of " + all.size());
      }
    }
    try (OperatorHarness harness = harness(realApi, true)) {
      prepare(harness.clickhouse());
      harness.namespace(NS);
      harness.clickhouseSecret(NS, "ch-credentials");
      List<HasMetadata> all = resources(harness.clickhouse(), NS);
      String since = DirectClickHouse.serverNow(harness.clickhouse());
      Map<String, Long> created = new ConcurrentHashMap<>();
      Map<String, Long> ready = new ConcurrentHashMap<>();
      List<Class<? extends CustomResource>> kinds = List.of(ClickHouseConnection.class, ClickHouseMigration.class,
          RetentionPolicy.class, ReportMart.class);
      // watched from before the first create: a resource Ready while others are still being created counts
      // at the moment its status says so, not at a poll after the last create
      List<io.fabric8.kubernetes.client.informers.SharedIndexInformer<?>> watches = new ArrayList<>();
      for (Class<? extends CustomResource> kind : kinds) {
        watches.add(harness.client().resources(kind).inNamespace(NS).inform(readyTimes(ready)));
      }
      long t0 = System.nanoTime();
      for (HasMetadata r : all) {
        harness.client().resource(r).create();
        created.put(r.getKind() + "/" + r.getMetadata().getName(), System.nanoTime());
      }
      long createdMs = (System.nanoTime() - t0) / 1_000_000;
      long deadline = System.nanoTime() + 900_000_000_000L;
      int mostRunning = 0;
      while (ready.size() < all.size() && System.nanoTime() < deadline) {
        mostRunning = Math.max(mostRunning, DirectClickHouse.runningNow(harness.clickhouse()));
        Thread.sleep(250);
      }
      watches.forEach(io.fabric8.kubernetes.client.informers.SharedIndexInformer::close);
      long allMs = (System.nanoTime() - t0) / 1_000_000;
      List<Long> latencies = new ArrayList<>();
      ready.forEach((k, at) -> latencies.add((at - created.get(k)) / 1_000_000));
      Collections.sort(latencies);
      System.gc();
      Thread.sleep(500);
      Runtime rt = Runtime.getRuntime();
      double heapMb = (rt.totalMemory() - rt.freeMemory()) / 1048576.0;
      List<Row> rows = new ArrayList<>();
      String notAll = ready.size() < all.size() ? " (only " + ready.size() + " of " + all.size() + " Ready)" : "";
      List<Row> steps = steps(harness, allMs);
      // the operator would rebuild what the replay drops, and migrate the databases it makes again
      harness.stopOperator();
      rows.addAll(direct(harness, since, allMs, baselineMs, notAll + where(realApi),
          Math.max(1, mostRunning)));
      long p99 = latencies.isEmpty() ? -1
          : latencies.get(Math.min(latencies.size() - 1, (int) Math.ceil(latencies.size() * 0.99) - 1));
      rows.add(new Row("create-to-Ready latency p50 / p99 (ms, watched)" + where(realApi),
          latencies.isEmpty() ? "-" : latencies.get(latencies.size() / 2) + " / " + p99, "-", "-",
          p99 >= 0 && p99 <= 10_000 ? "p99 <= 10 s" : "**p99 <= 10 s (missed)**"));
      rows.addAll(steps);
      rows.add(new Row("creating the 1,000 while the operator runs (s)" + where(realApi), String.format("%.1f", createdMs / 1000.0),
          "-", "-", "report"));
      rows.add(new Row("heap used with 1,000 resources, incl. the in-process mock API (MB)",
          String.format("%.1f", heapMb), "-", "-", "< 512 MB"));
      return rows;
    }
  }
}
