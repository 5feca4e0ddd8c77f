package dev.housekeeper.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Prometheus's own rule checker and unit-test runner, {@code promtool}, fetched by
 * {@code tools/promtool/get} (from Debian's prometheus package, cached after the first time), run on
 * the chart's PrometheusRule written as a Prometheus rules file.
 */
public final class Promtool {

  private static final Path GET = HelmChart.PROJECT.resolve("tools/promtool/get");
  private static Path binary;

  private Promtool() {
  }

  /** What a promtool command exited with and printed (stdout and stderr together). */
  public record Run(int exit, String output) {}

  /** The promtool binary: the last line {@code tools/promtool/get} prints. */
  public static synchronized Path binary() throws IOException, InterruptedException {
    if (binary == null) {
      Run got = run(List.of(GET.toAbsolutePath().toString()), HelmChart.PROJECT, 10);
      String[] lines = got.output().strip().split("\n");
      Path path = Path.of(lines[lines.length - 1].strip());
      if (got.exit() != 0 || !Files.isExecutable(path)) {
        throw new IllegalStateException("no promtool: " + GET + " exited " + got.exit() + ": " + got.output());
      }
      binary = path;
    }
    return binary;
  }

  /** The chart's PrometheusRule (rendered with these --set values, prometheusRule.enabled on). */
  public static JsonNode chartRule(Map<String, Object> set) throws IOException {
    Map<String, Object> all = new LinkedHashMap<>(set);
    all.put("prometheusRule.enabled", true);
    List<JsonNode> rules = HelmChart.ofKind(HelmChart.render(all), "PrometheusRule");
    if (rules.size() != 1) {
      throw new IllegalStateException("the chart rendered " + rules.size() + " PrometheusRules");
    }
    return rules.get(0);
  }

  /** Writes a PrometheusRule's spec.groups as a Prometheus rules file ({@code groups: [...]}). */
  public static Path writeRulesFile(JsonNode prometheusRule, Path file) throws IOException {
    Files.writeString(file, HelmChart.YAML.writeValueAsString(Map.of("groups", prometheusRule.path("spec")
        .path("groups"))));
    return file;
  }

  /**
   * Writes a rules file of one alert of a PrometheusRule: its group with that rule alone, as rendered
   * (promtool evaluates every rule of its files at every step; a test of one alert needs only that one).
   */
  public static Path writeRulesFile(JsonNode prometheusRule, String alert, Path file) throws IOException {
    List<Map<String, Object>> groups = new java.util.ArrayList<>();
    for (JsonNode group : prometheusRule.path("spec").path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        if (alert.equals(rule.path("alert").asText())) {
          groups.add(Map.of("name", group.path("name").asText(), "rules", List.of(rule)));
        }
      }
    }
    if (groups.size() != 1) {
      throw new IllegalStateException("the PrometheusRule has " + groups.size() + " rules of alert " + alert);
    }
    Files.writeString(file, HelmChart.YAML.writeValueAsString(Map.of("groups", groups)));
    return file;
  }

  /** Writes YAML (a rules file, a unit-test file). */
  public static Path writeYaml(Path file, Object content) throws IOException {
    Files.writeString(file, HelmChart.YAML.writeValueAsString(content));
    return file;
  }

  /** {@code promtool check rules <file>}. */
  public static Run checkRules(Path rulesFile) throws IOException, InterruptedException {
    return run(List.of(binary().toString(), "check", "rules", rulesFile.getFileName().toString()),
        rulesFile.getParent(), 2);
  }

  /**
   * Writes a unit-test file (its {@code rule_files} relative to its folder) and runs
   * {@code promtool test rules} on it.
   */
  public static Run testRules(Path testFile, Map<String, Object> tests) throws IOException, InterruptedException {
    Files.writeString(testFile, HelmChart.YAML.writeValueAsString(tests));
    return run(List.of(binary().toString(), "test", "rules", testFile.getFileName().toString()),
        testFile.getParent(), 5);
  }

  private static Run run(List<String> command, Path dir, int minutes) throws IOException, InterruptedException {
    Path out = Files.createTempFile("hk-promtool-", ".out");
    try {
      Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
          .redirectOutput(out.toFile()).start();
      if (!p.waitFor(minutes, TimeUnit.MINUTES)) {
        p.destroyForcibly().waitFor();
        throw new IllegalStateException(command + " did not finish within " + minutes + " minutes");
      }
      return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
