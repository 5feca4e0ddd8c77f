package dev.housekeeper.api.connection;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.HousekeeperStatus;
import java.util.ArrayList;
import java.util.List;

/** Observed state of a ClickHouseConnection, written by the operator after each probe. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClickHouseConnectionStatus extends HousekeeperStatus {

  /** Lifecycle phases of a connection. */
  public enum Phase {
    Pending,
    Ready,
    Degraded,
    Failed
  }

  @JsonPropertyDescription(
      "Pending before the first probe; Ready when every endpoint answers; Degraded when some do;"
          + " Failed when none does or the spec or its Secret is unusable.")
  private Phase phase;

  @JsonPropertyDescription("Healthy endpoints out of all, for example 2/3.")
  private String healthyEndpoints;

  @JsonPropertyDescription("Health of each endpoint at the last probe.")
  private List<EndpointStatus> endpoints = new ArrayList<>();

  @JsonPropertyDescription("ClickHouse server version reported by the first healthy endpoint.")
  private String serverVersion;

  @JsonPropertyDescription("Round-trip time of the probe query on the first healthy endpoint, in milliseconds.")
  private Long latencyMillis;

  @JsonPropertyDescription("What the server supports, detected from its version and system tables.")
  private Capabilities capabilities;

  @JsonPropertyDescription("When the endpoints were last probed (RFC 3339).")
  private String lastProbeTime;

  @JsonPropertyDescription("resourceVersion of the credentials Secret used by the last probe.")
  private String secretResourceVersion;

  @JsonPropertyDescription("The cluster named in spec.cluster as system.clusters describes it: its shards and"
      + " replicas, which endpoint is which replica, and which replicas answer. Empty for a single server.")
  public Topology topology;

  /** The cluster's layout, from system.clusters, and each replica's reachability. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Topology {
    @JsonPropertyDescription("The cluster's name (spec.cluster).")
    public String cluster;

    @JsonPropertyDescription("Number of shards.")
    public Integer shards;

    @JsonPropertyDescription("Replicas that answer out of all, for example 3/4.")
    public String reachableReplicas;

    @JsonPropertyDescription("Shards with no replica that answers (the cluster's data there is unavailable).")
    public List<Integer> unavailableShards = new ArrayList<>();

    @JsonPropertyDescription("Every replica of every shard.")
    public List<Replica> replicas = new ArrayList<>();
  }

  /** One replica of the cluster. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Replica {
    @JsonPropertyDescription("Shard number (system.clusters.shard_num, from 1).")
    public int shard;

    @JsonPropertyDescription("Replica number within its shard (system.clusters.replica_num, from 1).")
    public int replica;

    @JsonPropertyDescription("Host and native port as remote_servers names it.")
    public String host;

    @JsonPropertyDescription("The spec endpoint that reaches this replica (found by asking each endpoint which replica"
        + " it is), or absent when no endpoint does: list every replica's HTTP endpoint for per-replica work.")
    public String endpoint;

    @JsonPropertyDescription("Whether its endpoint answered at the last probe; absent when it has no endpoint.")
    public Boolean reachable;

    @JsonPropertyDescription("True when the endpoint was known to be of this shard but not which of its replicas it"
        + " is (servers sharing a host, whose {replica} macro is not their remote_servers host name): the shard's"
        + " endpoints were matched to its replicas in spec.endpoints order.")
    public Boolean placedByOrder;
  }

  /** Health of one endpoint. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class EndpointStatus {
    @JsonPropertyDescription("The endpoint URL, as in the spec.")
    private String url;

    @JsonPropertyDescription("Whether the endpoint answered the probe query.")
    private boolean healthy;

    @JsonPropertyDescription("Round-trip time of the probe query in milliseconds.")
    private Long latencyMillis;

    @JsonPropertyDescription("Server version reported by this endpoint.")
    private String serverVersion;

    @JsonPropertyDescription("The last error seen on this endpoint, if the probe failed.")
    private String lastError;

    @JsonPropertyDescription("Typed class of the last error: Connection, Authentication, Timeout, ...")
    private String lastErrorKind;

    public EndpointStatus() {}

    public String getUrl() {
      return url;
    }

    public void setUrl(String url) {
      this.url = url;
    }

    public boolean isHealthy() {
      return healthy;
    }

    public void setHealthy(boolean healthy) {
      this.healthy = healthy;
    }

    public Long getLatencyMillis() {
      return latencyMillis;
    }

    public void setLatencyMillis(Long latencyMillis) {
      this.latencyMillis = latencyMillis;
    }

    public String getServerVersion() {
      return serverVersion;
    }

    public void setServerVersion(String serverVersion) {
      this.serverVersion = serverVersion;
    }

    public String getLastError() {
      return lastError;
    }

    public void setLastError(String lastError) {
      this.lastError = lastError;
    }

    public String getLastErrorKind() {
      return lastErrorKind;
    }

    public void setLastErrorKind(String lastErrorKind) {
      this.lastErrorKind = lastErrorKind;
    }
  }

  /** Server capabilities; each feature of Housekeeper picks its path from these. */
  public static class Capabilities {
    @JsonPropertyDescription("BACKUP and RESTORE statements (ClickHouse 22.8 and later).")
    private boolean nativeBackup;

    @JsonPropertyDescription("Table and column TTL (ClickHouse 19.6 and later).")
    private boolean tableTtl;

    @JsonPropertyDescription("EXCHANGE TABLES (ClickHouse 21.8 and later, in an Atomic database).")
    private boolean exchangeTables;

    @JsonPropertyDescription("Lightweight DELETE FROM (ClickHouse 23.3 and later).")
    private boolean lightweightDelete;

    @JsonPropertyDescription("The postgresql() table function is registered on the server.")
    private boolean postgresqlTableFunction;

    @JsonPropertyDescription("Server-side query parameters {name:Type} (ClickHouse 19.15 and later).")
    private boolean queryParameters;

    public boolean isNativeBackup() {
      return nativeBackup;
    }

    public void setNativeBackup(boolean nativeBackup) {
      this.nativeBackup = nativeBackup;
    }

    public boolean isTableTtl() {
      return tableTtl;
    }

    public void setTableTtl(boolean tableTtl) {
      this.tableTtl = tableTtl;
    }

    public boolean isExchangeTables() {
      return exchangeTables;
    }

    public void setExchangeTables(boolean exchangeTables) {
      this.exchangeTables = exchangeTables;
    }

    public boolean isLightweightDelete() {
      return lightweightDelete;
    }

    public void setLightweightDelete(boolean lightweightDelete) {
      this.lightweightDelete = lightweightDelete;
    }

    public boolean isPostgresqlTableFunction() {
      return postgresqlTableFunction;
    }

    public void setPostgresqlTableFunction(boolean postgresqlTableFunction) {
      this.postgresqlTableFunction = postgresqlTableFunction;
    }

    public boolean isQueryParameters() {
      return queryParameters;
    }

    public void setQueryParameters(boolean queryParameters) {
      this.queryParameters = queryParameters;
    }
  }

  public Phase getPhase() {
    return phase;
  }

  public void setPhase(Phase phase) {
    this.phase = phase;
  }

  public String getHealthyEndpoints() {
    return healthyEndpoints;
  }

  public void setHealthyEndpoints(String healthyEndpoints) {
    this.healthyEndpoints = healthyEndpoints;
  }

  public List<EndpointStatus> getEndpoints() {
    return endpoints;
  }

  public void setEndpoints(List<EndpointStatus> endpoints) {
    this.endpoints = endpoints;
  }

  public String getServerVersion() {
    return serverVersion;
  }

  public void setServerVersion(String serverVersion) {
    this.serverVersion = serverVersion;
  }

  public Long getLatencyMillis() {
    return latencyMillis;
  }

  public void setLatencyMillis(Long latencyMillis) {
    this.latencyMillis = latencyMillis;
  }

  public Capabilities getCapabilities() {
    return capabilities;
  }

  public void setCapabilities(Capabilities capabilities) {
    this.capabilities = capabilities;
  }

  public String getLastProbeTime() {
    return lastProbeTime;
  }

  public void setLastProbeTime(String lastProbeTime) {
    this.lastProbeTime = lastProbeTime;
  }

  public String getSecretResourceVersion() {
    return secretResourceVersion;
  }

  public void setSecretResourceVersion(String secretResourceVersion) {
    this.secretResourceVersion = secretResourceVersion;
  }
}
