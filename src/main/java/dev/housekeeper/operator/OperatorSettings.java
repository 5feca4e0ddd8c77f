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
 *   <li>{@code HTTP_PORT}: port of /metrics (default 8080; 0 picks a free one).
 *   <li>{@code PROBE_PORT}: port of /healthz and /readyz (default 8081; 0 picks a free one).
 *   <li>{@code HTTP_READ_TIMEOUT_SECONDS}: time a connection to either port has to send its request line
 *       and headers before it is closed (default 5); {@code HTTP_RESPONSE_TIMEOUT_SECONDS}: time to take
 *       the answer (default 30).
 *   <li>{@code HTTP_MAX_CONNECTIONS}, {@code HTTP_MAX_CONNECTIONS_PER_CLIENT}: open connections per port, in
 *       all and from one address (default 16 and 4); more are closed at once.
 *   <li>{@code LEADER_ELECTION}: {@code true} to elect a leader on a Lease (default false).
 *   <li>{@code LEADER_ELECTION_NAMESPACE}, {@code LEADER_ELECTION_LEASE}: where the Lease is
 *       (default: {@code POD_NAMESPACE} or "default"; "housekeeper-leader").
 *   <li>{@code POD_NAME}: this replica's identity in the election (default: the host name).
 *   <li>{@code RECONCILE_THREADS}: concurrent reconciles (default 10).
 *   <li>{@code WORKER_THREADS}: threads for long work, in each of two lanes: data (backups, restores,
 *       retention runs) and schema (migrations, mart refreshes) (default 4).
 *   <li>{@code EXIT_ON_LOST_LEADERSHIP}: {@code true} (default) to exit the process once the lease is
 *       lost and all work is stopped, so that the pod restarts as a standby; {@code false} only stops
 *       reconciling (for several operators in one test JVM).
 *   <li>{@code HOST_ALIASES}: {@code host:port=host:port} pairs, comma-separated, that redirect
 *       connection endpoints, as a pod's hostAliases do; used by the local run, where the examples'
 *       {@code clickhouse:8123} is a server on loopback. Empty by default.
 *   <li>{@code HOUSEKEEPER_MAX_WORK_PER_NAMESPACE}: tasks of one lane one namespace runs at once while
 *       another namespace waits (default: half of {@code WORKER_THREADS}, at least 1; the schema lane
 *       lends idle threads beyond it); a further task waits, status reason {@code Queued}, so that one
 *       tenant cannot take every worker.
 *   <li>{@code HOUSEKEEPER_UPLOAD_BUFFER_BUDGET}: bytes that all upload part buffers together may hold
 *       (default 64Mi; at least 8Mi, one part); a number of bytes or with a suffix Ki, Mi, Gi.
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
    int probePort,
    HttpLimits httpLimits,
    boolean leaderElection,
    String leaseNamespace,
    String leaseName,
    String identity,
    Duration leaseDuration,
    int reconcileThreads,
    int workerThreads,
    Map<String, String> hostAliases,
    boolean exitOnLostLeadership,
    int maxWorkPerNamespace,
    long uploadBufferBudget,
    VolumeRoots volumeRoots) {

  /** The smallest upload budget: one part buffer of the default size. */
  public static final long MIN_UPLOAD_BUFFER_BUDGET = 8L * 1024 * 1024;

  public OperatorSettings {
    if (maxWorkPerNamespace < 1) {
      throw new IllegalArgumentException("HOUSEKEEPER_MAX_WORK_PER_NAMESPACE must be at least 1, not "
          + maxWorkPerNamespace);
    }
    if (uploadBufferBudget < MIN_UPLOAD_BUFFER_BUDGET) {
      throw new IllegalArgumentException("HOUSEKEEPER_UPLOAD_BUFFER_BUDGET must be at least 8Mi (one part buffer), not "
          + uploadBufferBudget + " bytes");
    }
  }

  public static OperatorSettings fromEnvironment(Map<String, String> env) {
    Set<String> namespaces = Arrays.stream(env.getOrDefault("WATCH_NAMESPACES", "").split(","))
        .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
    String podNamespace = env.getOrDefault("POD_NAMESPACE", "default");
    String host = env.getOrDefault("HOSTNAME", "housekeeper");
    int workers = Integer.parseInt(env.getOrDefault("WORKER_THREADS", "4"));
    String perNamespace = env.getOrDefault("HOUSEKEEPER_MAX_WORK_PER_NAMESPACE", "");
    return new OperatorSettings(
        namespaces,
        Integer.parseInt(env.getOrDefault("HTTP_PORT", "8080")),
        Integer.parseInt(env.getOrDefault("PROBE_PORT", "8081")),
        new HttpLimits(Duration.ofSeconds(Long.parseLong(env.getOrDefault("HTTP_READ_TIMEOUT_SECONDS", "5"))),
            Duration.ofSeconds(Long.parseLong(env.getOrDefault("HTTP_RESPONSE_TIMEOUT_SECONDS", "30"))),
            Integer.parseInt(env.getOrDefault("HTTP_MAX_CONNECTIONS", "16")),
            Integer.parseInt(env.getOrDefault("HTTP_MAX_CONNECTIONS_PER_CLIENT", "4"))),
        Boolean.parseBoolean(env.getOrDefault("LEADER_ELECTION", "false")),
        env.getOrDefault("LEADER_ELECTION_NAMESPACE", podNamespace),
        env.getOrDefault("LEADER_ELECTION_LEASE", "housekeeper-leader"),
        env.getOrDefault("POD_NAME", host),
        Duration.ofSeconds(Long.parseLong(env.getOrDefault("LEADER_ELECTION_LEASE_SECONDS", "15"))),
        Integer.parseInt(env.getOrDefault("RECONCILE_THREADS", "10")),
        workers,
        parseAliases(env.getOrDefault("HOST_ALIASES", "")),
        Boolean.parseBoolean(env.getOrDefault("EXIT_ON_LOST_LEADERSHIP", "true")),
        perNamespace.isBlank() ? defaultPerNamespace(workers) : Integer.parseInt(perNamespace.trim()),
        parseBytes("HOUSEKEEPER_UPLOAD_BUFFER_BUDGET", env.getOrDefault("HOUSEKEEPER_UPLOAD_BUFFER_BUDGET", "64Mi")),
        VolumeRoots.parse(env.getOrDefault("HOUSEKEEPER_VOLUME_ROOTS", ""),
            env.getOrDefault("HOUSEKEEPER_SHARED_VOLUME_ROOTS", "")));
  }

  /** Half the worker threads, at least one: one namespace leaves the other half to the rest. */
  static int defaultPerNamespace(int workers) {
    return Math.max(1, workers / 2);
  }

  /** A byte count: digits, optionally with a Kubernetes binary suffix (Ki, Mi, Gi). */
  static long parseBytes(String name, String text) {
    String t = text.trim();
    long unit = 1;
    for (String[] suffix : new String[][] {{"Ki", "1024"}, {"Mi", "1048576"}, {"Gi", "1073741824"}}) {
      if (t.endsWith(suffix[0])) {
        unit = Long.parseLong(suffix[1]);
        t = t.substring(0, t.length() - 2);
        break;
      }
    }
    try {
      return Math.multiplyExact(Long.parseLong(t.trim()), unit);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException(name + ": \"" + text + "\" is not a byte count such as 67108864 or 64Mi");
    }
  }

  /**
   * Defaults for tests: all namespaces, free ports, no election; a lost lease stops reconciling, not the JVM;
   * the temporary folder as a shared volume root, since the tests' backups go to folders made there.
   */
  public static OperatorSettings forTests() {
    return new OperatorSettings(Set.of(), 0, 0, HttpLimits.DEFAULT, false, "default", "housekeeper-leader", "test",
        Duration.ofSeconds(15), 10, 4, Map.of(), false, defaultPerNamespace(4), 64L * 1024 * 1024,
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
    return new OperatorSettings(watchNamespaces, port, probePort, httpLimits, leaderElection, leaseNamespace,
        leaseName, identity, leaseDuration, reconcileThreads, workerThreads, hostAliases, exitOnLostLeadership,
        maxWorkPerNamespace, uploadBufferBudget, volumeRoots);
  }

  public OperatorSettings withProbePort(int port) {
    return new OperatorSettings(watchNamespaces, httpPort, port, httpLimits, leaderElection, leaseNamespace,
        leaseName, identity, leaseDuration, reconcileThreads, workerThreads, hostAliases, exitOnLostLeadership,
        maxWorkPerNamespace, uploadBufferBudget, volumeRoots);
  }

  public OperatorSettings withHttpLimits(HttpLimits limits) {
    return new OperatorSettings(watchNamespaces, httpPort, probePort, limits, leaderElection, leaseNamespace,
        leaseName, identity, leaseDuration, reconcileThreads, workerThreads, hostAliases, exitOnLostLeadership,
        maxWorkPerNamespace, uploadBufferBudget, volumeRoots);
  }

  public OperatorSettings withHostAliases(Map<String, String> aliases) {
    return new OperatorSettings(watchNamespaces, httpPort, probePort, httpLimits, leaderElection, leaseNamespace,
        leaseName, identity, leaseDuration, reconcileThreads, workerThreads, Map.copyOf(aliases),
        exitOnLostLeadership, maxWorkPerNamespace, uploadBufferBudget, volumeRoots);
  }

  public OperatorSettings withLeaderElection(String namespace, String lease, String id, Duration duration) {
    return new OperatorSettings(watchNamespaces, httpPort, probePort, httpLimits, true, namespace, lease, id,
        duration, reconcileThreads, workerThreads, hostAliases, exitOnLostLeadership, maxWorkPerNamespace,
        uploadBufferBudget, volumeRoots);
  }

  /** The same settings with another limit of long tasks per namespace. */
  public OperatorSettings withMaxWorkPerNamespace(int limit) {
    return new OperatorSettings(watchNamespaces, httpPort, probePort, httpLimits, leaderElection, leaseNamespace,
        leaseName, identity, leaseDuration, reconcileThreads, workerThreads, hostAliases, exitOnLostLeadership,
        limit, uploadBufferBudget, volumeRoots);
  }

  /** The same settings with another upload buffer budget. */
  public OperatorSettings withUploadBufferBudget(long bytes) {
    return new OperatorSettings(watchNamespaces, httpPort, probePort, httpLimits, leaderElection, leaseNamespace,
        leaseName, identity, leaseDuration, reconcileThreads, workerThreads, hostAliases, exitOnLostLeadership,
        maxWorkPerNamespace, bytes, volumeRoots);
  }

  /** The same settings with other volume roots. */
  public OperatorSettings withVolumeRoots(VolumeRoots roots) {
    return new OperatorSettings(watchNamespaces, httpPort, probePort, httpLimits, leaderElection, leaseNamespace,
        leaseName, identity, leaseDuration, reconcileThreads, workerThreads, hostAliases, exitOnLostLeadership,
        maxWorkPerNamespace, uploadBufferBudget, roots);
  }

  /**
   * Limits of each HTTP listener: the time to read a request's line and headers, the time to send the
   * answer, and the open connections in all and from one client address.
   */
  public record HttpLimits(Duration readTime, Duration responseTime, int maxConnections, int maxPerClient) {

    public static final HttpLimits DEFAULT = new HttpLimits(Duration.ofSeconds(5), Duration.ofSeconds(30), 16, 4);

    public HttpLimits {
      if (readTime.isNegative() || readTime.isZero() || responseTime.isNegative() || responseTime.isZero()) {
        throw new IllegalArgumentException("HTTP time limits must be positive");
      }
      if (maxConnections < 1 || maxPerClient < 1) {
        throw new IllegalArgumentException("HTTP connection limits must be at least 1");
      }
    }
  }
}
