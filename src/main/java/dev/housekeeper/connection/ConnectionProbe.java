package dev.housekeeper.connection;

import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus.EndpointStatus;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseClient.EndpointProbe;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import dev.housekeeper.clickhouse.ServerCapabilities;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.Pass;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * One probe of a connection's endpoints: each endpoint's health, latency and version into status, the
 * server's capabilities, and what that makes of the connection (Connected, PartiallyAvailable,
 * AuthenticationFailed, Unreachable, CapabilityDetectionFailed).
 */
public final class ConnectionProbe {

  private final HousekeeperMetrics metrics;
  private final Clock clock;

  ConnectionProbe(HousekeeperMetrics metrics, Clock clock) {
    this.metrics = metrics;
    this.clock = clock;
  }

  Pass<Phase> probe(ClickHouseClient client, ClickHouseConnectionStatus status, List<String> specEndpoints,
      String usernameKey, String secretName, Duration interval, String ns) {
    List<EndpointProbe> probes = client.probe();
    List<EndpointStatus> endpoints = new ArrayList<>();
    for (int i = 0; i < probes.size(); i++) {
      EndpointProbe p = probes.get(i);
      EndpointStatus e = new EndpointStatus();
      e.setUrl(specEndpoints.get(i));
      e.setHealthy(p.healthy());
      e.setLatencyMillis(p.latencyMillis());
      e.setServerVersion(p.serverVersion());
      if (p.error() != null) {
        e.setLastError(Conditions.truncate(p.error().getMessage(), 512));
        e.setLastErrorKind(p.error().kind().reason());
      }
      endpoints.add(e);
      metrics.action(ClickHouseConnectionReconciler.KIND, ns, "probe", p.healthy() ? "success" : "failure");
    }
    long healthy = probes.stream().filter(EndpointProbe::healthy).count();
    status.setEndpoints(endpoints);
    status.setHealthyEndpoints(healthy + "/" + probes.size());
    status.setLastProbeTime(Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString());
    if (healthy == 0) {
      boolean auth = probes.stream().anyMatch(p -> p.error() != null && p.error().kind() == Kind.AUTHENTICATION);
      String errors = probes.stream().map(p -> p.endpoint() + ": " + p.error().getMessage())
          .collect(Collectors.joining("; "));
      if (auth) {
        // the user is named by its Secret and key, never by its value: a key may hold anything (a password, a token)
        return Pass.failed(Phase.Failed, "AuthenticationFailed", "ClickHouse rejected the user in key \""
            + usernameKey + "\" of Secret \"" + secretName + "\" (" + errors
            + "). Check the user name and password in Secret \"" + secretName
            + "\"; the connection is probed again when the Secret changes.", interval);
      }
      return Pass.failed(Phase.Failed, "Unreachable", "No endpoint answered (" + errors + "). Check that"
          + " ClickHouse is running and that the endpoints' hosts and ports are right; retrying every "
          + shorter(interval, Duration.ofSeconds(10)).toSeconds() + "s.", shorter(interval, Duration.ofSeconds(10)));
    }
    EndpointProbe first = probes.stream().filter(EndpointProbe::healthy).findFirst().orElseThrow();
    status.setServerVersion(first.serverVersion());
    status.setLatencyMillis(first.latencyMillis());
    try {
      status.setCapabilities(toStatus(client.capabilities()));
    } catch (ClickHouseException e) {
      return Pass.failed(Phase.Failed, "CapabilityDetectionFailed", "The server answered, but reading its"
          + " capabilities failed: " + e.getMessage() + ". Check that the user may read system tables.", interval);
    }
    if (healthy < probes.size()) {
      String down = probes.stream().filter(p -> !p.healthy()).map(EndpointProbe::endpoint)
          .collect(Collectors.joining(", "));
      return Pass.failed(Phase.Degraded, "PartiallyAvailable", healthy + " of " + probes.size()
          + " endpoints answer; down: " + down + ". Queries fail over to the healthy ones.", interval).stillReady(true);
    }
    return Pass.ok(Phase.Ready, "Connected", "All " + probes.size() + " endpoint(s) answer; ClickHouse "
        + first.serverVersion() + ".", interval);
  }

  /** The server's capabilities as the connection's status shows them. */
  public static ClickHouseConnectionStatus.Capabilities toStatus(ServerCapabilities caps) {
    var out = new ClickHouseConnectionStatus.Capabilities();
    out.setNativeBackup(caps.nativeBackup());
    out.setTableTtl(caps.tableTtl());
    out.setExchangeTables(caps.exchangeTables());
    out.setLightweightDelete(caps.lightweightDelete());
    out.setPostgresqlTableFunction(caps.postgresqlTableFunction());
    out.setQueryParameters(caps.queryParameters());
    return out;
  }

  private static Duration shorter(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
