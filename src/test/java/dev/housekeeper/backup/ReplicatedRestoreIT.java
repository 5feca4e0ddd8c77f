package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.backup.storage.FileObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.HttpClickHouseClient;
import dev.housekeeper.testing.ClickHouseCluster;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.TempDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A replicated table restored on a single server moves its ZooKeeper path with its new name, so
 * that it does not meet the original's replicas. The shared 18.16 server has no ZooKeeper (a
 * Replicated*MergeTree cannot be created there), so this runs on one replica of the 2x2 cluster
 * (s1r1, macros {shard}=01 and {replica}=s1r1), through a connection to that node alone, as a
 * restore without a cluster sees it.
 */
class ReplicatedRestoreIT {

  static ClickHouseServer node;
  static ClickHouseClient client;
  static Path dir;
  static FileObjectStore store;
  static Manifest manifest;

  static final String COLUMNS = "d, id, v";

  @BeforeAll
  static void start() throws Exception {
    ClickHouseCluster cluster = ClickHouseCluster.shared();
    cluster.start(); // a test class before may have stopped a node
    node = cluster.node(0, 0);
    client = new HttpClickHouseClient(ClientConfig.of(List.of(node.httpUrl()), ClickHouseServer.USER,
        ClickHouseServer.PASSWORD).withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(120)));
    for (String db : List.of("rs_src", "rs_dst", "rs_mv")) {
      node.sql("DROP DATABASE IF EXISTS " + db);
    }
    node.sql("CREATE DATABASE rs_src");
    node.sql("CREATE TABLE rs_src.events (d Date, id UInt64, v String) ENGINE = ReplicatedMergeTree("
        + "'/clickhouse/tables/{shard}/rs_src/events', '{replica}') PARTITION BY toYYYYMM(d) ORDER BY id");
    node.sql("CREATE MATERIALIZED VIEW rs_src.daily ENGINE = ReplicatedSummingMergeTree("
        + "'/clickhouse/tables/{shard}/rs_src/daily', '{replica}') PARTITION BY toYYYYMM(d) ORDER BY d"
        + " AS SELECT d, count() AS n FROM rs_src.events GROUP BY d");
    node.sql("INSERT INTO rs_src.events SELECT toDate('2026-01-01') + number % 90, number, toString(number)"
        + " FROM system.numbers LIMIT 3000");
    dir = Files.createTempDirectory("hk-replicated-restore-");
    store = new FileObjectStore(dir);
    List<String> skipped = new ArrayList<>();
    BackupScope.Found found = BackupScope.resolve(client, List.of("rs_src"), List.of(), skipped);
    manifest = new LogicalBackup(client, store, Compression.zstd, p -> { }).run("replicated-1", found, false);
  }

  @AfterAll
  static void stop() throws Exception {
    store.close();
    client.close();
    TempDirs.delete(dir);
  }

  static List<RestoreTable> restore(LogicalRestore.Mode mode, Consumer<ClickHouseRestoreSpec> more) throws Exception {
    ClickHouseRestoreSpec spec = new ClickHouseRestoreSpec();
    more.accept(spec);
    RestoreTargets targets = RestoreTargets.of(manifest, spec, Set.of());
    targets.check();
    return new LogicalRestore(client, store, p -> { }).run(manifest, targets, mode);
  }

  static String path(String db, String table) {
    return node.sql("SELECT zookeeper_path FROM system.replicas WHERE database = '" + db + "' AND table = '" + table
        + "'");
  }

  static String fingerprint(String table, String... partitions) {
    String where = partitions.length == 0 ? "" : " WHERE _partition_id IN ('" + String.join("', '", partitions)
        + "')";
    return node.sql("SELECT _partition_id AS p, count(), sum(cityHash64(" + COLUMNS + ")) FROM " + table + where
        + " GROUP BY p ORDER BY p");
  }

  @Test
  void aReplicatedTableRestoredUnderANewNameGetsItsOwnZooKeeperPath() throws Exception {
    var beside = restore(LogicalRestore.Mode.failIfExists, spec -> {
      spec.tables = List.of("events");
      spec.tableMapping = Map.of("rs_src.events", "rs_src.events_copy");
    });
    assertThat(beside).singleElement().satisfies(t -> assertEquals(RestoreTable.State.Restored, t.state(),
        t.toString()));
    assertEquals("/clickhouse/tables/01/rs_src/events_copy", path("rs_src", "events_copy"),
        "beside the original, in its database: the table's segment moves");
    assertEquals(fingerprint("rs_src.events"), fingerprint("rs_src.events_copy"));

    var elsewhere = restore(LogicalRestore.Mode.failIfExists, spec -> {
      spec.tables = List.of("events");
      spec.tableMapping = Map.of("rs_src.events", "rs_dst.events2");
    });
    assertThat(elsewhere).singleElement().satisfies(t -> assertEquals(RestoreTable.State.Restored, t.state(),
        t.toString()));
    assertEquals("/clickhouse/tables/01/rs_dst/events2", path("rs_dst", "events2"));
    assertEquals(fingerprint("rs_src.events"), fingerprint("rs_dst.events2"));
    // the original is alone on its path: no restored table joined it
    assertEquals("/clickhouse/tables/01/rs_src/events\t1", node.sql("SELECT zookeeper_path, total_replicas FROM"
        + " system.replicas WHERE database = 'rs_src' AND table = 'events'"));

    // partitions replaced into the existing replicated table: its staging table has a path of its own
    node.sql("ALTER TABLE rs_dst.events2 DELETE WHERE toYYYYMM(d) = 202601");
    awaitMutations();
    node.sql("INSERT INTO rs_dst.events2 VALUES ('2026-01-02', 1, 'changed'), ('2026-04-01', 2, 'other month')");
    String february = fingerprint("rs_dst.events2", "202602");
    var replaced = restore(LogicalRestore.Mode.replacePartitions, spec -> {
      spec.tables = List.of("events");
      spec.tableMapping = Map.of("rs_src.events", "rs_dst.events2");
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("202601");
    });
    assertThat(replaced).singleElement().satisfies(t -> {
      assertEquals(RestoreTable.State.Restored, t.state(), t.toString());
      assertEquals(Boolean.TRUE, t.targetExisted());
      assertEquals(2, t.partitionsSkipped());
    });
    assertEquals(fingerprint("rs_src.events", "202601"), fingerprint("rs_dst.events2", "202601"));
    assertEquals(february, fingerprint("rs_dst.events2", "202602"));
    assertEquals("1", node.sql("SELECT count() FROM rs_dst.events2 WHERE _partition_id = '202604'"));
    assertEquals("/clickhouse/tables/01/rs_dst/events2", path("rs_dst", "events2"));
    assertEquals("", node.sql("SELECT name FROM system.tables WHERE name LIKE '%hk_restore%'"),
        "the staging table is gone");
    assertEquals("0", node.sql("SELECT count() FROM system.zookeeper WHERE path = '/clickhouse/tables/01/rs_dst'"
        + " AND name LIKE '%hk_restore%'"), "and its ZooKeeper path with it");
  }

  @Test
  void aMaterializedViewWithAReplicatedEngineRestoredElsewhereGetsItsOwnPath() throws Exception {
    var results = restore(LogicalRestore.Mode.failIfExists, spec -> spec.databaseMapping = Map.of("rs_src",
        "rs_mv"));
    assertThat(results).hasSize(2).allSatisfy(t -> assertEquals(RestoreTable.State.Restored, t.state(),
        t.toString()));
    assertEquals("/clickhouse/tables/01/rs_mv/daily", path("rs_mv", ".inner.daily"));
    assertEquals("/clickhouse/tables/01/rs_src/daily\t1", node.sql("SELECT zookeeper_path, total_replicas FROM"
        + " system.replicas WHERE database = 'rs_src' AND table = '.inner.daily'"));
    String daily = "SELECT d, sum(n) FROM %s.daily GROUP BY d ORDER BY d";
    assertEquals(node.sql(daily.formatted("rs_src")), node.sql(daily.formatted("rs_mv")));
    String before = node.sql("SELECT sum(n) FROM rs_src.daily");
    node.sql("INSERT INTO rs_mv.events VALUES ('2026-01-01', 99999, 'new')");
    assertEquals(Long.parseLong(before) + 1, Long.parseLong(node.sql("SELECT sum(n) FROM rs_mv.daily")));
    assertEquals(before, node.sql("SELECT sum(n) FROM rs_src.daily"));
  }

  /** 18.16's ALTER ... DELETE runs in the background. */
  static void awaitMutations() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!"0".equals(node.sql("SELECT count() FROM system.mutations WHERE database = 'rs_dst' AND NOT is_done"))
        && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
  }
}
