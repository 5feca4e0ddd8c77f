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
    return out;
  }
}
