package dev.housekeeper.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The README's five-minute walkthrough, run as a user would: every command line of the {@code ```sh}
 * blocks between {@code <!-- walkthrough:start -->} and {@code <!-- walkthrough:end -->}, each with
 * {@code bash -c} in a folder laid out like the repository (its {@code bin/}, its {@code examples/}, and
 * the local run's {@code .local/} with the kubeconfig), against a {@link LocalRun} with the sample data
 * and the real API server in front of Housekeeper's kinds. Each command must exit 0; then the effects
 * are checked: the restored database has the source's rows, the retention run dropped what its
 * preview listed, the mart has rows, and the status shows real rows and bytes.
 *
 * <p>Measured here (2026-12-02, 2 shared cores): the 24 commands in 10.8 s; the local run with the real
 * API server and the sample data (loaded in 1.5 s) ready in 31 s before them. The test prints both
 * and the final {@code kubectl housekeeper status}.
 */
class WalkthroughIT {

  static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", ".")).toAbsolutePath();
  static final Pattern EXPORT = Pattern.compile("export ([A-Z_][A-Z0-9_]*)=(.*)");

  static Path work;
  static LocalRun run;
  static long startMillis;

  @BeforeAll
  static void start() throws Exception {
    long t0 = System.nanoTime();
    work = Files.createTempDirectory("hk-walkthrough-");
    Files.createSymbolicLink(work.resolve("bin"), PROJECT.resolve("bin"));
    Files.createSymbolicLink(work.resolve("examples"), PROJECT.resolve("examples"));
    run = new LocalRun(work.resolve(".local"), 0, 0, 0, 0, 0, true);
    run.apply(PROJECT.resolve("examples"));
    run.awaitStatus(Duration.ofSeconds(120));
    startMillis = (System.nanoTime() - t0) / 1_000_000;
  }

  @AfterAll
  static void stop() throws Exception {
    if (run != null) {
      run.close();
    }
    if (work != null) {
      dev.housekeeper.testing.TempDirs.delete(work);
    }
  }

  /** The command lines of the walkthrough's sh blocks, in order. */
  static List<String> commands() throws Exception {
    String readme = Files.readString(PROJECT.resolve("README.md"));
    int from = readme.indexOf("<!-- walkthrough:start -->");
    int to = readme.indexOf("<!-- walkthrough:end -->");
    assertThat(from).as("README's walkthrough:start marker").isNotNegative();
    assertThat(to).as("README's walkthrough:end marker").isGreaterThan(from);
    List<String> out = new ArrayList<>();
    boolean inSh = false;
    for (String line : readme.substring(from, to).split("\n")) {
      if (!inSh && line.strip().equals("```sh")) {
        inSh = true;
      } else if (inSh && line.strip().equals("```")) {
        inSh = false;
      } else if (inSh && !line.isBlank()) {
        out.add(line.strip());
      }
    }
    assertThat(inSh).as("every ```sh block of the walkthrough is closed").isFalse();
    return out;
  }

  record Ran(String command, int exit, String output, long millis) {}

  @Test
  void everyCommandOfTheReadmeWalkthroughRunsAndDoesWhatItSays() throws Exception {
    List<String> commands = commands();
    assertThat(commands).as("walkthrough commands").hasSizeGreaterThanOrEqualTo(10)
        .noneMatch(c -> c.startsWith("$ ") || c.startsWith("# "));
    long sourceRows = run.clickhouse().sqlLong("SELECT count() FROM default.page_views");
    assertThat(sourceRows).as("sample page views").isEqualTo(3_000_000L);
    String sourceHash = run.clickhouse().sql("SELECT toString(sum(cityHash64(event_date, user_id, url, referrer)))"
        + " FROM default.page_views");

    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("PATH", work.resolve("bin") + ":" + env.get("PATH"));
    env.put("KUBECONFIG", run.kubeconfig().toString());
    env.put("HK_CLICKHOUSE_TCP_PORT", String.valueOf(run.clickhouse().tcpPort()));
    env.remove("KUBECTL_HOUSEKEEPER_VALIDATE");

    List<Ran> ran = new ArrayList<>();
    Map<String, List<String>> preview = null;
    long t0 = System.nanoTime();
    for (String command : commands) {
      if (command.startsWith("kubectl housekeeper run page-views")) {
        preview = previewOf(retentionPolicy());
      }
      Ran r = bash(command, env);
      ran.add(r);
      System.out.printf("walkthrough $ %s   (exit %d, %d ms)%n%s%n", command, r.exit(), r.millis(),
          r.output().strip().indent(2));
      assertThat(r.exit()).as("exit code of: " + command + "\n" + r.output()).isZero();
      Matcher export = EXPORT.matcher(command);
      if (export.matches()) {
        // as in the user's shell: the exported value holds for the next commands
        env.put(export.group(1), bash("printf %s " + export.group(2), env).output());
      }
    }
    long walkthroughMillis = (System.nanoTime() - t0) / 1_000_000;

    // the kubeconfig the README exports is the local run's, and PATH finds the plugin in bin/
    assertThat(Path.of(env.get("KUBECONFIG")).toRealPath()).isEqualTo(run.kubeconfig().toRealPath());
    assertThat(output(ran, "kubectl housekeeper status")).contains("ClickHouseBackup").contains("before-upgrade");

    // the sample data: 18 monthly partitions
    assertThat(output(ran, "clickhouse-client").strip().split("\n")).hasSize(18);
    // kubectl explain answers from the real server's OpenAPI document
    assertThat(output(ran, "kubectl explain")).contains("KIND:").contains("RetentionPolicy").contains("keep");

    // the backup taken now: complete, two of them, every sample row
    GenericKubernetesResource backup = await().atMost(Duration.ofSeconds(60)).until(
        () -> get("ClickHouseBackup", "before-upgrade"), b -> "Succeeded".equals(status(b).get("phase"))
            && ((Number) status(b).get("completeBackups")).intValue() >= 2);
    Map<?, ?> last = (Map<?, ?>) status(backup).get("lastSuccessful");
    assertThat(((Number) last.get("rows")).longValue()).as("rows of the backup taken now")
        .isGreaterThanOrEqualTo(sourceRows);
    assertThat(((Number) last.get("storedBytes")).longValue()).isPositive();

    // the restore into another database: the source's rows, the same content
    await().atMost(Duration.ofSeconds(60)).until(() -> "Succeeded".equals(status(get("ClickHouseRestore",
        "walkthrough")).get("phase")));
    assertThat(run.clickhouse().sqlLong("SELECT count() FROM walkthrough.page_views")).isEqualTo(sourceRows);
    assertThat(run.clickhouse().sql("SELECT toString(sum(cityHash64(event_date, user_id, url, referrer)))"
        + " FROM walkthrough.page_views")).isEqualTo(sourceHash);
    assertThat(output(ran, "clickhouse-client --port \"${HK_CLICKHOUSE_TCP_PORT:-19000}\" --user housekeeper"
        + " --password change-me --query \"SELECT (SELECT count()").strip()).isEqualTo(sourceRows + "\t" + sourceRows);

    // the retention run dropped exactly what the preview listed, and the partitions are gone
    assertThat(preview).as("the preview before the run").isNotNull();
    Map<String, List<String>> listed = preview;
    assertThat(listed.get("page_views")).as("page_views partitions the preview listed").hasSizeBetween(5, 6);
    GenericKubernetesResource policy = await().atMost(Duration.ofSeconds(60)).until(WalkthroughIT::retentionPolicy,
        p -> status(p).get("lastRun") instanceof Map<?, ?> run && run.get("endTime") != null
            && ((Number) run.get("partitionsDroppedCount")).intValue() > 0);
    Map<?, ?> lastRun = (Map<?, ?>) status(policy).get("lastRun");
    TreeSet<String> expected = new TreeSet<>();
    listed.forEach((table, parts) -> parts.forEach(p -> expected.add(table + "/" + p)));
    assertThat(new TreeSet<>((List<?>) lastRun.get("partitionsDropped")).stream().map(String::valueOf).toList())
        .isEqualTo(List.copyOf(expected));
    for (String p : listed.get("page_views")) {
      assertThat(run.clickhouse().sqlLong("SELECT count() FROM system.parts WHERE active AND database = 'default'"
          + " AND table = 'page_views' AND partition_id = '" + p + "'")).as("parts of dropped " + p).isZero();
    }
    long left = run.clickhouse().sqlLong("SELECT count() FROM default.page_views");
    assertThat(left).isLessThan(sourceRows).isEqualTo(sourceRows - ((Number) ((Map<?, ?>) ((List<?>) lastRun
        .get("tables")).stream().filter(t -> "page_views".equals(((Map<?, ?>) t).get("table"))).findFirst()
        .orElseThrow()).get("rows")).longValue());
    assertThat(ran.get(lastIndexOf(ran, "kubectl housekeeper preview page-views")).output())
        .contains("would remove nothing");

    // the mart: refreshed on request, a row per day and URL
    GenericKubernetesResource mart = await().atMost(Duration.ofSeconds(60)).until(
        () -> get("ReportMart", "daily-page-views"), m -> status(m).get("acknowledgedRunNow") != null
            && "Refreshed".equals(readyReason(m)));
    assertThat(run.clickhouse().sqlLong("SELECT count() FROM reports.daily_page_views")).isGreaterThan(1000);
    assertThat(status(mart).get("lastRefresh")).isNotNull();

    // the status at the end shows real rows and bytes
    String finalStatus = ran.get(ran.size() - 1).output();
    assertThat(ran.get(ran.size() - 1).command()).isEqualTo("kubectl housekeeper status");
    assertThat(finalStatus).containsPattern("ClickHouseBackup +before-upgrade +Succeeded +BackupComplete +last backup"
        + " \\S+, [0-9]{7,} rows, [0-9.]+ [KMG]iB \\([0-9]+ complete\\)");
    assertThat(finalStatus).containsPattern("ClickHouseRestore +walkthrough +Succeeded +Restored .*[0-9]{7,} rows");
    assertThat(finalStatus).containsPattern("RetentionPolicy +page-views .*partitions dropped");
    assertThat(finalStatus).containsPattern("ReportMart +daily-page-views +Ready +Refreshed");

    System.out.printf("walkthrough: %d commands in %,d ms (local run started with the sample data in %,d ms, the"
        + " load itself %,d ms; API: %s)%nkubectl housekeeper status after it:%n%s%n", ran.size(), walkthroughMillis,
        startMillis, run.sampleLoadMillis(), run.realApi() ? "real apiextensions-apiserver" : "mock", finalStatus);
  }

  /**
   * The local run's API with the real server in front of Housekeeper's kinds: {@code kubectl explain}
   * answers from the server's OpenAPI document, and kubectl's default validation (no
   * {@code --validate=false}) admits a valid spec and passes on the server's refusal of an invalid one.
   */
  @Test
  void kubectlExplainAndSchemaValidationWorkAgainstTheLocalRun() throws Exception {
    assertThat(run.realApi()).isTrue();
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("KUBECONFIG", run.kubeconfig().toString());
    Ran explain = bash("kubectl explain clickhousebackup.spec.retention.keepLast", env);
    assertThat(explain.exit()).as(explain.output()).isZero();
    assertThat(explain.output()).contains("GROUP:      housekeeper.dev").contains("KIND:       ClickHouseBackup")
        .contains("keepLast").contains("integer");
    Ran valid = bash("kubectl apply --dry-run=server -f examples/retention-policy.yaml", env);
    assertThat(valid.exit()).as(valid.output()).isZero();
    assertThat(valid.output()).contains("retentionpolicy.housekeeper.dev/page-views");
    String invalid = Files.readString(PROJECT.resolve("examples/retention-policy.yaml"))
        .replace("name: page-views", "name: invalid-keep").replace("keep: 12M", "keep: 12 months");
    Path file = work.resolve("invalid-keep.yaml");
    Files.writeString(file, invalid);
    Ran refused = bash("kubectl apply -f " + file, env);
    System.out.printf("kubectl apply of an invalid spec (exit %d):%n%s%n", refused.exit(), refused.output().strip());
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.output()).contains("The RetentionPolicy \"invalid-keep\" is invalid")
        .contains("spec.keep: Invalid value: \"12 months\"").doesNotContain("--validate=false");
    assertThat(get("RetentionPolicy", "invalid-keep")).isNull();
  }

  static String output(List<Ran> ran, String prefix) {
    return ran.stream().filter(r -> r.command().startsWith(prefix)).findFirst().orElseThrow(
        () -> new AssertionError("the walkthrough has no command starting with " + prefix)).output();
  }

  static int lastIndexOf(List<Ran> ran, String prefix) {
    for (int i = ran.size() - 1; i >= 0; i--) {
      if (ran.get(i).command().startsWith(prefix)) {
        return i;
      }
    }
    throw new AssertionError("the walkthrough has no command starting with " + prefix);
  }

  static Ran bash(String command, Map<String, String> env) throws Exception {
    long t0 = System.nanoTime();
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", command).directory(work.toFile()).redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(7, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("did not end within 7 minutes: " + command);
    }
    return new Ran(command, p.exitValue(), new String(out, StandardCharsets.UTF_8), (System.nanoTime() - t0) / 1_000_000);
  }

  static GenericKubernetesResource get(String kind, String name) {
    return run.client().genericKubernetesResources("housekeeper.dev/v1alpha1", kind).inNamespace(LocalRun.NAMESPACE)
        .withName(name).get();
  }

  static GenericKubernetesResource retentionPolicy() {
    return get("RetentionPolicy", "page-views");
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> status(GenericKubernetesResource r) {
    Object s = r == null ? null : r.getAdditionalProperties().get("status");
    return s instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }

  static String readyReason(GenericKubernetesResource r) {
    if (status(r).get("conditions") instanceof List<?> conditions) {
      for (Object o : conditions) {
        if (o instanceof Map<?, ?> c && "Ready".equals(c.get("type"))) {
          return String.valueOf(c.get("reason"));
        }
      }
    }
    return null;
  }

  /** The partitions status.preview lists, per table. */
  static Map<String, List<String>> previewOf(GenericKubernetesResource policy) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    if (status(policy).get("preview") instanceof List<?> tables) {
      for (Object o : tables) {
        Map<?, ?> t = (Map<?, ?>) o;
        List<String> parts = new ArrayList<>();
        if (t.get("partitions") instanceof List<?> ps) {
          ps.forEach(x -> parts.add(String.valueOf(x)));
        }
        if (!parts.isEmpty()) {
          out.put(String.valueOf(t.get("table")), parts);
        }
      }
    }
    return out;
  }
}
