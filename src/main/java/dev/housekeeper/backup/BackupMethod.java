package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.connection.ClickHouseConnection;
import java.util.ArrayList;
import java.util.List;

/** The method a backup runs with: the server's BACKUP, Housekeeper's own logical copy, or none and why. */
sealed interface BackupMethod {

  /** A method that can run: {@code name} is {@code native} or {@code logical}. */
  record Chosen(String name) implements BackupMethod {}

  /** The spec asks for the native method and something rules it out. */
  record Unavailable(String why) implements BackupMethod {}

  /**
   * What the spec asks for on this connection's server: {@code auto} takes the native method when
   * nothing rules it out, else the logical one.
   */
  static BackupMethod choose(ClickHouseBackupSpec spec, ClickHouseConnection connection) {
    List<String> blockers = nativeBlockers(spec, connection);
    String asked = spec.method == null ? ClickHouseBackupSpec.AUTO : spec.method;
    if (ClickHouseBackupSpec.LOGICAL.equals(asked)) {
      return new Chosen(ClickHouseBackupSpec.LOGICAL);
    }
    if (ClickHouseBackupSpec.NATIVE.equals(asked) && !blockers.isEmpty()) {
      return new Unavailable("method native cannot be used: " + String.join("; ", blockers)
          + ". Use method logical or auto.");
    }
    return new Chosen(blockers.isEmpty() ? ClickHouseBackupSpec.NATIVE : ClickHouseBackupSpec.LOGICAL);
  }

  /** Why the native method cannot back up this spec on this server (empty: it can). */
  private static List<String> nativeBlockers(ClickHouseBackupSpec spec, ClickHouseConnection connection) {
    var status = connection.getStatus();
    var caps = status == null ? null : status.getCapabilities();
    List<String> blockers = new ArrayList<>();
    if (caps == null || !caps.isNativeBackup()) {
      blockers.add("the server has no BACKUP statement (ClickHouse " + (status == null ? "?"
          : status.getServerVersion()) + "; it came in 22.8)");
    }
    if (spec.encryption != null) {
      blockers.add("client-side encryption needs the logical method");
    }
    if (spec.scope != null && (spec.scope.partitions != null || spec.scope.schemaOnly)) {
      blockers.add("partition filters and schemaOnly need the logical method");
    }
    if (status != null && status.topology != null) {
      blockers.add("on a cluster Housekeeper backs up one replica per shard with the logical method");
    }
    if (spec.storage.volume != null && spec.storage.volume.clickhouseDisk == null) {
      blockers.add("a volume path needs storage.volume.clickhouseDisk for the native method");
    }
    return blockers;
  }
}
