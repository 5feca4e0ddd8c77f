package dev.housekeeper.operator;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.KubernetesApi;
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
      api.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
          .create();
      api.client().secrets().inNamespace(NS).resource(new SecretBuilder()
          .withNewMetadata().withName("creds").endMetadata()
          .withData(Map.of("username", b64(ClickHouseServer.USER), "password", b64(ClickHouseServer.PASSWORD)))
          .build()).create();
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
