package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.deploy.HelmChart;
import dev.housekeeper.deploy.Promtool;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.Specs;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Restore drills through the real operator and the mock API on the real servers (18.16, and 26.7 on
 * chDB), with backups on a volume: the logical backup records each partition's content hash as the
 * server computes it; a drill restores into a scratch database, compares, and drops it; a partition
 * object corrupted in storage fails the drill, naming the object, and the chart's alert fires on the
 * scraped metrics.
 */
class RestoreDrillIT {

  static final String NS = "drill-it";
  static OperatorHarness harness;
  static ClickHouseServer old;
  static ChdbServer modern;
  static Path volume;

  /** The source: a MergeTree table over three months with several column types, and a Log table. */
  static final List<String> SOURCE = List.of(
      "DROP DATABASE IF EXISTS drill_src",
      "CREATE DATABASE drill_src",
      "CREATE TABLE drill_src.events (d Date, id UInt64, s String, tags Array(String), v Nullable(Float64))"
          + " ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id",
      "INSERT INTO drill_src.events SELECT toDate('2026-01-01') + number % 90, number, concat('e', toString(number)),"
          + " [toString(number % 3)], if(number % 7 = 0, NULL, number / 3) FROM system.numbers LIMIT 30000",
      "CREATE TABLE drill_src.notes (id UInt64, s String) ENGINE = Log",
      "INSERT INTO drill_src.notes SELECT number, concat('n', toString(number)) FROM system.numbers LIMIT 100");

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start(OperatorSettings.forTests());
    old = harness.clickhouse();
    modern = ChdbServer.shared();
    harness.namespace(NS);
    SOURCE.forEach(old::sql);
    SOURCE.forEach(modern::sql);
    harness.readyConnection(NS, "ch");
    harness.readyConnection(NS, "modern", List.of(modern.httpUrl()), spec -> spec.setDatabase("drill_src"));
    volume = Files.createTempDirectory("hk-drill-");
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  /** A complete logical backup of drill_src through {@code connection}, on the volume. */
  static ClickHouseBackup backup(String name, String connection) {
    var spec = Specs.backupSpec(Specs.volume(volume.resolve(name)), "drill_src");
    spec.connectionRef = new ConnectionRef(connection);
    spec.method = ClickHouseBackupSpec.LOGICAL;
    harness.client().resource(Specs.backup(NS, name, spec)).create();
    return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(
        () -> harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).get(),
        b -> b.getStatus() != null && b.getStatus().lastSuccessful != null);
  }

  /** A weekly drill of {@code backupName} through {@code connection}, asked to run now; its status once it ran. */
  static ClickHouseRestore drill(String name, String backupName, String connection) {
    var drill = Specs.restore(NS, name, backupName, null);
    drill.getSpec().connectionRef = new ConnectionRef(connection);
    drill.getSpec().verify = true;
    drill.getSpec().schedule = new ClickHouseBackupSpec.Schedule();
    drill.getSpec().schedule.cron = "0 5 * * 0";
    drill.getMetadata().setAnnotations(Map.of(ClickHouseRestore.RUN_NOW_ANNOTATION, "1"));
    harness.client().resource(drill).create();
    return awaitDrill(name, s -> s.lastVerification != null);
  }

  static ClickHouseRestore awaitDrill(String name, Predicate<ClickHouseRestoreStatus> condition) {
    try {
      return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(
          () -> harness.client().resources(ClickHouseRestore.class).inNamespace(NS).withName(name).get(),
          r -> r.getStatus() != null && condition.test(r.getStatus()));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      var now = harness.client().resources(ClickHouseRestore.class).inNamespace(NS).withName(name).get();
      throw new AssertionError("timed out; status " + Serialization.asJson(now.getStatus()), e);
    }
  }

  /** Per partition of drill_src.events: its rows and content hash, as the server computes them now. */
  static Map<String, String> fingerprints(UnaryOperator<String> sql) {
    Map<String, String> out = new TreeMap<>();
    for (String line : sql.apply("SELECT _partition_id AS p, count(), toString(sum(cityHash64(d, id, s, tags, v)))"
        + " FROM drill_src.events GROUP BY p ORDER BY p").strip().split("\n")) {
      String[] f = line.split("\t");
      out.put(f[0], f[1] + "/" + f[2]);
    }
    return out;
  }

  static Manifest manifest(ClickHouseBackup backup) throws Exception {
    String id = backup.getStatus().lastSuccessful.id;
    return Manifest.fromJson(Files.readAllBytes(volume.resolve(backup.getMetadata().getName()).resolve(id)
        .resolve(Manifest.FILE)));
  }

  static Map<String, String> recorded(Manifest m) {
    Map<String, String> out = new TreeMap<>();
    m.tables.stream().filter(t -> t.table.equals("events")).flatMap(t -> t.partitions.stream())
        .forEach(p -> out.put(p.partitionId, p.rows + "/" + p.contentHash));
    return out;
  }

  @Test
  void aDrillOfAGoodBackupPassesOn1816AndTheScratchDatabaseIsGone() throws Exception {
    var backup = backup("good-old", "ch");
    Manifest m = manifest(backup);
    assertThat(m.contentHash).isEqualTo(ContentHash.FUNCTION);
    assertThat(recorded(m)).as("the manifest holds the server's own count and hash per partition")
        .hasSize(3).isEqualTo(fingerprints(old::sql));

    var drill = drill("drill-old", "good-old", "ch");
    var v = drill.getStatus().lastVerification;
    assertThat(v.outcome).as(v.message).isEqualTo("Passed");
    assertThat(v.partitionsCompared).isEqualTo(4); // three months of events, and the Log table whole
    assertThat(v.hashesCompared).isEqualTo(4);
    assertThat(v.rowsCompared).isEqualTo(30100);
    assertThat(v.mismatches).isEmpty();
    assertThat(v.scratchDropped).isTrue();
    assertThat(v.recoverySeconds).isPositive();
    assertThat(drill.getStatus().phase).isEqualTo(ClickHouseRestoreStatus.Phase.Succeeded);
    assertThat(drill.getStatus().nextScheduleTime).isNotNull();
    assertThat(old.sql("SELECT count() FROM system.databases WHERE name = '" + v.database + "'").strip())
        .isEqualTo("0");
    assertThat(v.database).startsWith(RestoreDrill.SCRATCH_PREFIX);
    await().atMost(Duration.ofSeconds(10)).until(() -> harness.events(drill).stream()
        .anyMatch(e -> e.getReason().equals("Verified")));

    Map<String, Double> scraped = scrape("drill-old");
    assertThat(scraped.get(HousekeeperMetricsNames.LAST_VERIFIED)).isCloseTo(System.currentTimeMillis() / 1000.0,
        org.assertj.core.data.Offset.offset(120.0));
    assertThat(scraped.get(HousekeeperMetricsNames.RECOVERY_TIME)).isEqualTo(v.recoverySeconds);
    assertThat(scraped.get(HousekeeperMetricsNames.CREATED)).as("the drill's creation time")
        .isEqualTo(Instant.parse(drill.getMetadata().getCreationTimestamp()).getEpochSecond());
    assertThat(alertFires("drill-old")).as("a drill that passed just now").isFalse();
  }

  @Test
  void aDrillOfAGoodBackupPassesOn267() throws Exception {
    var backup = backup("good-modern", "modern");
    Manifest m = manifest(backup);
    assertThat(recorded(m)).hasSize(3).isEqualTo(fingerprints(modern::sql))
        .as("the same rows hash the same on 18.16 and 26.7").isEqualTo(fingerprints(old::sql));
    var drill = drill("drill-modern", "good-modern", "modern");
    var v = drill.getStatus().lastVerification;
    assertThat(v.outcome).as(v.message).isEqualTo("Passed");
    assertThat(v.partitionsCompared).isEqualTo(4);
    assertThat(v.hashesCompared).isEqualTo(4);
    assertThat(v.mismatches).isEmpty();
    assertThat(v.scratchDropped).isTrue();
    assertThat(modern.sql("SELECT count() FROM system.databases WHERE name = '" + v.database + "'").strip())
        .isEqualTo("0");
  }

  @Test
  void aDrillThroughAnotherConnectionRestoresA1816BackupOn267AndComparesTheHashes() throws Exception {
    backup("cross-old", "ch");
    var drill = drill("drill-cross", "cross-old", "modern");
    var v = drill.getStatus().lastVerification;
    assertThat(v.outcome).as(v.message).isEqualTo("Passed");
    assertThat(v.hashesCompared).isEqualTo(4);
    assertThat(v.scratchDropped).isTrue();
    assertThat(modern.sql("SELECT count() FROM system.databases WHERE name = '" + v.database + "'").strip())
        .isEqualTo("0");
    assertThat(old.sql("SELECT count() FROM system.databases WHERE name = '" + v.database + "'").strip())
        .as("nothing restored on the backup's own server").isEqualTo("0");
  }

  @Test
  void aCorruptPartitionObjectFailsTheDrillNamingItAndTheAlertFires() throws Exception {
    var backup = backup("corrupt-old", "ch");
    Manifest m = manifest(backup);
    Manifest.PartitionEntry victim = m.tables.stream().filter(t -> t.table.equals("events")).findFirst()
        .orElseThrow().partitions.get(1);
    Path object = volume.resolve("corrupt-old").resolve(victim.key);
    byte[] bytes = Files.readAllBytes(object);
    for (int i = bytes.length / 2; i < bytes.length / 2 + 16; i++) {
      bytes[i] ^= 0x5a; // bytes in the middle of the compressed stream, overwritten in place
    }
    Files.write(object, bytes);

    var drill = drill("drill-corrupt", "corrupt-old", "ch");
    var status = awaitDrill("drill-corrupt", s -> s.phase == ClickHouseRestoreStatus.Phase.Failed).getStatus();
    var v = status.lastVerification;
    assertThat(v.outcome).isEqualTo("Failed");
    assertThat(v.mismatches).anySatisfy(x -> {
      assertThat(x.object).isEqualTo(victim.key);
      assertThat(x.partition).isEqualTo(victim.partitionId);
      assertThat(x.message).contains("is corrupt in the storage");
    });
    assertThat(v.scratchDropped).isTrue();
    assertThat(old.sql("SELECT count() FROM system.databases WHERE name = '" + v.database + "'").strip())
        .as("the scratch database is gone after a failed drill too").isEqualTo("0");
    assertThat(status.getConditions()).anySatisfy(c -> {
      assertThat(c.getType()).isEqualTo("Ready");
      assertThat(c.getReason()).isEqualTo("VerificationFailed");
      assertThat(c.getMessage()).contains(victim.key);
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> harness.events(drill).stream().anyMatch(e ->
        e.getReason().equals("VerificationFailed") && e.getType().equals("Warning")
            && e.getMessage().contains(victim.key)));

    assertThat(scrape("drill-corrupt").get(HousekeeperMetricsNames.LAST_VERIFIED))
        .as("drills ran, none passed").isEqualTo(0.0);
    assertThat(alertFires("drill-corrupt")).as("HousekeeperNoVerifiedRestore on the scraped series").isTrue();
  }

  /** The metric names this test reads, as the operator exports them. */
  static final class HousekeeperMetricsNames {
    static final String LAST_VERIFIED = dev.housekeeper.common.HousekeeperMetrics.LAST_VERIFIED;
    static final String RECOVERY_TIME = dev.housekeeper.common.HousekeeperMetrics.RECOVERY_TIME;
    static final String CREATED = dev.housekeeper.common.HousekeeperMetrics.CREATED;
  }

  /** The drill's series of the operator's /metrics, by metric name. */
  static Map<String, Double> scrape(String name) {
    Map<String, Double> out = new HashMap<>();
    Pattern line = Pattern.compile("^(\\w+)\\{([^}]*)} (\\S+)$", Pattern.MULTILINE);
    Matcher mt = line.matcher(harness.http("/metrics").body());
    while (mt.find()) {
      String labels = mt.group(2);
      if (labels.contains("kind=\"ClickHouseRestore\"") && labels.contains("name=\"" + name + "\"")
          && labels.contains("namespace=\"" + NS + "\"")) {
        out.put(mt.group(1), Double.parseDouble(mt.group(3)));
      }
    }
    return out;
  }

  /**
   * Evaluates the chart's HousekeeperNoVerifiedRestore expression (rendered with its defaults) with
   * Prometheus's rule engine ({@code promtool test rules}) at time() = now, on the drill's scraped
   * series of the metrics the expression reads: whether it holds now (its {@code for:} aside).
   */
  static boolean alertFires(String name) throws Exception {
    String expr = null;
    for (JsonNode r : Promtool.chartRule(Map.of()).path("spec").path("groups").get(0).path("rules")) {
      if (r.path("alert").asText().equals("HousekeeperNoVerifiedRestore")) {
        expr = r.path("expr").asText();
      }
    }
    assertThat(expr).as("the chart's alert").isNotNull().contains("time()");
    // promtool's clock starts at the epoch: now goes into the expression in place of time()
    String now = java.math.BigDecimal.valueOf(System.currentTimeMillis()).movePointLeft(3).toPlainString();
    Path dir = Files.createTempDirectory("hk-drill-alert-");
    Promtool.writeYaml(dir.resolve("rules.yaml"), Map.of("groups", List.of(Map.of("name", "now", "rules",
        List.of(Map.of("alert", "NoVerifiedRestoreNow", "expr", expr.replace("time()", now)))))));
    Map<String, Double> scraped = scrape(name);
    List<Map<String, String>> series = new java.util.ArrayList<>();
    for (String metric : HelmChart.metricNames(expr)) {
      if (scraped.containsKey(metric)) {
        String value = java.math.BigDecimal.valueOf(scraped.get(metric)).toPlainString();
        series.add(Map.of("series", metric + "{kind=\"ClickHouseRestore\",namespace=\"" + NS + "\",name=\"" + name
            + "\"}", "values", String.join(" ", java.util.Collections.nCopies(5, value))));
      }
    }
    Promtool.Run fires = Promtool.testRules(dir.resolve("fires.yaml"), unitTest(series, List.of(Map.of(
        "exp_labels", Map.of("namespace", NS, "name", name)))));
    Promtool.Run silent = Promtool.testRules(dir.resolve("silent.yaml"), unitTest(series, List.of()));
    assertThat(fires.exit() == 0 ^ silent.exit() == 0).as("promtool: firing or silent, not both nor neither:\n"
        + fires.output() + "\n" + silent.output()).isTrue();
    return fires.exit() == 0;
  }

  static Map<String, Object> unitTest(List<Map<String, String>> series, List<Map<String, Object>> expected) {
    return Map.of("rule_files", List.of("rules.yaml"), "evaluation_interval", "1m", "tests", List.of(Map.of(
        "interval", "1m", "input_series", series, "alert_rule_test", List.of(Map.of(
            "eval_time", "2m", "alertname", "NoVerifiedRestoreNow", "exp_alerts", expected)))));
  }
}
