package dev.housekeeper.mart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.HttpClickHouseClient;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.PostgresServer;
import dev.housekeeper.testing.TestClock;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * ReportMart through the real operator and the mock API, from a real PostgreSQL server (the
 * BionicPRO example, as shipped in examples/bionicpro) into the real ClickHouse server.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReportMartIT {

  static final String NS = "mart-it";
  static final Path EXAMPLE = Path.of(System.getProperty("housekeeper.projectDir", "."), "examples/bionicpro");
  static final TestClock CLOCK = new TestClock();
  static final String USER_MART = "report-user-monthly-metrics";
  static final String PROSTHETIC_MART = "report-prosthetic-monthly-metrics";
  static OperatorHarness harness;
  static ClickHouseServer ch;
  static PostgresServer pg;
  static ClickHouseClient client;
  static Map<String, ReportMart> examples = new java.util.HashMap<>();

  @BeforeAll
  static void start() throws Exception {
    // the data ends in June 2026: the operator's clock is set inside that month
    CLOCK.advance(Duration.between(Instant.now(), Instant.parse("2026-06-20T12:00:00Z")));
    harness = OperatorHarness.start(OperatorSettings.forTests(), CLOCK);
    ch = harness.clickhouse();
    harness.namespace(NS);
    harness.readyConnection(NS, "ch");
    client = new HttpClickHouseClient(ClientConfig.of(List.of(ch.httpUrl()), ClickHouseServer.USER,
        ClickHouseServer.PASSWORD));
    ch.sql("DROP DATABASE IF EXISTS reports");
    pg = new PostgresServer().start();
    pg.sql(Files.readString(EXAMPLE.resolve("postgres-schema.sql")));
    pg.sql(Files.readString(EXAMPLE.resolve("generate.sql")));
    harness.secret(NS, "bionicpro-postgres", Map.of("username", PostgresServer.USER, "password",
        PostgresServer.PASSWORD));
    try (InputStream in = Files.newInputStream(EXAMPLE.resolve("report-marts.yaml"))) {
      for (HasMetadata item : harness.client().load(in).items()) {
        if ("ReportMart".equals(item.getKind())) {
          ReportMart m = Serialization.unmarshal(Serialization.asJson(item), ReportMart.class);
          examples.put(m.getMetadata().getName(), m);
        }
      }
    }
  }

  @AfterAll
  static void stop() {
    harness.close();
    client.close();
    pg.close();
  }

  static ReportMart fromExample(String name) {
    ReportMart m = Serialization.clone(examples.get(name));
    m.getMetadata().setNamespace(NS);
    m.getSpec().connectionRef = new ConnectionRef("ch");
    m.getSpec().source.jdbc.url = pg.jdbcUrl();
    return m;
  }

  /**
   * A full-refresh mart of the test PostgreSQL, ordered by its first column; {@code columns} as
   * {@code "name Type; name Type"}.
   */
  static ReportMart jdbcMart(String name, String table, String columns, String query) {
    var spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef("ch");
    spec.database = "reports";
    spec.table = table;
    spec.columns = new ArrayList<>();
    for (String column : columns.split(";\\s*")) {
      String[] nameAndType = column.split(" ", 2);
      spec.columns.add(new ReportMartSpec.Column(nameAndType[0], nameAndType[1]));
    }
    spec.engine = "MergeTree";
    spec.orderBy = spec.columns.get(0).name;
    spec.source = new ReportMartSpec.Source();
    spec.source.jdbc = new ReportMartSpec.JdbcSource();
    spec.source.jdbc.url = pg.jdbcUrl();
    spec.source.jdbc.credentialsSecret = "bionicpro-postgres";
    spec.source.jdbc.query = query;
    spec.refresh = new ReportMartSpec.Refresh();
    spec.refresh.mode = ReportMartSpec.Mode.full;
    ReportMart m = new ReportMart();
    m.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    m.setSpec(spec);
    return m;
  }

  static ReportMart get(String name) {
    return harness.client().resources(ReportMart.class).inNamespace(NS).withName(name).get();
  }

  static ReportMart await(String name, Predicate<ReportMartStatus> condition) {
    try {
      return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
          .until(() -> get(name), m -> m != null && m.getStatus() != null && condition.test(m.getStatus()));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      ReportMart now = get(name);
      throw new AssertionError("timed out; status " + (now == null ? "(gone)" : Serialization.asJson(now.getStatus())),
          e);
    }
  }

  static void annotate(String name, String key, String value) {
    harness.client().resources(ReportMart.class).inNamespace(NS).withName(name).patch(
        PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\"" + key + "\":\"" + value + "\"}}}");
  }

  /** Asks for a refresh and waits until one that ended after the request is reported. */
  static ReportMartStatus refreshNow(String name, String annotation, String token) {
    long before = get(name).getStatus().refreshes == null ? 0 : get(name).getStatus().refreshes;
    annotate(name, annotation, token);
    return await(name, s -> token.equals(annotation.equals(ReportMart.RUN_NOW_ANNOTATION) ? s.acknowledgedRunNow
        : s.acknowledgedFullNow) && s.phase != ReportMartStatus.Phase.Refreshing && s.refreshes != null
        && s.refreshes > before).getStatus();
  }

  static String readyReason(ReportMartStatus s) {
    return Conditions.find(s.getConditions(), Conditions.READY).map(c -> c.getReason()).orElse(null);
  }

  /** The mart's rows, each value normalized (numbers without trailing zeros), in the mart's key order. */
  static List<List<String>> martRows(String table, String orderBy) {
    List<List<String>> out = new ArrayList<>();
    String text = ch.sql("SELECT * FROM reports." + table + " ORDER BY " + orderBy + " FORMAT TabSeparated");
    for (String line : text.split("\n")) {
      if (!line.isEmpty()) {
        out.add(List.of(line.split("\t", -1)).stream().map(ReportMartIT::normalize).toList());
      }
    }
    return out;
  }

  /** The same aggregates computed directly in PostgreSQL: the mart's own query, for every date. */
  static List<List<String>> postgresRows(String martName) throws Exception {
    String query = Window.ALL.bindPostgres(examples.get(martName).getSpec().source.jdbc.query);
    List<List<String>> out = new ArrayList<>();
    try (Connection c = pg.connect(); PreparedStatement st = c.prepareStatement(query)) {
      try (ResultSet rs = st.executeQuery()) {
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          List<String> row = new ArrayList<>();
          for (int i = 1; i <= n; i++) {
            row.add(normalize(rs.getString(i)));
          }
          out.add(row);
        }
      }
    }
    return out;
  }

  static String normalize(String v) {
    if (v != null && v.matches("^-?[0-9]+(\\.[0-9]+)?$")) {
      BigDecimal d = new BigDecimal(v).stripTrailingZeros();
      return d.scale() < 0 ? d.setScale(0).toPlainString() : d.toPlainString();
    }
    return v;
  }

  static Map<String, List<String>> partNames(String table) {
    Map<String, List<String>> out = new java.util.TreeMap<>();
    for (String line : ch.sql("SELECT partition_id, name FROM system.parts WHERE database = 'reports' AND table = '"
        + table + "' AND active ORDER BY partition_id, name").split("\n")) {
      if (!line.isEmpty()) {
        out.computeIfAbsent(line.split("\t")[0], k -> new ArrayList<>()).add(line.split("\t")[1]);
      }
    }
    return out;
  }

  @Test
  @Order(1)
  void bothBionicProMartsEqualTheAggregatesComputedInPostgres() throws Exception {
    // the generator's volume, as the seed describes it
    assertEquals(12, count("SELECT count(*) FROM crm.users"));
    assertEquals(15, count("SELECT count(*) FROM crm.prosthetics"));
    assertThat(count("SELECT count(*) FROM telemetry.events")).isBetween(440_000L, 470_000L);
    assertThat(count("SELECT count(*) FROM telemetry.battery_metrics")).isBetween(44_000L, 47_000L);
    harness.client().resource(fromExample(USER_MART)).create();
    harness.client().resource(fromExample(PROSTHETIC_MART)).create();
    ReportMartStatus u = await(USER_MART, s -> s.phase == ReportMartStatus.Phase.Ready).getStatus();
    ReportMartStatus p = await(PROSTHETIC_MART, s -> s.phase == ReportMartStatus.Phase.Ready).getStatus();
    assertEquals("full", u.lastRefresh.mode);
    assertThat(u.lastRefresh.why).startsWith("MartMissing");
    assertEquals("reports.report_user_monthly_metrics", u.table);
    assertEquals(12L * 30, u.lastRefresh.rowsWritten);
    assertEquals(12L * 30, u.lastRefresh.sourceRows);
    assertEquals(15L * 30, p.lastRefresh.rowsWritten);
    assertNotNull(u.schemaHash);
    assertEquals("2026-06-21T02:00:00Z", u.nextRefreshTime);
    assertEquals("Refreshed", readyReason(u));

    List<List<String>> userMart = martRows("report_user_monthly_metrics", "user_id, report_date");
    assertEquals(postgresRows(USER_MART), userMart);
    List<List<String>> prostheticMart = martRows("report_prosthetic_monthly_metrics",
        "user_id, prosthetic_id, report_date");
    assertEquals(postgresRows(PROSTHETIC_MART), prostheticMart);
    // the marts are not trivially empty: payments, failures, sessions, errors are all there
    assertThat(ch.sql("SELECT sum(total_payments) > 0, sum(failed_payments_count) > 0, sum(support_tickets_count) > 0"
        + " FROM reports.report_user_monthly_metrics").strip()).isEqualTo("1\t1\t1");
    assertThat(ch.sql("SELECT sum(power_on_count), sum(error_count) > 0, sum(critical_error_count) > 0,"
        + " min(avg_charge_rate) > 0 FROM reports.report_prosthetic_monthly_metrics").strip())
        .isEqualTo(count("SELECT count(*) FROM telemetry.events WHERE event_type = 'power_on'") + "\t1\t1\t1");
    assertEquals("30", ch.sql("SELECT uniqExact(_partition_id) FROM reports.report_user_monthly_metrics").strip());
    assertThat(harness.events(get(USER_MART))).extracting(e -> e.getReason()).contains("RefreshStarted", "Refreshed");
    String metrics = harness.http("/metrics").body();
    assertThat(metrics).contains("housekeeper_mart_rows_written_total{namespace=\"mart-it\"}");
    // the operator's account of where its time went counts the steps this build took
    for (String step : List.of("reconcile_queue", "reconcile", "work_queue", "clickhouse_request", "status_write",
        "event_post")) {
      java.util.regex.Matcher count = java.util.regex.Pattern.compile("housekeeper_step_duration_seconds_count\\{step=\""
          + step + "\"\\} (\\S+)").matcher(metrics);
      assertThat(count.find()).as(step).isTrue();
      assertThat(Double.parseDouble(count.group(1))).as(step).isPositive();
    }
  }

  static long count(String sql) throws Exception {
    try (Connection c = pg.connect(); var st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  @Order(2)
  void newEventsOfTheLatestMonthAndAnIncrementalRefreshChangeOnlyTheWindowsPartitions() throws Exception {
    String table = "report_prosthetic_monthly_metrics";
    Map<String, List<String>> partsBefore = partNames(table);
    String mayBefore = ch.sql("SELECT * FROM reports." + table + " WHERE report_date = '2026-05-01' ORDER BY"
        + " prosthetic_id");
    long juneBefore = Long.parseLong(ch.sql("SELECT power_on_count FROM reports." + table
        + " WHERE report_date = '2026-06-01' AND prosthetic_id = 1").strip());
    pg.sql("INSERT INTO telemetry.events SELECT 10000000 + g, 1, 1, timestamp '2026-06-20 08:00' + g * interval"
        + " '1 minute', 'power_on', 0 FROM generate_series(1, 40) AS g");

    ReportMartStatus s = refreshNow(PROSTHETIC_MART, ReportMart.RUN_NOW_ANNOTATION, "june");
    assertEquals(ReportMartStatus.Phase.Ready, s.phase, Serialization.asJson(s));
    assertEquals("incremental", s.lastRefresh.mode);
    assertEquals("2026-05-01", s.lastRefresh.windowStart);
    assertEquals("2026-07-01", s.lastRefresh.windowEnd);
    assertEquals(List.of("202605", "202606"), s.lastRefresh.partitionsReplaced);
    assertEquals(30L, s.lastRefresh.rowsWritten); // 15 prosthetics x 2 months
    assertEquals("replacePartition", s.lastRefresh.swap);

    Map<String, List<String>> partsAfter = partNames(table);
    for (String partition : partsBefore.keySet()) {
      if (!partition.equals("202605") && !partition.equals("202606")) {
        assertEquals(partsBefore.get(partition), partsAfter.get(partition), "partition " + partition + " untouched");
      }
    }
    assertNotEquals(partsBefore.get("202606"), partsAfter.get("202606"));
    assertEquals(mayBefore, ch.sql("SELECT * FROM reports." + table + " WHERE report_date = '2026-05-01' ORDER BY"
        + " prosthetic_id"), "May rebuilt with the same content");
    assertEquals(juneBefore + 40, Long.parseLong(ch.sql("SELECT power_on_count FROM reports." + table
        + " WHERE report_date = '2026-06-01' AND prosthetic_id = 1").strip()));
    assertEquals(postgresRows(PROSTHETIC_MART), martRows(table, "user_id, prosthetic_id, report_date"));
  }

  @Test
  @Order(3)
  void aReaderCountingDuringAFullRefreshNeverSeesFewerRows() throws Exception {
    String table = "reports.report_user_monthly_metrics";
    long rows = Long.parseLong(ch.sql("SELECT count() FROM " + table).strip());
    AtomicBoolean reading = new AtomicBoolean(true);
    AtomicLong reads = new AtomicLong();
    AtomicLong fewer = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    List<String> errorTexts = java.util.Collections.synchronizedList(new ArrayList<>());
    Thread reader = new Thread(() -> {
      while (reading.get()) {
        try {
          long n = client.query(Sql.query("SELECT count() AS n FROM reports.report_user_monthly_metrics")).get(0)
              .longValue("n");
          reads.incrementAndGet();
          if (n < rows) {
            fewer.incrementAndGet();
          }
        } catch (RuntimeException e) {
          errors.incrementAndGet();
          errorTexts.add(e.getMessage());
        }
      }
    });
    reader.start();
    try {
      for (int i = 0; i < 3; i++) {
        ReportMartStatus s = refreshNow(USER_MART, ReportMart.FULL_NOW_ANNOTATION, "full-" + i);
        assertEquals("full", s.lastRefresh.mode);
        assertEquals("rename", s.lastRefresh.swap, "18.16 has no EXCHANGE TABLES");
      }
    } finally {
      reading.set(false);
      reader.join();
    }
    System.out.printf("reader during 3 full refreshes: %d counts, %d fewer than %d, %d errors%n", reads.get(),
        fewer.get(), rows, errors.get());
    assertThat(reads.get()).isGreaterThan(10);
    assertEquals(0, fewer.get(), "a reader saw fewer rows than before or after");
    assertEquals(0, errors.get(), "errors seen by the reader: " + errorTexts);
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'reports' AND name LIKE '%_hk_%'"),
        "no staging table left");
  }

  @Test
  @Order(4)
  void aSourceErrorKeepsThePreviousDataAndSaysWhy() throws Exception {
    String table = "reports.report_user_monthly_metrics";
    String before = ch.sql("SELECT * FROM " + table + " ORDER BY user_id, report_date");
    ReportMart m = get(USER_MART);
    String good = m.getSpec().source.jdbc.query;
    m.getSpec().source.jdbc.query = good.replace("GROUP BY 1, 2", "GROUP BY 1, 2 HAVING");
    harness.client().resource(m).update();
    ReportMartStatus s = refreshNow(USER_MART, ReportMart.RUN_NOW_ANNOTATION, "broken");
    assertEquals(ReportMartStatus.Phase.Failed, s.phase);
    assertEquals("SourceQueryFailed", readyReason(s));
    assertThat(s.lastRefresh.error).contains("syntax error");
    assertThat(Conditions.find(s.getConditions(), Conditions.READY).orElseThrow().getMessage())
        .contains("keeps its previous data");
    assertEquals(before, ch.sql("SELECT * FROM " + table + " ORDER BY user_id, report_date"));
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'reports' AND name LIKE '%_hk_%'"));
    assertThat(harness.events(get(USER_MART))).extracting(e -> e.getReason()).contains("SourceQueryFailed");

    ReportMart fixed = get(USER_MART);
    fixed.getSpec().source.jdbc.query = good;
    harness.client().resource(fixed).update();
    assertEquals(ReportMartStatus.Phase.Ready, refreshNow(USER_MART, ReportMart.RUN_NOW_ANNOTATION, "fixed").phase);
  }

  @Test
  @Order(5)
  void postgresStoppedAndStartedAgainIsSurvived() throws Exception {
    String table = "reports.report_prosthetic_monthly_metrics";
    String before = ch.sql("SELECT * FROM " + table + " ORDER BY user_id, prosthetic_id, report_date");
    pg.stop();
    try {
      annotate(PROSTHETIC_MART, ReportMart.RUN_NOW_ANNOTATION, "pg-down");
      ReportMartStatus down = await(PROSTHETIC_MART, s -> "pg-down".equals(s.acknowledgedRunNow)
          && s.phase == ReportMartStatus.Phase.Failed && s.retryTime != null).getStatus();
      assertEquals("SourceUnavailable", readyReason(down));
      assertEquals(1, down.consecutiveFailures);
      assertEquals(before, ch.sql("SELECT * FROM " + table + " ORDER BY user_id, prosthetic_id, report_date"));
    } finally {
      pg.start();
    }
    ReportMartStatus back = await(PROSTHETIC_MART, s -> s.phase == ReportMartStatus.Phase.Ready).getStatus();
    assertThat(back.lastRefresh.why).startsWith("Retry");
    assertEquals("Succeeded", back.lastRefresh.outcome);
    assertEquals(null, back.retryTime);
    assertEquals(postgresRows(PROSTHETIC_MART), martRows("report_prosthetic_monthly_metrics",
        "user_id, prosthetic_id, report_date"));
  }

  @Test
  @Order(6)
  void aClickHouseSourceMartIsBuiltInsideClickHouseAndASchemaChangeRebuildsIt() {
    ReportMartSpec spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef("ch");
    spec.database = "reports";
    spec.table = "fleet_monthly";
    spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("report_date", "Date"),
        new ReportMartSpec.Column("power_on", "UInt64")));
    spec.partitionBy = "toYear(report_date)";
    spec.orderBy = "report_date";
    spec.source = new ReportMartSpec.Source();
    spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
    spec.source.clickhouse.query = "SELECT report_date, sum(power_on_count) FROM reports.report_prosthetic_monthly_metrics"
        + " WHERE report_date >= {window_start} AND report_date < {window_end} GROUP BY report_date";
    ReportMart m = new ReportMart();
    m.setMetadata(new ObjectMetaBuilder().withName("fleet").withNamespace(NS).build());
    m.setSpec(spec);
    harness.client().resource(m).create();
    ReportMartStatus s = await("fleet", x -> x.phase == ReportMartStatus.Phase.Ready).getStatus();
    assertEquals(30L, s.lastRefresh.rowsWritten);
    String direct = "SELECT report_date, sum(power_on_count) FROM reports.report_prosthetic_monthly_metrics GROUP BY"
        + " report_date ORDER BY report_date";
    assertEquals(ch.sql(direct), ch.sql("SELECT * FROM reports.fleet_monthly ORDER BY report_date"));
    String hash = s.schemaHash;

    ReportMart changed = get("fleet");
    changed.getSpec().columns.add(new ReportMartSpec.Column("errors", "UInt64"));
    changed.getSpec().source.clickhouse.query = "SELECT report_date, sum(power_on_count), sum(error_count) FROM"
        + " reports.report_prosthetic_monthly_metrics WHERE report_date >= {window_start} AND report_date <"
        + " {window_end} GROUP BY report_date";
    harness.client().resource(changed).update();
    ReportMartStatus rebuilt = await("fleet", x -> x.schemaHash != null && !x.schemaHash.equals(hash)
        && x.phase == ReportMartStatus.Phase.Ready).getStatus();
    assertThat(rebuilt.lastRefresh.why).startsWith("SchemaChanged");
    assertEquals("full", rebuilt.lastRefresh.mode);
    assertEquals(ch.sql("SELECT report_date, sum(power_on_count), sum(error_count) FROM"
        + " reports.report_prosthetic_monthly_metrics GROUP BY report_date ORDER BY report_date"),
        ch.sql("SELECT * FROM reports.fleet_monthly ORDER BY report_date"));
  }

  @Test
  @Order(7)
  void everyColumnTypeArrivesFromPostgresAsItsSourceHoldsIt() {
    pg.sql("CREATE TABLE public.all_types (k int, i8 smallint, flag boolean, i16 smallint, u16 int, i32 int, u32 bigint,"
        + " i64 bigint, u64 numeric(20, 0), f32 real, f64 double precision, s text, d date, dt timestamp,"
        + " dtz timestamptz, dec numeric(12, 3), dec128 numeric(30, 4), ns text, ni int);"
        + " INSERT INTO public.all_types VALUES"
        + " (1, -128, true, -32768, 65535, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615, 1.5,"
        + " -2.25, 'Отчёт \"q\" ''x''' || chr(9) || 'tab', date '2026-06-01', timestamp '2026-06-01 12:34:56',"
        + " timestamptz '2026-06-01 12:34:56+03', -1234.565, 12345678901234567890.1234, 'x', 7),"
        + " (2, 127, false, 32767, 0, 2147483647, 0, 9223372036854775807, 0, -0.25, 1234.5, '', date '1970-01-02',"
        + " timestamp '1970-01-01 00:00:01', timestamptz '2038-01-19 03:14:07+00', 0.005, -0.0001, NULL, NULL)");
    harness.client().resource(jdbcMart("all-types", "all_types", "k Int32; i8 Int8; flag UInt8; i16 Int16; u16 UInt16;"
        + " i32 Int32; u32 UInt32; i64 Int64; u64 UInt64; f32 Float32; f64 Float64; s String; d Date; dt DateTime;"
        + " dtz DateTime; dec Decimal(12, 2); dec128 Decimal(30, 4); ns Nullable(String); ni Nullable(Int32)",
        "SELECT k, i8, flag, i16, u16, i32, u32, i64, u64, f32, f64, s, d, dt, dtz, dec, dec128, ns, ni FROM"
            + " public.all_types")).create();
    ReportMartStatus s = await("all-types", x -> x.phase == ReportMartStatus.Phase.Ready).getStatus();
    assertEquals(2L, s.lastRefresh.rowsWritten);
    // DateTime as seconds since the epoch (the server prints it in its own time zone): a timestamp without a
    // time zone is taken as UTC; decimals are rounded half to even to the mart's scale; NULL is \N
    assertEquals("1\t-128\t1\t-32768\t65535\t-2147483648\t4294967295\t-9223372036854775808\t18446744073709551615"
        + "\t1.5\t-2.25\tОтчёт \"q\" \\'x\\'\\ttab\t2026-06-01\t1780317296\t1780306496\t-1234.56"
        + "\t12345678901234567890.1234\tx\t7\n"
        + "2\t127\t0\t32767\t0\t2147483647\t0\t9223372036854775807\t0\t-0.25\t1234.5\t\t1970-01-02\t1"
        + "\t2147483647\t0.00\t-0.0001\t\\N\t\\N",
        ch.sql("SELECT k, i8, flag, i16, u16, i32, u32, i64, u64, f32, f64, s, d, toUnixTimestamp(dt),"
            + " toUnixTimestamp(dtz), dec, dec128, ns, ni FROM reports.all_types ORDER BY k"));
  }

  @Test
  @Order(8)
  void aNullIntoAColumnThatIsNotNullableFailsTheRefreshAndSaysWhich() {
    ReportMart m = jdbcMart("null-into-int", "null_into_int", "k Int32; v Int32", "SELECT 1 AS k, NULL::int AS v");
    harness.client().resource(m).create();
    ReportMartStatus s = await("null-into-int", x -> x.phase == ReportMartStatus.Phase.Failed).getStatus();
    assertThat(s.lastRefresh.error).contains("column v is NULL, but its mart type Int32 is not Nullable");
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'reports' AND name LIKE 'null_into_int%'"));
  }

  @Test
  @Order(9)
  void aQueryReturningAnotherNumberOfColumnsFailsBeforeAnyRowAndSaysHowMany() {
    // a query ending in a comment: it is read inside COPY ( ... ) all the same
    ReportMart m = jdbcMart("too-many-columns", "too_many_columns", "k Int32; v Int32",
        "SELECT 1 AS k, 2 AS v, 3 AS w -- one too many");
    harness.client().resource(m).create();
    ReportMartStatus s = await("too-many-columns", x -> x.phase == ReportMartStatus.Phase.Failed).getStatus();
    assertEquals("ColumnMismatch", readyReason(s));
    assertThat(s.lastRefresh.error).contains("the source query returns 3 columns, the mart has 2 ([k, v])");
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'reports' AND name LIKE"
        + " 'too_many_columns%'"));
  }
}
