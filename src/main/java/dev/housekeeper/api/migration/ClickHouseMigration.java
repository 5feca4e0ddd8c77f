package dev.housekeeper.api.migration;

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
 * An ordered set of versioned schema migrations for one ClickHouse database, with a ledger and a
 * lock kept in ClickHouse itself.
 */
@Group(ApiGroup.GROUP)
@Version(ApiGroup.VERSION)
@Kind("ClickHouseMigration")
@Plural("clickhousemigrations")
@ShortNames("chmig")
@Categories(ApiGroup.CATEGORY)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Current", jsonPath = ".status.currentVersion", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Target", jsonPath = ".status.targetVersion", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Pending", jsonPath = ".status.pendingCount", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class ClickHouseMigration extends CustomResource<ClickHouseMigrationSpec, ClickHouseMigrationStatus>
    implements Namespaced {

  /** Annotation whose new value retries a Dirty migration from its failed statement. */
  public static final String RETRY_ANNOTATION = "housekeeper.dev/retry";

  @Override
  protected ClickHouseMigrationStatus initStatus() {
    return new ClickHouseMigrationStatus();
  }
}
