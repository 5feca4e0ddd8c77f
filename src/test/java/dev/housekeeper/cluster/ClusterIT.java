package dev.housekeeper.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus.Phase;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ClickHouseCluster;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Every kind on a real 2 x 2 cluster (ZooKeeper and four clickhouse-server 18.16), through the real
 * operator and the mock API.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {

  static final String NS = "cluster-it";
  static final String ON = " ON CLUSTER " + ClickHouseCluster.NAME;
  static OperatorHarness harness;
  static ClickHouseCluster cluster;

  @BeforeAll
  static void start() {
    cluster = ClickHouseCluster.shared();
    harness = OperatorHarness.start();
    harness.namespace(NS);
    harness.readyClusterConnection(NS, "cluster", cluster);
  }

  @AfterAll
  static void stop() {
    // every node running again for the next test class
    cluster.start();
    harness.close();
  }

  static ClickHouseConnection connection() {
    return harness.client().resources(ClickHouseConnection.class).inNamespace(NS).withName("cluster").get();
  }

  /** The same answer from every node, or the first difference. */
  static String onEveryNode(String sql) {
    String first = cluster.node(0, 0).sql(sql);
    for (ClickHouseServer n : cluster.nodes()) {
      assertEquals(first, n.sql(sql), "node " + n.httpUrl() + " differs on " + sql);
    }
    return first;
  }

  @Test
  @Order(1)
  void theConnectionShowsTheClustersShardsAndReplicasAndWhichAnswer() {
    ClickHouseConnection c = connection();
    ClickHouseConnectionStatus.Topology t = c.getStatus().topology;
    assertEquals(ClickHouseCluster.NAME, t.cluster);
    assertEquals(2, t.shards);
    assertEquals("4/4", t.reachableReplicas);
    assertThat(t.unavailableShards).isEmpty();
    // each endpoint was recognised as its replica: node s<shard>r<replica> is shard_num/replica_num
    for (ClickHouseConnectionStatus.Replica r : t.replicas) {
      assertEquals(cluster.node(r.shard - 1, r.replica - 1).httpUrl(), r.endpoint, "replica " + r.shard + "/" + r.replica);
      assertEquals(Boolean.TRUE, r.reachable);
      assertEquals("127.0.0.1:" + cluster.node(r.shard - 1, r.replica - 1).tcpPort(), r.host);
    }
    assertThat(Conditions.find(c.getStatus().getConditions(), "Ready").orElseThrow().getMessage())
        .contains("Cluster hk_cluster: 2 shard(s), 4/4 replicas answer");

    // one replica of shard 2 goes away: still Ready (its shard has another), reported per replica
    ClickHouseServer lost = cluster.node(1, 1);
    lost.stop(false);
    try {
      c = await().atMost(Duration.ofSeconds(60)).until(ClusterIT::connection,
          x -> x.getStatus().topology != null && "3/4".equals(x.getStatus().topology.reachableReplicas));
      assertEquals(ClickHouseConnectionStatus.Phase.Degraded, c.getStatus().getPhase());
      ClickHouseConnectionStatus.Replica down = c.getStatus().topology.replicas.stream()
          .filter(r -> r.shard == 2 && r.replica == 2).findFirst().orElseThrow();
      assertEquals(Boolean.FALSE, down.reachable);
      assertEquals(lost.httpUrl(), down.endpoint, "the endpoint that is down keeps its place");
      assertThat(c.getStatus().topology.unavailableShards).isEmpty();
    } finally {
      lost.start();
    }
    await().atMost(Duration.ofSeconds(90)).until(ClusterIT::connection,
        x -> x.getStatus().topology != null && "4/4".equals(x.getStatus().topology.reachableReplicas)
            && x.getStatus().getPhase() == ClickHouseConnectionStatus.Phase.Ready);
  }

  static ClickHouseMigration migration(String name, String db, Migration... migrations) {
    var spec = new ClickHouseMigrationSpec();
    spec.setConnectionRef(new ConnectionRef("cluster"));
    spec.setDatabase(db);
    spec.setOnCluster(true);
    spec.setMigrations(new ArrayList<>(List.of(migrations)));
    spec.setLockTimeout("20s");
    var m = new ClickHouseMigration();
    m.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    m.setSpec(spec);
    return m;
  }

  static ClickHouseMigration awaitMigration(String name, Predicate<ClickHouseMigration> p, int seconds) {
    try {
      return await().atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(300)).until(
          () -> harness.client().resources(ClickHouseMigration.class).inNamespace(NS).withName(name).get(),
          m -> m != null && m.getStatus() != null && p.test(m));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      var m = harness.client().resources(ClickHouseMigration.class).inNamespace(NS).withName(name).get();
      throw new AssertionError("migration " + name + " did not get there; its status: "
          + io.fabric8.kubernetes.client.utils.Serialization.asYaml(m.getStatus()), e);
    }
  }

  static final String LEDGER = "SELECT version, direction, event, statement_index FROM cl_app.housekeeper_migrations"
      + " ORDER BY version, seq FORMAT TSV";

  @Test
  @Order(2)
  void aMigrationSetAppliedOnClusterLeavesEveryNodesSchemaAndLedgerEqual() {
    cluster.node(0, 0).sql("DROP DATABASE IF EXISTS cl_app" + ON + "; CREATE DATABASE cl_app" + ON);
    harness.client().resource(migration("app", "cl_app",
        new Migration(1, "events", "CREATE TABLE events (d Date, user_id UInt64, v String)"
            + " ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/cl_app/events', '{replica}')"
            + " PARTITION BY toYYYYMM(d) ORDER BY (user_id, d)", "DROP TABLE events"),
        new Migration(2, "events_all", "CREATE TABLE events_all AS cl_app.events"
            + " ENGINE = Distributed(" + ClickHouseCluster.NAME + ", cl_app, events, user_id)",
            "DROP TABLE events_all"),
        new Migration(3, "add_country", "ALTER TABLE events ADD COLUMN country String DEFAULT ''",
            "ALTER TABLE events DROP COLUMN country"))).create();
    ClickHouseMigration m = awaitMigration("app", x -> x.getStatus().getPhase() == Phase.Ready
        && Long.valueOf(3).equals(x.getStatus().getCurrentVersion()), 120);
    assertEquals(3, m.getStatus().getApplied().size());
    String schema = onEveryNode("SELECT name, type FROM system.columns WHERE database = 'cl_app'"
        + " AND table = 'events' ORDER BY name FORMAT TSV");
    assertThat(schema).contains("country\tString").contains("user_id\tUInt64");
    onEveryNode("SELECT name, engine FROM system.tables WHERE database = 'cl_app' AND name LIKE 'events%'"
        + " ORDER BY name FORMAT TSV");
    // the ledger is one replicated table: every node has every row (replication is asynchronous)
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> onEveryNode(LEDGER));
    assertThat(onEveryNode("SELECT count() FROM cl_app.housekeeper_migrations WHERE event = 'applied'"))
        .isEqualTo("3");
  }

  @Test
  @Order(3)
  void aReplicaStoppedDuringAMigrationIsReportedAndConvergesWhenItReturns() {
    ClickHouseServer lost = cluster.node(1, 1);
    lost.stop(false);
    try {
      var m = harness.client().resources(ClickHouseMigration.class).inNamespace(NS).withName("app").get();
      m.getSpec().setStatementTimeout("20s");
      m.getSpec().getMigrations().add(new Migration(4, "add_device", "ALTER TABLE events ADD COLUMN device String"
          + " DEFAULT 'unknown'", "ALTER TABLE events DROP COLUMN device"));
      harness.client().resource(m).update();
      ClickHouseMigration pending = awaitMigration("app", x -> Long.valueOf(4).equals(x.getStatus().getCurrentVersion())
          && "ReplicasPending".equals(readyReason(x)), 120);
      var down = pending.getStatus().replicas.stream().filter(r -> r.shard == 2 && r.replica == 2).findFirst()
          .orElseThrow();
      assertThat(down.state).isIn("Unreachable", "Behind");
      assertEquals(lost.httpUrl(), down.endpoint);
      assertThat(pending.getStatus().replicas.stream().filter(r -> r != down).map(r -> r.state)).containsOnly("InSync");
      assertThat(Conditions.find(pending.getStatus().getConditions(), "Ready").orElseThrow().getMessage())
          .contains("shard 2 replica 2").contains("queued ON CLUSTER DDL");
      assertEquals("True", Conditions.find(pending.getStatus().getConditions(), "Degraded").orElseThrow().getStatus());
      // the others have the column already
      assertThat(cluster.node(1, 0).sql("SELECT name FROM system.columns WHERE database = 'cl_app'"
          + " AND table = 'events' AND name = 'device'")).isEqualTo("device");
    } finally {
      lost.start();
    }
    // back: it runs the queued DDL, and the migration says so
    ClickHouseMigration done = awaitMigration("app", x -> !"ReplicasPending".equals(readyReason(x))
        && x.getStatus().getPhase() == Phase.Ready, 120);
    assertThat(done.getStatus().replicas).allMatch(r -> "InSync".equals(r.state));
    assertEquals("False", Conditions.find(done.getStatus().getConditions(), "Degraded").orElseThrow().getStatus());
    onEveryNode("SELECT name, type FROM system.columns WHERE database = 'cl_app' AND table = 'events'"
        + " ORDER BY name FORMAT TSV");
    assertThat(lost.sql("SELECT name FROM system.columns WHERE database = 'cl_app' AND table = 'events'"
        + " AND name = 'device'")).isEqualTo("device");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> onEveryNode(LEDGER));
  }

  @Test
  @Order(4)
  void aRetentionRunOnAReplicatedShardedTableLeavesIdenticalPartitionsOnEachShardsReplicas() {
    ClickHouseServer any = cluster.node(0, 0);
    any.sql("DROP DATABASE IF EXISTS cl_ret" + ON + "; CREATE DATABASE cl_ret" + ON);
    any.sql("CREATE TABLE cl_ret.events" + ON + " (d Date, user_id UInt64, v String)"
        + " ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/cl_ret/events', '{replica}')"
        + " PARTITION BY toYYYYMM(d) ORDER BY user_id");
    java.time.LocalDate today = java.time.LocalDate.now(java.time.ZoneOffset.UTC);
    for (int shard = 0; shard < 2; shard++) {
      StringBuilder values = new StringBuilder();
      for (int m = 0; m < 24; m++) {
        java.time.LocalDate month = today.withDayOfMonth(1).minusMonths(m);
        for (int day = 10; day <= 12; day++) {
          values.append(values.isEmpty() ? "" : ",").append("('").append(month.withDayOfMonth(day)).append("', ")
              .append(2 * (m * 100 + day) + shard).append(", 'x')");
        }
      }
      // into one replica of each shard; replication brings it to the other
      cluster.node(shard, shard).sql("INSERT INTO cl_ret.events VALUES " + values);
    }
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      for (ClickHouseServer n : cluster.nodes()) {
        assertEquals("72", n.sql("SELECT count() FROM cl_ret.events"));
      }
    });
    var spec = new dev.housekeeper.api.retention.RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef("cluster"));
    spec.setDatabase("cl_ret");
    var sel = new dev.housekeeper.api.retention.RetentionPolicySpec.TableSelector();
    sel.setNames(new ArrayList<>(List.of("events")));
    spec.setTables(sel);
    spec.setKeep("12M");
    spec.setMaxPartitionsPerRun(30);
    var policy = new dev.housekeeper.api.retention.RetentionPolicy();
    policy.setMetadata(new ObjectMetaBuilder().withName("events").withNamespace(NS)
        .withAnnotations(java.util.Map.of(dev.housekeeper.api.retention.RetentionPolicy.RUN_NOW_ANNOTATION, "1"))
        .build());
    policy.setSpec(spec);
    harness.client().resource(policy).create();
    var done = await().atMost(Duration.ofSeconds(120)).until(() -> harness.client()
        .resources(dev.housekeeper.api.retention.RetentionPolicy.class).inNamespace(NS).withName("events").get(),
        p -> p.getStatus() != null && p.getStatus().lastRun != null
            && p.getStatus().phase == dev.housekeeper.api.retention.RetentionPolicyStatus.Phase.Ready);
    var run = done.getStatus().lastRun;
    // the months whose newest day is older than 12 months, on each shard, except nothing newer
    java.time.LocalDate cutoff = today.minusMonths(12);
    long oldMonths = java.util.stream.IntStream.range(1, 24)
        .filter(m -> today.withDayOfMonth(1).minusMonths(m).withDayOfMonth(12).isBefore(cutoff)).count();
    assertEquals(2 * oldMonths, run.partitionsDroppedCount, "every shard processed: " + run.partitionsDropped);
    assertThat(run.partitionsDropped).anyMatch(p -> p.startsWith("shard 1: ")).anyMatch(p -> p.startsWith("shard 2: "));
    assertThat(run.replicas).hasSize(4).allMatch(r -> "Identical".equals(r.state));
    assertThat(run.replicas).allMatch(r -> r.partitions == 24 - oldMonths);
    assertThat(done.getStatus().preview).allMatch(p -> p.shard != null);
    for (int shard = 0; shard < 2; shard++) {
      String partitions = "SELECT partition_id FROM system.parts WHERE database = 'cl_ret' AND table = 'events'"
          + " AND active GROUP BY partition_id ORDER BY partition_id FORMAT TSV";
      String first = cluster.node(shard, 0).sql(partitions);
      assertEquals(first, cluster.node(shard, 1).sql(partitions), "replicas of shard " + (shard + 1));
      assertEquals(24 - oldMonths, first.split("\n").length);
      assertEquals(String.valueOf(3 * (24 - oldMonths)), cluster.node(shard, 1).sql("SELECT count() FROM cl_ret.events"));
    }
  }

  @Test
  @Order(8)
  void aShardNoEndpointReachesIsReportedAndItsDataLeftAlone() {
    ClickHouseServer any = cluster.node(0, 0);
    any.sql("DROP DATABASE IF EXISTS cl_shard" + ON + "; CREATE DATABASE cl_shard" + ON);
    any.sql("CREATE TABLE cl_shard.events" + ON + " (d Date, user_id UInt64, v String)"
        + " ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/cl_shard/events', '{replica}')"
        + " PARTITION BY toYYYYMM(d) ORDER BY user_id");
    // an old and a recent partition on both shards: the policy may drop the old one only where it can reach
    java.time.LocalDate today = java.time.LocalDate.now(java.time.ZoneOffset.UTC);
    java.time.LocalDate old = today.withDayOfMonth(1).minusMonths(40);
    for (int shard = 0; shard < 2; shard++) {
      cluster.node(shard, 0).sql("INSERT INTO cl_shard.events VALUES ('" + old + "', " + shard + ", 'old'), ('"
          + today + "', " + shard + ", 'new')");
    }
    String oldRows = "SELECT count() FROM cl_shard.events WHERE d = '" + old + "'";
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      for (ClickHouseServer n : cluster.nodes()) {
        assertEquals("1", n.sql(oldRows));
        assertEquals("2", n.sql("SELECT count() FROM cl_shard.events"));
      }
    });
    // a connection that lists only shard 1's replicas, with the cluster named: the topology has shard 2 too
    harness.readyConnection(NS, "shard-one", List.of(cluster.node(0, 0).httpUrl(), cluster.node(0, 1).httpUrl()),
        spec -> {
          spec.setCluster(ClickHouseCluster.NAME);
          spec.setProbeInterval("5s");
        });
    await().atMost(Duration.ofSeconds(30)).until(() -> harness.client().resources(ClickHouseConnection.class)
        .inNamespace(NS).withName("shard-one").get().getStatus().topology != null);
    var spec = new dev.housekeeper.api.retention.RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef("shard-one"));
    spec.setDatabase("cl_shard");
    var sel = new dev.housekeeper.api.retention.RetentionPolicySpec.TableSelector();
    sel.setNames(new ArrayList<>(List.of("events")));
    spec.setTables(sel);
    spec.setKeep("12M");
    var policy = new dev.housekeeper.api.retention.RetentionPolicy();
    policy.setMetadata(new ObjectMetaBuilder().withName("shard-one").withNamespace(NS)
        .withAnnotations(java.util.Map.of(dev.housekeeper.api.retention.RetentionPolicy.RUN_NOW_ANNOTATION, "1"))
        .build());
    policy.setSpec(spec);
    harness.client().resource(policy).create();
    var done = await().atMost(Duration.ofSeconds(120)).until(() -> harness.client()
        .resources(dev.housekeeper.api.retention.RetentionPolicy.class).inNamespace(NS).withName("shard-one").get(),
        p -> p.getStatus() != null && p.getStatus().lastRun != null && p.getStatus().getConditions().stream()
            .anyMatch(c -> "Degraded".equals(c.getType()) && "True".equals(c.getStatus())));
    var status = done.getStatus();
    assertEquals(dev.housekeeper.api.retention.RetentionPolicyStatus.Phase.Degraded, status.phase);
    var degraded = status.getConditions().stream().filter(c -> "Degraded".equals(c.getType())).findFirst().orElseThrow();
    assertEquals("ShardUnreachable", degraded.getReason());
    assertThat(degraded.getMessage()).contains("shard 2").contains("spec.endpoints");
    System.out.println("[cluster] a shard with no endpoint: " + degraded.getReason() + ": " + degraded.getMessage());
    assertThat(status.preview).anyMatch(p -> "ShardUnreachable".equals(p.reason) && Integer.valueOf(2).equals(p.shard));
    assertThat(status.lastRun.tables).anyMatch(t -> "ShardUnreachable".equals(t.reason) && Integer.valueOf(2).equals(t.shard));
    assertThat(status.lastRun.partitionsDropped).allMatch(p -> p.startsWith("shard 1: ")).isNotEmpty();
    // shard 1 lost its old partition on both replicas; shard 2 kept its own
    assertEquals("0", cluster.node(0, 0).sql(oldRows));
    assertEquals("0", cluster.node(0, 1).sql(oldRows));
    assertEquals("1", cluster.node(1, 0).sql(oldRows));
    assertEquals("1", cluster.node(1, 1).sql(oldRows));
    assertEquals("2", cluster.node(1, 1).sql("SELECT count() FROM cl_shard.events"));
  }

  /** Rows and a content hash of a table on one node (order-independent). */
  static String content(ClickHouseServer node, String table) {
    return node.sql("SELECT count(), sum(cityHash64(d, user_id, v)) FROM " + table);
  }

  @Test
  @Order(5)
  void aShardedReplicatedTableBackedUpAndRestoredIntoANewDatabaseHasEqualShardsAndNoDuplicates() throws Exception {
    ClickHouseServer any = cluster.node(0, 0);
    any.sql("DROP DATABASE IF EXISTS cl_bak" + ON + "; DROP DATABASE IF EXISTS cl_bak_restored" + ON
        + "; CREATE DATABASE cl_bak" + ON);
    any.sql("CREATE TABLE cl_bak.events" + ON + " (d Date, user_id UInt64, v String)"
        + " ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/cl_bak/events', '{replica}')"
        + " PARTITION BY toYYYYMM(d) ORDER BY user_id");
    any.sql("CREATE TABLE cl_bak.events_all" + ON + " AS cl_bak.events"
        + " ENGINE = Distributed(" + ClickHouseCluster.NAME + ", cl_bak, events, user_id)");
    // a view on every node, reading the cluster through the Distributed table
    any.sql("CREATE VIEW cl_bak.heavy_users" + ON + " AS SELECT user_id, count() AS n FROM cl_bak.events_all"
        + " GROUP BY user_id HAVING n > 20");
    // through the Distributed table: rows go to the shard of their user (insert_distributed_sync)
    any.sql("SET insert_distributed_sync = 1; INSERT INTO cl_bak.events_all SELECT toDate('2026-01-01') + number % 90,"
        + " number % 1000, toString(number) FROM system.numbers LIMIT 20000");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      for (int shard = 0; shard < 2; shard++) {
        assertEquals(content(cluster.node(shard, 0), "cl_bak.events"), content(cluster.node(shard, 1), "cl_bak.events"));
      }
    });
    long shard1 = Long.parseLong(cluster.node(0, 0).sql("SELECT count() FROM cl_bak.events"));
    long shard2 = Long.parseLong(cluster.node(1, 0).sql("SELECT count() FROM cl_bak.events"));
    assertEquals(20000, shard1 + shard2);
    assertThat(shard1).isPositive();
    assertThat(shard2).isPositive();

    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("hk-cluster-backup-");
    var spec = new dev.housekeeper.api.backup.ClickHouseBackupSpec();
    spec.connectionRef = new ConnectionRef("cluster");
    spec.storage = new dev.housekeeper.api.backup.BackupStorage();
    spec.storage.volume = new dev.housekeeper.api.backup.BackupStorage.Volume();
    spec.storage.volume.path = dir.toString();
    spec.scope = new dev.housekeeper.api.backup.ClickHouseBackupSpec.Scope();
    spec.scope.databases = List.of("cl_bak");
    var backup = new dev.housekeeper.api.backup.ClickHouseBackup();
    backup.setMetadata(new ObjectMetaBuilder().withName("sharded").withNamespace(NS).build());
    backup.setSpec(spec);
    // shard 1's first replica is lost: its shard is read from the other replica (failover within the shard)
    ClickHouseServer lost = cluster.node(0, 0);
    lost.stop(false);
    dev.housekeeper.api.backup.ClickHouseBackup done;
    try {
      harness.client().resource(backup).create();
      done = await().atMost(Duration.ofSeconds(120)).until(() -> harness.client()
          .resources(dev.housekeeper.api.backup.ClickHouseBackup.class).inNamespace(NS).withName("sharded").get(),
          b -> b.getStatus() != null && (b.getStatus().phase == dev.housekeeper.api.backup.ClickHouseBackupStatus.Phase.Succeeded
              || b.getStatus().phase == dev.housekeeper.api.backup.ClickHouseBackupStatus.Phase.Failed));
    } finally {
      lost.start();
    }
    await().atMost(Duration.ofSeconds(60)).until(ClusterIT::connection,
        x -> x.getStatus().topology != null && "4/4".equals(x.getStatus().topology.reachableReplicas));
    assertEquals(dev.housekeeper.api.backup.ClickHouseBackupStatus.Phase.Succeeded, done.getStatus().phase,
        io.fabric8.kubernetes.client.utils.Serialization.asYaml(done.getStatus()));
    var record = done.getStatus().lastSuccessful;
    assertEquals(20000L, record.rows, "one replica per shard: every row once");
    // the manifest records each table's shard, and its partition objects sit under the resource's objects/.../shard-N/
    try (var files = new dev.housekeeper.backup.storage.FileObjectStore(dir)) {
      var manifest = dev.housekeeper.backup.Manifest.fromJson(files.open(record.id + "/manifest.json").readAllBytes());
      var events = manifest.tables.stream().filter(t -> t.table.equals("events")).toList();
      assertThat(events).extracting(t -> t.shard).containsExactly(1, 2);
      assertEquals(shard1, events.get(0).partitions.stream().mapToLong(p -> p.rows).sum());
      assertEquals(shard2, events.get(1).partitions.stream().mapToLong(p -> p.rows).sum());
      assertThat(events.get(1).partitions.get(0).key).startsWith("objects/sharded/shard-2/cl_bak/events/");
    }

    var restoreSpec = new dev.housekeeper.api.backup.ClickHouseRestoreSpec();
    restoreSpec.connectionRef = new ConnectionRef("cluster");
    restoreSpec.source = new dev.housekeeper.api.backup.ClickHouseRestoreSpec.Source();
    restoreSpec.source.backupName = "sharded";
    restoreSpec.targetDatabase = "cl_bak_restored";
    var restore = new dev.housekeeper.api.backup.ClickHouseRestore();
    restore.setMetadata(new ObjectMetaBuilder().withName("sharded-restore").withNamespace(NS).build());
    restore.setSpec(restoreSpec);
    harness.client().resource(restore).create();
    var restored = await().atMost(Duration.ofSeconds(180)).until(() -> harness.client()
        .resources(dev.housekeeper.api.backup.ClickHouseRestore.class).inNamespace(NS).withName("sharded-restore").get(),
        r -> r.getStatus() != null && (r.getStatus().phase == dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase.Succeeded
            || r.getStatus().phase == dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase.Failed));
    assertEquals(dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase.Succeeded, restored.getStatus().phase,
        io.fabric8.kubernetes.client.utils.Serialization.asYaml(restored.getStatus()));
    // per shard, on both replicas: the same rows and content as the original shard; nothing twice
    for (int shard = 0; shard < 2; shard++) {
      String original = content(cluster.node(shard, 0), "cl_bak.events");
      for (int replica = 0; replica < 2; replica++) {
        assertEquals(original, content(cluster.node(shard, replica), "cl_bak_restored.events"),
            "shard " + (shard + 1) + " replica " + (replica + 1));
      }
    }
    // the Distributed table and the view are created on every node, reading the restored tables
    assertThat(restored.getStatus().tables).extracting(t -> t.source + "=" + t.outcome).contains(
        "cl_bak.events_all=Restored", "cl_bak.heavy_users=Restored");
    for (int shard = 0; shard < 2; shard++) {
      for (int replica = 0; replica < 2; replica++) {
        ClickHouseServer node = cluster.node(shard, replica);
        assertEquals("20000", node.sql("SELECT count() FROM cl_bak_restored.events_all"));
        assertEquals(any.sql("SELECT count(), sum(n) FROM cl_bak.heavy_users"),
            node.sql("SELECT count(), sum(n) FROM cl_bak_restored.heavy_users"));
      }
    }
    any.sql("INSERT INTO cl_bak_restored.events VALUES ('2026-01-01', 5, 'new')");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertEquals("20001", cluster.node(1, 1).sql("SELECT count() FROM cl_bak_restored.events_all")));
    assertEquals("20000", any.sql("SELECT count() FROM cl_bak.events_all"), "the original reads its own tables");
    assertEquals("0", any.sql("SELECT count() FROM (SELECT d, user_id, v, count() AS c FROM"
        + " cl_bak_restored.events_all GROUP BY d, user_id, v HAVING c > 1)"), "no duplicates across the cluster");
    // the restored table replicates under its own ZooKeeper path, not the original's
    assertEquals("/clickhouse/tables/01/cl_bak_restored/events", cluster.node(0, 1).sql(
        "SELECT zookeeper_path FROM system.replicas WHERE database = 'cl_bak_restored' AND table = 'events'"));
    dev.housekeeper.testing.TempDirs.delete(dir);
  }

  static dev.housekeeper.api.mart.ReportMart mart() {
    return harness.client().resources(dev.housekeeper.api.mart.ReportMart.class).inNamespace(NS).withName("daily")
        .get();
  }

  @Test
  @Order(6)
  void aReplicatedMartRefreshIsSeenWholeOnEveryReplica() throws Exception {
    ClickHouseServer any = cluster.node(0, 0);
    any.sql("DROP DATABASE IF EXISTS cl_mart" + ON + "; CREATE DATABASE cl_mart" + ON);
    // the source: one replicated table that every node holds whole
    any.sql("CREATE TABLE cl_mart.src" + ON + " (k UInt64, v UInt64)"
        + " ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/cl_mart/src', '{replica}') ORDER BY k");
    any.sql("INSERT INTO cl_mart.src SELECT number % 100, 1 FROM system.numbers LIMIT 100000");
    var spec = new dev.housekeeper.api.mart.ReportMartSpec();
    spec.connectionRef = new ConnectionRef("cluster");
    spec.database = "cl_mart";
    spec.table = "daily";
    spec.onCluster = true;
    spec.columns = new ArrayList<>(List.of(new dev.housekeeper.api.mart.ReportMartSpec.Column("k", "UInt64"),
        new dev.housekeeper.api.mart.ReportMartSpec.Column("c", "UInt64")));
    spec.engine = "ReplicatedMergeTree('/clickhouse/tables/all/cl_mart/daily', '{replica}')";
    spec.orderBy = "k";
    spec.source = new dev.housekeeper.api.mart.ReportMartSpec.Source();
    spec.source.clickhouse = new dev.housekeeper.api.mart.ReportMartSpec.ClickHouseSource();
    spec.source.clickhouse.query = "SELECT k, sum(v) FROM cl_mart.src GROUP BY k";
    var m = new dev.housekeeper.api.mart.ReportMart();
    m.setMetadata(new ObjectMetaBuilder().withName("daily").withNamespace(NS).build());
    m.setSpec(spec);
    harness.client().resource(m).create();
    await().atMost(Duration.ofSeconds(120)).until(ClusterIT::mart, x -> x.getStatus() != null
        && x.getStatus().phase == dev.housekeeper.api.mart.ReportMartStatus.Phase.Ready);
    assertEquals("100\t100000", onEveryNode("SELECT count(), sum(c) FROM cl_mart.daily"));

    // readers on two replicas of different shards while the mart is rebuilt from a grown source
    any.sql("INSERT INTO cl_mart.src SELECT number % 100, 1 FROM system.numbers LIMIT 50000");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> onEveryNode("SELECT count() FROM cl_mart.src"));
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.Map<String, Integer> seen = new java.util.concurrent.ConcurrentHashMap<>();
    List<Thread> readers = new ArrayList<>();
    for (ClickHouseServer node : List.of(cluster.node(0, 1), cluster.node(1, 0))) {
      var client = new dev.housekeeper.clickhouse.HttpClickHouseClient(dev.housekeeper.clickhouse.ClientConfig.of(
          List.of(node.httpUrl()), ClickHouseServer.USER, ClickHouseServer.PASSWORD));
      Thread t = new Thread(() -> {
        try (client) {
          while (!stop.get()) {
            String answer;
            try {
              var row = client.query(dev.housekeeper.clickhouse.Sql.query("SELECT count() AS n, sum(c) AS s"
                  + " FROM cl_mart.daily")).get(0);
              answer = row.longValue("n") + "/" + row.longValue("s");
            } catch (RuntimeException e) {
              answer = "error: " + e.getMessage();
            }
            seen.merge(answer, 1, Integer::sum);
          }
        }
      });
      t.start();
      readers.add(t);
    }
    var before = mart();
    before.getMetadata().setAnnotations(new java.util.HashMap<>(java.util.Map.of(
        dev.housekeeper.api.mart.ReportMart.RUN_NOW_ANNOTATION, "grown")));
    harness.client().resource(before).update();
    var after = await().atMost(Duration.ofSeconds(120)).until(ClusterIT::mart, x -> "grown".equals(
        x.getStatus().acknowledgedRunNow) && x.getStatus().phase == dev.housekeeper.api.mart.ReportMartStatus.Phase.Ready);
    Thread.sleep(500);
    stop.set(true);
    for (Thread t : readers) {
      t.join();
    }
    System.out.println("replicated mart readers saw: " + seen);
    assertEquals("rename on cluster", after.getStatus().lastRefresh.swap);
    assertEquals("100\t150000", onEveryNode("SELECT count(), sum(c) FROM cl_mart.daily"));
    // every answer during the refresh was the old mart or the new one, whole; never an error or a part
    assertThat(seen.keySet()).as("answers seen by the readers: %s", seen).containsOnly("100/100000", "100/150000")
        .contains("100/150000");
    // the build tables are gone from every node
    assertEquals("daily\nsrc", onEveryNode("SELECT name FROM system.tables WHERE database = 'cl_mart' ORDER BY name"));
  }

  @Test
  @Order(7)
  void theMigrationLockHoldsAcrossNodes() {
    // a second connection to the same cluster whose first endpoint is another shard's node: its
    // migrations read and write the lock through s2r2 while the first connection's go through s1r1
    var other = harness.client().resources(ClickHouseConnection.class).inNamespace(NS).withName("cluster").get();
    var spec = other.getSpec();
    var reversed = new ArrayList<>(spec.getEndpoints());
    java.util.Collections.reverse(reversed);
    var second = new ClickHouseConnection();
    second.setMetadata(new ObjectMetaBuilder().withName("cluster-reversed").withNamespace(NS).build());
    var secondSpec = new dev.housekeeper.api.connection.ClickHouseConnectionSpec();
    secondSpec.setEndpoints(reversed);
    secondSpec.setCluster(spec.getCluster());
    secondSpec.setCredentials(spec.getCredentials());
    secondSpec.setProbeInterval("5s");
    second.setSpec(secondSpec);
    harness.client().resource(second).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> harness.client().resources(ClickHouseConnection.class)
        .inNamespace(NS).withName("cluster-reversed").get(), c -> c.getStatus() != null
        && Conditions.isTrue(c.getStatus().getConditions(), "Ready") && c.getStatus().topology != null);

    cluster.node(0, 0).sql("DROP DATABASE IF EXISTS cl_lock" + ON + "; CREATE DATABASE cl_lock" + ON);
    // A holds the lock for a while (a slow statement); B, the same migrations through another node, waits
    Migration slowOne = new Migration(1, "slow", "SELECT sleep(3); SELECT sleep(3); SELECT sleep(3); SELECT sleep(3)",
        null);
    Migration table = new Migration(2, "table", "CREATE TABLE t (x UInt8)"
        + " ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/cl_lock/t', '{replica}') ORDER BY x", null);
    harness.client().resource(migration("lock-a", "cl_lock", slowOne, table)).create();
    awaitMigration("lock-a", x -> "Running".equals(readyReason(x))
        && String.valueOf(Conditions.find(x.getStatus().getConditions(), "Ready").orElseThrow().getMessage())
            .contains("applying version 1"), 60);
    var waiting = migration("lock-b", "cl_lock", slowOne, table);
    waiting.getSpec().setConnectionRef(new ConnectionRef("cluster-reversed"));
    harness.client().resource(waiting).create();
    // B saw A's claim through its own node and waited (said in an Event; the condition flips between
    // WaitingForLock and the next try every few seconds)
    await().atMost(Duration.ofSeconds(60)).until(() -> harness.events(harness.client()
        .resources(ClickHouseMigration.class).inNamespace(NS).withName("lock-b").get()).stream()
        .anyMatch(e -> "WaitingForLock".equals(e.getReason()) && e.getMessage().contains("cluster-it/lock-a")));
    // A finishes and lets go; B then finds everything applied: nothing ran twice
    awaitMigration("lock-a", x -> x.getStatus().getPhase() == Phase.Ready
        && Long.valueOf(2).equals(x.getStatus().getCurrentVersion()), 120);
    awaitMigration("lock-b", x -> x.getStatus().getPhase() == Phase.Ready
        && Long.valueOf(2).equals(x.getStatus().getCurrentVersion()), 120);
    // one ledger on every node: each version applied once, and only by A (B ran nothing)
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertEquals("cluster-it/lock-a\t1\t1\n"
        + "cluster-it/lock-a\t2\t1", onEveryNode("SELECT resource, version, count() FROM"
        + " cl_lock.housekeeper_migrations WHERE event = 'applied' GROUP BY resource, version ORDER BY version"
        + " FORMAT TSV")));
    assertEquals("0", onEveryNode("SELECT count() FROM cl_lock.housekeeper_migrations"
        + " WHERE resource = 'cluster-it/lock-b' AND event NOT IN ('lock_wait')"));
  }

  static String readyReason(ClickHouseMigration m) {
    return Conditions.find(m.getStatus().getConditions(), "Ready").map(c -> c.getReason()).orElse("");
  }
}
