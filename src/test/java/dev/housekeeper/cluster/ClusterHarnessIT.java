package dev.housekeeper.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.testing.ClickHouseCluster;
import dev.housekeeper.testing.ClickHouseServer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The test cluster itself: 2 shards x 2 replicas answer, ON CLUSTER DDL and replication work. */
class ClusterHarnessIT {

  @Test
  void onClusterDdlReachesEveryNodeAndReplicasReplicate() {
    ClickHouseCluster cluster = ClickHouseCluster.shared();
    ClickHouseServer first = cluster.node(0, 0);
    assertEquals("4", first.sql("SELECT count() FROM system.clusters WHERE cluster = '" + ClickHouseCluster.NAME + "'"));
    first.sql("DROP DATABASE IF EXISTS harness ON CLUSTER " + ClickHouseCluster.NAME);
    first.sql("CREATE DATABASE harness ON CLUSTER " + ClickHouseCluster.NAME);
    first.sql("CREATE TABLE harness.t ON CLUSTER " + ClickHouseCluster.NAME + " (id UInt64)"
        + " ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/harness/t', '{replica}') ORDER BY id");
    first.sql("INSERT INTO harness.t SELECT number FROM system.numbers LIMIT 100");
    cluster.node(1, 1).sql("INSERT INTO harness.t SELECT number FROM system.numbers LIMIT 7");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertEquals("100", cluster.node(0, 1).sql("SELECT count() FROM harness.t"));
      assertEquals("7", cluster.node(1, 0).sql("SELECT count() FROM harness.t"));
    });
    for (ClickHouseServer n : cluster.nodes()) {
      assertThat(n.sql("SELECT name FROM system.tables WHERE database = 'harness'")).isEqualTo("t");
    }
    first.sql("DROP DATABASE harness ON CLUSTER " + ClickHouseCluster.NAME);
  }
}
