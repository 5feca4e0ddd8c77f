package dev.housekeeper.api.mart;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.RunStatus;
import java.util.ArrayList;
import java.util.List;

/** Observed state of a ReportMart. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ReportMartStatus extends RunStatus {

  /** Lifecycle phases. */
  public enum Phase {
    Pending,
    Refreshing,
    /** The last refresh succeeded. */
    Ready,
    /** The last refresh failed (the mart kept its previous data), or the spec cannot be used. */
    Failed
  }

  @JsonPropertyDescription("Pending, Refreshing, Ready or Failed (the mart keeps its previous data).")
  public Phase phase;

  @JsonPropertyDescription("database.table of the mart.")
  public String table;

  @JsonPropertyDescription("Hash of the mart's columns, engine, keys and settings as last built.")
  public String schemaHash;

  @JsonPropertyDescription("The time limit of each long statement in effect (spec.statementTimeout or the kind's"
      + " default).")
  public String statementTimeout;

  @JsonPropertyDescription("The last refresh that finished.")
  public Refresh lastRefresh;

  @JsonPropertyDescription("When the last successful refresh ended (RFC 3339).")
  public String lastSuccessfulRefreshTime;

  @JsonPropertyDescription("Refreshes finished (succeeded or failed) since the resource was created.")
  public Long refreshes;

  @JsonPropertyDescription("Next scheduled refresh (RFC 3339).")
  public String nextRefreshTime;



  @JsonPropertyDescription("Value of housekeeper.dev/run-now last acted upon.")
  public String acknowledgedRunNow;

  @JsonPropertyDescription("Value of housekeeper.dev/full-refresh-now last acted upon.")
  public String acknowledgedFullNow;

  /** One refresh. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Refresh {
    @JsonPropertyDescription("Start (RFC 3339).")
    public String startTime;
    @JsonPropertyDescription("End (RFC 3339).")
    public String endTime;
    @JsonPropertyDescription("full or incremental.")
    public String mode;
    @JsonPropertyDescription("Why this mode, for example SchemaChanged when the columns or keys changed.")
    public String why;
    @JsonPropertyDescription("Window start (inclusive) bound to {window_start}.")
    public String windowStart;
    @JsonPropertyDescription("Window end (exclusive) bound to {window_end}.")
    public String windowEnd;
    @JsonPropertyDescription("Rows read from the source (jdbc), or selected (clickhouse).")
    public Long sourceRows;
    @JsonPropertyDescription("Rows in the staging table that went into the mart.")
    public Long rowsWritten;
    @JsonPropertyDescription("Partitions replaced (incremental) by partition id.")
    public List<String> partitionsReplaced = new ArrayList<>();
    @JsonPropertyDescription("Partitions dropped (incremental): in the window, with no rows any more.")
    public List<String> partitionsDropped = new ArrayList<>();
    @JsonPropertyDescription("How the new data went in: rename, exchange, or replacePartition.")
    public String swap;
    @JsonPropertyDescription("Duration in milliseconds.")
    public Long durationMillis;
    @JsonPropertyDescription("Succeeded or Failed.")
    public String outcome;
    @JsonPropertyDescription("The error, when it failed.")
    public String error;
  }
}
