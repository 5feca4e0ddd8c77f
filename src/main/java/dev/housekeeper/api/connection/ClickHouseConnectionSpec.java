package dev.housekeeper.api.connection;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.ArrayList;
import java.util.List;

/** Desired state of a ClickHouseConnection. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClickHouseConnectionSpec {

  /** Pattern of a duration such as {@code 500ms}, {@code 30s}, {@code 5m} or {@code 1h}. */
  public static final String DURATION_PATTERN = "^[0-9]{1,9}(ms|s|m|h)$";

  /** Pattern of a probe interval: a duration of at least one second ({@code 0s} would probe in a hot loop). */
  public static final String PROBE_INTERVAL_PATTERN = "^([1-9][0-9]{0,8}(s|m|h)|[1-9][0-9]{3,8}ms)$";

  /**
   * Pattern of a cluster name: letters, digits, {@code _} and {@code -}, as a remote_servers element
   * can be named; no dot (ClickHouse refuses one: "Cluster names with dots are not supported").
   */
  public static final String CLUSTER_PATTERN = "^[A-Za-z_][A-Za-z0-9_-]{0,205}$";

  @Required
  @Size(min = 1, max = 32)
  @JsonPropertyDescription(
      "HTTP(S) endpoints of the ClickHouse servers, for example http://clickhouse-0.clickhouse:8123."
          + " Several replicas are load-balanced, with failover to the next healthy one.")
  private List<@Pattern("^https?://[^/\\s?#]+/?$") String> endpoints = new ArrayList<>();

  @Default("default")
  @Pattern(dev.housekeeper.api.common.ClickHouseNames.NAME)
  @JsonPropertyDescription("Default database for queries made through this connection.")
  private String database = "default";

  @Required
  @JsonPropertyDescription("The Secret that holds the user name and password.")
  private Credentials credentials;

  @JsonPropertyDescription("TLS settings for https:// endpoints.")
  private Tls tls;

  @Pattern(CLUSTER_PATTERN)
  @JsonPropertyDescription(
      "Name of the ClickHouse cluster (remote_servers) used for ON CLUSTER DDL: letters, digits, _ and -"
          + " (ClickHouse refuses a dot in a cluster name). Empty for a single server.")
  private String cluster;

  @Default("RoundRobin")
  @JsonPropertyDescription(
      "How queries are spread over healthy endpoints: RoundRobin, or FirstHealthy (the first in"
          + " list order whose circuit is closed).")
  private LoadBalancing loadBalancing = LoadBalancing.RoundRobin;

  @Default("5s")
  @Pattern(DURATION_PATTERN)
  @JsonPropertyDescription("TCP connect timeout per endpoint, for example 5s.")
  private String connectTimeout = "5s";

  @Default("300s")
  @Pattern(DURATION_PATTERN)
  @JsonPropertyDescription(
      "Longest time a single query may run; sent to ClickHouse as max_execution_time and used as"
          + " the client's socket timeout.")
  private String queryTimeout = "300s";

  @Default("60s")
  @Pattern(PROBE_INTERVAL_PATTERN)
  @JsonPropertyDescription("How often the operator probes every endpoint; at least 1s.")
  private String probeInterval = "60s";

  @JsonPropertyDescription("Retry of errors that are safe to retry (connection refused, dropped connection on a"
      + " read, server overload).")
  private Retry retry = new Retry();

  @JsonPropertyDescription("One circuit breaker per endpoint.")
  private CircuitBreaker circuitBreaker = new CircuitBreaker();

  /** Endpoint balancing strategies. */
  public enum LoadBalancing {
    RoundRobin,
    FirstHealthy
  }

  /** Where the credentials come from. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Credentials {
    @Required
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("Name of the Secret, in the same namespace.")
    private String secretName;

    @Default("username")
    @JsonPropertyDescription("Key of the user name in the Secret.")
    private String usernameKey = "username";

    @Default("password")
    @JsonPropertyDescription("Key of the password in the Secret.")
    private String passwordKey = "password";

    public String getSecretName() {
      return secretName;
    }

    public void setSecretName(String secretName) {
      this.secretName = secretName;
    }

    public String getUsernameKey() {
      return usernameKey;
    }

    public void setUsernameKey(String usernameKey) {
      this.usernameKey = usernameKey;
    }

    public String getPasswordKey() {
      return passwordKey;
    }

    public void setPasswordKey(String passwordKey) {
      this.passwordKey = passwordKey;
    }
  }

  /** TLS settings. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Tls {
    @JsonPropertyDescription(
        "PEM CA certificate that signs the servers' certificates, from a Secret key. Without it the"
            + " JVM's default trust store is used.")
    private dev.housekeeper.api.common.SecretKeyRef caCertificate;

    @Default("false")
    @JsonPropertyDescription("Skip verification of the server certificate. Never use it in production.")
    private boolean insecureSkipVerify;

    public dev.housekeeper.api.common.SecretKeyRef getCaCertificate() {
      return caCertificate;
    }

    public void setCaCertificate(dev.housekeeper.api.common.SecretKeyRef caCertificate) {
      this.caCertificate = caCertificate;
    }

    public boolean isInsecureSkipVerify() {
      return insecureSkipVerify;
    }

    public void setInsecureSkipVerify(boolean insecureSkipVerify) {
      this.insecureSkipVerify = insecureSkipVerify;
    }
  }

  /** Retry settings. */
  public static class Retry {
    @Default("3")
    @io.fabric8.generator.annotation.Min(1)
    @io.fabric8.generator.annotation.Max(20)
    @JsonPropertyDescription("Attempts in all, the first included. 1 disables retry.")
    private int maxAttempts = 3;

    @Default("200ms")
    @Pattern(DURATION_PATTERN)
    @JsonPropertyDescription("Delay before the first retry; it doubles on each further retry.")
    private String initialBackoff = "200ms";

    @Default("5s")
    @Pattern(DURATION_PATTERN)
    @JsonPropertyDescription("Longest delay between two attempts.")
    private String maxBackoff = "5s";

    public int getMaxAttempts() {
      return maxAttempts;
    }

    public void setMaxAttempts(int maxAttempts) {
      this.maxAttempts = maxAttempts;
    }

    public String getInitialBackoff() {
      return initialBackoff;
    }

    public void setInitialBackoff(String initialBackoff) {
      this.initialBackoff = initialBackoff;
    }

    public String getMaxBackoff() {
      return maxBackoff;
    }

    public void setMaxBackoff(String maxBackoff) {
      this.maxBackoff = maxBackoff;
    }
  }

  /** Circuit breaker settings, applied to each endpoint separately. */
  public static class CircuitBreaker {
    @Default("5")
    @io.fabric8.generator.annotation.Min(1)
    @io.fabric8.generator.annotation.Max(1000)
    @JsonPropertyDescription("Consecutive connection failures that open an endpoint's circuit.")
    private int failureThreshold = 5;

    @Default("30s")
    @Pattern(DURATION_PATTERN)
    @JsonPropertyDescription("How long an open circuit stays open before one trial request is let through.")
    private String openDuration = "30s";

    @Default("1")
    @io.fabric8.generator.annotation.Min(1)
    @io.fabric8.generator.annotation.Max(1000)
    @JsonPropertyDescription("Successful trial requests that close a half-open circuit.")
    private int successThreshold = 1;

    public int getFailureThreshold() {
      return failureThreshold;
    }

    public void setFailureThreshold(int failureThreshold) {
      this.failureThreshold = failureThreshold;
    }

    public String getOpenDuration() {
      return openDuration;
    }

    public void setOpenDuration(String openDuration) {
      this.openDuration = openDuration;
    }

    public int getSuccessThreshold() {
      return successThreshold;
    }

    public void setSuccessThreshold(int successThreshold) {
      this.successThreshold = successThreshold;
    }
  }

  public List<String> getEndpoints() {
    return endpoints;
  }

  public void setEndpoints(List<String> endpoints) {
    this.endpoints = endpoints;
  }

  public String getDatabase() {
    return database;
  }

  public void setDatabase(String database) {
    this.database = database;
  }

  public Credentials getCredentials() {
    return credentials;
  }

  public void setCredentials(Credentials credentials) {
    this.credentials = credentials;
  }

  public Tls getTls() {
    return tls;
  }

  public void setTls(Tls tls) {
    this.tls = tls;
  }

  public String getCluster() {
    return cluster;
  }

  public void setCluster(String cluster) {
    this.cluster = cluster;
  }

  public LoadBalancing getLoadBalancing() {
    return loadBalancing;
  }

  public void setLoadBalancing(LoadBalancing loadBalancing) {
    this.loadBalancing = loadBalancing;
  }

  public String getConnectTimeout() {
    return connectTimeout;
  }

  public void setConnectTimeout(String connectTimeout) {
    this.connectTimeout = connectTimeout;
  }

  public String getQueryTimeout() {
    return queryTimeout;
  }

  public void setQueryTimeout(String queryTimeout) {
    this.queryTimeout = queryTimeout;
  }

  public String getProbeInterval() {
    return probeInterval;
  }

  public void setProbeInterval(String probeInterval) {
    this.probeInterval = probeInterval;
  }

  public Retry getRetry() {
    return retry;
  }

  public void setRetry(Retry retry) {
    this.retry = retry;
  }

  public CircuitBreaker getCircuitBreaker() {
    return circuitBreaker;
  }

  public void setCircuitBreaker(CircuitBreaker circuitBreaker) {
    this.circuitBreaker = circuitBreaker;
  }
}
