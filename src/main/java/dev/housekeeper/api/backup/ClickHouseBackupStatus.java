package dev.housekeeper.api.backup;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.RunStatus;
import java.util.ArrayList;
import java.util.List;

/** Observed state of a ClickHouseBackup: the durable record of the backups taken. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClickHouseBackupStatus extends RunStatus {

  /** Lifecycle phases. */
  public enum Phase {
    /** No backup taken yet (waiting for the connection or the first scheduled time). */
    Pending,
    /** A backup is being taken. */
    Running,
    /** The last backup is complete. */
    Succeeded,
    /** The last backup failed (see the conditions), or the spec cannot be used. */
    Failed
  }

  @JsonPropertyDescription("Pending, Running, Succeeded (the last backup is complete) or Failed (the last backup"
      + " failed, or the spec or connection cannot be used; the reason is in the conditions).")
  public Phase phase;

  @JsonPropertyDescription("Method of the last backup: logical or native.")
  public String method;

  @JsonPropertyDescription("The time limit of each long statement in effect (spec.statementTimeout or the kind's"
      + " default).")
  public String statementTimeout;

  @JsonPropertyDescription("Location of the backups, for example s3://bucket/prefix at http://minio:9000.")
  public String location;

  @JsonPropertyDescription("Backups taken, newest first: every complete backup still in storage (the newest 30 at"
      + " most) and the last 5 failed or cancelled ones.")
  public List<BackupRecord> backups = new ArrayList<>();

  @JsonPropertyDescription("Number of complete backups listed.")
  public Integer completeBackups;

  @JsonPropertyDescription("End time of the last complete backup (RFC 3339).")
  public String lastSuccessfulTime;

  @JsonPropertyDescription("The last complete backup.")
  public BackupRecord lastSuccessful;

  @JsonPropertyDescription("Id of the backup being taken.")
  public String running;

  @JsonPropertyDescription("Native method: the server's id of the backup being taken (system.backups.id); an operator"
      + " that restarts or takes over goes on with it, never starting a second one.")
  public String runningServerBackupId;

  @JsonPropertyDescription("Next scheduled backup (RFC 3339), when a schedule is set and not suspended.")
  public String nextScheduleTime;

  @JsonPropertyDescription("Value of housekeeper.dev/run-now last acted upon.")
  public String acknowledgedRunNow;

  @JsonPropertyDescription("Ids of incomplete backups whose objects could not be deleted yet (storage unreachable);"
      + " deletion is retried before each backup.")
  public List<String> pendingCleanup = new ArrayList<>();

  @JsonPropertyDescription("The look through the storage for complete backups that this resource did not take (for"
      + " example those of a resource lost with its cluster), done once per storage location; the backups found are"
      + " listed in backups with adopted: true.")
  public Adoption adoption;

  /** What the look through the storage found. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Adoption {
    @JsonPropertyDescription("The storage location looked through (as in location); a new location is looked through"
        + " again.")
    public String location;
    @JsonPropertyDescription("When it was looked through (RFC 3339).")
    public String time;
    @JsonPropertyDescription("Complete backups (with a manifest) adopted into backups.")
    public Integer adopted;
    @JsonPropertyDescription("Folders without a manifest (incomplete backups, or backups another resource is writing):"
        + " left alone, never adopted or deleted.")
    public Integer incomplete;
    @JsonPropertyDescription("Complete backups listed by another ClickHouseBackup of this namespace with the same"
        + " storage: left to it.")
    public Integer listedElsewhere;
    @JsonPropertyDescription("Manifests that could not be read or parsed: not adopted.")
    public Integer unreadable;
    @JsonPropertyDescription("Why the storage could not be looked through; it is tried again at retryTime.")
    public String error;
    @JsonPropertyDescription("When the storage is looked through again after an error (RFC 3339).")
    public String retryTime;
  }

  /** One backup. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class BackupRecord {
    @JsonPropertyDescription("Backup id: the resource's name and the start time; the folder in storage.")
    public String id;
    @JsonPropertyDescription("Complete (the manifest is written), Failed, Cancelled, or Deleted (pruned).")
    public String outcome;
    @JsonPropertyDescription("logical or native.")
    public String method;
    @JsonPropertyDescription("Start (RFC 3339).")
    public String startTime;
    @JsonPropertyDescription("End (RFC 3339).")
    public String endTime;
    @JsonPropertyDescription("Tables backed up.")
    public Integer tables;
    @JsonPropertyDescription("Objects backed up, by kind: table (with its data), schemaOnlyTable (Distributed, Null,"
        + " Set ...: DDL only), view, materializedView (its inner table's data too), dictionary, function, and the"
        + " access entities settingsProfile, role, user, quota, rowPolicy.")
    public java.util.Map<String, Integer> objects;
    @JsonPropertyDescription("What this backup does not hold, in words: objects the method leaves out, and what the"
        + " server has none of (user-defined functions before 21.10, access control by SQL on 18.16) or was not asked"
        + " for (access entities unless spec.scope.kinds names accessEntity).")
    public List<String> notBackedUp;
    @JsonPropertyDescription("Partitions backed up.")
    public Integer partitions;
    @JsonPropertyDescription("Rows backed up.")
    public Long rows;
    @JsonPropertyDescription("Bytes read from ClickHouse (Native format, before compression).")
    public Long rawBytes;
    @JsonPropertyDescription("Bytes stored (after compression and encryption).")
    public Long storedBytes;
    @JsonPropertyDescription("Native incremental backup: the id of the backup it is based on (which must stay for it"
        + " to be restored; retention keeps it). Null for a full backup.")
    public String base;
    @JsonPropertyDescription("Partition data objects this backup uploaded (logical method).")
    public Integer objectsUploaded;
    @JsonPropertyDescription("Partition data objects this backup found in storage, unchanged since an earlier backup"
        + " uploaded them, and named in its manifest instead of uploading them again (logical method).")
    public Integer objectsReused;
    @JsonPropertyDescription("Bytes of the partition objects this backup uploaded (as stored).")
    public Long bytesUploaded;
    @JsonPropertyDescription("Bytes of the partition objects this backup reused (as stored): referenced, not uploaded.")
    public Long bytesReused;
    @JsonPropertyDescription("Where the backup is, for example s3://bucket/prefix/id/.")
    public String location;
    @JsonPropertyDescription("SHA-256 of the manifest object.")
    public String manifestSha256;
    @JsonPropertyDescription("Id of the encryption key, when encrypted.")
    public String keyId;
    @JsonPropertyDescription("Why it failed or was cancelled.")
    public String message;
    @JsonPropertyDescription("True when this resource did not take the backup but found it complete in its storage"
        + " (see adoption); its figures come from the backup's manifest.")
    public Boolean adopted;
  }
}
