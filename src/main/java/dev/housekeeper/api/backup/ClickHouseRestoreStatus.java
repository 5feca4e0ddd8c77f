package dev.housekeeper.api.backup;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.RunStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Observed state of a ClickHouseRestore. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClickHouseRestoreStatus extends RunStatus {

  /** Lifecycle phases. */
  public enum Phase {
    Pending,
    Running,
    /** Every selected table was restored (or skipped by the mode). */
    Succeeded,
    /** The restore could not run, or some table failed (see tables); failed tables were left untouched. */
    Failed
  }

  @JsonPropertyDescription("Pending, Running, Succeeded, or Failed (the reason is in the conditions and per table).")
  public Phase phase;

  @JsonPropertyDescription("Id of the backup restored.")
  public String backupId;

  @JsonPropertyDescription("Native method: the server's id (system.backups) of the RESTORE ... ASYNC in progress. A"
      + " restarted or newly elected operator watches it to its end instead of restoring the table again.")
  public String runningServerRestoreId;

  @JsonPropertyDescription("Native method: the source table (db.table) of runningServerRestoreId.")
  public String runningServerRestoreTable;

  @JsonPropertyDescription("Where the backup was read from.")
  public String location;

  @JsonPropertyDescription("logical or native.")
  public String method;

  @JsonPropertyDescription("The time limit of each long statement in effect (spec.statementTimeout or the kind's"
      + " default).")
  public String statementTimeout;

  @JsonPropertyDescription("Start (RFC 3339).")
  public String startTime;

  @JsonPropertyDescription("End (RFC 3339).")
  public String endTime;

  @JsonPropertyDescription("Tables restored.")
  public Integer tablesRestored;

  @JsonPropertyDescription("Rows restored, verified against the manifest.")
  public Long rows;

  @JsonPropertyDescription("Outcome per table.")
  public List<TableResult> tables = new ArrayList<>();

  @JsonPropertyDescription("What the restore applied besides its backup: the mappings in effect, the partitions"
      + " selected and skipped, schemaOnly or dataOnly.")
  public Applied applied;


  @JsonPropertyDescription("Value of housekeeper.dev/run-now last acted upon.")
  public String acknowledgedRunNow;

  @JsonPropertyDescription("With a schedule: when the next drill runs (RFC 3339).")
  public String nextScheduleTime;

  @JsonPropertyDescription("The scratch database of the drill running (or of one that did not get to drop it): a"
      + " drill finding it at its start drops it. Empty once dropped.")
  public String scratchDatabase;

  @JsonPropertyDescription("When a verification last passed (RFC 3339).")
  public String lastVerifiedTime;

  @JsonPropertyDescription("The last verification (verify: true): what was compared, what differed, the recovery"
      + " time.")
  public Verification lastVerification;

  @JsonPropertyDescription("The last verifications, newest first (at most 10).")
  public List<VerificationSummary> verifications = new ArrayList<>();

  /** One verification in the history. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class VerificationSummary {
    @JsonPropertyDescription("Backup id verified.")
    public String backupId;
    @JsonPropertyDescription("When the verification ended (RFC 3339).")
    public String time;
    @JsonPropertyDescription("Passed or Failed.")
    public String outcome;
    @JsonPropertyDescription("Seconds from the start of the restore to its last table restored (measured recovery"
        + " time).")
    public Double recoverySeconds;
    @JsonPropertyDescription("Partitions compared.")
    public Integer partitionsCompared;
    @JsonPropertyDescription("Differences found (tables, partitions or objects).")
    public Integer mismatchCount;
  }

  /** A verification's result. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Verification extends VerificationSummary {
    @JsonPropertyDescription("Partitions whose content hash was compared too (the others by rows only: no hash in"
        + " the backup).")
    public Integer hashesCompared;
    @JsonPropertyDescription("Rows compared.")
    public Long rowsCompared;
    @JsonPropertyDescription("The database restored into.")
    public String database;
    @JsonPropertyDescription("Whether that scratch database was dropped afterwards (absent: not a scratch database).")
    public Boolean scratchDropped;
    @JsonPropertyDescription("What was found, in words.")
    public String message;
    @JsonPropertyDescription("What differed (at most 20): a table that failed to restore, a partition whose rows or"
        + " hash differ, a stored object that does not match its checksum.")
    public List<Mismatch> mismatches = new ArrayList<>();
  }

  /** One difference found by a verification. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Mismatch {
    @JsonPropertyDescription("database.table in the backup.")
    public String table;
    @JsonPropertyDescription("Partition id, when the difference is one partition's.")
    public String partition;
    @JsonPropertyDescription("The backup object concerned (its key in the storage).")
    public String object;
    @JsonPropertyDescription("Rows the manifest records.")
    public Long expectedRows;
    @JsonPropertyDescription("Rows restored.")
    public Long actualRows;
    @JsonPropertyDescription("Content hash the manifest records.")
    public String expectedHash;
    @JsonPropertyDescription("Content hash of the restored rows.")
    public String actualHash;
    @JsonPropertyDescription("What differs, in words.")
    public String message;
  }

  /** One table's outcome. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class TableResult {
    @JsonPropertyDescription("database.table in the backup.")
    public String source;
    @JsonPropertyDescription("database.table restored into.")
    public String target;
    @JsonPropertyDescription("Restored, Skipped or Failed.")
    public String outcome;
    @JsonPropertyDescription("Rows loaded and verified.")
    public Long rows;
    @JsonPropertyDescription("Partitions loaded.")
    public Integer partitions;
    @JsonPropertyDescription("Why it failed or was skipped.")
    public String message;
    @JsonPropertyDescription("Whether the target existed before the restore touched it.")
    public Boolean targetExisted;
    @JsonPropertyDescription("Partitions of the backup that spec.partitions (or schemaOnly) left out.")
    public Integer partitionsSkipped;
  }

  /** What a restore applied: mappings, partition selection, schemaOnly or dataOnly. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Applied {
    @JsonPropertyDescription("Each database of the backup restored under another name (from databaseMapping or"
        + " targetDatabase): source to target.")
    public Map<String, String> databaseMapping;
    @JsonPropertyDescription("Each table or object restored under another name by tableMapping: database.table in"
        + " the backup to database.table.")
    public Map<String, String> tableMapping;
    @JsonPropertyDescription("The partition filter in effect (spec.partitions), in words.")
    public String partitions;
    @JsonPropertyDescription("Partitions of the selected tables that are restored.")
    public Integer partitionsSelected;
    @JsonPropertyDescription("Partitions of the selected tables left out by the filter or by schemaOnly.")
    public Integer partitionsSkipped;
    @JsonPropertyDescription("Only the schema was restored.")
    public Boolean schemaOnly;
    @JsonPropertyDescription("Only data was loaded, into existing tables.")
    public Boolean dataOnly;
  }
}
