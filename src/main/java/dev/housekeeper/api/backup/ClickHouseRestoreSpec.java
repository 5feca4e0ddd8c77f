package dev.housekeeper.api.backup;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.ConnectionRef;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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

  @JsonPropertyDescription("Tables to restore, by name or as database.name (a part that holds a dot or starts with a"
      + " back-quote is back-quoted as in SQL: `my.db`.`t.1`); an entry starting with ~ is a regular expression (RE2"
      + " syntax, linear time)."
      + " Default: every table in the backup.")
  public List<String> tables = new ArrayList<>();

  @Pattern(dev.housekeeper.api.common.ClickHouseNames.NAME)
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

  @JsonPropertyDescription("Tables (and views, dictionaries) restored under another name: database.table in the"
      + " backup to database.table, or to a bare table name (then the database it goes to anyway: databaseMapping,"
      + " targetDatabase or its own). Wins over databaseMapping and targetDatabase for its table. A replicated table's"
      + " ZooKeeper path moves with it, and views that name it name the new table. A key that is not in the backup"
      + " fails the restore, naming what the backup holds.")
  public Map<String, String> tableMapping;

  @JsonPropertyDescription("Databases restored under another name: database in the backup to database (created if"
      + " missing). Databases not named go to their own. Not together with targetDatabase (which moves every"
      + " database into one). Views, materialized views and dictionaries follow: their references to a mapped"
      + " database name the new one. A key that is not in the backup fails the restore, naming what it holds.")
  public Map<String, String> databaseMapping;

  @JsonPropertyDescription("Which partitions of each table to restore, by partition id (system.parts.partition_id):"
      + " ids, and/or a from/to range. A table without partitions (and one read whole: Log, Memory ...) has the one"
      + " partition id all, which a filter keeps only when ids names it. Default: every partition in the backup."
      + " Shown per table in status (partitions, partitionsSkipped).")
  public Partitions partitions;

  @JsonPropertyDescription("Create the tables, views, materialized views and dictionaries without loading any data."
      + " Not together with dataOnly or partitions.")
  public boolean schemaOnly;

  @JsonPropertyDescription("Load data only, into tables that exist: their backed-up (selected) partitions are"
      + " replaced, their other partitions are untouched; nothing is created, and a table that does not exist fails."
      + " Needs mode replacePartitions.")
  public boolean dataOnly;

  /** Which partitions to restore, by partition id. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Partitions {
    @JsonPropertyDescription("Exactly these partition ids, for example [\"202401\", \"202402\"].")
    public List<String> ids;

    @JsonPropertyDescription("Partition ids greater than or equal to this one (string order, which is time order for"
        + " toYYYYMM/toYYYYMMDD keys).")
    public String from;

    @JsonPropertyDescription("Partition ids less than or equal to this one.")
    public String to;
  }

  @JsonPropertyDescription("Restore drill: restore on this schedule (into the scratch database, then dropped) and"
      + " verify, proving that the source's newest complete backup restores. Requires verify: true. Runs at each"
      + " cron time and for each new value of housekeeper.dev/run-now; not when created.")
  public ClickHouseBackupSpec.Schedule schedule;

  @JsonPropertyDescription("After the restore, compare each restored partition's row count and content hash"
      + " (recorded by the logical backup) with the manifest, and record the result and the measured recovery"
      + " time in status.lastVerification. A backup without hashes (taken before they were recorded, or native)"
      + " is compared by rows only.")
  public boolean verify;

  @Pattern(dev.housekeeper.api.common.ClickHouseNames.NAME)
  @JsonPropertyDescription("Restore into this scratch database, created for the run and dropped after it (also on"
      + " failure); it must not exist beforehand. Default with a schedule: hk_drill_<name>_<hash>. Requires verify:"
      + " true; not with targetDatabase.")
  public String scratchDatabase;

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
