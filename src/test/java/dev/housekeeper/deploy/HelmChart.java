package dev.housekeeper.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The Helm chart in helm/housekeeper, linted and rendered by Helm's own library (helm-java), offline. */
public final class HelmChart {

  public static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", "."));
  public static final Path CHART = PROJECT.resolve("helm/housekeeper");
  public static final String RELEASE = "housekeeper";
  public static final String NAMESPACE = "housekeeper-system";
  /** The Kubernetes version rendered for (Helm's default, 1.20, is older than the chart's kubeVersion). */
  public static final String KUBE_VERSION = "v1.33.0";
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private HelmChart() {
  }

  /** {@code helm template} with the given --set values; the rendered documents, CRDs included. */
  public static List<JsonNode> render(Map<String, Object> set) throws IOException {
    TemplateCommand t = new Helm(CHART).template().withName(RELEASE).withNamespace(NAMESPACE)
        .withKubeVersion(KUBE_VERSION);
    set.forEach(t::set);
    return documents(t.call());
  }

  /** {@code helm lint --strict} of the chart with these values merged over values.yaml (in a copy of the chart). */
  public static LintResult lint(Map<String, Object> overrides) throws IOException {
    if (overrides.isEmpty()) {
      return new Helm(CHART).lint().strict().call();
    }
    Path copy = Files.createTempDirectory("hk-chart-").resolve("housekeeper");
    try {
      copyTree(CHART, copy);
      JsonNode values = YAML.readTree(CHART.resolve("values.yaml").toFile());
      JsonNode merged = YAML.readerForUpdating(values).readValue(YAML.writeValueAsString(overrides));
      YAML.writeValue(copy.resolve("values.yaml").toFile(), merged);
      return new Helm(copy).lint().strict().call();
    } finally {
      deleteTree(copy.getParent());
    }
  }

  static List<JsonNode> documents(String rendered) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (var parser = YAML.getFactory().createParser(rendered)) {
      var it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        JsonNode n = it.next();
        if (n != null && !n.isMissingNode() && !n.isNull() && n.has("kind")) {
          docs.add(n);
        }
      }
    }
    return docs;
  }

  public static List<JsonNode> ofKind(List<JsonNode> docs, String kind) {
    return docs.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
  }

  /**
   * The metric names a PromQL expression reads: what is left after removing strings, label matchers,
   * ranges, grouping clauses ({@code by (...)}, {@code on (...)}), function names, keywords and numbers.
   */
  public static Set<String> metricNames(String promql) {
    String s = promql.replaceAll("\"[^\"]*\"", " ")
        .replaceAll("\\{[^}]*}", " ")
        .replaceAll("\\[[^]]*]", " ")
        .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
        .replaceAll("\\b[a-zA-Z_][a-zA-Z0-9_]*\\s*\\(", " ")
        .replaceAll("\\b(and|or|unless|bool|offset)\\b", " ");
    Set<String> names = new TreeSet<>();
    Matcher m = Pattern.compile("(?<![0-9.$])\\b[a-zA-Z_:][a-zA-Z0-9_:]*\\b").matcher(s);
    while (m.find()) {
      names.add(m.group());
    }
    return names;
  }

  /** The metric names the chart's PrometheusRule and Grafana dashboard read. */
  public static Set<String> metricNamesUsed() throws IOException {
    Set<String> names = new TreeSet<>();
    for (JsonNode rule : ofKind(render(Map.of("prometheusRule.enabled", true)), "PrometheusRule")) {
      for (JsonNode group : rule.path("spec").path("groups")) {
        for (JsonNode r : group.path("rules")) {
          names.addAll(metricNames(r.path("expr").asText()));
        }
      }
    }
    names.addAll(dashboardMetricNames());
    return names;
  }

  public static Set<String> dashboardMetricNames() throws IOException {
    Set<String> names = new TreeSet<>();
    JsonNode dashboard = new ObjectMapper().readTree(CHART.resolve("dashboards/housekeeper.json").toFile());
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        names.addAll(metricNames(target.path("expr").asText()));
      }
    }
    return names;
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : files.toList()) {
        Path target = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(target);
        } else {
          Files.copy(f, target);
        }
      }
    }
  }

  static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }
}
