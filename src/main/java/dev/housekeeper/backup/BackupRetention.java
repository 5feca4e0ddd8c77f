package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Which complete backups a retention rule expires. The newest complete backup never expires. */
public final class BackupRetention {

  private BackupRetention() {}

  /** Parses 30m, 12h, 7d, 4w. */
  public static Duration parseAge(String field, String value) {
    if (value == null || !value.matches("^[0-9]{1,5}(m|h|d|w)$")) {
      throw new IllegalArgumentException(field + ": " + value + " is not an age like 30d (m, h, d or w)");
    }
    long n = Long.parseLong(value.substring(0, value.length() - 1));
    return switch (value.charAt(value.length() - 1)) {
      case 'm' -> Duration.ofMinutes(n);
      case 'h' -> Duration.ofHours(n);
      case 'd' -> Duration.ofDays(n);
      default -> Duration.ofDays(7 * n);
    };
  }

  /**
   * @param complete complete backups, newest first
   * @return ids to delete, oldest last
   */
  public static List<String> expired(List<BackupRecord> complete, Integer keepLast, Duration maxAge, Instant now) {
    List<String> out = new ArrayList<>();
    for (int i = 1; i < complete.size(); i++) { // index 0, the newest, always stays
      BackupRecord r = complete.get(i);
      boolean tooMany = keepLast != null && i >= keepLast;
      boolean tooOld = maxAge != null && r.endTime != null && Instant.parse(r.endTime).isBefore(now.minus(maxAge));
      if (tooMany || tooOld) {
        out.add(r.id);
      }
    }
    out.removeAll(basesOfKept(complete, out));
    return out;
  }

  /**
   * The backups that a kept backup is based on, directly or through other bases (native incremental
   * backups): deleting one would leave a kept backup that cannot be restored, so they stay while it does.
   */
  private static java.util.Set<String> basesOfKept(List<BackupRecord> complete, List<String> expired) {
    java.util.Map<String, String> baseOf = new java.util.HashMap<>();
    complete.stream().filter(r -> r.base != null).forEach(r -> baseOf.put(r.id, r.base));
    java.util.Set<String> needed = new java.util.HashSet<>();
    java.util.Deque<String> kept = new java.util.ArrayDeque<>();
    complete.stream().map(r -> r.id).filter(id -> !expired.contains(id)).forEach(kept::add);
    while (!kept.isEmpty()) {
      String base = baseOf.get(kept.pop());
      if (base != null && needed.add(base)) {
        kept.push(base);
      }
    }
    return needed;
  }

  /**
   * The base of the next native backup when {@code spec.incremental} asks for one: the newest complete
   * backup if it is native, in this storage, and restorable (its own bases all listed), and its chain
   * since the last full backup is shorter than {@code fullEvery} allows; else null (a full backup).
   *
   * @param complete complete backups, newest first
   * @param location the location a backup of this storage has, given its id
   */
  public static String nextBase(Integer fullEvery, List<BackupRecord> complete,
      java.util.function.Function<String, String> location) {
    if (fullEvery == null || complete.isEmpty()) {
      return null;
    }
    BackupRecord newest = complete.get(0);
    java.util.Map<String, BackupRecord> byId = new java.util.HashMap<>();
    complete.forEach(r -> byId.put(r.id, r));
    int backupsInChain = 0;
    for (BackupRecord r = newest; r != null; r = r.base == null ? null : byId.get(r.base)) {
      if (!"native".equals(r.method) || !java.util.Objects.equals(location.apply(r.id), r.location)) {
        return null; // another method or another storage: the server cannot build on it
      }
      backupsInChain++;
      if (r.base != null && !byId.containsKey(r.base)) {
        return null; // its base is gone from the record: it is not known to be restorable
      }
    }
    return backupsInChain < fullEvery ? newest.id : null;
  }
}
