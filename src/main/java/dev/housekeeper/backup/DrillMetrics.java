package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.common.HousekeeperMetrics;

/**
 * A restore drill's gauges, from its status (so that a restarted operator exports them again): when
 * its verification last passed, and its measured recovery time. Only drills (verify with a schedule)
 * export them, so that the chart's "no verified restore" alert is about backups proven on a schedule,
 * not about a one-shot restore done once long ago.
 */
final class DrillMetrics {

  private DrillMetrics() {}

  static void export(HousekeeperMetrics metrics, ClickHouseRestore resource, ClickHouseRestoreStatus status) {
    String ns = resource.getMetadata().getNamespace();
    String name = resource.getMetadata().getName();
    var spec = resource.getSpec();
    boolean drill = spec != null && spec.verify && spec.schedule != null;
    var last = status.lastVerification;
    Double verified = null;
    if (drill && status.lastVerifiedTime != null) {
      verified = java.time.Instant.parse(status.lastVerifiedTime).getEpochSecond() * 1.0;
    } else if (drill && last != null) {
      verified = 0.0; // drills ran and none passed: as old as can be, so that the alert fires
    }
    metrics.gauge(HousekeeperMetrics.LAST_VERIFIED, ClickHouseRestoreReconciler.KIND, ns, name, verified);
    metrics.gauge(HousekeeperMetrics.RECOVERY_TIME, ClickHouseRestoreReconciler.KIND, ns, name,
        drill && last != null ? last.recoverySeconds : null);
  }
}
