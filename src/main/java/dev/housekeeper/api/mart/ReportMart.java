package dev.housekeeper.api.mart;

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
 * A report table in ClickHouse, declared by its schema, its source (a ClickHouse SELECT or an
 * external database through JDBC) and its refresh schedule. Readers never see it empty or
 * half-built: it is built in a staging table and swapped in (full), or replaced partition by
 * partition (incremental).
 */
@Group(ApiGroup.GROUP)
@Version(ApiGroup.VERSION)
@Kind("ReportMart")
@Plural("reportmarts")
@ShortNames("chmart")
@Categories(ApiGroup.CATEGORY)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Table", jsonPath = ".status.table", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Last Refresh", jsonPath = ".status.lastRefresh.endTime", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Mode", jsonPath = ".status.lastRefresh.mode", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Rows", jsonPath = ".status.lastRefresh.rowsWritten", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Next", jsonPath = ".status.nextRefreshTime", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class ReportMart extends CustomResource<ReportMartSpec, ReportMartStatus> implements Namespaced {

  /** Annotation whose new value refreshes the mart at once (in its configured mode). */
  public static final String RUN_NOW_ANNOTATION = "housekeeper.dev/run-now";
  /** Annotation whose new value rebuilds the mart fully at once. */
  public static final String FULL_NOW_ANNOTATION = "housekeeper.dev/full-refresh-now";

  @Override
  protected ReportMartStatus initStatus() {
    return new ReportMartStatus();
  }
}
