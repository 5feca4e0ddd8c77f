package dev.housekeeper;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No two packages of the operator depend on each other, directly or through others: a package can
 * be read, changed and tested with only what it uses below it. Read from the sources (imports and
 * qualified names), so that a new cycle fails here with its packages named.
 */
class PackageCyclesTest {

  static final Path MAIN = Path.of(System.getProperty("housekeeper.projectDir", "."), "src/main/java/dev/housekeeper");
  static final Pattern REFERENCE = Pattern.compile("dev\\.housekeeper\\.([a-z.]+?)\\.[A-Z]");

  @Test
  void thePackagesFormNoCycle() throws IOException {
    Map<String, Set<String>> uses = dependencies();
    assertThat(uses).as("packages read").hasSizeGreaterThan(5);
    List<List<String>> cycles = new ArrayList<>();
    for (String start : uses.keySet()) {
      for (String reached : reachable(uses, start)) {
        if (!reached.equals(start) && reachable(uses, reached).contains(start) && start.compareTo(reached) < 0) {
          cycles.add(List.of(start, reached));
        }
      }
    }
    assertThat(cycles).as("packages that depend on each other, directly or not (dependencies: " + uses + ")")
        .isEmpty();
  }

  static Map<String, Set<String>> dependencies() throws IOException {
    Map<String, Set<String>> uses = new TreeMap<>();
    try (Stream<Path> files = Files.walk(MAIN)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        String pkg = MAIN.relativize(file.getParent()).toString().replace('/', '.');
        Set<String> deps = uses.computeIfAbsent(pkg, p -> new TreeSet<>());
        Matcher m = REFERENCE.matcher(Files.readString(file));
        while (m.find()) {
          if (!m.group(1).equals(pkg)) {
            deps.add(m.group(1));
          }
        }
      }
    }
    return uses;
  }

  static Set<String> reachable(Map<String, Set<String>> uses, String from) {
    Set<String> seen = new HashSet<>();
    List<String> todo = new ArrayList<>(uses.getOrDefault(from, Set.of()));
    while (!todo.isEmpty()) {
      String next = todo.remove(todo.size() - 1);
      if (seen.add(next)) {
        todo.addAll(uses.getOrDefault(next, Set.of()));
      }
    }
    return seen;
  }
}
