package dev.housekeeper.api.backup;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.ConnectionRef;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.List;

/** Desired state of a ClickHouseRestore. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClickHouseRestoreSpec {

  /** What to do with a table that exists in the target database. */
  public enum Mode {
    /** Create and load missing tables; leave existing ones alone (reported as Skipped). */
    createMissing,
    /** Refuse to touch a table that exists (reported as Failed); other tables are restored. */
    failIfExists,
    /** Replace the backed-up partitions of existing tables, atomically per partition; create missing tables. */
    replacePartitions
  }

  @Required
  @JsonPropertyDescription("The ClickHouseConnection to restore through.")
  public ConnectionRef connectionRef;

  @Required
  @JsonPropertyDescription("Which backup to restore.")
  public Source source;

  @JsonPropertyDescription("Tables to restore, by name or as database.name; an entry starting with ~ is a regular"
      + " expression. Default: every table in the backup.")
  public List<String> tables = new ArrayList<>();

  @Pattern("^[A-Za-z_][A-Za-z0-9_]{0,205}$")
  @JsonPropertyDescription("Database to restore into (created if missing), so that a restore can go beside the"
      + " original. Default: each table's own database.")
  public String targetDatabase;

  @Default("createMissing")
  @JsonPropertyDescription("createMissing (default: restore tables that do not exist, skip the others), failIfExists,"
      + " or replacePartitions (replace the backed-up partitions of existing tables).")
  public Mode mode = Mode.createMissing;

  @io.fabric8.generator.annotation.Pattern("^[0-9]{1,9}(s|m|h)$")
  @JsonPropertyDescription("Time limit of each long statement: a native RESTORE, loading one table's data. Default 12h. Short metadata"
      + " queries run under the connection's queryTimeout instead. Shown in status.statementTimeout.")
  public String statementTimeout;

  @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
  @JsonPropertyDescription("Secret with the encryption keys (key id to key), for an encrypted backup. Default: the"
      + " backup resource's encryption.keySecret.")
  public String keySecret;

  /** The backup to restore. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Source {
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("A ClickHouseBackup in the same namespace; its storage is used.")
    public String backupName;

    @JsonPropertyDescription("Backup id, or latest: the newest complete backup (with backupName: its newest complete"
        + " backup, as when no id is given; with storage: the newest backup with a manifest, by the start time in its"
        + " id). Default with backupName: latest. Required with storage.")
    public String backupId;

    @JsonPropertyDescription("A storage location, instead of backupName (for example backups of a deleted resource or"
        + " of another cluster).")
    public BackupStorage storage;
  }
}
