package dev.housekeeper.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.marcnuri.helm.LintResult;
import dev.housekeeper.operator.OperatorSettings;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The chart's settings of bounded work (issue 20, finding 4) reach the operator as it reads them. */
class BoundedWorkChartTest {

  static Map<String, String> env(List<JsonNode> docs) {
    JsonNode container = HelmChartTest.deploymentContainer(docs);
    Map<String, String> env = new HashMap<>();
    container.path("env").forEach(e -> {
      if (e.has("value")) {
        env.put(e.path("name").asText(), e.path("value").asText());
      }
    });
    return env;
  }

  @Test
  void defaultsGiveA64MiBudgetAndHalfTheWorkersPerNamespace() throws Exception {
    Map<String, String> env = env(HelmChart.render(Map.of()));
    assertEquals("64Mi", env.get("HOUSEKEEPER_UPLOAD_BUFFER_BUDGET"));
    assertThat(env).doesNotContainKey("HOUSEKEEPER_MAX_WORK_PER_NAMESPACE");
    OperatorSettings settings = OperatorSettings.fromEnvironment(env);
    assertEquals(64L * 1024 * 1024, settings.uploadBufferBudget());
    assertEquals(2, settings.maxWorkPerNamespace()); // half of workerThreads 4
  }

  @Test
  void setValuesReachTheOperator() throws Exception {
    Map<String, String> env = env(HelmChart.render(Map.of("maxWorkPerNamespace", "1", "uploadBufferBudget", "32Mi")));
    OperatorSettings settings = OperatorSettings.fromEnvironment(env);
    assertEquals(1, settings.maxWorkPerNamespace());
    assertEquals(32L * 1024 * 1024, settings.uploadBufferBudget());
    LintResult set = HelmChart.lint(Map.of("maxWorkPerNamespace", 1, "uploadBufferBudget", "32Mi"));
    assertThat(set.isFailed()).as("lint: %s", set.getMessages()).isFalse();
    LintResult notBytes = HelmChart.lint(Map.of("uploadBufferBudget", "64MB"));
    assertThat(notBytes.isFailed()).as("lint of a budget in MB").isTrue();
    LintResult zero = HelmChart.lint(Map.of("maxWorkPerNamespace", 0));
    assertThat(zero.isFailed()).as("lint of no task per namespace").isTrue();
  }

  @Test
  void theOperatorRefusesABudgetBelowOnePartOrNoTaskPerNamespace() {
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> OperatorSettings.fromEnvironment(Map.of("HOUSEKEEPER_UPLOAD_BUFFER_BUDGET", "4Mi")));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> OperatorSettings.fromEnvironment(Map.of("HOUSEKEEPER_MAX_WORK_PER_NAMESPACE", "0")));
    assertEquals(1, OperatorSettings.fromEnvironment(Map.of("WORKER_THREADS", "1")).maxWorkPerNamespace());
    assertEquals(100_000_000L, OperatorSettings.fromEnvironment(
        Map.of("HOUSEKEEPER_UPLOAD_BUFFER_BUDGET", "100000000")).uploadBufferBudget());
  }
}
