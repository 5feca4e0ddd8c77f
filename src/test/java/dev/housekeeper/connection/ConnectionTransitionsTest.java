package dev.housekeeper.connection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import dev.housekeeper.clickhouse.ServerCapabilities;
import dev.housekeeper.clickhouse.ServerVersion;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.FakeClickHouseClient;
import dev.housekeeper.testing.ReconcilerHarness;
import dev.housekeeper.testing.TransitionTest;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the connection reconciler makes of a probe, pass by pass, against a scripted ClickHouse. The
 * probes themselves are proven against real servers in ClickHouseConnectionReconcilerIT,
 * IndependentEndpointsIT and ClusterIT.
 */
class ConnectionTransitionsTest extends TransitionTest {

  static final String FIRST = "http://ch-0.example:8123";
  static final String SECOND = "http://ch-1.example:8123";
  /** The Secret's values: none of them may appear in status or an Event. */
  static final String USER = "svc-reporting";
  static final String PASSWORD = "s3cret-Passw0rd";

  ClickHouseConnectionReconciler reconciler;

  @BeforeEach
  void newReconciler() {
    clickhouse.capabilities(ServerCapabilities.derive(ServerVersion.parse("26.7.2.1"), "Atomic", true, true));
    reconciler = new ClickHouseConnectionReconciler(harness.clients(), harness.statusWriter(), harness.events(),
        harness.metrics(), harness.clock(), Map.of());
  }

  ClickHouseConnection connection(List<String> endpoints) {
    var spec = new ClickHouseConnectionSpec();
    spec.setEndpoints(endpoints);
    var credentials = new ClickHouseConnectionSpec.Credentials();
    credentials.setSecretName("ch-credentials");
    spec.setCredentials(credentials);
    var connection = new ClickHouseConnection();
    connection.setMetadata(new ObjectMetaBuilder().withName("ch").withNamespace(ns).build());
    connection.setSpec(spec);
    return harness.create(connection);
  }

  void secret() {
    harness.create(new SecretBuilder().withNewMetadata().withName("ch-credentials").withNamespace(ns)
        .addToLabels(dev.housekeeper.common.Secrets.ALLOW_LABEL, "true").endMetadata()
        .withStringData(Map.of("username", USER, "password", PASSWORD)).build());
  }

  static String ready(ClickHouseConnectionStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).map(c -> c.getStatus() + "/" + c.getReason())
        .orElse("none");
  }

  static String readyMessage(ClickHouseConnectionStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).orElseThrow().getMessage();
  }

  @Test
  void invalidSpecNeverTouchesClickHouse() {
    var connection = connection(List.of("ftp://ch-0.example:8123"));
    secret();
    var control = harness.reconcile(reconciler, connection);
    ClickHouseConnectionStatus status = harness.status(connection);
    assertThat(status.getPhase()).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/ValidationError");
    assertThat(ReconcilerHarness.requeue(control)).isEmpty();
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void missingSecretWaitsWithoutProbing() {
    var connection = connection(List.of(FIRST));
    var control = harness.reconcile(reconciler, connection);
    ClickHouseConnectionStatus status = harness.status(connection);
    assertThat(status.getPhase()).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/SecretNotFound");
    assertThat(readyMessage(status)).contains("Secret \"ch-credentials\" does not exist in namespace " + ns);
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(60));
    assertThat(clickhouse.sent()).isEmpty();
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("SecretNotFound"));
  }

  @Test
  void pendingToConnectedWithTheServersCapabilities() {
    var connection = connection(List.of(FIRST));
    secret();
    var control = harness.reconcile(reconciler, connection);
    ClickHouseConnectionStatus status = harness.status(connection);
    assertThat(status.getPhase()).isEqualTo(Phase.Ready);
    assertThat(ready(status)).isEqualTo("True/Connected");
    assertThat(status.getServerVersion()).isEqualTo("26.7.2.1");
    assertThat(status.getHealthyEndpoints()).isEqualTo("1/1");
    assertThat(status.getCapabilities().isNativeBackup()).isTrue();
    assertThat(status.getCapabilities().isLightweightDelete()).isTrue();
    assertThat(status.getLastProbeTime()).isEqualTo("2026-06-01T10:00:00Z");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(60));
    assertThat(clickhouse.sent()).extracting(FakeClickHouseClient.Sent::method).containsExactly("probe");
    assertThat(harness.clients().find(ns, "ch")).as("kinds can resolve it now").isPresent();
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Normal") && e.reason().equals("Connected"));
  }

  @Test
  void wrongPasswordIsAuthenticationFailedAndNamesTheSecretNotItsValues() {
    var connection = connection(List.of(FIRST));
    secret();
    clickhouse.probeFailures(Map.of(FIRST, FakeClickHouseClient.failure(Kind.AUTHENTICATION,
        "Code: 516. DB::Exception: [user]: Authentication failed")));
    harness.reconcile(reconciler, connection);
    ClickHouseConnectionStatus status = harness.status(connection);
    assertThat(status.getPhase()).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/AuthenticationFailed");
    assertThat(readyMessage(status)).contains("key \"username\" of Secret \"ch-credentials\"")
        .doesNotContain(USER).doesNotContain(PASSWORD);
    assertThat(harness.said()).filteredOn(e -> e.reason().equals("AuthenticationFailed")).singleElement()
        .satisfies(e -> assertThat(e.message()).doesNotContain(USER).doesNotContain(PASSWORD));
  }

  @Test
  void oneEndpointDownIsDegradedYetReady() {
    var connection = connection(List.of(FIRST, SECOND));
    secret();
    clickhouse.probeFailures(Map.of(SECOND, FakeClickHouseClient.failure(Kind.CONNECTION, "Connection refused")));
    harness.reconcile(reconciler, connection);
    ClickHouseConnectionStatus status = harness.status(connection);
    assertThat(status.getPhase()).isEqualTo(Phase.Degraded);
    assertThat(ready(status)).isEqualTo("True/PartiallyAvailable");
    assertThat(Conditions.isTrue(status.getConditions(), Conditions.DEGRADED)).isTrue();
    assertThat(status.getHealthyEndpoints()).isEqualTo("1/2");
    assertThat(status.getEndpoints()).extracting(e -> e.getUrl() + "=" + e.isHealthy())
        .containsExactly(FIRST + "=true", SECOND + "=false");
    assertThat(readyMessage(status)).contains("down: " + SECOND);
  }

  @Test
  void serverGoneIsUnreachableAndProbedAgainSoonThenRecovers() {
    var connection = connection(List.of(FIRST));
    secret();
    clickhouse.probeFailures(Map.of(FIRST, FakeClickHouseClient.failure(Kind.CONNECTION, "Connection refused")));
    var control = harness.reconcile(reconciler, connection);
    ClickHouseConnectionStatus down = harness.status(connection);
    assertThat(down.getPhase()).isEqualTo(Phase.Failed);
    assertThat(ready(down)).isEqualTo("False/Unreachable");
    assertThat(ReconcilerHarness.requeue(control)).as("sooner than the 60 s interval").contains(Duration.ofSeconds(10));

    clickhouse.probeFailures(Map.of());
    harness.clock().advance(Duration.ofSeconds(10));
    harness.reconcile(reconciler, connection);
    ClickHouseConnectionStatus up = harness.status(connection);
    assertThat(ready(up)).isEqualTo("True/Connected");
    assertThat(up.getLastProbeTime()).isEqualTo("2026-06-01T10:00:10Z");
    assertThat(harness.said()).extracting(ReconcilerHarness.Said::reason).containsSubsequence("Unreachable",
        "Connected");
  }
}
