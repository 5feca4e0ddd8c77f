package dev.housekeeper.api.retention;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.RunStatus;
import java.util.ArrayList;
import java.util.List;

/** Observed state of a RetentionPolicy. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RetentionPolicyStatus extends RunStatus {

  /** Lifecycle phases. */
  public enum Phase {
    Pending,
    Ready,
    Progressing,
    Degraded,
    Failed
  }

  @JsonPropertyDescription("Pending before the first pass; Ready when the last run and the preview had no error;"
      + " Progressing while a run works; Degraded when some tables failed or were refused; Failed when the spec or"
      + " connection is unusable.")
  public Phase phase;

  @JsonPropertyDescription("Next scheduled retention run (RFC 3339), when a schedule is set and not suspended.")
  public String nextRunTime;

  @JsonPropertyDescription("Next scheduled OPTIMIZE run (RFC 3339).")
  public String nextOptimizeTime;

  @JsonPropertyDescription("The time limit of each long statement in effect (spec.statementTimeout or the kind's"
      + " default).")
  public String statementTimeout;

  @JsonPropertyDescription("The last retention run.")
  public RunReport lastRun;

  @JsonPropertyDescription("The last OPTIMIZE run.")
  public OptimizeReport lastOptimize;

  @JsonPropertyDescription("The last run that failed as a whole (not one of its tables), kept until a run of that"
      + " kind succeeds: while it is here, the policy is Degraded with reason RunFailed.")
  public FailedRun lastFailedRun;

  @JsonPropertyDescription("What the next run would remove, per table, computed from system.parts now.")
  public List<TablePlan> preview = new ArrayList<>();

  @JsonPropertyDescription("Storage statistics of each covered table, from system.parts.")
  public List<TableStats> tables = new ArrayList<>();

  @JsonPropertyDescription("Bytes on disk of all active parts in the database.")
  public Long databaseBytes;

  @JsonPropertyDescription("Value of housekeeper.dev/run-now last acted upon.")
  public String acknowledgedRunNow;



  @JsonPropertyDescription("Value of housekeeper.dev/optimize-now last acted upon.")
  public String acknowledgedOptimizeNow;

  /** A run that failed as a whole. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class FailedRun {
    @JsonPropertyDescription("When it failed (RFC 3339).")
    public String time;
    @JsonPropertyDescription("Which run: retention, optimize, or run when the kind was not known.")
    public String kind;
    @JsonPropertyDescription("The error.")
    public String error;

    public static FailedRun of(String time, String kind, String error) {
      FailedRun failed = new FailedRun();
      failed.time = time;
      failed.kind = kind;
      failed.error = error;
      return failed;
    }
  }

  /** What a run did. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class RunReport {
    @JsonPropertyDescription("Start (RFC 3339).")
    public String startTime;
    @JsonPropertyDescription("End (RFC 3339).")
    public String endTime;
    @JsonPropertyDescription("Duration in milliseconds.")
    public Long durationMillis;
    @JsonPropertyDescription("Whether it was a dry run (nothing removed).")
    public boolean dryRun;
    @JsonPropertyDescription("The retention cutoff: data older than this is removed (RFC 3339 date).")
    public String cutoff;
    @JsonPropertyDescription("Partitions dropped, as table/partition_id.")
    public List<String> partitionsDropped = new ArrayList<>();
    @JsonPropertyDescription("Number of partitions dropped.")
    public int partitionsDroppedCount;
    @JsonPropertyDescription("Rows removed (dropped partitions and deleted rows).")
    public long rowsDeleted;
    @JsonPropertyDescription("Bytes on disk freed by dropped partitions (deletes free space as merges run).")
    public long bytesFreed;
    @JsonPropertyDescription("Per-table outcome.")
    public List<TablePlan> tables = new ArrayList<>();
    @JsonPropertyDescription("On a cluster: the partitions each replica has after the run, compared within its shard."
        + " The run drops a partition once per shard; replication removes it from the shard's other replicas.")
    public List<ReplicaCheck> replicas;
  }

  /** One replica's partitions after a run on a cluster. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class ReplicaCheck {
    @JsonPropertyDescription("Shard number.")
    public int shard;
    @JsonPropertyDescription("Replica number within the shard.")
    public int replica;
    @JsonPropertyDescription("The connection endpoint of this replica.")
    public String endpoint;
    @JsonPropertyDescription("Identical (the same active partitions as every other replica of its shard), Differs"
        + " (not after waiting for replication: see partitions), Unreachable, or Unknown (no endpoint).")
    public String state;
    @JsonPropertyDescription("Active partitions of the policy's tables on this replica.")
    public Long partitions;
    @JsonPropertyDescription("Hash of this replica's table/partition list.")
    public String partitionsHash;
  }

  /** What a run did or would do to one table. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class TablePlan {
    @JsonPropertyDescription("Table name.")
    public String table;
    @JsonPropertyDescription("On a cluster: the shard this line is about (each shard is planned and run on its own).")
    public Integer shard;
    @JsonPropertyDescription("dropPartitions, delete or ttl.")
    public String action;
    @JsonPropertyDescription("Partitions (partition_id) to drop or dropped.")
    public List<String> partitions = new ArrayList<>();
    @JsonPropertyDescription("Rows to remove or removed.")
    public long rows;
    @JsonPropertyDescription("Bytes on disk to free or freed.")
    public long bytes;
    @JsonPropertyDescription("When the table was refused or failed: a CamelCase reason (TableNotFound, NotTimePartitioned,"
        + " PartitionLimitExceeded, RowLimitExceeded, AllRowsWouldBeRemoved, TtlNotSupported, ...).")
    public String reason;
    @JsonPropertyDescription("What went wrong and what to do.")
    public String error;
    @JsonPropertyDescription("When it failed: whether the failure was a passing one (ClickHouse unreachable) that the"
        + " operator retries by itself.")
    public Boolean retriable;
  }

  /** What an OPTIMIZE run did. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class OptimizeReport {
    @JsonPropertyDescription("Start (RFC 3339).")
    public String startTime;
    @JsonPropertyDescription("End (RFC 3339).")
    public String endTime;
    @JsonPropertyDescription("Per table and partition: active parts before and after.")
    public List<OptimizedPartition> partitions = new ArrayList<>();
    @JsonPropertyDescription("Errors, per table.")
    public List<String> errors = new ArrayList<>();
  }

  /** One optimized partition. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class OptimizedPartition {
    @JsonPropertyDescription("Table.")
    public String table;
    @JsonPropertyDescription("partition_id.")
    public String partition;
    @JsonPropertyDescription("Active parts before.")
    public long partsBefore;
    @JsonPropertyDescription("Active parts after.")
    public long partsAfter;
  }

  /** Storage statistics of one table. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class TableStats {
    @JsonPropertyDescription("Table.")
    public String table;
    @JsonPropertyDescription("On a cluster: the shard (statistics are per shard).")
    public Integer shard;
    @JsonPropertyDescription("Rows in active parts.")
    public long rows;
    @JsonPropertyDescription("Bytes on disk of active parts.")
    public long bytesOnDisk;
    @JsonPropertyDescription("Uncompressed bytes of active parts.")
    public long uncompressedBytes;
    @JsonPropertyDescription("Uncompressed bytes divided by compressed bytes, as text with two decimals.")
    public String compressionRatio;
    @JsonPropertyDescription("Active parts.")
    public long activeParts;
    @JsonPropertyDescription("Oldest partition (partition_id).")
    public String oldestPartition;
    @JsonPropertyDescription("Newest partition (partition_id).")
    public String newestPartition;
  }
}
