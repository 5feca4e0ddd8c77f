package dev.housekeeper.api.common;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * The status of a kind that runs work and tries it again by itself after a passing failure (a server
 * or a store that could not be reached): one retry state, the same fields in every kind, so that it
 * survives an operator restart and reads the same everywhere.
 */
public abstract class RunStatus extends HousekeeperStatus {

  @JsonPropertyDescription("After a run failed for a passing reason (ClickHouse, a source or the storage could not be"
      + " reached, or the operator restarted mid-run): when it is tried again by itself (RFC 3339). Empty when no"
      + " retry is due.")
  public String retryTime;

  @JsonPropertyDescription("Runs in a row that failed for such a passing reason; reset by a successful run.")
  public Integer consecutiveFailures;
}
