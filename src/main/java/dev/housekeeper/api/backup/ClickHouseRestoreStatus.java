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
