package dev.housekeeper.clickhouse;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Everything the client layer needs to reach one ClickHouse deployment. Built from a
 * ClickHouseConnection's spec and Secret, or directly in tests.
 */
public record ClientConfig(
    List<String> endpoints,
    String database,
    String username,
    String password,
    Balancing balancing,
    Duration connectTimeout,
    Duration queryTimeout,
    int maxAttempts,
    Duration initialBackoff,
    Duration maxBackoff,
    int breakerFailureThreshold,
    Duration breakerOpenDuration,
    int breakerSuccessThreshold,
    String cluster,
    String caCertificatePem,
    boolean insecureSkipVerify) {

  /** How endpoints are chosen. */
  public enum Balancing {
    ROUND_ROBIN,
    FIRST_HEALTHY
  }

  public ClientConfig {
    endpoints = List.copyOf(Objects.requireNonNull(endpoints, "endpoints"));
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("at least one endpoint is needed");
    }
    Objects.requireNonNull(username, "username");
    password = password == null ? "" : password;
    database = database == null ? "default" : database;
    balancing = balancing == null ? Balancing.ROUND_ROBIN : balancing;
  }

  /** Defaults matching the CRD's: 5 s connect, 300 s query, 3 attempts, breaker 5 failures / 30 s. */
  public static ClientConfig of(List<String> endpoints, String username, String password) {
    return new ClientConfig(endpoints, "default", username, password, Balancing.ROUND_ROBIN,
        Duration.ofSeconds(5), Duration.ofSeconds(300), 3, Duration.ofMillis(200), Duration.ofSeconds(5),
        5, Duration.ofSeconds(30), 1, null, null, false);
  }

  /** The same settings for other endpoints (for example the replicas of one shard). */
  public ClientConfig withEndpoints(List<String> value) {
    return new ClientConfig(value, database, username, password, balancing, connectTimeout, queryTimeout, maxAttempts,
        initialBackoff, maxBackoff, breakerFailureThreshold, breakerOpenDuration, breakerSuccessThreshold, cluster,
        caCertificatePem, insecureSkipVerify);
  }

  public ClientConfig withDatabase(String value) {
    return new ClientConfig(endpoints, value, username, password, balancing, connectTimeout, queryTimeout, maxAttempts,
        initialBackoff, maxBackoff, breakerFailureThreshold, breakerOpenDuration, breakerSuccessThreshold, cluster,
        caCertificatePem, insecureSkipVerify);
  }

  public ClientConfig withBalancing(Balancing value) {
    return new ClientConfig(endpoints, database, username, password, value, connectTimeout, queryTimeout, maxAttempts,
        initialBackoff, maxBackoff, breakerFailureThreshold, breakerOpenDuration, breakerSuccessThreshold, cluster,
        caCertificatePem, insecureSkipVerify);
  }

  public ClientConfig withTimeouts(Duration connect, Duration query) {
    return new ClientConfig(endpoints, database, username, password, balancing, connect, query, maxAttempts,
        initialBackoff, maxBackoff, breakerFailureThreshold, breakerOpenDuration, breakerSuccessThreshold, cluster,
        caCertificatePem, insecureSkipVerify);
  }

  public ClientConfig withRetry(int attempts, Duration initial, Duration max) {
    return new ClientConfig(endpoints, database, username, password, balancing, connectTimeout, queryTimeout, attempts,
        initial, max, breakerFailureThreshold, breakerOpenDuration, breakerSuccessThreshold, cluster,
        caCertificatePem, insecureSkipVerify);
  }

  public ClientConfig withBreaker(int failures, Duration open, int successes) {
    return new ClientConfig(endpoints, database, username, password, balancing, connectTimeout, queryTimeout,
        maxAttempts, initialBackoff, maxBackoff, failures, open, successes, cluster, caCertificatePem,
        insecureSkipVerify);
  }

  public ClientConfig withCluster(String value) {
    return new ClientConfig(endpoints, database, username, password, balancing, connectTimeout, queryTimeout,
        maxAttempts, initialBackoff, maxBackoff, breakerFailureThreshold, breakerOpenDuration,
        breakerSuccessThreshold, value, caCertificatePem, insecureSkipVerify);
  }

  public ClientConfig withTls(String caPem, boolean insecure) {
    return new ClientConfig(endpoints, database, username, password, balancing, connectTimeout, queryTimeout,
        maxAttempts, initialBackoff, maxBackoff, breakerFailureThreshold, breakerOpenDuration,
        breakerSuccessThreshold, cluster, caPem, insecure);
  }

  @Override
  public String toString() {
    // Never print the credentials: the user name comes from a Secret's key too, which may hold anything.
    return "ClientConfig[endpoints=" + endpoints + ", database=" + database
        + ", balancing=" + balancing + ", cluster=" + cluster + "]";
  }
}
