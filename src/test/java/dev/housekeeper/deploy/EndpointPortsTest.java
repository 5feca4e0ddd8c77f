package dev.housekeeper.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.marcnuri.helm.LintResult;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The ports of the operator's two HTTP listeners (issue 20, finding 6) as the chart and the kubectl bundle
 * declare them: probes on the probe port, /metrics on the metrics port, and the chart's NetworkPolicy that
 * admits only the scraper to /metrics.
 */
class EndpointPortsTest {

  @Test
  void theChartProbesTheProbePortAndServesMetricsOnTheMetricsPort() throws Exception {
    List<JsonNode> docs = HelmChart.render(Map.of());
    JsonNode container = HelmChartTest.deploymentContainer(docs);
    assertEquals("8080", HelmChartTest.env(container, "HTTP_PORT"));
    assertEquals("8081", HelmChartTest.env(container, "PROBE_PORT"));
    assertEquals(Map.of("http", 8080, "probes", 8081), ports(container));
    assertEquals("probes", container.path("livenessProbe").path("httpGet").path("port").asText());
    assertEquals("probes", container.path("readinessProbe").path("httpGet").path("port").asText());
    JsonNode service = HelmChart.ofKind(docs, "Service").get(0);
    assertEquals(1, service.path("spec").path("ports").size(), "the Service exposes /metrics only");
    assertEquals("http", service.path("spec").path("ports").get(0).path("targetPort").asText());
    assertThat(HelmChart.ofKind(docs, "NetworkPolicy")).as("off by default").isEmpty();

    JsonNode moved = HelmChartTest.deploymentContainer(HelmChart.render(Map.of("probes.port", 9091,
        "metrics.port", 9090)));
    assertEquals(Map.of("http", 9090, "probes", 9091), ports(moved));
    assertEquals("9091", HelmChartTest.env(moved, "PROBE_PORT"));
  }

  @Test
  void theNetworkPolicyAdmitsOnlyTheScraperToMetricsAndNoPodToTheProbes() throws Exception {
    List<JsonNode> docs = HelmChart.render(Map.of("networkPolicy.enabled", true));
    JsonNode policy = HelmChart.ofKind(docs, "NetworkPolicy").get(0);
    JsonNode spec = policy.path("spec");
    assertEquals(HelmChart.NAMESPACE, policy.path("metadata").path("namespace").asText());
    assertEquals(HelmChartTest.deployment(docs).path("spec").path("selector").path("matchLabels"),
        spec.path("podSelector").path("matchLabels"), "the policy selects the operator's pods");
    assertEquals(List.of("Ingress"), HelmChartTest.strings(spec.path("policyTypes")), "egress is not restricted");
    assertEquals(1, spec.path("ingress").size(), "one rule: /metrics; the probe port admits no pod");
    JsonNode rule = spec.path("ingress").get(0);
    assertEquals(8080, rule.path("ports").get(0).path("port").asInt());
    assertEquals(1, rule.path("from").size());
    JsonNode peer = rule.path("from").get(0);
    assertEquals("monitoring", peer.path("namespaceSelector").path("matchLabels").path("kubernetes.io/metadata.name")
        .asText());
    assertEquals("prometheus", peer.path("podSelector").path("matchLabels").path("app.kubernetes.io/name").asText());

    // another scraper, an extra peer, and the nodes admitted to the probe port for a CNI that filters the kubelet
    List<JsonNode> custom = HelmChart.render(Map.of("networkPolicy.enabled", true,
        "networkPolicy.metrics.namespaceSelector.matchLabels.team", "observability",
        "networkPolicy.metrics.podSelector.matchLabels.app", "vmagent",
        "networkPolicy.metrics.extraFrom[0].ipBlock.cidr", "10.1.0.0/16",
        "networkPolicy.probes.from[0].ipBlock.cidr", "10.0.0.0/16",
        "probes.port", 9091));
    JsonNode ingress = HelmChart.ofKind(custom, "NetworkPolicy").get(0).path("spec").path("ingress");
    assertEquals(2, ingress.size());
    JsonNode scraper = ingress.get(0).path("from");
    assertEquals("observability", scraper.get(0).path("namespaceSelector").path("matchLabels").path("team").asText());
    assertEquals("vmagent", scraper.get(0).path("podSelector").path("matchLabels").path("app").asText());
    assertEquals("10.1.0.0/16", scraper.get(1).path("ipBlock").path("cidr").asText());
    assertEquals(9091, ingress.get(1).path("ports").get(0).path("port").asInt());
    assertEquals("10.0.0.0/16", ingress.get(1).path("from").get(0).path("ipBlock").path("cidr").asText());

    LintResult lint = HelmChart.lint(Map.of("networkPolicy", Map.of("enabled", true)));
    assertThat(lint.isFailed()).as("helm lint --strict with the NetworkPolicy: %s", lint.getMessages()).isFalse();
    LintResult bad = HelmChart.lint(Map.of("probes", Map.of("port", "eighty")));
    assertThat(bad.isFailed()).as("lint of a probe port that is not a number").isTrue();
  }

  @Test
  void theKubectlBundleProbesTheProbePort() throws Exception {
    JsonNode deployment = null;
    for (JsonNode d : HelmChart.documents(Files.readString(HelmChart.PROJECT.resolve("deploy/kubectl/30-deployment.yaml")))) {
      if (d.path("kind").asText().equals("Deployment")) {
        deployment = d;
      }
    }
    JsonNode container = HelmChartTest.deploymentContainer(List.of(deployment));
    // the operator's defaults (HTTP_PORT 8080, PROBE_PORT 8081): the bundle does not set them
    assertEquals(Map.of("http", 8080, "probes", 8081), ports(container));
    assertEquals("probes", container.path("livenessProbe").path("httpGet").path("port").asText());
    assertEquals("probes", container.path("readinessProbe").path("httpGet").path("port").asText());
  }

  static Map<String, Integer> ports(JsonNode container) {
    List<Map.Entry<String, Integer>> out = new ArrayList<>();
    for (JsonNode p : container.path("ports")) {
      out.add(Map.entry(p.path("name").asText(), p.path("containerPort").asInt()));
    }
    return Map.ofEntries(out.toArray(Map.Entry[]::new));
  }
}
