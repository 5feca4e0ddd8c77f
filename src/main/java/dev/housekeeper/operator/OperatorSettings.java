package dev.housekeeper.operator;

import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The operator's configuration, read from environment variables.
 *
 * <ul>
 *   <li>{@code WATCH_NAMESPACES}: comma-separated namespaces; empty or unset watches the whole cluster.
 *   <li>{@code HTTP_PORT}: port of /metrics, /healthz and /readyz (default 8080; 0 picks a free one).
 *   <li>{@code LEADER_ELECTION}: {@code true} to elect a leader on a Lease (default false).
 *   <li>{@code LEADER_ELECTION_NAMESPACE}, {@code LEADER_ELECTION_LEASE}: where the Lease is
 *       (default: {@code POD_NAMESPACE} or "default"; "housekeeper-leader").
 *   <li>{@code POD_NAME}: this replica's identity in the election (default: the host name).
 *   <li>{@code RECONCILE_THREADS}: concurrent reconciles (default 10).
 *   <li>{@code WORKER_THREADS}: threads for long work such as backups (default 4).
 * </ul>
 */
public record OperatorSettings(
    Set<String> watchNamespaces,
    int httpPort,
    boolean leaderElection,
    String leaseNamespace,
    String leaseName,
    String identity,
    Duration leaseDuration,
    int reconcileThreads,
    int workerThreads) {

  public static OperatorSettings fromEnvironment(Map<String, String> env) {
    Set<String> namespaces = Arrays.stream(env.getOrDefault("WATCH_NAMESPACES", "").split(","))
        .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
    String podNamespace = env.getOrDefault("POD_NAMESPACE", "default");
    String host = env.getOrDefault("HOSTNAME", "housekeeper");
    return new OperatorSettings(
        namespaces,
        Integer.parseInt(env.getOrDefault("HTTP_PORT", "8080")),
        Boolean.parseBoolean(env.getOrDefault("LEADER_ELECTION", "false")),
        env.getOrDefault("LEADER_ELECTION_NAMESPACE", podNamespace),
        env.getOrDefault("LEADER_ELECTION_LEASE", "housekeeper-leader"),
        env.getOrDefault("POD_NAME", host),
        Duration.ofSeconds(Long.parseLong(env.getOrDefault("LEADER_ELECTION_LEASE_SECONDS", "15"))),
        Integer.parseInt(env.getOrDefault("RECONCILE_THREADS", "10")),
        Integer.parseInt(env.getOrDefault("WORKER_THREADS", "4")));
  }

  /** Defaults for tests: all namespaces, a free port, no election. */
  public static OperatorSettings forTests() {
    return new OperatorSettings(Set.of(), 0, false, "default", "housekeeper-leader", "test",
        Duration.ofSeconds(15), 10, 4);
  }

  public OperatorSettings withLeaderElection(String namespace, String lease, String id, Duration duration) {
    return new OperatorSettings(watchNamespaces, httpPort, true, namespace, lease, id, duration, reconcileThreads,
        workerThreads);
  }
}
