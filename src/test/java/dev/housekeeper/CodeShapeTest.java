package dev.housekeeper;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The shape the code keeps, read from the sources so that a change that breaks it fails here with
 * the file and method named: reconcilers small enough to read in one sitting, no method longer than
 * a screen, and SQL text taken as it is only where the user wrote it.
 */
class CodeShapeTest {

  static final Path MAIN = PackageCyclesTest.MAIN;
  static final int MAX_RECONCILER_LINES = 250;
  static final int MAX_METHOD_LINES = 60;
  /**
   * The files that may call {@code Sql.verbatim}: those that run SQL the user wrote (a migration's
   * statements, a mart's source query), and the SQL layer that defines it.
   */
  static final Set<String> VERBATIM_ALLOWED = Set.of("clickhouse/Sql.java", "migration/MigrationRunner.java");

  /** A method or constructor declaration: modifiers, a type, a name and its opening parenthesis. */
  static final Pattern DECLARATION = Pattern.compile("^\\s+(?:(?:public|protected|private|static|final|synchronized"
      + "|abstract|default)\\s+)*(?:<[^>]+>\\s+)?[\\w<>\\[\\],.? ]+\\s+(\\w+)\\s*\\([^;]*$");
  static final Pattern NOT_A_METHOD = Pattern.compile("^\\s+(if|for|while|switch|catch|return|else|try|new|throw)\\b"
      + "|\\b(class|record|interface|enum)\\s");

  @Test
  void everyReconcilerFitsInTwoHundredAndFiftyLines() throws IOException {
    Map<String, Integer> tooLong = new TreeMap<>();
    for (Path file : sources()) {
      int lines = Files.readAllLines(file).size();
      if (file.getFileName().toString().endsWith("Reconciler.java") && lines > MAX_RECONCILER_LINES) {
        tooLong.put(MAIN.relativize(file).toString(), lines);
      }
    }
    assertThat(tooLong).as("reconciler files over " + MAX_RECONCILER_LINES + " lines").isEmpty();
  }

  @Test
  void everyMethodFitsInSixtyLines() throws IOException {
    Map<String, Integer> tooLong = new TreeMap<>();
    int methods = 0;
    for (Path file : sources()) {
      List<String> lines = Files.readAllLines(file);
      for (int i = 0; i < lines.size(); i++) {
        Matcher m = DECLARATION.matcher(lines.get(i));
        if (!m.find() || NOT_A_METHOD.matcher(lines.get(i)).find() || lines.get(i).split("\\(")[0].contains("=")) {
          continue;
        }
        int open = i;
        while (open < lines.size() && !lines.get(open).contains("{") && !lines.get(open).contains(";")) {
          open++;
        }
        if (open == lines.size() || !lines.get(open).contains("{")) {
          continue;
        }
        int end = closing(lines, open);
        methods++;
        if (end - i + 1 > MAX_METHOD_LINES) {
          tooLong.put(MAIN.relativize(file) + " " + m.group(1) + " (line " + (i + 1) + ")", end - i + 1);
        }
        i = end;
      }
    }
    assertThat(methods).as("methods read").isGreaterThan(500);
    assertThat(tooLong).as("methods over " + MAX_METHOD_LINES + " lines").isEmpty();
  }

  @Test
  void sqlIsTakenVerbatimOnlyWhereTheUserWroteIt() throws IOException {
    List<String> uses = new ArrayList<>();
    for (Path file : sources()) {
      String relative = MAIN.relativize(file).toString();
      List<String> lines = Files.readAllLines(file);
      for (int i = 0; i < lines.size(); i++) {
        if (lines.get(i).contains("Sql.verbatim(") && !VERBATIM_ALLOWED.contains(relative)) {
          uses.add(relative + ":" + (i + 1) + ": " + lines.get(i).strip());
        }
      }
    }
    assertThat(uses).as("Sql.verbatim outside the user's SQL: build the statement with Sql.query or Sql.command,"
        + " ? arguments and Sql fragments").isEmpty();
  }

  @Test
  void onClusterAndReplicatedEnginesAreWrittenInOnePlaceEach() throws IOException {
    assertThat(usesOutside("\" ON CLUSTER \"", Set.of("clickhouse/Sql.java", "migration/OnCluster.java")))
        .as("ON CLUSTER written by hand: use Sql.onCluster").isEmpty();
    assertThat(usesOutside("\"ReplicatedMergeTree(", Set.of("clickhouse/ReplicatedEngine.java")))
        .as("a replicated engine written by hand: use ReplicatedEngine").isEmpty();
    assertThat(usesOutside("Replicated\\\\w*MergeTree", Set.of("clickhouse/ReplicatedEngine.java")))
        .as("a replicated engine's path matched by hand: use ReplicatedEngine").isEmpty();
  }

  /** Lines of code (comments aside) that contain {@code text}, in files other than {@code allowed}. */
  static List<String> usesOutside(String text, Set<String> allowed) throws IOException {
    List<String> uses = new ArrayList<>();
    for (Path file : sources()) {
      String relative = MAIN.relativize(file).toString();
      List<String> lines = Files.readAllLines(file);
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).strip();
        if (line.contains(text) && !line.startsWith("*") && !line.startsWith("//") && !allowed.contains(relative)) {
          uses.add(relative + ":" + (i + 1) + ": " + line);
        }
      }
    }
    return uses;
  }

  /** The line of the brace that closes the one opened on line {@code open} (braces in strings are rare enough). */
  static int closing(List<String> lines, int open) {
    int depth = 0;
    for (int k = open; k < lines.size(); k++) {
      String code = lines.get(k).replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"\"").replaceAll("'(\\\\.|[^'\\\\])'", "''");
      depth += count(code, '{') - count(code, '}');
      if (depth <= 0) {
        return k;
      }
    }
    return lines.size() - 1;
  }

  static int count(String s, char c) {
    return (int) s.chars().filter(x -> x == c).count();
  }

  static List<Path> sources() throws IOException {
    try (Stream<Path> files = Files.walk(MAIN)) {
      return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
    }
  }
}
