package dev.housekeeper.operator;

import dev.housekeeper.backup.storage.VolumeRoots;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
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
 *   <li>{@code EXIT_ON_LOST_LEADERSHIP}: {@code true} (default) to exit the process once the lease is
 *       lost and all work is stopped, so that the pod restarts as a standby; {@code false} only stops
 *       reconciling (for several operators in one test JVM).
 *   <li>{@code HOST_ALIASES}: {@code host:port=host:port} pairs, comma-separated, that redirect
 *       connection endpoints, as a pod's hostAliases do; used by the local run, where the examples'
 *       {@code clickhouse:8123} is a server on loopback. Empty by default.
 *   <li>{@code HOUSEKEEPER_VOLUME_ROOTS}: comma-separated absolute paths (mounted volumes) that
 *       {@code storage.volume.path} may use; each namespace gets its own folder under each root
 *       ({@code <root>/<namespace>}). Empty by default: volume storage is refused, S3 works.
 *   <li>{@code HOUSEKEEPER_SHARED_VOLUME_ROOTS}: roots without a folder per namespace, for the local
 *       run and tests only (any namespace reaches any path below them). Empty by default.
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
    int workerThreads,
    Map<String, String> hostAliases,
    boolean exitOnLostLeadership,
    VolumeRoots volumeRoots) {

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
        Integer.parseInt(env.getOrDefault("WORKER_THREADS", "4")),
        parseAliases(env.getOrDefault("HOST_ALIASES", "")),
        Boolean.parseBoolean(env.getOrDefault("EXIT_ON_LOST_LEADERSHIP", "true")),
        VolumeRoots.parse(env.getOrDefault("HOUSEKEEPER_VOLUME_ROOTS", ""),
            env.getOrDefault("HOUSEKEEPER_SHARED_VOLUME_ROOTS", "")));
  }

  /**
   * Defaults for tests: all namespaces, a free port, no election; a lost lease stops reconciling, not the JVM;
   * the temporary folder as a shared volume root, since the tests' backups go to folders made there.
   */
  public static OperatorSettings forTests() {
    return new OperatorSettings(Set.of(), 0, false, "default", "housekeeper-leader", "test",
        Duration.ofSeconds(15), 10, 4, Map.of(), false,
        VolumeRoots.of(List.of(), List.of(Path.of(System.getProperty("java.io.tmpdir")))));
  }

  static Map<String, String> parseAliases(String text) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (String pair : text.split(",")) {
      if (pair.isBlank()) {
        continue;
      }
      String[] kv = pair.trim().split("=", 2);
      if (kv.length != 2 || kv[0].isBlank() || kv[1].isBlank()) {
        throw new IllegalArgumentException("HOST_ALIASES: \"" + pair + "\" is not host:port=host:port");
      }
      out.put(kv[0].trim(), kv[1].trim());
    }
    return Map.copyOf(out);
  }

  public OperatorSettings withHttpPort(int port) {
    return new OperatorSettings(watchNamespaces, port, leaderElection, leaseNamespace, leaseName, identity,
        leaseDuration, reconcileThreads, workerThreads, hostAliases, exitOnLostLeadership, volumeRoots);
  }

  public OperatorSettings withHostAliases(Map<String, String> aliases) {
    return new OperatorSettings(watchNamespaces, httpPort, leaderElection, leaseNamespace, leaseName, identity,
        leaseDuration, reconcileThreads, workerThreads, Map.copyOf(aliases), exitOnLostLeadership, volumeRoots);
  }

  public OperatorSettings withLeaderElection(String namespace, String lease, String id, Duration duration) {
    return new OperatorSettings(watchNamespaces, httpPort, true, namespace, lease, id, duration, reconcileThreads,
        workerThreads, hostAliases, exitOnLostLeadership, volumeRoots);
  }

  public OperatorSettings withVolumeRoots(VolumeRoots roots) {
    return new OperatorSettings(watchNamespaces, httpPort, leaderElection, leaseNamespace, leaseName, identity,
        leaseDuration, reconcileThreads, workerThreads, hostAliases, exitOnLostLeadership, roots);
  }
}
