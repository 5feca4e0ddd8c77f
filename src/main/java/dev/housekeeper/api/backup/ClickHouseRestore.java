package dev.housekeeper.api.backup;

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
 * Restores a backup, verified: object checksums before inserting, row counts after, and no
 * half-restored table on failure. Runs once; its status reports each table. With verify and a
 * schedule it is a restore drill: the newest backup restored into a scratch database, compared with
 * the manifest's row counts and content hashes, and dropped.
 */
@Group(ApiGroup.GROUP)
@Version(ApiGroup.VERSION)
@Kind("ClickHouseRestore")
@Plural("clickhouserestores")
@ShortNames("chrst")
@Categories(ApiGroup.CATEGORY)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Backup", jsonPath = ".status.backupId", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Tables", jsonPath = ".status.tablesRestored", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Rows", jsonPath = ".status.rows", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Verified", jsonPath = ".status.lastVerification.outcome", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class ClickHouseRestore extends CustomResource<ClickHouseRestoreSpec, ClickHouseRestoreStatus> implements Namespaced {

  /** Annotation whose new value runs the restore again (for example after fixing what made it fail). */
  public static final String RUN_NOW_ANNOTATION = "housekeeper.dev/run-now";

  @Override
  protected ClickHouseRestoreStatus initStatus() {
    return new ClickHouseRestoreStatus();
  }
}
