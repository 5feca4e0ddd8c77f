package dev.housekeeper.operator;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.KubernetesApi;
import dev.housekeeper.testing.TcpProxy;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.time.Instant;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Two replicas elect a leader on a Lease; when the leader stops, the other takes over. */
class LeaderElectionIT {

  static final String NS = "housekeeper-system";

  @Test
  void standbyTakesOverWhenTheLeaderStops() throws Exception {
    ClickHouseServer clickhouse = ClickHouseServer.shared();
    try (KubernetesApi api = KubernetesApi.start()) {
      namespaceWithCredentials(api);
      Duration lease = Duration.ofSeconds(3);
      HousekeeperOperator a = new HousekeeperOperator(api.server().createClient(),
          OperatorSettings.forTests().withLeaderElection(NS, "housekeeper-leader", "replica-a", lease)).start();
      HousekeeperOperator b = null;
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> holder(api) != null);
        assertEquals("replica-a", holder(api));
        b = new HousekeeperOperator(api.server().createClient(),
            OperatorSettings.forTests().withLeaderElection(NS, "housekeeper-leader", "replica-b", lease)).start();
        api.client().resource(connection("first", clickhouse.httpUrl())).create();
        awaitConnected(api, "first");
        assertEquals("replica-a", holder(api), "the standby did not take the lease while the leader renews it");

        a.close();
        a.kubernetesClient().close();
        a = null;
        await().atMost(Duration.ofSeconds(30)).until(() -> "replica-b".equals(holder(api)));
        api.client().resource(connection("second", clickhouse.httpUrl())).create();
        awaitConnected(api, "second");
      } finally {
        if (a != null) {
          a.close();
          a.kubernetesClient().close();
        }
        if (b != null) {
          b.close();
          b.kubernetesClient().close();
        }
      }
    }
  }

  /**
   * One writer: the leader's API connection is cut while a migration statement runs (40 blocks of
   * 0.5 s). Once the lease is lost the old leader kills its statement and starts nothing more, before
   * the standby, which may take the lease only when it expired, becomes leader; the standby then
   * runs the migration, which is applied once.
   */
  @Test
  void aLeaderThatLosesItsLeaseStopsItsWorkBeforeTheStandbyLeads() throws Exception {
    ClickHouseServer clickhouse = ClickHouseServer.shared();
    clickhouse.sql("DROP DATABASE IF EXISTS one_writer; CREATE DATABASE one_writer");
    String slow = "SELECT count() FROM (SELECT sleep(0.5) FROM numbers(40)) SETTINGS max_block_size = 1";
    try (KubernetesApi api = KubernetesApi.start();
        TcpProxy toApi = new TcpProxy(api.server().getPort()).start()) {
      namespaceWithCredentials(api);
      // the leader gives up 2/3 into the lease (6 s without a renewal), the standby may take it at 9 s: the
      // old leader has 3 s to stop its work, as it has 5 s with the default 15 s lease
      Duration lease = Duration.ofSeconds(9);
      KubernetesClient throughProxy = new KubernetesClientBuilder().withConfig(new ConfigBuilder(
          api.server().createClient().getConfiguration()).withMasterUrl(toApi.url()).withRequestRetryBackoffLimit(0)
          .build()).build();
      HousekeeperOperator a = new HousekeeperOperator(throughProxy,
          OperatorSettings.forTests().withLeaderElection(NS, "housekeeper-leader", "replica-a", lease)).start();
      HousekeeperOperator b = null;
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> "replica-a".equals(holder(api)));
        api.client().resource(connection("ch", clickhouse.httpUrl())).create();
        awaitConnected(api, "ch");
        api.client().resource(dev.housekeeper.testing.Specs.migration(NS, "slow", "one_writer",
            new Migration(1, "slow", slow, null))).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> !runningSlow(clickhouse).isEmpty());
        String queryId = runningSlow(clickhouse);
        b = new HousekeeperOperator(api.server().createClient(),
            OperatorSettings.forTests().withLeaderElection(NS, "housekeeper-leader", "replica-b", lease)).start();

        Instant cut = Instant.now();
        toApi.stop();
        toApi.closeOpenConnections();
        await().atMost(Duration.ofSeconds(30)).until(() -> runningSlow(clickhouse).isEmpty());
        Instant stopped = Instant.now();
        await().atMost(Duration.ofSeconds(30)).until(() -> "replica-b".equals(holder(api)));
        Instant takenOver = Instant.now();
        assertThat(stopped).as("the old leader's statement ended before the standby led").isBefore(takenOver);
        assertThat(Duration.between(cut, stopped)).isLessThan(Duration.ofSeconds(15));

        await().atMost(Duration.ofSeconds(90)).until(() -> {
          ClickHouseMigration m = api.client().resources(ClickHouseMigration.class).inNamespace(NS).withName("slow")
              .get();
          return m.getStatus() != null && m.getStatus().getCurrentVersion() != null
              && m.getStatus().getCurrentVersion() == 1L;
        });
        assertEquals(1, clickhouse.sqlLong("SELECT count() FROM one_writer.housekeeper_migrations"
            + " WHERE version = 1 AND event = 'applied'"));
        clickhouse.sql("SYSTEM FLUSH LOGS");
        // the old leader's statement was killed (QUERY_WAS_CANCELLED), not left to run beside the new leader
        assertEquals(1, clickhouse.sqlLong("SELECT count() FROM system.query_log WHERE query_id = '" + queryId
            + "' AND type > 2 AND position(exception, 'Code: 394') > 0"));
        // from the kill to the takeover the old leader sent nothing (the standby was not leading yet)
        assertEquals(0, clickhouse.sqlLong("SELECT count() FROM system.query_log WHERE type = 1 AND user = '"
            + ClickHouseServer.USER + "' AND query_start_time > toDateTime(" + (stopped.getEpochSecond() + 1)
            + ") AND query_start_time < toDateTime(" + (takenOver.getEpochSecond() - 1) + ")"));
      } finally {
        a.close();
        a.kubernetesClient().close();
        if (b != null) {
          b.close();
          b.kubernetesClient().close();
        }
      }
    }
  }

  /** The query id of the migration's slow statement while it runs, or "". */
  private static String runningSlow(ClickHouseServer clickhouse) {
    return clickhouse.sql("SELECT any(query_id) FROM system.processes WHERE query LIKE '%sleep(0.5) FROM numbers(40)%'"
        + " AND query NOT LIKE '%system.processes%'");
  }

  /** The operator's namespace, with the Secret of the ClickHouse user ("creds"). */
  private static void namespaceWithCredentials(KubernetesApi api) {
    api.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
        .create();
    api.client().secrets().inNamespace(NS).resource(new SecretBuilder()
        .withNewMetadata().withName("creds").addToLabels(dev.housekeeper.common.Secrets.ALLOW_LABEL, "true").endMetadata()
        .withData(Map.of("username", b64(ClickHouseServer.USER), "password", b64(ClickHouseServer.PASSWORD)))
        .build()).create();
  }

  private static String holder(KubernetesApi api) {
    Lease l = api.client().leases().inNamespace(NS).withName("housekeeper-leader").get();
    return l == null || l.getSpec() == null ? null : l.getSpec().getHolderIdentity();
  }

  private static void awaitConnected(KubernetesApi api, String name) {
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      ClickHouseConnection c = api.client().resources(ClickHouseConnection.class).inNamespace(NS).withName(name).get();
      return c != null && c.getStatus() != null && Conditions.isTrue(c.getStatus().getConditions(), "Ready");
    });
  }

  private static ClickHouseConnection connection(String name, String endpoint) {
    var spec = new ClickHouseConnectionSpec();
    spec.setEndpoints(List.of(endpoint));
    var creds = new ClickHouseConnectionSpec.Credentials();
    creds.setSecretName("creds");
    spec.setCredentials(creds);
    var c = new ClickHouseConnection();
    c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    c.setSpec(spec);
    return c;
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }
}
