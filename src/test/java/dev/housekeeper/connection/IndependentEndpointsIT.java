package dev.housekeeper.connection;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TempDirs;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two independent servers (no cluster, no replication) as the endpoints of one connection, balanced
 * round robin: every multi-statement job runs whole on one of them (the first that answered the
 * last probe), never a lock claim on one and its read-back on the other, a ledger split in two, or
 * a staging table made on one and loaded on the other.
 */
class IndependentEndpointsIT {

  static final String NS = "independent-it";
  static OperatorHarness harness;
  static ClickHouseServer first;
  static ClickHouseServer second;

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start();
    first = harness.clickhouse();
    second = new ClickHouseServer(Files.createTempDirectory("hk-clickhouse-second-"));
    second.start();
    harness.namespace(NS);
    harness.readyConnection(NS, Specs.CONNECTION, List.of(first.httpUrl(), second.httpUrl()));
  }

  @AfterAll
  static void stop() {
    harness.close();
    second.close();
    TempDirs.delete(second.dir());
  }

  static void onBoth(String sql) {
    first.sql(sql);
    second.sql(sql);
  }

  static long tables(ClickHouseServer server, String database) {
    return server.sqlLong("SELECT count() FROM system.tables WHERE database = '" + database + "'");
  }

  @Test
  void aMigrationRunsWholeOnOneServer() {
    onBoth("DROP DATABASE IF EXISTS pin_mig; CREATE DATABASE pin_mig");
    harness.client().resource(Specs.migration(NS, "mig", "pin_mig",
        new Migration(1, "a", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x", null),
        new Migration(2, "b", "CREATE TABLE b (x UInt8) ENGINE = MergeTree ORDER BY x", null),
        new Migration(3, "seed", "INSERT INTO a VALUES (1), (2), (3)", null))).create();
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      ClickHouseMigration m = harness.client().resources(ClickHouseMigration.class).inNamespace(NS).withName("mig")
          .get();
      return m.getStatus() != null && m.getStatus().getPhase() == ClickHouseMigrationStatus.Phase.Ready
          && Long.valueOf(3).equals(m.getStatus().getCurrentVersion());
    });
    assertEquals(3, first.sqlLong("SELECT count() FROM pin_mig.housekeeper_migrations WHERE event = 'applied'"));
    assertEquals(3, first.sqlLong("SELECT count() FROM pin_mig.a"));
    assertEquals(0, tables(second, "pin_mig"), "nothing of the run reached the other server");
  }

  @Test
  void aMartRefreshRunsWholeOnOneServer() {
    onBoth("DROP DATABASE IF EXISTS pin_mart; CREATE DATABASE pin_mart");
    onBoth("CREATE TABLE pin_mart.sales (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id");
    onBoth("INSERT INTO pin_mart.sales SELECT toDate('2026-01-01') + number % 60, number FROM system.numbers"
        + " LIMIT 6000");
    ReportMartSpec spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef(Specs.CONNECTION);
    spec.database = "pin_mart";
    spec.table = "daily";
    spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("day", "Date"),
        new ReportMartSpec.Column("sales", "UInt64")));
    spec.partitionBy = "toYYYYMM(day)";
    spec.orderBy = "day";
    spec.source = new ReportMartSpec.Source();
    spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
    spec.source.clickhouse.query = "SELECT d, count() FROM pin_mart.sales WHERE d >= {window_start} AND d <"
        + " {window_end} GROUP BY d";
    ReportMart mart = new ReportMart();
    mart.setMetadata(Specs.meta(NS, "daily"));
    mart.setSpec(spec);
    harness.client().resource(mart).create();
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      ReportMart m = harness.client().resources(ReportMart.class).inNamespace(NS).withName("daily").get();
      return m.getStatus() != null && m.getStatus().phase == ReportMartStatus.Phase.Ready;
    });
    assertEquals("60\t6000", first.sql("SELECT count(), sum(sales) FROM pin_mart.daily"));
    // the mart is looked up where it is built: found, it is not rebuilt as missing again and again
    ReportMart built = harness.client().resources(ReportMart.class).inNamespace(NS).withName("daily").get();
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> true);
    assertEquals(1, harness.events(built).stream().filter(e -> "Refreshed".equals(e.getReason())).count(),
        "one refresh");
    assertEquals(1, tables(second, "pin_mart"), "the other server holds only its source table");
    assertEquals("daily\nsales", first.sql("SELECT name FROM system.tables WHERE database = 'pin_mart' ORDER BY name"),
        "no staging table is left");
  }

  @Test
  void aRetentionRunPlansAndDropsOnOneServer() {
    onBoth("DROP DATABASE IF EXISTS pin_ret; CREATE DATABASE pin_ret");
    onBoth("CREATE TABLE pin_ret.events (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id");
    onBoth("INSERT INTO pin_ret.events SELECT toDate('2020-01-15') + number * 31, number FROM system.numbers LIMIT 40");
    long partitions = first.sqlLong("SELECT uniqExact(partition) FROM system.parts WHERE database = 'pin_ret'"
        + " AND active");
    var spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef(Specs.CONNECTION));
    spec.setDatabase("pin_ret");
    var tables = new RetentionPolicySpec.TableSelector();
    tables.setNames(new ArrayList<>(List.of("events")));
    spec.setTables(tables);
    spec.setKeep("1y");
    spec.setMaxPartitionsPerRun(100);
    var policy = new RetentionPolicy();
    policy.setMetadata(Specs.meta(NS, "ret"));
    policy.setSpec(spec);
    harness.client().resource(policy).create();
    harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName("ret").patch(
        io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
        "{\"metadata\":{\"annotations\":{\"" + RetentionPolicy.RUN_NOW_ANNOTATION + "\":\"pin-1\"}}}");
    RetentionPolicy done = await().atMost(Duration.ofSeconds(60)).until(
        () -> harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName("ret").get(),
        p -> p.getStatus() != null && "pin-1".equals(p.getStatus().acknowledgedRunNow) && p.getStatus().lastRun != null
            && p.getStatus().phase != RetentionPolicyStatus.Phase.Progressing);
    int dropped = done.getStatus().lastRun.partitionsDroppedCount;
    assertEquals(true, dropped > 0, "the run dropped partitions");
    assertEquals(partitions - dropped, first.sqlLong("SELECT uniqExact(partition) FROM system.parts"
        + " WHERE database = 'pin_ret' AND active"), "every partition the plan named was dropped where it was planned");
    assertEquals(partitions, second.sqlLong("SELECT uniqExact(partition) FROM system.parts WHERE database = 'pin_ret'"
        + " AND active"), "the other server was not touched");
  }
}
