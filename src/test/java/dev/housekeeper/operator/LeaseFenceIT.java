package dev.housekeeper.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.housekeeper.testing.KubernetesApi;
import dev.housekeeper.testing.TcpProxy;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The leader's fence against the mock API: it stays quiet while the Lease is renewed, and stops the
 * work once it has seen no renewal for the renew deadline, also when the API cannot be reached at all
 * (its reads hang or fail) and when another replica holds the Lease.
 */
class LeaseFenceIT {

  static final Duration DEADLINE = Duration.ofSeconds(2);
  static final Duration PERIOD = Duration.ofMillis(200);

  @Test
  void quietWhileRenewedThenFencesWhenTheApiIsCutOff() throws Exception {
    try (KubernetesApi api = KubernetesApi.start();
        TcpProxy toApi = new TcpProxy(api.server().getPort()).start();
        KubernetesClient throughProxy = new KubernetesClientBuilder().withConfig(new ConfigBuilder(
            api.server().createClient().getConfiguration()).withMasterUrl(toApi.url()).build()).build()) {
      lease(api, "me", Instant.now());
      AtomicReference<Instant> fenced = new AtomicReference<>();
      try (LeaseFence fence = new LeaseFence(throughProxy, "default", "leader", "me", DEADLINE, PERIOD,
          Clock.systemUTC(), () -> fenced.set(Instant.now()))) {
        fence.leading();
        Instant renewUntil = Instant.now().plus(DEADLINE.multipliedBy(2));
        while (Instant.now().isBefore(renewUntil)) { // renewed every 300 ms for twice the deadline
          lease(api, "me", Instant.now());
          Thread.sleep(300);
        }
        assertThat(fenced.get()).as("a renewed lease is not fenced").isNull();

        Instant lastRenewal = Instant.now();
        lease(api, "me", lastRenewal);
        Thread.sleep(PERIOD.multipliedBy(3).toMillis()); // the fence has read the last renewal
        toApi.stop(); // the API is gone for this replica: reads fail, as the elector's renewals would
        toApi.closeOpenConnections();
        await().atMost(DEADLINE.multipliedBy(3)).until(() -> fenced.get() != null);
        assertThat(Duration.between(lastRenewal, fenced.get())).as("fenced once the renew deadline passed")
            .isGreaterThanOrEqualTo(DEADLINE);
      }
    }
  }

  @Test
  void fencesWhenAnotherReplicaHoldsTheLease() throws Exception {
    try (KubernetesApi api = KubernetesApi.start()) {
      lease(api, "someone-else", Instant.now());
      AtomicReference<Instant> fenced = new AtomicReference<>();
      Instant start = Instant.now();
      try (LeaseFence fence = new LeaseFence(api.client(), "default", "leader", "me", DEADLINE, PERIOD,
          Clock.systemUTC(), () -> fenced.set(Instant.now()))) {
        fence.leading();
        for (int i = 0; i < 10; i++) { // the other replica renews; this one never does
          lease(api, "someone-else", Instant.now());
          Thread.sleep(300);
        }
        assertThat(fenced.get()).as("renewals by another replica do not count").isNotNull();
        assertThat(Duration.between(start, fenced.get())).isGreaterThanOrEqualTo(DEADLINE);
      }
    }
  }

  private static void lease(KubernetesApi api, String holder, Instant renewed) {
    Lease lease = new LeaseBuilder().withNewMetadata().withName("leader").withNamespace("default").endMetadata()
        .withNewSpec().withHolderIdentity(holder).withLeaseDurationSeconds(3)
        .withRenewTime(ZonedDateTime.ofInstant(renewed, ZoneOffset.UTC)).endSpec().build();
    api.client().leases().inNamespace("default").resource(lease).createOr(existing -> existing.update());
  }
}
