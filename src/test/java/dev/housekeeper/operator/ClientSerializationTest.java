package dev.housekeeper.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.housekeeper.api.backup.ClickHouseBackup;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.WatchEvent;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.Test;

/** The operator's client mapping: its kinds and Status by name, and not the model classes it never reads. */
class ClientSerializationTest {

  private final KubernetesSerialization serialization = HousekeeperOperator.serialization();

  @Test
  void aWatchErrorAfterCompactionIsAStatusSoTheInformerListsAgain() {
    WatchEvent event = serialization.unmarshal("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
        + "\"status\":\"Failure\",\"message\":\"too old resource version: 1 (2)\",\"reason\":\"Expired\",\"code\":410}}",
        WatchEvent.class);
    Status status = assertInstanceOf(Status.class, event.getObject());
    assertEquals(410, status.getCode());
  }

  @Test
  void watchEventsOfTheOperatorsKindsArriveAsTheirClasses() {
    WatchEvent backup = serialization.unmarshal("{\"type\":\"ADDED\",\"object\":{\"kind\":\"ClickHouseBackup\","
        + "\"apiVersion\":\"housekeeper.dev/v1alpha1\",\"metadata\":{\"name\":\"nightly\",\"namespace\":\"team-a\","
        + "\"resourceVersion\":\"7\"}}}", WatchEvent.class);
    assertEquals("nightly", assertInstanceOf(ClickHouseBackup.class, backup.getObject()).getMetadata().getName());
    WatchEvent secret = serialization.unmarshal("{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Secret\",\"apiVersion\":"
        + "\"v1\",\"metadata\":{\"name\":\"ch-credentials\"}}}", WatchEvent.class);
    assertInstanceOf(Secret.class, secret.getObject());
  }

  @Test
  void kindsTheOperatorNeverReadsAreNotLookedUp() {
    assertNull(serialization.getRegisteredKubernetesResource("apps/v1", "Deployment"));
    assertEquals(Status.class, serialization.getRegisteredKubernetesResource("v1", "Status"));
  }
}
