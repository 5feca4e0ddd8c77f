package dev.housekeeper.bench;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.bench.Footprint.Row;
import dev.housekeeper.mart.MartSql;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.PostgresServer;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Refreshes the BionicPRO marts from PostgreSQL through the operator, and the same rows with
 * {@code psql -c "\copy (query) to stdout" | clickhouse-client --query "INSERT ... FORMAT
 * TabSeparated"}, in the same run: rows per second of the jdbc path as a ratio to that baseline
 * (medians of three), and the wall time of a full refresh of both marts from their creation.
 */
public final class MartBench {

  static final String NS = "bench-mart";
  static final Path EXAMPLE = Path.of(System.getProperty("housekeeper.projectDir", "."), "examples/bionicpro");

  private MartBench() {}

  public static List<Row> measure(OperatorHarness harness) throws Exception {
    List<Row> rows = new ArrayList<>();
    ClickHouseServer ch = harness.clickhouse();
    try (PostgresServer pg = new PostgresServer().start()) {
      pg.sql(Files.readString(EXAMPLE.resolve("postgres-schema.sql")));
      long t0 = System.nanoTime();
      pg.sql(Files.readString(EXAMPLE.resolve("generate.sql")));
      double generate = (System.nanoTime() - t0) / 1e9;
      List<ReportMart> marts = new ArrayList<>();
      try (InputStream in = Files.newInputStream(EXAMPLE.resolve("report-marts.yaml"))) {
        for (HasMetadata item : harness.client().load(in).items()) {
          if ("ReportMart".equals(item.getKind())) {
            ReportMart m = Serialization.unmarshal(Serialization.asJson(item), ReportMart.class);
            m.getMetadata().setNamespace(NS);
            m.getSpec().connectionRef = new ConnectionRef("ch");
            m.getSpec().source.jdbc.url = pg.jdbcUrl();
            m.getSpec().database = "bench_reports";
            m.getSpec().refresh.mode = dev.housekeeper.api.mart.ReportMartSpec.Mode.full;
            m.getSpec().refresh.schedule = null;
            marts.add(m);
          }
        }
      }
      // baseline: psql \copy piped into clickhouse-client, the same query and rows
      ch.sql("DROP DATABASE IF EXISTS bench_reports; DROP DATABASE IF EXISTS bench_base; CREATE DATABASE bench_base");
      List<Double> baseTimes = new ArrayList<>();
      long baseRows = 0;
      for (int i = 0; i < 3; i++) {
        double total = 0;
        baseRows = 0;
        for (ReportMart m : marts) {
          String table = m.getSpec().table;
          ch.sql("DROP TABLE IF EXISTS bench_base." + table + ";" + MartSql.createTable(m.getSpec(), "bench_base",
              table));
          String query = m.getSpec().source.jdbc.query.replace("{window_start}", "date '1970-01-01'")
              .replace("{window_end}", "date '2100-01-01'").replace("\n", " ").strip();
          String command = "PGPASSWORD=" + PostgresServer.PASSWORD + " " + String.join(" ", pg.psql("-c",
              "'\\copy (" + query.replace("'", "'\\''") + ") to stdout'")) + " | clickhouse-client --host 127.0.0.1"
              + " --port " + ch.tcpPort() + " --user " + ClickHouseServer.USER + " --password "
              + ClickHouseServer.PASSWORD + " --query 'INSERT INTO bench_base." + table + " FORMAT TabSeparated'";
          total += BackupBench.shell(command);
          baseRows += Long.parseLong(ch.sql("SELECT count() FROM bench_base." + table).strip());
        }
        baseTimes.add(total);
      }
      double base = BackupBench.median(baseTimes);

      // the operator: both marts created, until both are Ready
      harness.namespace(NS);
      harness.readyConnection(NS, "ch");
      harness.secret(NS, "bionicpro-postgres", Map.of("username", PostgresServer.USER, "password",
          PostgresServer.PASSWORD));
      t0 = System.nanoTime();
      for (ReportMart m : marts) {
        harness.client().resource(m).create();
      }
      for (ReportMart m : marts) {
        await(harness, m.getMetadata().getName(), 1);
      }
      double firstBuild = (System.nanoTime() - t0) / 1e9;
      long opRows = 0;
      for (ReportMart m : marts) {
        opRows += Long.parseLong(ch.sql("SELECT count() FROM bench_reports." + m.getSpec().table).strip());
      }
      if (opRows != baseRows) {
        throw new IllegalStateException("the operator wrote " + opRows + " rows, the baseline " + baseRows);
      }
      // full refreshes of both, three times
      List<Double> opTimes = new ArrayList<>();
      String since = null;
      for (int i = 0; i < 3; i++) {
        Thread.sleep(1_000); // the query log counts whole seconds: the round before ends before `since`
        since = DirectClickHouse.serverNow(ch);
        long s = System.nanoTime();
        for (ReportMart m : marts) {
          harness.client().resources(ReportMart.class).inNamespace(NS).withName(m.getMetadata().getName()).patch(
              PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\""
                  + ReportMart.FULL_NOW_ANNOTATION + "\":\"bench-" + i + "\"}}}");
          await(harness, m.getMetadata().getName(), i + 2);
        }
        opTimes.add((System.nanoTime() - s) / 1e9);
      }
      double op = BackupBench.median(opTimes);
      // where the last round's time went on the server: the operator's statements by kind, with their server time
      var sent = DirectClickHouse.sentSince(ch, since);
      System.out.printf("%nthe last round of refreshes: %d statements sent; by kind (count, server ms):%n", sent.size());
      DirectClickHouse.byKind(sent).entrySet().stream().limit(12).forEach(e -> System.out.printf("  %6d %8d  %s%n",
          e.getValue()[0], e.getValue()[1], e.getKey()));
      for (ReportMart m : marts) {
        var st = harness.client().resources(ReportMart.class).inNamespace(NS).withName(m.getMetadata().getName()).get()
            .getStatus();
        System.out.printf("%s: last refresh %d ms inside the operator (%s)%n", m.getMetadata().getName(),
            st.lastRefresh.durationMillis, st.lastRefresh.swap);
      }
      System.out.printf("mart refreshes (s): operator %s, baseline %s; %d rows; PostgreSQL generator %.1f s%n",
          opTimes, baseTimes, opRows, generate);
      rows.add(new Row("marts, jdbc path (rows/s), median of 3", String.format("%.0f", opRows / op),
          String.format("%.0f", baseRows / base), Footprint.ratio(base, op), ">= 0.7x"));
      rows.add(new Row("full refresh of both marts (s)", BackupBench.f(op), BackupBench.f(base), "-", "report"));
      rows.add(new Row("both marts built from creation (s)", BackupBench.f(firstBuild), "-", "-", "report"));
      rows.addAll(throughput(harness, pg));
    }
    return rows;
  }

  static final int WIDE_ROWS = 1_000_000;

  /**
   * Throughput at size: a mart of 1,000,000 rows read from one PostgreSQL table, full refreshes through
   * the operator against the same query piped by psql into clickhouse-client, medians of 3. The
   * BionicPRO marts above hold 810 rows, where fixed costs (a reconcile, the staging table, the swap)
   * are the figure, not rows per second.
   */
  static List<Row> throughput(OperatorHarness harness, PostgresServer pg) throws Exception {
    ClickHouseServer ch = harness.clickhouse();
    pg.sql("CREATE SCHEMA bench; CREATE TABLE bench.wide AS SELECT i::bigint AS id, date '2024-01-01' + (i % 730)::int"
        + " AS day, (i % 1000)::int AS user_id, ((i % 100000) / 100.0)::numeric(12, 2) AS amount, 'label-' || (i % 5000)"
        + " AS label FROM generate_series(1, " + WIDE_ROWS + ") AS i; ANALYZE bench.wide");
    String yaml = """
        apiVersion: housekeeper.dev/v1alpha1
        kind: ReportMart
        metadata: {name: bench-wide, namespace: %s}
        spec:
          connectionRef: {name: ch}
          database: bench_reports
          table: wide
          columns:
            - {name: day, type: Date}
            - {name: id, type: UInt64}
            - {name: user_id, type: UInt32}
            - {name: amount, type: "Decimal(12, 2)"}
            - {name: label, type: String}
          engine: MergeTree
          partitionBy: toYYYYMM(day)
          orderBy: (user_id, id)
          source:
            jdbc:
              url: %s
              credentialsSecret: bionicpro-postgres
              query: SELECT day, id, user_id, amount, label FROM bench.wide WHERE day >= {window_start} AND day < {window_end}
          refresh:
            mode: full
        """.formatted(NS, pg.jdbcUrl());
    ReportMart mart = Serialization.unmarshal(yaml, ReportMart.class);
    String query = mart.getSpec().source.jdbc.query.replace("{window_start}", "date '1970-01-01'")
        .replace("{window_end}", "date '2100-01-01'");
    List<Double> baseTimes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ch.sql("DROP TABLE IF EXISTS bench_base.wide;" + MartSql.createTable(mart.getSpec(), "bench_base", "wide"));
      baseTimes.add(BackupBench.shell("PGPASSWORD=" + PostgresServer.PASSWORD + " " + String.join(" ", pg.psql("-c",
          "'\\copy (" + query.replace("'", "'\\''") + ") to stdout'")) + " | clickhouse-client --host 127.0.0.1 --port "
          + ch.tcpPort() + " --user " + ClickHouseServer.USER + " --password " + ClickHouseServer.PASSWORD
          + " --query 'INSERT INTO bench_base.wide FORMAT TabSeparated'"));
      check(ch, "bench_base.wide");
    }
    // the first build, from the mart's creation, warms the operator's path up; then three full refreshes
    harness.client().resource(mart).create();
    await(harness, "bench-wide", 1);
    check(ch, "bench_reports.wide");
    List<Double> opTimes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      long s = System.nanoTime();
      harness.client().resources(ReportMart.class).inNamespace(NS).withName("bench-wide").patch(
          PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\""
              + ReportMart.FULL_NOW_ANNOTATION + "\":\"bench-" + i + "\"}}}");
      await(harness, "bench-wide", i + 2);
      opTimes.add((System.nanoTime() - s) / 1e9);
      check(ch, "bench_reports.wide");
    }
    double op = BackupBench.median(opTimes);
    double base = BackupBench.median(baseTimes);
    System.out.printf("mart of %,d rows (s): operator %s, baseline %s%n", WIDE_ROWS, opTimes, baseTimes);
    return List.of(new Row("mart of 1,000,000 rows, jdbc path (rows/s), median of 3", String.format("%.0f",
        WIDE_ROWS / op), String.format("%.0f", WIDE_ROWS / base), Footprint.ratio(base, op), ">= 1.0x"));
  }

  private static void check(ClickHouseServer ch, String table) {
    long n = ch.sqlLong("SELECT count() FROM " + table);
    if (n != WIDE_ROWS) {
      throw new IllegalStateException(table + " holds " + n + " rows, not " + WIDE_ROWS);
    }
  }

  static void await(OperatorHarness harness, String name, long refreshes) {
    BackupBench.await(() -> {
      ReportMart m = harness.client().resources(ReportMart.class).inNamespace(NS).withName(name).get();
      var st = m == null ? null : m.getStatus();
      if (st != null && st.phase == ReportMartStatus.Phase.Failed) {
        throw new IllegalStateException(name + " failed: " + Serialization.asJson(st));
      }
      return st != null && st.refreshes != null && st.refreshes >= refreshes
          && st.phase == ReportMartStatus.Phase.Ready;
    }, 300);
  }

  static void sleep(long ms) throws InterruptedException {
    TimeUnit.MILLISECONDS.sleep(ms);
  }
}
