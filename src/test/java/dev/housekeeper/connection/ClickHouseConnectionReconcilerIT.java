package dev.housekeeper.connection;

import dev.housekeeper.testing.TestPorts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus.Phase;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real operator over HTTP to the mock API, probing the real ClickHouse server. */
class ClickHouseConnectionReconcilerIT {

  static final String NS = "conn-it";
  static OperatorHarness harness;

  @BeforeAll
  static void start() {
    harness = OperatorHarness.start();
    harness.namespace(NS);
    harness.clickhouseSecret(NS, "ch-credentials");
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  static ClickHouseConnection connection(String name, String secret, String... endpoints) {
    ClickHouseConnectionSpec spec = new ClickHouseConnectionSpec();
    spec.setEndpoints(List.of(endpoints));
    var creds = new ClickHouseConnectionSpec.Credentials();
    creds.setSecretName(secret);
    spec.setCredentials(creds);
    spec.setConnectTimeout("1s");
    spec.setProbeInterval("10m"); // only spec or Secret changes trigger a probe within a test
    ClickHouseConnection c = new ClickHouseConnection();
    c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    c.setSpec(spec);
    return c;
  }

  static ClickHouseConnection create(ClickHouseConnection c) {
    return harness.client().resource(c).create();
  }

  static ClickHouseConnection awaitReason(String name, String reason) {
    return await().atMost(Duration.ofSeconds(20)).until(() -> get(name), c -> c != null && c.getStatus() != null
        && Conditions.find(c.getStatus().getConditions(), "Ready").map(Condition::getReason).orElse("").equals(reason));
  }

  static ClickHouseConnection get(String name) {
    return harness.client().resources(ClickHouseConnection.class).inNamespace(NS).withName(name).get();
  }

  static Condition ready(ClickHouseConnection c) {
    return Conditions.find(c.getStatus().getConditions(), "Ready").orElseThrow();
  }

  @Test
  void pendingToReadyWithCapabilitiesOf1816() {
    ClickHouseConnection created = create(connection("ready", "ch-credentials", harness.clickhouse().httpUrl()));
    ClickHouseConnection c = awaitReason("ready", "Connected");
    assertEquals(Phase.Ready, c.getStatus().getPhase());
    assertEquals("True", ready(c).getStatus());
    assertEquals(created.getMetadata().getGeneration(), c.getStatus().getObservedGeneration());
    assertThat(c.getStatus().getServerVersion()).startsWith("18.16");
    assertEquals("1/1", c.getStatus().getHealthyEndpoints());
    assertTrue(c.getStatus().getEndpoints().get(0).isHealthy());
    assertThat(c.getStatus().getLatencyMillis()).isNotNull();
    var caps = c.getStatus().getCapabilities();
    assertFalse(caps.isNativeBackup());
    assertFalse(caps.isTableTtl());
    assertFalse(caps.isExchangeTables());
    assertFalse(caps.isLightweightDelete());
    assertFalse(caps.isPostgresqlTableFunction());
    assertFalse(caps.isQueryParameters());
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(c).stream()
        .anyMatch(e -> "Connected".equals(e.getReason()) && "Normal".equals(e.getType())));
    // the probe really reached the server: it is in the query log
    harness.clickhouse().sql("SYSTEM FLUSH LOGS");
    assertThat(harness.clickhouse().sqlLong("SELECT count() FROM system.query_log WHERE query_id LIKE 'hk-probe-%'"))
        .isGreaterThan(0);
  }

  @Test
  void wrongPasswordGivesAuthenticationFailedUntilTheSecretIsFixed() {
    harness.secret(NS, "bad-credentials", Map.of("username", ClickHouseServer.USER, "password", "wrong"));
    create(connection("auth", "bad-credentials", harness.clickhouse().httpUrl()));
    ClickHouseConnection c = awaitReason("auth", "AuthenticationFailed");
    assertEquals(Phase.Failed, c.getStatus().getPhase());
    assertEquals("False", ready(c).getStatus());
    assertThat(ready(c).getMessage()).contains("Wrong password").contains("bad-credentials");
    assertEquals("Authentication", c.getStatus().getEndpoints().get(0).getLastErrorKind());
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(c).stream()
        .anyMatch(e -> "AuthenticationFailed".equals(e.getReason()) && "Warning".equals(e.getType())));

    // Fixing the Secret re-probes at once (the probe interval is 10 minutes).
    harness.clickhouseSecret(NS, "bad-credentials");
    awaitReason("auth", "Connected");
  }

  /**
   * A connection whose usernameKey names another key of a Secret (a password, a token) sends that
   * value as the user name; ClickHouse refuses it and names the user in its answer. The value appears
   * in no condition, Event or status field: the user is named by its Secret and key.
   */
  @Test
  void aUsernameKeyPointingAtASecretValueNeverShowsTheValue() {
    String planted = "planted-" + java.util.UUID.randomUUID();
    harness.secret(NS, "token-secret", Map.of("token", planted, "password", "not-" + planted));
    ClickHouseConnection spec = connection("exfil", "token-secret", harness.clickhouse().httpUrl());
    spec.getSpec().getCredentials().setUsernameKey("token");
    create(spec);
    ClickHouseConnection c = awaitReason("exfil", "AuthenticationFailed");
    assertThat(ready(c).getMessage()).contains("key \"token\" of Secret \"token-secret\"")
        .contains(dev.housekeeper.clickhouse.HttpClickHouseClient.USER_PLACEHOLDER);
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(c).stream()
        .anyMatch(e -> "AuthenticationFailed".equals(e.getReason())));
    assertThat(io.fabric8.kubernetes.client.utils.Serialization.asJson(get("exfil"))).doesNotContain(planted);
    assertThat(harness.events(c)).noneMatch(e -> String.valueOf(e.getMessage()).contains(planted));
  }

  @Test
  void noEndpointAnsweringGivesUnreachable() throws Exception {
    String dead = "http://127.0.0.1:" + TestPorts.take();
    create(connection("unreachable", "ch-credentials", dead));
    ClickHouseConnection c = awaitReason("unreachable", "Unreachable");
    assertEquals(Phase.Failed, c.getStatus().getPhase());
    assertThat(ready(c).getMessage()).contains(dead).contains("Connection refused");
    assertEquals("0/1", c.getStatus().getHealthyEndpoints());
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(c).stream()
        .anyMatch(e -> "Unreachable".equals(e.getReason())));
  }

  @Test
  void missingSecretGivesSecretNotFoundUntilItIsCreated() {
    create(connection("nosecret", "not-yet", harness.clickhouse().httpUrl()));
    ClickHouseConnection c = awaitReason("nosecret", "SecretNotFound");
    assertThat(ready(c).getMessage()).contains("not-yet").contains("does not exist");
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(c).stream()
        .anyMatch(e -> "SecretNotFound".equals(e.getReason())));

    harness.secret(NS, "not-yet", Map.of("username", ClickHouseServer.USER));
    awaitReason("nosecret", "SecretNotFound");
    await().atMost(Duration.ofSeconds(20)).until(() -> ready(get("nosecret")).getMessage().contains("no key \"password\""));

    harness.clickhouseSecret(NS, "not-yet");
    awaitReason("nosecret", "Connected");
  }

  @Test
  void oneEndpointDownIsDegradedButReady() throws Exception {
    String dead = "http://127.0.0.1:" + TestPorts.take();
    create(connection("degraded", "ch-credentials", dead, harness.clickhouse().httpUrl()));
    ClickHouseConnection c = awaitReason("degraded", "PartiallyAvailable");
    assertEquals(Phase.Degraded, c.getStatus().getPhase());
    assertEquals("True", ready(c).getStatus());
    assertEquals("1/2", c.getStatus().getHealthyEndpoints());
    assertTrue(Conditions.isTrue(c.getStatus().getConditions(), "Degraded"));
  }

  @Test
  void invalidSpecGivesValidationErrorWithoutProbing() {
    create(connection("invalid", "ch-credentials", "ftp://clickhouse:21"));
    ClickHouseConnection c = awaitReason("invalid", "ValidationError");
    assertThat(ready(c).getMessage()).contains("spec.endpoints").contains("ftp://clickhouse:21");
    assertEquals(Phase.Failed, c.getStatus().getPhase());
  }

  @Test
  void metricsHealthAndReadinessAreServed() {
    create(connection("metrics", "ch-credentials", harness.clickhouse().httpUrl()));
    awaitReason("metrics", "Connected");
    assertEquals(200, harness.http("/healthz").statusCode());
    await().atMost(Duration.ofSeconds(10)).until(() -> harness.http("/readyz").statusCode() == 200);
    String metrics = harness.http("/metrics").body();
    assertThat(metrics)
        .contains("housekeeper_resource_ready{kind=\"ClickHouseConnection\",name=\"metrics\",namespace=\"conn-it\"} 1.0")
        .contains("housekeeper_actions_total{action=\"probe\"")
        .contains("operator_sdk_")
        .contains("jvm_memory_used_bytes");
  }
}
