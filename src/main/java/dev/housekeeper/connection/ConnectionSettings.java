package dev.housekeeper.connection;

import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.Durations;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a ClickHouseConnection spec and turns it, with the credentials read from its Secret, into
 * a {@link ClientConfig}. The CRD schema checks most of this already; this is the same check for
 * servers where the schema is not enforced (and for clear messages).
 */
public final class ConnectionSettings {

  /** The shortest probe interval a spec may ask for. */
  public static final Duration MIN_PROBE_INTERVAL = Duration.ofSeconds(1);

  private ConnectionSettings() {}

  /** Every problem of the spec, each as a sentence; empty when the spec is usable. */
  public static List<String> validate(ClickHouseConnectionSpec spec) {
    List<String> problems = new ArrayList<>();
    if (spec == null) {
      return List.of("spec is missing");
    }
    if (spec.getEndpoints() == null || spec.getEndpoints().isEmpty()) {
      problems.add("spec.endpoints: at least one endpoint is needed, for example http://clickhouse:8123");
    } else {
      for (String endpoint : spec.getEndpoints()) {
        String problem = checkEndpoint(endpoint);
        if (problem != null) {
          problems.add("spec.endpoints: " + problem);
        }
      }
    }
    if (spec.getDatabase() != null && Identifiers.nameProblem(spec.getDatabase()) != null) {
      problems.add("spec.database: " + Identifiers.describe(spec.getDatabase()) + " is not a valid database name: it "
          + Identifiers.nameProblem(spec.getDatabase()));
    }
    if (spec.getCredentials() == null || spec.getCredentials().getSecretName() == null
        || spec.getCredentials().getSecretName().isBlank()) {
      problems.add("spec.credentials.secretName: name the Secret that holds the user name and password");
    } else if (!spec.getCredentials().getSecretName().matches("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")) {
      problems.add("spec.credentials.secretName: " + Identifiers.describe(spec.getCredentials().getSecretName())
          + " is not the name of a Secret");
    }
    if (spec.getCluster() != null && Identifiers.clusterNameProblem(spec.getCluster()) != null) {
      problems.add("spec.cluster: " + Identifiers.describe(spec.getCluster()) + " "
          + Identifiers.clusterNameProblem(spec.getCluster()));
    }
    tryParse(problems, "spec.connectTimeout", spec.getConnectTimeout());
    tryParse(problems, "spec.queryTimeout", spec.getQueryTimeout());
    probeInterval(problems, spec.getProbeInterval());
    if (spec.getRetry() != null) {
      tryParse(problems, "spec.retry.initialBackoff", spec.getRetry().getInitialBackoff());
      tryParse(problems, "spec.retry.maxBackoff", spec.getRetry().getMaxBackoff());
      if (spec.getRetry().getMaxAttempts() < 1 || spec.getRetry().getMaxAttempts() > 20) {
        problems.add("spec.retry.maxAttempts: must be between 1 and 20");
      }
    }
    if (spec.getCircuitBreaker() != null) {
      tryParse(problems, "spec.circuitBreaker.openDuration", spec.getCircuitBreaker().getOpenDuration());
      if (spec.getCircuitBreaker().getFailureThreshold() < 1 || spec.getCircuitBreaker().getFailureThreshold() > 1000) {
        problems.add("spec.circuitBreaker.failureThreshold: must be between 1 and 1000");
      }
      if (spec.getCircuitBreaker().getSuccessThreshold() < 1 || spec.getCircuitBreaker().getSuccessThreshold() > 1000) {
        problems.add("spec.circuitBreaker.successThreshold: must be between 1 and 1000");
      }
    }
    return problems;
  }

  private static String checkEndpoint(String endpoint) {
    if (endpoint != null && endpoint.matches("^https?://[^/]*@.*")) {
      return "\"" + endpoint.replaceAll("//[^/]*@", "//***@") + "\" carries credentials; put them in the Secret named by"
          + " spec.credentials.secretName";
    }
    if (endpoint == null || !endpoint.matches("^https?://[^/\\s?#]+/?$")) {
      return "\"" + endpoint + "\" is not an http:// or https:// URL with a host and optional port";
    }
    try {
      URI uri = URI.create(endpoint);
      if (uri.getHost() == null) {
        return "\"" + endpoint + "\" has no host";
      }
    } catch (IllegalArgumentException e) {
      return "\"" + endpoint + "\" is not a URL: " + e.getMessage();
    }
    return null;
  }

  /** At least {@link #MIN_PROBE_INTERVAL}: {@code 0s} would probe every endpoint in a hot loop. */
  private static void probeInterval(List<String> problems, String value) {
    try {
      Duration interval = Durations.parse("spec.probeInterval", value, Duration.ofSeconds(60));
      if (interval.compareTo(MIN_PROBE_INTERVAL) < 0) {
        problems.add("spec.probeInterval: \"" + value + "\" is shorter than the minimum of 1s (a shorter interval"
            + " would probe every endpoint in a busy loop)");
      }
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
  }

  private static void tryParse(List<String> problems, String field, String value) {
    try {
      Durations.parse(field, value, Duration.ZERO);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
  }

  /** The client configuration of a valid spec. */
  public static ClientConfig toClientConfig(ClickHouseConnectionSpec spec, String username, String password,
      String caPem, java.util.Map<String, String> hostAliases) {
    var retry = spec.getRetry() != null ? spec.getRetry() : new ClickHouseConnectionSpec.Retry();
    var breaker = spec.getCircuitBreaker() != null ? spec.getCircuitBreaker()
        : new ClickHouseConnectionSpec.CircuitBreaker();
    ClientConfig.Balancing balancing = spec.getLoadBalancing() == ClickHouseConnectionSpec.LoadBalancing.FirstHealthy
        ? ClientConfig.Balancing.FIRST_HEALTHY : ClientConfig.Balancing.ROUND_ROBIN;
    List<String> endpoints = spec.getEndpoints().stream()
        .map(e -> e.endsWith("/") ? e.substring(0, e.length() - 1) : e)
        .map(e -> alias(e, hostAliases))
        .toList();
    return ClientConfig.of(endpoints, username, password)
        .withDatabase(spec.getDatabase() == null ? "default" : spec.getDatabase())
        .withBalancing(balancing)
        .withTimeouts(Durations.parse("connectTimeout", spec.getConnectTimeout(), Duration.ofSeconds(5)),
            Durations.parse("queryTimeout", spec.getQueryTimeout(), Duration.ofSeconds(300)))
        .withRetry(retry.getMaxAttempts(),
            Durations.parse("initialBackoff", retry.getInitialBackoff(), Duration.ofMillis(200)),
            Durations.parse("maxBackoff", retry.getMaxBackoff(), Duration.ofSeconds(5)))
        .withBreaker(breaker.getFailureThreshold(),
            Durations.parse("openDuration", breaker.getOpenDuration(), Duration.ofSeconds(30)),
            breaker.getSuccessThreshold())
        .withCluster(spec.getCluster())
        .withTls(caPem, spec.getTls() != null && spec.getTls().isInsecureSkipVerify());
  }

  /** The endpoint with its host:port replaced when an alias names it. */
  public static String alias(String endpoint, java.util.Map<String, String> hostAliases) {
    URI uri = URI.create(endpoint);
    int port = uri.getPort() > 0 ? uri.getPort() : ("https".equals(uri.getScheme()) ? 443 : 80);
    String target = hostAliases.get(uri.getHost() + ":" + port);
    return target == null ? endpoint : uri.getScheme() + "://" + target;
  }

  /** A JDBC URL ({@code jdbc:postgresql://host:port/db...}) with its host:port redirected by HOST_ALIASES. */
  public static String aliasJdbc(String url, java.util.Map<String, String> hostAliases) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(jdbc:[a-z]+://)([^/:?]+)(?::(\\d+))?(.*)$")
        .matcher(url == null ? "" : url);
    if (hostAliases.isEmpty() || !m.matches()) {
      return url;
    }
    String port = m.group(3) != null ? m.group(3) : url.startsWith("jdbc:postgresql:") ? "5432" : "";
    String target = hostAliases.get(m.group(2) + ":" + port);
    return target == null ? url : m.group(1) + target + m.group(4);
  }

  public static Duration probeInterval(ClickHouseConnectionSpec spec) {
    return Durations.parse("probeInterval", spec.getProbeInterval(), Duration.ofSeconds(60));
  }
}
