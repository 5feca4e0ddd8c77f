package dev.housekeeper.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Argo CD install: the Application example names this repository's chart and its values render
 * with real Helm; the argocd-cm patch carries health.lua for every kind.
 */
class ArgoCdInstallTest {

  static final Path APPLICATION = HelmChart.PROJECT.resolve("examples/argocd/housekeeper-application.yaml");
  static final List<String> KINDS = List.of("ClickHouseConnection", "ClickHouseMigration", "RetentionPolicy",
      "ClickHouseBackup", "ClickHouseRestore", "ReportMart");

  @Test
  void theApplicationInstallsTheChartWithValuesThatRender() throws Exception {
    List<JsonNode> apps = HelmChart.documents(Files.readString(APPLICATION));
    assertEquals(2, apps.size());
    JsonNode app = apps.get(0);
    assertEquals("argoproj.io/v1alpha1", app.path("apiVersion").asText());
    assertEquals("Application", app.path("kind").asText());
    JsonNode source = app.path("spec").path("source");
    assertThat(HelmChart.PROJECT.resolve(source.path("path").asText()).resolve("Chart.yaml")).exists();
    assertThat(app.path("spec").path("syncPolicy").path("syncOptions").toString())
        .contains("CreateNamespace=true").contains("ServerSideApply=true");
    // the Application's values, rendered by Helm: the monitoring objects they turn on are there
    Path values = Files.createTempFile("hk-argo-values", ".yaml");
    try {
      HelmChart.YAML.writeValue(values.toFile(), source.path("helm").path("valuesObject"));
      String rendered = new com.marcnuri.helm.Helm(HelmChart.CHART).template().withName("housekeeper")
          .withNamespace(app.path("spec").path("destination").path("namespace").asText())
          .withKubeVersion(HelmChart.KUBE_VERSION).withValuesFile(values).call();
      List<JsonNode> docs = HelmChart.documents(rendered);
      assertThat(HelmChart.ofKind(docs, "ServiceMonitor")).hasSize(1);
      assertThat(HelmChart.ofKind(docs, "PrometheusRule")).hasSize(1);
      assertThat(HelmChart.ofKind(docs, "Deployment").get(0).path("metadata").path("namespace").asText())
          .isEqualTo("housekeeper-system");
    } finally {
      Files.deleteIfExists(values);
    }
  }

  @Test
  void theArgoCdConfigMapPatchCarriesTheHealthScriptForEveryKind() throws Exception {
    JsonNode patch = HelmChart.YAML.readTree(HelmChart.PROJECT.resolve("deploy/argocd/argocd-cm-health.yaml").toFile());
    String script = Files.readString(HelmChart.PROJECT.resolve("deploy/argocd/health.lua"));
    Map<String, Object> data = HelmChart.YAML.convertValue(patch.path("data"), Map.class);
    assertEquals(KINDS.size(), data.size());
    for (String kind : KINDS) {
      assertEquals(script, data.get("resource.customizations.health.housekeeper.dev_" + kind),
          kind + ": regenerate deploy/argocd/argocd-cm-health.yaml from health.lua");
    }
  }
}
