package dev.housekeeper.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.operator.HousekeeperOperator;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ApiRouter;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.KubernetesApi;
import dev.housekeeper.testing.RealKubernetesApi;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The real operator against a real API server for its own kinds: an {@link ApiRouter} sends
 * {@code housekeeper.dev} and {@code apiextensions.k8s.io} requests to the real server (schema,
 * defaults, pruning, {@code /status}, resourceVersions and watches as a cluster has them) and
 * everything else (Secrets, Events, Leases) to the fabric8 mock.
 */
class OperatorOnRealApiIT {

  static final String NS = "routed";

  @Test
  void aConnectionBecomesReadyThroughTheRealApiServer() throws Exception {
    RealKubernetesApi real = RealApiSupport.api();
    ClickHouseServer ch = ClickHouseServer.shared();
    try (KubernetesApi mock = KubernetesApi.start(); ApiRouter router = new ApiRouter(mock.url(), real)) {
      mock.client().secrets().inNamespace(NS).resource(new SecretBuilder()
          .withNewMetadata().withName("ch-credentials").withNamespace(NS)
          .addToLabels(dev.housekeeper.common.Secrets.ALLOW_LABEL, "true").endMetadata()
          .withData(Map.of("username", b64(ClickHouseServer.USER), "password", b64(ClickHouseServer.PASSWORD)))
          .build()).create();
      KubernetesClient operatorClient = router.client("operator", "default", HousekeeperOperator.serialization());
      try (HousekeeperOperator operator = new HousekeeperOperator(operatorClient, OperatorSettings.forTests(),
          Clock.systemUTC()).start()) {
        var spec = new ClickHouseConnectionSpec();
        spec.setEndpoints(List.of(ch.httpUrl()));
        var credentials = new ClickHouseConnectionSpec.Credentials();
        credentials.setSecretName("ch-credentials");
        spec.setCredentials(credentials);
        var connection = new ClickHouseConnection();
        connection.setMetadata(new ObjectMetaBuilder().withName("clickhouse").withNamespace(NS).build());
        connection.setSpec(spec);
        ClickHouseConnection created = real.client().resource(connection).create();
        // the server applied the defaults the operator relies on
        assertThat(created.getSpec().getQueryTimeout()).isEqualTo("300s");

        ClickHouseConnection ready = Awaitility.await().atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(250))
            .until(() -> real.client().resources(ClickHouseConnection.class).inNamespace(NS).withName("clickhouse")
                .get(), r -> r.getStatus() != null && Conditions.isTrue(r.getStatus().getConditions(), "Ready"));
        List<Event> events = mock.client().v1().events().inNamespace(NS).list().getItems();
        System.out.printf("operator on the real API: %s Ready (phase %s, server %s, generation %d observed %d);"
                + " %d requests to the real server, %d to the mock, %d of all WebSocket watches; Events in the mock: %s%n",
            ready.getMetadata().getName(), ready.getStatus().getPhase(), ready.getStatus().getServerVersion(),
            ready.getMetadata().getGeneration(), ready.getStatus().getObservedGeneration(), router.toReal(),
            router.toMock(), router.webSockets(), events.stream().map(e -> e.getType() + " " + e.getReason()).toList());
        assertThat(ready.getStatus().getObservedGeneration()).isEqualTo(ready.getMetadata().getGeneration());
        assertThat(ready.getStatus().getServerVersion()).isNotBlank();
        assertThat(router.toReal()).isPositive();
        assertThat(router.toMock()).isPositive();

        // a spec change made on the real server reaches the operator through its watch
        ready.getSpec().setProbeInterval("7s");
        real.client().resources(ClickHouseConnection.class).inNamespace(NS).resource(ready).update();
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250))
            .until(() -> real.client().resources(ClickHouseConnection.class).inNamespace(NS).withName("clickhouse")
                .get(), r -> r.getStatus().getObservedGeneration() == 2L);
      } finally {
        operatorClient.close();
      }
    }
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
