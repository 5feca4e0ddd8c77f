package dev.housekeeper.api.backup;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.ConnectionRef;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.List;

/** Desired state of a ClickHouseBackup. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClickHouseBackupSpec {

  /** Methods: auto (native where possible, else logical), logical, native. */
  public static final String AUTO = "auto";
  public static final String LOGICAL = "logical";
  public static final String NATIVE = "native";

  /** Compression of logical backup objects. */
  public enum Codec {
    zstd,
    lz4,
    none
  }

  @Required
  @JsonPropertyDescription("The ClickHouseConnection to back up through.")
  public ConnectionRef connectionRef;

  @Required
  @io.fabric8.generator.annotation.ValidationRule(value = "self == oldSelf", message = "storage cannot change:"
      + " the backups listed in status are in the old location; create another ClickHouseBackup")
  @JsonPropertyDescription("Where backups are kept. It cannot change once set (the backups in status live there).")
  public BackupStorage storage;

  @Default("auto")
  @Pattern("^(auto|logical|native)$")
  @JsonPropertyDescription("auto (native where the server has BACKUP and the storage allows it, else logical),"
      + " logical (works on every server version) or native.")
  public String method = AUTO;

  @io.fabric8.generator.annotation.Pattern("^[0-9]{1,9}(s|m|h)$")
  @JsonPropertyDescription("Time limit of each long statement: a native BACKUP, reading one table's data. Default 12h. Short metadata"
      + " queries run under the connection's queryTimeout instead. Shown in status.statementTimeout.")
  public String statementTimeout;

  @JsonPropertyDescription("What to back up. Default: every table of the connection's database.")
  public Scope scope;

  @Default("zstd")
  @JsonPropertyDescription("Compression of logical backup objects: zstd (level 1, default), lz4 or none.")
  public Codec compression = Codec.zstd;

  @Min(1)
  @io.fabric8.generator.annotation.Max(16)
  @JsonPropertyDescription("Logical method: how many partitions are read and uploaded at once. Default 3. Each holds"
      + " two 8 MiB upload buffers.")
  public Integer parallelism;

  @JsonPropertyDescription("Client-side encryption of logical backups (AES-256-GCM).")
  public BackupEncryption encryption;

  @JsonPropertyDescription("Native method: take incremental backups on the server's base_backup. Each native backup"
      + " after a full one holds only what changed since the backup before it; every fullEvery-th is full again, so"
      + " that retention can delete old chains. Retention never deletes a backup that a kept backup is based on."
      + " Logical backups need no setting: they always reuse unchanged partitions.")
  public Incremental incremental;

  @JsonPropertyDescription("Take backups on a schedule. Without one, a single backup is taken when the resource is"
      + " created (and again for each new value of the housekeeper.dev/run-now annotation).")
  public Schedule schedule;

  @JsonPropertyDescription("Stop scheduling backups; a running backup is cancelled (its query killed, its upload"
      + " aborted). Taken backups are kept.")
  public boolean suspend;

  @JsonPropertyDescription("Which complete backups to keep. Pruning deletes the storage objects of the others and"
      + " never deletes the newest complete backup. Default: keep all.")
  public Retention retention;

  @JsonPropertyDescription("Delete the storage objects of every backup listed in status when this resource is"
      + " deleted. Default false: the data stays.")
  public boolean deleteDataOnDelete;

  /** What to back up. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Scope {
    @JsonPropertyDescription("Databases to back up. Default: the connection's database.")
    public List<String> databases = new ArrayList<>();

    @JsonPropertyDescription("Tables to back up, by name or as database.name (a part that holds a dot or starts with a"
        + " back-quote is back-quoted as in SQL: `my.db`.`t.1`); an entry starting with ~ is a regular expression (RE2"
        + " syntax, linear time) matched against the whole name (for example ~^events_.*). Default: every object of the databases.")
    public List<String> tables = new ArrayList<>();

    @JsonPropertyDescription("Kinds of objects to back up: table (with its data), schemaOnlyTable (Distributed, Null,"
        + " Set ...), view, materializedView (with its inner table's data), dictionary, function (the server's"
        + " user-defined SQL functions), accessEntity (users, roles, grants, row policies, quotas, settings profiles"
        + " created by SQL; only when named here). Default: every kind but accessEntity.")
    public List<String> kinds = new ArrayList<>();

    @JsonPropertyDescription("Which partitions of each table to back up. Default: all.")
    public PartitionFilter partitions;

    @JsonPropertyDescription("Back up only the tables' DDL, no data.")
    public boolean schemaOnly;
  }

  /** Which partitions to back up, by partition id (as in system.parts.partition_id). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class PartitionFilter {
    @JsonPropertyDescription("Exactly these partition ids, for example [\"202401\", \"202402\"].")
    public List<String> ids;

    @JsonPropertyDescription("Partition ids greater than or equal to this one (string order, which is time order for"
        + " toYYYYMM/toYYYYMMDD keys), for example \"202401\".")
    public String from;

    @JsonPropertyDescription("Partition ids less than or equal to this one.")
    public String to;

    @Min(1)
    @Max(100000)
    @JsonPropertyDescription("Only the newest N partitions of each table (by partition id).")
    public Integer newest;
  }

  /** A cron schedule. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Schedule {
    @Required
    @Pattern("^(\\S+\\s+){4}\\S+$")
    @JsonPropertyDescription("Cron expression with five fields, for example \"0 2 * * *\". A run missed while the"
        + " operator was down is taken once when it is back, not once per miss.")
    public String cron;

    @Default("UTC")
    @JsonPropertyDescription("Time zone of the cron expression, for example Europe/Berlin.")
    public String timeZone = "UTC";
  }

  /** Which complete backups to keep. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Retention {
    @Min(1)
    @Max(10000)
    @JsonPropertyDescription("Keep the newest N complete backups.")
    public Integer keepLast;

    @Pattern("^[0-9]{1,5}(m|h|d|w)$")
    @JsonPropertyDescription("Delete complete backups older than this, for example 30d (m, h, d or w). With keepLast"
        + " too, a backup is deleted when either rule says so; the newest complete backup always stays.")
    public String maxAge;
  }

  /** Incremental native backups. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Incremental {
    @Min(2)
    @Max(100)
    @Default("7")
    @JsonPropertyDescription("Every how many native backups one is full: 7 (default) takes a full backup, then six"
        + " incremental ones, each on the backup before it.")
    public Integer fullEvery = 7;
  }

  /** Client-side encryption. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class BackupEncryption {
    @Required
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("Secret whose data maps key ids to AES-256 keys: 32 random bytes, or their base64 (openssl"
        + " rand -base64 32). Keep old keys in it after a rotation, so that old backups stay restorable.")
    public String keySecret;

    @Pattern("^[-._a-zA-Z0-9]+$")
    @JsonPropertyDescription("Id (Secret key) of the key new backups are encrypted with. Default: the Secret's only"
        + " key. The id is recorded in each backup's manifest.")
    public String keyId;
  }
}
