package dev.housekeeper.api.connection;

import dev.housekeeper.api.ApiGroup;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * How to reach one ClickHouse deployment: its endpoints, database, credentials (from a Secret),
 * TLS, cluster name and client resilience settings. Every other Housekeeper kind names one.
 */
@Group(ApiGroup.GROUP)
@Version(ApiGroup.VERSION)
@Kind("ClickHouseConnection")
@Plural("clickhouseconnections")
@ShortNames("chconn")
@Categories(ApiGroup.CATEGORY)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Version", jsonPath = ".status.serverVersion", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Healthy", jsonPath = ".status.healthyEndpoints", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Latency", jsonPath = ".status.latencyMillis", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Replicas", jsonPath = ".status.topology.reachableReplicas", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class ClickHouseConnection
    extends CustomResource<ClickHouseConnectionSpec, ClickHouseConnectionStatus> implements Namespaced {

  @Override
  protected ClickHouseConnectionStatus initStatus() {
    return new ClickHouseConnectionStatus();
  }
}
