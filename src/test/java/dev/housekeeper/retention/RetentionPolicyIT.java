package dev.housekeeper.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.api.retention.RetentionPolicyStatus.Phase;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** RetentionPolicy through the real operator and mock API, on the real ClickHouse server. */
class RetentionPolicyIT {

  static final String NS = "ret-it";
  static OperatorHarness harness;
  static ClickHouseServer ch;
  static final LocalDate TODAY = LocalDate.now(ZoneOffset.UTC);

  @BeforeAll
  static void start() {
    harness = OperatorHarness.start();
    ch = harness.clickhouse();
    harness.namespace(NS);
    harness.readyConnection(NS, "ch");
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  static String database(String name) {
    ch.sql("DROP DATABASE IF EXISTS " + name + "; CREATE DATABASE " + name);
    return name;
  }

  /** A table partitioned by month with one row per day on the 10th..12th of each of the last 24 months. */
  static void monthly(String db, String table) {
    ch.sql("CREATE TABLE " + db + "." + table + " (d Date, id UInt64, v String) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id");
    StringBuilder values = new StringBuilder();
    for (int m = 0; m < 24; m++) {
      LocalDate month = TODAY.withDayOfMonth(1).minusMonths(m);
      for (int day = 10; day <= 12; day++) {
        values.append(values.isEmpty() ? "" : ",").append("('").append(month.withDayOfMonth(day)).append("', ")
            .append(m * 100 + day).append(", 'x')");
      }
    }
    ch.sql("INSERT INTO " + db + "." + table + " VALUES " + values);
  }

  /** Partitions (YYYYMM) whose newest row is older than the cutoff of a keep of n months, except the newest. */
  static List<String> expectedOld(int months) {
    LocalDate cutoff = TODAY.minusMonths(months);
    List<String> out = new ArrayList<>();
    for (int m = 23; m >= 1; m--) {
      LocalDate month = TODAY.withDayOfMonth(1).minusMonths(m);
      if (month.withDayOfMonth(12).isBefore(cutoff)) {
        out.add(String.format("%d%02d", month.getYear(), month.getMonthValue()));
      }
    }
    return out;
  }

  static Map<String, Long> partitionRows(String db, String table) {
    Map<String, Long> out = new java.util.TreeMap<>();
    String text = ch.sql("SELECT partition_id, sum(rows) FROM system.parts WHERE database = '" + db + "' AND table = '"
        + table + "' AND active GROUP BY partition_id ORDER BY partition_id");
    if (!text.isEmpty()) {
      Arrays.stream(text.split("\n")).forEach(l -> out.put(l.split("\t")[0], Long.parseLong(l.split("\t")[1])));
    }
    return out;
  }

  static RetentionPolicy policy(String name, String db, String keep, String... tables) {
    var spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef("ch"));
    spec.setDatabase(db);
    var sel = new RetentionPolicySpec.TableSelector();
    sel.setNames(new ArrayList<>(List.of(tables)));
    spec.setTables(sel);
    spec.setKeep(keep);
    spec.setMaxPartitionsPerRun(30);
    var p = new RetentionPolicy();
    p.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    p.setSpec(spec);
    return p;
  }

  static RetentionPolicy get(String name) {
    return harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName(name).get();
  }

  static RetentionPolicy awaitState(String name, Predicate<RetentionPolicy> condition) {
    try {
      return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
          .until(() -> get(name), p -> p != null && p.getStatus() != null && condition.test(p));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      RetentionPolicy now = get(name);
      throw new AssertionError("timed out; annotations " + now.getMetadata().getAnnotations() + ", status "
          + io.fabric8.kubernetes.client.utils.Serialization.asJson(now.getStatus()), e);
    }
  }

  /** Sets the run-now annotation and waits for the run it asks for to be reported. */
  static RetentionPolicy runNow(String name, String token) {
    // as kubectl annotate does: a merge patch, without a resourceVersion
    harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName(name).patch(
        io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
        "{\"metadata\":{\"annotations\":{\"" + RetentionPolicy.RUN_NOW_ANNOTATION + "\":\"" + token + "\"}}}");
    return awaitState(name, p -> token.equals(p.getStatus().acknowledgedRunNow) && p.getStatus().lastRun != null
        && p.getStatus().phase != Phase.Progressing);
  }

  static RetentionPolicyStatus.TablePlan table(List<RetentionPolicyStatus.TablePlan> plans, String table) {
    return plans.stream().filter(t -> table.equals(t.table)).findFirst().orElseThrow();
  }

  @Test
  void sixMonthPolicyDropsExactlyTheOlderPartitionsAndTheDryRunPreviewNamedThem() {
    String db = database("ret_monthly");
    monthly(db, "events");
    Map<String, Long> before = partitionRows(db, "events");
    assertEquals(24, before.size());
    List<String> expected = expectedOld(6);

    // dry run first: nothing removed, preview and report name the partitions
    RetentionPolicy dry = policy("monthly", db, "6M", "events");
    dry.getSpec().setDryRun(true);
    harness.client().resource(dry).create();
    RetentionPolicy p = awaitState("monthly", x -> !x.getStatus().preview.isEmpty());
    assertEquals(expected, table(p.getStatus().preview, "events").partitions);
    p = runNow("monthly", "dry-1");
    assertEquals(expected, table(p.getStatus().lastRun.tables, "events").partitions);
    assertEquals(before, partitionRows(db, "events"), "the dry run removed nothing");

    harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName("monthly").edit(x -> {
      x.getSpec().setDryRun(false);
      return x;
    });
    p = runNow("monthly", "real-1");
    Map<String, Long> after = partitionRows(db, "events");
    List<String> dropped = before.keySet().stream().filter(k -> !after.containsKey(k)).toList();
    assertEquals(expected, dropped, "exactly the older partitions");
    after.forEach((k, v) -> assertEquals(before.get(k), v, "kept partition " + k + " unchanged"));
    assertEquals(expected.size(), p.getStatus().lastRun.partitionsDroppedCount);
    assertEquals(expected.size() * 3L, p.getStatus().lastRun.rowsDeleted);
    assertThat(p.getStatus().lastRun.bytesFreed).isPositive();
    RetentionPolicy done = p;
    // one Event for the run: the first 10 partitions by name, the count of the others
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(done).stream()
        .anyMatch(e -> "PartitionsDropped".equals(e.getReason())));
    var event = harness.events(done).stream().filter(e -> "PartitionsDropped".equals(e.getReason())).toList();
    assertThat(event).hasSize(1);
    assertThat(event.get(0).getMessage()).startsWith("Dropped " + expected.size() + " partition(s) of 1 table(s) of "
        + db + " (" + expected.size() * 3L + " rows, ");
    assertThat(expected).hasSizeGreaterThan(10);
    List<String> named = done.getStatus().lastRun.partitionsDropped.subList(0, 10);
    assertThat(event.get(0).getMessage()).endsWith(": " + String.join(", ", named) + " and " + (expected.size() - 10)
        + " more (status.lastRun lists them all)");
    assertThat(harness.operator().registry().find("housekeeper_retention_partitions_dropped").counter().count())
        .isGreaterThanOrEqualTo(expected.size());
  }

  @Test
  void deleteModeRemovesExactlyTheRowsPastTheCutoff() {
    String db = database("ret_delete");
    ch.sql("CREATE TABLE " + db + ".by_user (ts DateTime, user UInt64) ENGINE = MergeTree PARTITION BY user % 4"
        + " ORDER BY user");
    ch.sql("INSERT INTO " + db + ".by_user SELECT now() - number * 3600 * 5, number FROM system.numbers LIMIT 1000");
    long expectedLeft = ch.sqlLong("SELECT countIf(ts >= toDateTime('" + TODAY.minusDays(30)
        + " 00:00:00', 'UTC')) FROM " + db + ".by_user");
    RetentionPolicy r = policy("delete", db, "30d", "by_user");
    r.getSpec().setAction(RetentionPolicySpec.Action.delete);
    r.getSpec().setColumn("ts");
    r.getSpec().setMaxRowsPerRun(10_000);
    harness.client().resource(r).create();
    RetentionPolicy p = runNow("delete", "d1");
    assertEquals(expectedLeft, ch.sqlLong("SELECT count() FROM " + db + ".by_user"));
    assertEquals(1000 - expectedLeft, p.getStatus().lastRun.rowsDeleted);
    RetentionPolicy done = p;
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(done).stream()
        .anyMatch(e -> "MutationIssued".equals(e.getReason())));
  }

  @Test
  void notTimePartitionedTableUnderDropPartitionsSuggestsDelete() {
    String db = database("ret_nottime");
    ch.sql("CREATE TABLE " + db + ".t (d Date, id UInt64) ENGINE = MergeTree PARTITION BY id % 2 ORDER BY id;"
        + " INSERT INTO " + db + ".t VALUES ('2001-01-01', 1), ('2001-01-02', 2)");
    harness.client().resource(policy("nottime", db, "30d", "t")).create();
    RetentionPolicy p = awaitState("nottime", x -> !x.getStatus().preview.isEmpty());
    var plan = table(p.getStatus().preview, "t");
    assertEquals("NotTimePartitioned", plan.reason);
    assertThat(plan.error).contains("action: delete");
    assertEquals(Phase.Degraded, p.getStatus().phase);
  }

  @Test
  void optimizeFinalReducesTheActivePartsOfTheChosenPartitions() {
    String db = database("ret_optimize");
    ch.sql("CREATE TABLE " + db + ".t (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id");
    for (int i = 0; i < 3; i++) {
      for (String month : List.of("2024-01-05", "2024-02-05", "2024-03-05")) {
        ch.sql("INSERT INTO " + db + ".t VALUES ('" + month + "', " + i + ")");
      }
    }
    ch.sql("INSERT INTO " + db + ".t VALUES ('2024-04-05', 1)"); // newest partition: one part, nothing to merge
    RetentionPolicy r = policy("optimize", db, "100y", "t");
    var opt = new RetentionPolicySpec.Optimize();
    opt.setLastPartitions(3); // 202404 (skipped: not more than minParts=1 parts), 202403, 202402; not 202401
    r.getSpec().setOptimize(opt);
    r.getMetadata().setAnnotations(Map.of(RetentionPolicy.OPTIMIZE_NOW_ANNOTATION, "o1"));
    harness.client().resource(r).create();
    RetentionPolicy p = awaitState("optimize", x -> "o1".equals(x.getStatus().acknowledgedOptimizeNow)
        && x.getStatus().lastOptimize != null);
    assertEquals(Map.of("202401", 3L, "202402", 1L, "202403", 1L, "202404", 1L), partsPerPartition(db, "t"));
    assertEquals(List.of("202403", "202402"), p.getStatus().lastOptimize.partitions.stream().map(x -> x.partition)
        .toList());
    assertEquals(3, p.getStatus().lastOptimize.partitions.get(0).partsBefore);
    assertEquals(1, p.getStatus().lastOptimize.partitions.get(0).partsAfter);
  }

  static Map<String, Long> partsPerPartition(String db, String table) {
    Map<String, Long> out = new java.util.TreeMap<>();
    Arrays.stream(ch.sql("SELECT partition_id, count() FROM system.parts WHERE database = '" + db + "' AND table = '"
        + table + "' AND active GROUP BY partition_id").split("\n"))
        .forEach(l -> out.put(l.split("\t")[0], Long.parseLong(l.split("\t")[1])));
    return out;
  }

  @Test
  void eachSafetyLimitStopsTheRunWithItsReason() {
    String db = database("ret_limits");
    monthly(db, "many");
    ch.sql("CREATE TABLE " + db + ".old_only (d Date, id UInt64) ENGINE = MergeTree PARTITION BY id % 3 ORDER BY id;"
        + " INSERT INTO " + db + ".old_only VALUES ('2001-01-01', 1), ('2001-02-01', 2), ('2001-03-01', 3)");
    ch.sql("CREATE TABLE " + db + ".single (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id;"
        + " INSERT INTO " + db + ".single VALUES ('2001-01-01', 1), ('2001-01-02', 2)");
    Map<String, Long> manyBefore = partitionRows(db, "many");

    RetentionPolicy r = policy("limits", db, "6M", "many", "single");
    r.getSpec().setMaxPartitionsPerRun(2);
    r.getSpec().getOverrides().add(override("old_only", RetentionPolicySpec.Action.delete, "d"));
    r.getSpec().getTables().getNames().add("old_only");
    harness.client().resource(r).create();
    RetentionPolicy p = runNow("limits", "l1");
    assertEquals("PartitionLimitExceeded", table(p.getStatus().lastRun.tables, "many").reason);
    assertEquals("AllRowsWouldBeRemoved", table(p.getStatus().lastRun.tables, "old_only").reason);
    assertEquals(List.of(), table(p.getStatus().lastRun.tables, "single").partitions,
        "the newest partition is never removed, even when it is old");
    assertEquals(manyBefore, partitionRows(db, "many"));
    assertEquals(3, ch.sqlLong("SELECT count() FROM " + db + ".old_only"));
    assertEquals(2, ch.sqlLong("SELECT count() FROM " + db + ".single"));
    assertEquals(Phase.Degraded, p.getStatus().phase);
    assertThat(Conditions.isTrue(p.getStatus().getConditions(), "Degraded")).isTrue();

    harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName("limits").edit(x -> {
      x.getSpec().setMaxPartitionsPerRun(100);
      x.getSpec().setMaxRowsPerRun(5);
      return x;
    });
    p = runNow("limits", "l2");
    assertEquals("RowLimitExceeded", table(p.getStatus().lastRun.tables, "many").reason);
    assertEquals(manyBefore, partitionRows(db, "many"));
  }

  static RetentionPolicySpec.TableRule override(String table, RetentionPolicySpec.Action action, String column) {
    var o = new RetentionPolicySpec.TableRule();
    o.setTable(table);
    o.setAction(action);
    o.setColumn(column);
    return o;
  }

  @Test
  void aPatternCoversSeveralTablesAndAMissingTableIsReportedWhileTheOthersAreProcessed() {
    String db = database("ret_pattern");
    for (String t : List.of("events_a", "events_b", "events_c", "other")) {
      monthly(db, t);
    }
    RetentionPolicy r = policy("pattern", db, "12M", "missing_table");
    r.getSpec().getTables().setPattern("events_.*");
    r.getSpec().getTables().setExclude(List.of("events_c"));
    harness.client().resource(r).create();
    RetentionPolicy p = runNow("pattern", "p1");
    List<String> expected = expectedOld(12);
    for (String t : List.of("events_a", "events_b")) {
      assertEquals(24 - expected.size(), partitionRows(db, t).size(), t);
      assertEquals(expected, table(p.getStatus().lastRun.tables, t).partitions);
    }
    assertEquals(24, partitionRows(db, "events_c").size(), "excluded");
    assertEquals(24, partitionRows(db, "other").size(), "not matched");
    assertEquals("TableNotFound", table(p.getStatus().lastRun.tables, "missing_table").reason);
    assertEquals(Phase.Degraded, p.getStatus().phase);
    assertEquals("TableNotFound", Conditions.find(p.getStatus().getConditions(), "Degraded").orElseThrow()
        .getReason());
  }

  @Test
  void statisticsMatchSystemParts() {
    String db = database("ret_stats");
    monthly(db, "s");
    ch.sql("INSERT INTO " + db + ".s VALUES ('" + TODAY + "', 999, 'more')");
    harness.client().resource(policy("stats", db, "100y", "s")).create();
    RetentionPolicy p = awaitState("stats", x -> !x.getStatus().tables.isEmpty());
    var stats = p.getStatus().tables.get(0);
    String[] expected = ch.sql("SELECT sum(rows), sum(bytes_on_disk), sum(data_uncompressed_bytes), count(),"
        + " min(partition_id), max(partition_id) FROM system.parts WHERE database = '" + db + "' AND table = 's'"
        + " AND active").split("\t");
    assertEquals(Long.parseLong(expected[0]), stats.rows);
    assertEquals(Long.parseLong(expected[1]), stats.bytesOnDisk);
    assertEquals(Long.parseLong(expected[2]), stats.uncompressedBytes);
    assertEquals(Long.parseLong(expected[3]), stats.activeParts);
    assertEquals(expected[4], stats.oldestPartition);
    assertEquals(expected[5], stats.newestPartition);
    assertThat(stats.compressionRatio).isNotBlank();
    assertEquals(ch.sqlLong("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '" + db + "' AND active"),
        p.getStatus().databaseBytes);
  }

  @Test
  void scheduleShowsTheNextRunInItsTimeZoneAndSuspendClearsIt() {
    String db = database("ret_schedule");
    monthly(db, "s");
    RetentionPolicy r = policy("schedule", db, "100y", "s");
    var schedule = new RetentionPolicySpec.Schedule();
    schedule.setCron("0 3 * * *");
    schedule.setTimeZone("Europe/Berlin");
    r.getSpec().setSchedule(schedule);
    harness.client().resource(r).create();
    RetentionPolicy p = awaitState("schedule", x -> x.getStatus().nextRunTime != null);
    var next = java.time.Instant.parse(p.getStatus().nextRunTime).atZone(java.time.ZoneId.of("Europe/Berlin"));
    assertEquals(3, next.getHour());
    assertEquals(0, next.getMinute());
    assertThat(next.toInstant()).isAfter(java.time.Instant.now())
        .isBefore(java.time.Instant.now().plus(Duration.ofHours(25)));
    assertEquals(null, p.getStatus().lastRun, "nothing ran before the scheduled time");
    harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName("schedule").edit(x -> {
      x.getSpec().setSuspend(true);
      return x;
    });
    awaitState("schedule", x -> x.getStatus().nextRunTime == null
        && x.getMetadata().getGeneration().equals(x.getStatus().getObservedGeneration()));

    // a bad cron expression is a validation error
    RetentionPolicy bad = policy("badcron", db, "1y", "s");
    var badSchedule = new RetentionPolicySpec.Schedule();
    badSchedule.setCron("61 * * * *");
    bad.getSpec().setSchedule(badSchedule);
    harness.client().resource(bad).create();
    RetentionPolicy b = awaitState("badcron", x -> x.getStatus().phase == Phase.Failed);
    assertThat(Conditions.find(b.getStatus().getConditions(), "Ready").orElseThrow().getMessage())
        .contains("spec.schedule.cron").contains("61 * * * *");
  }

  /**
   * Policies created with the run-now annotation already on them (as `kubectl apply` of a manifest
   * that carries it does), each beside a ClickHouseBackup of the same name started at the same time
   * (a "nightly" backup and a "nightly" policy): each policy runs once and its status reports that
   * run, the partitions it dropped; each backup completes with its own tables. The work of every
   * kind runs in one pool, and once it was keyed by namespace and name alone, so the backup took
   * the policy's finished run (the partitions were gone, the policy never said so) in 2 of 3 tries.
   */
  @Test
  void aRunNowAtCreationBesideABackupOfTheSameNameIsReportedByEach() throws Exception {
    String db = database("ret_at_creation");
    String backedUp = database("ret_at_creation_b");
    ch.sql("CREATE TABLE " + backedUp + ".kept (id UInt64) ENGINE = MergeTree ORDER BY id");
    ch.sql("INSERT INTO " + backedUp + ".kept SELECT number FROM system.numbers LIMIT 1000");
    java.nio.file.Path folder = java.nio.file.Files.createTempDirectory("hk-ret-same-name");
    List<String> expected = expectedOld(6);
    int policies = 6;
    for (int i = 0; i < policies; i++) {
      monthly(db, "t" + i);
    }
    for (int i = 0; i < policies; i++) {
      RetentionPolicy p = policy("nightly-" + i, db, "6M", "t" + i);
      p.getMetadata().setAnnotations(Map.of(RetentionPolicy.RUN_NOW_ANNOTATION, "first"));
      var spec = dev.housekeeper.testing.Specs.backupSpec(dev.housekeeper.testing.Specs.volume(folder.resolve("b" + i)),
          backedUp);
      spec.connectionRef = new ConnectionRef("ch");
      harness.client().resource(dev.housekeeper.testing.Specs.backup(NS, "nightly-" + i, spec)).create();
      harness.client().resource(p).create();
    }
    for (int i = 0; i < policies; i++) {
      RetentionPolicy p = awaitState("nightly-" + i, x -> "first".equals(x.getStatus().acknowledgedRunNow)
          && x.getStatus().lastRun != null && x.getStatus().phase == Phase.Ready);
      assertEquals(expected.size(), p.getStatus().lastRun.partitionsDroppedCount, "policy " + i + " reports its run");
      assertEquals(expected, table(p.getStatus().lastRun.tables, "t" + i).partitions);
      String name = "nightly-" + i;
      var backup = await().atMost(Duration.ofSeconds(60)).until(() -> harness.client()
          .resources(dev.housekeeper.api.backup.ClickHouseBackup.class).inNamespace(NS).withName(name).get(),
          x -> x.getStatus() != null && x.getStatus().lastSuccessful != null);
      assertThat(backup.getStatus().lastSuccessful.tables).as("backup %d holds its own table", i).isEqualTo(1);
      assertThat(backup.getStatus().lastSuccessful.rows).isEqualTo(1000L);
    }
    // one run per policy: each table's partitions were dropped by one DROP PARTITION each, in one run
    ch.sql("SYSTEM FLUSH LOGS");
    for (int i = 0; i < policies; i++) {
      long drops = ch.sqlLong("SELECT count() FROM system.query_log WHERE type = 2 AND query LIKE '%DROP PARTITION%'"
          + " AND query LIKE '%" + db + "%' AND query LIKE '%t" + i + "`%'");
      assertEquals(expected.size(), drops, "t" + i + ": one DROP PARTITION per old partition");
    }
  }
}
