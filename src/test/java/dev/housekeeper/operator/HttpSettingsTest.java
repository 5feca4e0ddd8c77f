package dev.housekeeper.operator;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The HTTP listeners' settings, read from the environment. */
class HttpSettingsTest {

  @Test
  void defaultsPutProbesOn8081AndMetricsOn8080WithFiveSecondsToRead() {
    OperatorSettings s = OperatorSettings.fromEnvironment(Map.of());
    assertEquals(8080, s.httpPort());
    assertEquals(8081, s.probePort());
    assertEquals(OperatorSettings.HttpLimits.DEFAULT, s.httpLimits());
    assertEquals(Duration.ofSeconds(5), s.httpLimits().readTime());
    assertEquals(16, s.httpLimits().maxConnections());
    assertEquals(4, s.httpLimits().maxPerClient());
  }

  @Test
  void everyLimitIsReadFromItsVariable() {
    OperatorSettings s = OperatorSettings.fromEnvironment(Map.of("HTTP_PORT", "9090", "PROBE_PORT", "9091",
        "HTTP_READ_TIMEOUT_SECONDS", "2", "HTTP_RESPONSE_TIMEOUT_SECONDS", "10", "HTTP_MAX_CONNECTIONS", "8",
        "HTTP_MAX_CONNECTIONS_PER_CLIENT", "2"));
    assertEquals(9090, s.httpPort());
    assertEquals(9091, s.probePort());
    assertEquals(new OperatorSettings.HttpLimits(Duration.ofSeconds(2), Duration.ofSeconds(10), 8, 2), s.httpLimits());
    // the other copies keep them
    assertEquals(s.httpLimits(), s.withHttpPort(1).withHostAliases(Map.of()).httpLimits());
    assertEquals(9091, s.withLeaderElection("ns", "lease", "id", Duration.ofSeconds(15)).probePort());
  }

  @Test
  void zeroLimitsAreRefused() {
    assertThatThrownBy(() -> OperatorSettings.fromEnvironment(Map.of("HTTP_READ_TIMEOUT_SECONDS", "0")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive");
    assertThatThrownBy(() -> OperatorSettings.fromEnvironment(Map.of("HTTP_MAX_CONNECTIONS_PER_CLIENT", "0")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1");
  }
}
