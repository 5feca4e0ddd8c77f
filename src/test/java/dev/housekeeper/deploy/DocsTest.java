package dev.housekeeper.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README is the entry and docs/ holds the rest: the README stays short, keeps the set-up commands
 * and the walkthrough's markers; every kind has its page; every link resolves; the operator's settings
 * and metrics are in the docs.
 */
class DocsTest {

  static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", "."));
  static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

  @Test
  void readmeIsShortAndHasTheSetUpCommandsAndTheWalkthroughMarkers() throws IOException {
    List<String> readme = Files.readAllLines(PROJECT.resolve("README.md"));
    assertThat(readme.size()).as("README.md lines").isLessThanOrEqualTo(250);
    assertThat(readme).contains("    bin/run-local", "## Five-minute walkthrough");
    // .ci/run runs the README's test command
    assertThat(Files.readString(PROJECT.resolve(".ci/run"))).contains("exec bin/test");
    assertThat(readme).contains("    bin/test");
    int section = readme.indexOf("## Five-minute walkthrough");
    int start = readme.indexOf("<!-- walkthrough:start -->");
    int end = readme.indexOf("<!-- walkthrough:end -->");
    assertThat(start).as("walkthrough:start after the heading").isGreaterThan(section);
    assertThat(end).as("walkthrough:end after walkthrough:start").isGreaterThan(start);
    assertThat(readme.subList(section + 1, start)).allMatch(l -> !l.startsWith("## "));
  }

  @Test
  void everyKindHasAPageWithReasonsAndExamplesThatExist() throws IOException {
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    try (Stream<Path> crds = Files.list(PROJECT.resolve("crds"))) {
      for (Path crd : crds.filter(p -> p.toString().endsWith(".yml")).sorted().toList()) {
        String kind = yaml.readTree(crd.toFile()).path("spec").path("names").path("kind").asText();
        Path page = PROJECT.resolve("docs/" + kind.toLowerCase(Locale.ROOT) + ".md");
        assertThat(page).as("the page of " + kind).exists();
        String text = Files.readString(page);
        assertThat(text).as(page.toString()).startsWith("# " + kind).contains("| reason |")
            .contains("what to do").contains("## Examples").contains("](../examples/")
            .contains("reference/crds.md#" + kind.toLowerCase(Locale.ROOT));
        assertThat(Files.readString(PROJECT.resolve("README.md"))).contains("(docs/" + page.getFileName() + ")");
      }
    }
  }

  @Test
  void everyRelativeLinkInTheReadmeAndDocsResolvesWithItsAnchor() throws IOException {
    List<Path> pages = new ArrayList<>(List.of(PROJECT.resolve("README.md"), PROJECT.resolve("examples/README.md")));
    try (Stream<Path> docs = Files.walk(PROJECT.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
    }
    List<String> broken = new ArrayList<>();
    int checked = 0;
    for (Path page : pages) {
      String text = withoutCode(Files.readString(page));
      Matcher m = LINK.matcher(text);
      while (m.find()) {
        String target = m.group(1);
        if (target.matches("^[a-z]+:.*")) {
          continue;
        }
        checked++;
        String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
        String anchor = target.contains("#") ? target.substring(target.indexOf('#') + 1) : null;
        Path resolved = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
        if (!Files.exists(resolved)) {
          broken.add(PROJECT.relativize(page) + ": " + target + " (no such file)");
        } else if (anchor != null && resolved.toString().endsWith(".md") && !anchors(resolved).contains(anchor)) {
          broken.add(PROJECT.relativize(page) + ": " + target + " (no such heading)");
        }
      }
    }
    assertThat(checked).isGreaterThan(100);
    assertThat(broken).as("links that do not resolve").isEmpty();
  }

  @Test
  void everyOperatorSettingAndMetricIsDocumented() throws IOException {
    String operations = Files.readString(PROJECT.resolve("docs/operations.md"));
    Set<String> settings = quoted(PROJECT.resolve("src/main/java/dev/housekeeper/operator/OperatorSettings.java"),
        "\"([A-Z][A-Z_]{3,})\"");
    settings.remove("HOSTNAME"); // the default of POD_NAME, documented as "host name"
    assertThat(settings).hasSizeGreaterThan(15);
    for (String setting : settings) {
      assertThat(operations).as("docs/operations.md's settings table names " + setting).contains("`" + setting + "`");
    }
    StringBuilder docs = new StringBuilder();
    try (Stream<Path> files = Files.list(PROJECT.resolve("docs"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
        docs.append(Files.readString(f));
      }
    }
    Set<String> metrics = quoted(PROJECT.resolve("src/main/java/dev/housekeeper/common/HousekeeperMetrics.java"),
        "\"(housekeeper_[a-z_]+)\"");
    assertThat(metrics).hasSizeGreaterThan(15);
    for (String metric : metrics) {
      assertThat(docs.toString()).as("docs/ name the metric " + metric).contains("`" + metric);
    }
  }

  private static Set<String> quoted(Path source, String regex) throws IOException {
    Set<String> found = new TreeSet<>();
    Matcher m = Pattern.compile(regex).matcher(Files.readString(source));
    while (m.find()) {
      found.add(m.group(1));
    }
    return found;
  }

  /** The text without fenced code blocks and code spans, where a ](...) is not a link. */
  private static String withoutCode(String text) {
    return text.replaceAll("(?s)```.*?```", "").replaceAll("`[^`\n]*`", "");
  }

  /** GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces as hyphens. */
  static Set<String> anchors(Path page) throws IOException {
    Set<String> anchors = new HashSet<>();
    for (String line : Files.readString(page).replaceAll("(?s)```.*?```", "").split("\n")) {
      if (line.matches("^#{1,6} .*")) {
        String heading = line.replaceFirst("^#+ ", "").strip().toLowerCase(Locale.ROOT);
        anchors.add(heading.replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-'));
      }
    }
    return anchors;
  }
}
