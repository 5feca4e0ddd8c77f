package dev.housekeeper.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.S3Server;
import dev.housekeeper.testing.Specs;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 20, finding 4: one tenant's work is bounded. The real operator, with at most one long task per
 * namespace and a 16 MiB budget for upload buffers, on the real ClickHouse server and s3rver.
 */
class BoundedWorkIT {

  static final long BUDGET = 16L * 1024 * 1024;
  static OperatorHarness harness;
  static ClickHouseServer ch;
  static S3Server s3server;

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start(OperatorSettings.forTests().withMaxWorkPerNamespace(1)
        .withUploadBufferBudget(BUDGET));
    ch = harness.clickhouse();
    for (String ns : new String[] {"tenant-a", "tenant-b", "tenant-s3"}) {
      harness.namespace(ns);
      harness.readyConnection(ns, Specs.CONNECTION);
    }
    s3server = new S3Server("bounded").start();
  }

  @AfterAll
  static void stop() {
    harness.close();
    s3server.close();
  }

  // ---- a limit per namespace

  static ClickHouseMigration migration(String ns, String name, String sql) {
    ch.sql("DROP DATABASE IF EXISTS " + name + "; CREATE DATABASE " + name);
    return harness.client().resource(Specs.migration(ns, name.replace('_', '-'), name,
        new Migration(1, "work", sql, null))).create();
  }

  static ClickHouseMigration get(String ns, String name) {
    return harness.client().resources(ClickHouseMigration.class).inNamespace(ns).withName(name).get();
  }

  static Condition ready(ClickHouseMigration m) {
    return m == null || m.getStatus() == null ? null
        : Conditions.find(m.getStatus().getConditions(), Conditions.READY).orElse(null);
  }

  static boolean applied(ClickHouseMigration m) {
    return m != null && m.getStatus() != null && m.getStatus().getPhase() == ClickHouseMigrationStatus.Phase.Ready
        && Long.valueOf(1).equals(m.getStatus().getCurrentVersion());
  }

  /**
   * Tenant A's migrations borrow every idle worker of the schema lane while nobody else waits; its
   * next one waits, saying why. Tenant B's migration, coming later, takes the first worker that frees
   * up, before tenant A's waiting one (tenant B is under its share of 1, tenant A over it), and tenant
   * A's runs after it. The server's query log shows the order.
   */
  @Test
  void aNamespaceBorrowsIdleWorkersAndALaterNamespaceTakesTheFirstFreeOne() {
    int workers = OperatorSettings.forTests().workerThreads();
    String slow = "SELECT sleep(3); SELECT sleep(3); SELECT sleep(3); SELECT sleep(3)";
    // the short one ends first, after tenant B's migration has begun to wait
    migration("tenant-a", "a_short", "SELECT sleep(3); SELECT sleep(3); SELECT sleep(3)");
    for (int i = 1; i < workers; i++) {
      migration("tenant-a", "a_slow" + i, slow);
    }
    for (String name : names("a-short", "a-slow", workers)) {
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(
          () -> ready(get("tenant-a", name)), c -> c != null && "Running".equals(c.getReason()));
    }
    migration("tenant-a", "a_next", "SELECT 'a_next' AS marker");
    Condition queued = await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(
        () -> ready(get("tenant-a", "a-next")), c -> c != null && "Queued".equals(c.getReason()));
    assertEquals("queued: all " + workers + " workers for migrations and mart refreshes are busy (namespace"
        + " tenant-a runs " + workers + " of them)", queued.getMessage());
    assertEquals("False", queued.getStatus());
    Condition progressing = Conditions.find(get("tenant-a", "a-next").getStatus().getConditions(),
        Conditions.PROGRESSING).orElseThrow();
    assertEquals("True", progressing.getStatus());
    assertEquals("Queued", progressing.getReason());
    assertThat(harness.events(get("tenant-a", "a-next"))).extracting(e -> e.getReason()).doesNotContain("Queued");
    migration("tenant-b", "b_only", "SELECT sleep(2), 'b_only' AS marker");
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(
        () -> ready(get("tenant-b", "b-only")), c -> c != null && "Queued".equals(c.getReason()));
    // one more, deleted while it waits, never runs
    migration("tenant-a", "a_gone", "CREATE TABLE a_gone.t (id UInt64) ENGINE = MergeTree ORDER BY id");
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(
        () -> ready(get("tenant-a", "a-gone")), c -> c != null && "Queued".equals(c.getReason()));
    harness.client().resources(ClickHouseMigration.class).inNamespace("tenant-a").withName("a-gone").delete();
    await().atMost(Duration.ofSeconds(20)).until(() -> get("tenant-a", "a-gone") == null);
    await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200))
        .until(() -> applied(get("tenant-b", "b-only")));
    await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200))
        .until(() -> applied(get("tenant-a", "a-next")));
    ch.sql("SYSTEM FLUSH LOGS");
    String started = "SELECT toUInt32(min(query_start_time)) FROM system.query_log WHERE type = 1 AND query LIKE ";
    long bStarted = ch.sqlLong(started + "'SELECT sleep(2), ''b_only''%'");
    long nextStarted = ch.sqlLong(started + "'SELECT ''a_next''%'");
    assertThat(nextStarted).as("tenant-a's waiting migration ran after tenant-b's ended").isGreaterThanOrEqualTo(
        bStarted + 2);
    for (String name : names("a-short", "a-slow", workers)) {
      await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200))
          .until(() -> applied(get("tenant-a", name)));
    }
    assertEquals(1, ch.sqlLong("SELECT count() FROM a_next.housekeeper_migrations WHERE event = 'applied'"));
    assertEquals("0", ch.sql("EXISTS TABLE a_gone.t"), "the deleted queued migration never ran");
    assertEquals("0", ch.sql("EXISTS TABLE a_gone.housekeeper_migrations"));
    String metrics = harness.http("/metrics").body();
    assertThat(metrics).contains("housekeeper_work_queued{namespace=\"tenant-a\"} 0.0");
  }

  private static java.util.List<String> names(String first, String prefix, int workers) {
    java.util.List<String> names = new java.util.ArrayList<>(java.util.List.of(first));
    for (int i = 1; i < workers; i++) {
      names.add(prefix + i);
    }
    return names;
  }

  // ---- one memory budget

  /**
   * A backup at parallelism 16 (16 streams of 8 MiB parts would want 256 MiB) on a 16 MiB budget:
   * it completes, its data restores whole, and the buffers held never exceeded the budget.
   */
  @Test
  void aBackupAtParallelism16StaysWithinTheBudgetAndRestores() {
    String ns = "tenant-s3";
    harness.secret(ns, "s3", Map.of("id", S3Server.ACCESS_KEY, "secret", S3Server.SECRET_KEY));
    ch.sql("DROP DATABASE IF EXISTS bw_src; CREATE DATABASE bw_src;"
        + "CREATE TABLE bw_src.events (id UInt64, s String) ENGINE = MergeTree PARTITION BY id % 24 ORDER BY id;"
        + "INSERT INTO bw_src.events SELECT number, concat(toString(cityHash64(number)), '-',"
        + " toString(cityHash64(number * 3))) FROM system.numbers LIMIT 1200000;"
        + "CREATE TABLE bw_src.big (id UInt64, s String) ENGINE = MergeTree ORDER BY id;"
        + "INSERT INTO bw_src.big SELECT number, concat(toString(cityHash64(number)), toString(cityHash64(number + 1)),"
        + " toString(cityHash64(number + 2))) FROM system.numbers LIMIT 600000");
    ClickHouseBackupSpec spec = Specs.backupSpec(Specs.s3(s3server.endpoint(), "bounded", "b16"), "bw_src");
    spec.parallelism = 16;
    harness.client().resource(Specs.backup(ns, "par16", spec)).create();
    long started = System.nanoTime();
    ClickHouseBackup done;
    try {
      done = await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200)).until(
          () -> harness.client().resources(ClickHouseBackup.class).inNamespace(ns).withName("par16").get(),
          b -> b.getStatus() != null && (b.getStatus().phase == ClickHouseBackupStatus.Phase.Succeeded
              || b.getStatus().phase == ClickHouseBackupStatus.Phase.Failed));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      var now = harness.client().resources(ClickHouseBackup.class).inNamespace(ns).withName("par16").get();
      throw new AssertionError("timed out; status " + Serialization.asJson(now.getStatus()), e);
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    assertEquals(ClickHouseBackupStatus.Phase.Succeeded, done.getStatus().phase,
        Serialization.asJson(done.getStatus()));
    assertEquals(1_800_000L, done.getStatus().lastSuccessful.rows);

    String metrics = harness.http("/metrics").body();
    double peak = gauge(metrics, "housekeeper_upload_buffer_peak_bytes");
    assertThat(gauge(metrics, "housekeeper_upload_buffer_budget_bytes")).isEqualTo((double) BUDGET);
    assertThat(peak).isPositive().isLessThanOrEqualTo(BUDGET);
    assertThat(gauge(metrics, "housekeeper_upload_buffer_bytes")).isZero();
    System.out.printf("BoundedWorkIT: parallelism 16, %d partitions, stored %d B in %.1f s; buffer peak %.0f B of"
        + " %d B%n", done.getStatus().lastSuccessful.partitions, done.getStatus().lastSuccessful.storedBytes, seconds,
        peak, BUDGET);

    ch.sql("DROP DATABASE IF EXISTS bw_dst");
    harness.client().resource(Specs.restore(ns, "par16-restore", "par16", "bw_dst")).create();
    ClickHouseRestore restored = await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(
        () -> harness.client().resources(ClickHouseRestore.class).inNamespace(ns).withName("par16-restore").get(),
        r -> r.getStatus() != null && (r.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded
            || r.getStatus().phase == ClickHouseRestoreStatus.Phase.Failed));
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, restored.getStatus().phase,
        Serialization.asJson(restored.getStatus()));
    for (String table : new String[] {"events", "big"}) {
      String sum = "SELECT count(), sum(cityHash64(id, s)) FROM ";
      assertEquals(ch.sql(sum + "bw_src." + table), ch.sql(sum + "bw_dst." + table), table);
    }
  }

  static double gauge(String metrics, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + "(\\{[^}]*})? (\\S+)$").matcher(metrics);
    assertThat(m.find()).as(name + " in " + metrics.lines().filter(l -> l.contains("upload")).toList()).isTrue();
    return Double.parseDouble(m.group(2));
  }
}
