package dev.housekeeper.api.migration;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.RunStatus;
import java.util.ArrayList;
import java.util.List;

/** Observed state of a ClickHouseMigration, read from its ledger in ClickHouse. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClickHouseMigrationStatus extends RunStatus {

  /** Lifecycle phases. */
  public enum Phase {
    Pending,
    Progressing,
    Ready,
    Dirty,
    Drift,
    Failed
  }

  @JsonPropertyDescription(
      "Pending before the first pass; Progressing while migrations run or wait for the lock; Ready at the target"
          + " version; Dirty when a statement failed (fix it, then set the annotation housekeeper.dev/retry to a new"
          + " value); Drift when an applied migration's text changed; Failed when the spec or connection is unusable.")
  private Phase phase;

  @JsonPropertyDescription("Highest version applied (0 when none).")
  private Long currentVersion;

  @JsonPropertyDescription("Version being reached: spec.targetVersion, or the latest declared.")
  private Long targetVersion;

  @JsonPropertyDescription("The time limit of each statement in effect (spec.statementTimeout).")
  private String statementTimeout;

  @JsonPropertyDescription("Number of migrations still to apply or roll back.")
  private Integer pendingCount;

  @JsonPropertyDescription("Applied migrations, newest first (at most 50).")
  private List<AppliedMigration> applied = new ArrayList<>();

  @JsonPropertyDescription("Migrations still to run, in the order they will run.")
  private List<PlannedStep> pending = new ArrayList<>();

  @JsonPropertyDescription("With dryRun: what a run would do, in order. Nothing ran.")
  private List<PlannedStep> plan;

  @JsonPropertyDescription("The migration that failed, when the phase is Dirty.")
  private DirtyState dirty;

  @JsonPropertyDescription("On a cluster (spec.onCluster): each replica's schema of the database compared with the"
      + " node the migrations ran through, after the last run. A replica that was down runs the queued ON CLUSTER"
      + " DDL when it returns; until then it is listed as Unreachable or Behind.")
  public List<ReplicaSchema> replicas;

  /** One replica's schema state. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class ReplicaSchema {
    @JsonPropertyDescription("Shard number.")
    public int shard;

    @JsonPropertyDescription("Replica number within the shard.")
    public int replica;

    @JsonPropertyDescription("The connection endpoint of this replica.")
    public String endpoint;

    @JsonPropertyDescription("InSync (same tables and columns), Behind (different: queued DDL not run yet),"
        + " Unreachable (down at the last look), or Unknown (no endpoint for it in the connection).")
    public String state;

    @JsonPropertyDescription("Hash of the replica's tables and columns in the database.")
    public String schemaHash;
  }

  @JsonPropertyDescription("Applied versions whose text no longer matches the ledger's checksum.")
  private List<Long> drifted;

  @JsonPropertyDescription("The last error, in words.")
  private String lastError;

  @JsonPropertyDescription("Value of the housekeeper.dev/retry annotation last acted upon.")
  private String acknowledgedRetry;

  @JsonPropertyDescription("When the last run started and ended, and what it did.")
  private String lastRun;

  @JsonPropertyDescription("A hash of what the last finished run depended on (the generation, the retry annotation, the"
      + " ConfigMaps' versions), while the status shows that run's outcome: with the same inputs no run starts again"
      + " before recheckTime or retryTime, and never after a final outcome (Dirty, Drift, a blocked plan).")
  public String runInputs;

  @JsonPropertyDescription("When the ledger is read again with unchanged inputs (RFC 3339): 10 minutes after a run"
      + " reached the target, sooner while replicas or the lock are waited for. Empty after a final outcome.")
  public String recheckTime;

  /** One applied migration. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class AppliedMigration {
    @JsonPropertyDescription("Version.")
    private long version;
    @JsonPropertyDescription("Name.")
    private String name;
    @JsonPropertyDescription("SHA-256 of the up script, as recorded in the ledger.")
    private String checksum;
    @JsonPropertyDescription("When it was applied (RFC 3339).")
    private String appliedAt;
    @JsonPropertyDescription("How long it took, in milliseconds.")
    private Long durationMillis;
    @JsonPropertyDescription("Statements it ran.")
    private Integer statements;

    public long getVersion() {
      return version;
    }

    public void setVersion(long version) {
      this.version = version;
    }

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
    }

    public String getChecksum() {
      return checksum;
    }

    public void setChecksum(String checksum) {
      this.checksum = checksum;
    }

    public String getAppliedAt() {
      return appliedAt;
    }

    public void setAppliedAt(String appliedAt) {
      this.appliedAt = appliedAt;
    }

    public Long getDurationMillis() {
      return durationMillis;
    }

    public void setDurationMillis(Long durationMillis) {
      this.durationMillis = durationMillis;
    }

    public Integer getStatements() {
      return statements;
    }

    public void setStatements(Integer statements) {
      this.statements = statements;
    }
  }

  /** One step a run takes. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class PlannedStep {
    @JsonPropertyDescription("Version.")
    private long version;
    @JsonPropertyDescription("Name.")
    private String name;
    @JsonPropertyDescription("up or down.")
    private String direction;
    @JsonPropertyDescription("Number of statements.")
    private int statements;

    public PlannedStep() {}

    public PlannedStep(long version, String name, String direction, int statements) {
      this.version = version;
      this.name = name;
      this.direction = direction;
      this.statements = statements;
    }

    public long getVersion() {
      return version;
    }

    public void setVersion(long version) {
      this.version = version;
    }

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
    }

    public String getDirection() {
      return direction;
    }

    public void setDirection(String direction) {
      this.direction = direction;
    }

    public int getStatements() {
      return statements;
    }

    public void setStatements(int statements) {
      this.statements = statements;
    }
  }

  /** Where a migration stopped. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class DirtyState {
    @JsonPropertyDescription("Version of the failed migration.")
    private long version;
    @JsonPropertyDescription("Name of the failed migration.")
    private String name;
    @JsonPropertyDescription("up or down.")
    private String direction;
    @JsonPropertyDescription("0-based index of the statement that failed; the statements before it succeeded.")
    private int statementIndex;
    @JsonPropertyDescription("The failed statement (cut to 500 characters).")
    private String statement;
    @JsonPropertyDescription("ClickHouse's error text.")
    private String error;
    @JsonPropertyDescription("When it failed (RFC 3339).")
    private String failedAt;

    public long getVersion() {
      return version;
    }

    public void setVersion(long version) {
      this.version = version;
    }

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
    }

    public String getDirection() {
      return direction;
    }

    public void setDirection(String direction) {
      this.direction = direction;
    }

    public int getStatementIndex() {
      return statementIndex;
    }

    public void setStatementIndex(int statementIndex) {
      this.statementIndex = statementIndex;
    }

    public String getStatement() {
      return statement;
    }

    public void setStatement(String statement) {
      this.statement = statement;
    }

    public String getError() {
      return error;
    }

    public void setError(String error) {
      this.error = error;
    }

    public String getFailedAt() {
      return failedAt;
    }

    public void setFailedAt(String failedAt) {
      this.failedAt = failedAt;
    }
  }

  public Phase getPhase() {
    return phase;
  }

  public void setPhase(Phase phase) {
    this.phase = phase;
  }

  public Long getCurrentVersion() {
    return currentVersion;
  }

  public void setCurrentVersion(Long currentVersion) {
    this.currentVersion = currentVersion;
  }

  public Long getTargetVersion() {
    return targetVersion;
  }

  public String getStatementTimeout() {
    return statementTimeout;
  }

  public void setStatementTimeout(String statementTimeout) {
    this.statementTimeout = statementTimeout;
  }

  public void setTargetVersion(Long targetVersion) {
    this.targetVersion = targetVersion;
  }

  public Integer getPendingCount() {
    return pendingCount;
  }

  public void setPendingCount(Integer pendingCount) {
    this.pendingCount = pendingCount;
  }

  public List<AppliedMigration> getApplied() {
    return applied;
  }

  public void setApplied(List<AppliedMigration> applied) {
    this.applied = applied;
  }

  public List<PlannedStep> getPending() {
    return pending;
  }

  public void setPending(List<PlannedStep> pending) {
    this.pending = pending;
  }

  public List<PlannedStep> getPlan() {
    return plan;
  }

  public void setPlan(List<PlannedStep> plan) {
    this.plan = plan;
  }

  public DirtyState getDirty() {
    return dirty;
  }

  public void setDirty(DirtyState dirty) {
    this.dirty = dirty;
  }

  public List<Long> getDrifted() {
    return drifted;
  }

  public void setDrifted(List<Long> drifted) {
    this.drifted = drifted;
  }

  public String getLastError() {
    return lastError;
  }

  public void setLastError(String lastError) {
    this.lastError = lastError;
  }

  public String getAcknowledgedRetry() {
    return acknowledgedRetry;
  }

  public void setAcknowledgedRetry(String acknowledgedRetry) {
    this.acknowledgedRetry = acknowledgedRetry;
  }

  public String getLastRun() {
    return lastRun;
  }

  public void setLastRun(String lastRun) {
    this.lastRun = lastRun;
  }
}
