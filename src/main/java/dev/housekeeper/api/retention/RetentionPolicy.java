package dev.housekeeper.api.retention;

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
 * Which tables of a database keep how much data, on what schedule, with OPTIMIZE settings and
 * safety limits. Status reports the last run, a preview of the next, and storage statistics.
 */
@Group(ApiGroup.GROUP)
@Version(ApiGroup.VERSION)
@Kind("RetentionPolicy")
@Plural("retentionpolicies")
@ShortNames("chret")
@Categories(ApiGroup.CATEGORY)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Next", jsonPath = ".status.nextRunTime", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Dropped", jsonPath = ".status.lastRun.partitionsDroppedCount", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Freed", jsonPath = ".status.lastRun.bytesFreed", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class RetentionPolicy extends CustomResource<RetentionPolicySpec, RetentionPolicyStatus> implements Namespaced {

  /** Annotation whose new value runs the retention at once. */
  public static final String RUN_NOW_ANNOTATION = "housekeeper.dev/run-now";
  /** Annotation whose new value runs OPTIMIZE at once. */
  public static final String OPTIMIZE_NOW_ANNOTATION = "housekeeper.dev/optimize-now";

  @Override
  protected RetentionPolicyStatus initStatus() {
    return new RetentionPolicyStatus();
  }
}
