package dev.housekeeper.connection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Sql;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The small rules of a connection: the probe interval's minimum and the one cluster-name rule. */
class ConnectionRulesTest {

  static ClickHouseConnectionSpec spec() {
    ClickHouseConnectionSpec spec = new ClickHouseConnectionSpec();
    spec.setEndpoints(List.of("http://ch:8123"));
    ClickHouseConnectionSpec.Credentials c = new ClickHouseConnectionSpec.Credentials();
    c.setSecretName("ch");
    spec.setCredentials(c);
    return spec;
  }

  static List<String> problems(java.util.function.Consumer<ClickHouseConnectionSpec> change) {
    ClickHouseConnectionSpec spec = spec();
    change.accept(spec);
    return ConnectionSettings.validate(spec);
  }

  @Test
  void probeIntervalBelowOneSecondIsRefused() {
    for (String v : List.of("0s", "0ms", "999ms", "0m", "0h")) {
      assertThat(problems(s -> s.setProbeInterval(v))).as(v).singleElement().asString()
          .startsWith("spec.probeInterval: \"" + v + "\" is shorter than the minimum of 1s");
    }
    assertThat(problems(s -> s.setProbeInterval("-5s"))).singleElement().asString().startsWith("spec.probeInterval");
    for (String v : List.of("1s", "1000ms", "60s", "5m", "1h")) {
      assertThat(problems(s -> s.setProbeInterval(v))).as(v).isEmpty();
    }
  }

  @Test
  void theCrdRefusesTheSameProbeIntervals() {
    java.util.regex.Pattern crd = java.util.regex.Pattern.compile(ClickHouseConnectionSpec.PROBE_INTERVAL_PATTERN);
    for (String v : List.of("0s", "0ms", "999ms", "0m", "00s", "-1s")) {
      assertThat(crd.matcher(v).matches()).as(v).isFalse();
    }
    for (String v : List.of("1s", "1000ms", "60s", "5m", "1h", "999999999s")) {
      assertThat(crd.matcher(v).matches()).as(v).isTrue();
    }
  }

  @Test
  void oneClusterNameRuleForValidationAndOnCluster() {
    assertThat(problems(s -> s.setCluster("a-b"))).isEmpty();
    assertThat(Sql.onCluster("a-b").text()).isEqualTo(" ON CLUSTER `a-b`");
    assertThat(problems(s -> s.setCluster("hk_cluster"))).isEmpty();
    for (String bad : List.of("a.b", "x'; DROP", "x y", "a`b", "-a", "1a", "кластер")) {
      assertThat(problems(s -> s.setCluster(bad))).as(bad).singleElement().asString().startsWith("spec.cluster: ");
      assertThrows(ClickHouseException.class, () -> Sql.onCluster(bad), bad);
    }
    assertThat(problems(s -> s.setCluster("a.b"))).singleElement().asString().contains("dot");
    assertThat(Identifiers.CLUSTER_NAME.pattern()).isEqualTo(ClickHouseConnectionSpec.CLUSTER_PATTERN);
  }
}
