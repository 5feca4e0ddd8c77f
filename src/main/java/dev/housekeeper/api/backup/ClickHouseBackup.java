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
 * Backups of ClickHouse tables to object storage or a volume, once or on a schedule, with
 * retention. Its status is the durable record of the backups taken.
 */
@Group(ApiGroup.GROUP)
@Version(ApiGroup.VERSION)
@Kind("ClickHouseBackup")
@Plural("clickhousebackups")
@ShortNames("chbak")
@Categories(ApiGroup.CATEGORY)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Method", jsonPath = ".status.method", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Last Success", jsonPath = ".status.lastSuccessfulTime", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Backups", jsonPath = ".status.completeBackups", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Stored", jsonPath = ".status.lastSuccessful.storedBytes", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Next", jsonPath = ".status.nextScheduleTime", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class ClickHouseBackup extends CustomResource<ClickHouseBackupSpec, ClickHouseBackupStatus> implements Namespaced {

  /** Annotation whose new value takes a backup at once (also for a one-shot backup that already ran). */
  public static final String RUN_NOW_ANNOTATION = "housekeeper.dev/run-now";

  @Override
  protected ClickHouseBackupStatus initStatus() {
    return new ClickHouseBackupStatus();
  }
}
