package dev.housekeeper.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The kubectl plugin (bin/kubectl-housekeeper), run by the real kubectl through its plugin discovery
 * ({@code kubectl housekeeper ...} with bin/ on the PATH) against the mock API, with the real operator
 * and ClickHouse doing the work each command asks for.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubectlPluginIT {

  static final String NS = "plugin";
  static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", ".")).toAbsolutePath();
  static final Path BIN = PROJECT.resolve("bin");

  static OperatorHarness harness;
  static ClickHouseServer clickhouse;
  static Path dir;
  static Path kubeconfig;

  record Result(int exit, String out, String err) {
    String all() {
      return out + err;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("hk-plugin-");
    harness = OperatorHarness.start();
    clickhouse = harness.clickhouse();
    harness.namespace(NS);
    for (String db : List.of("plugsrc", "plugrestored", "plugmart", "plugmig")) {
      clickhouse.sql("DROP DATABASE IF EXISTS " + db);
    }
    clickhouse.sql("CREATE DATABASE plugsrc");
    clickhouse.sql("CREATE DATABASE plugmig"); // the migration's statement fails, not its database
    clickhouse.sql("CREATE TABLE plugsrc.events (d Date, user UInt32, url String) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY (d, user)");
    // 30 months of events: the retention policy (keep 24M) has about 6 monthly partitions to drop
    clickhouse.sql("INSERT INTO plugsrc.events SELECT today() - number % 900, number % 17,"
        + " concat('/p', toString(number % 7)) FROM system.numbers LIMIT 3000");
    harness.readyConnection(NS, "ch");
    kubeconfig = harness.api().writeKubeconfig(dir.resolve("kubeconfig"), "plugin-test", NS);
    kubectlApply("""
        apiVersion: housekeeper.dev/v1alpha1
        kind: ClickHouseBackup
        metadata: {name: events-backup}
        spec:
          connectionRef: {name: ch}
          method: logical
          scope: {databases: [plugsrc]}
          storage: {volume: {path: %s}}
        ---
        apiVersion: housekeeper.dev/v1alpha1
        kind: ClickHouseMigration
        metadata: {name: broken-schema}
        spec:
          connectionRef: {name: ch}
          database: plugmig
          lockTimeout: 10s
          migrations:
          - version: 1
            name: reads_a_missing_table
            up: INSERT INTO plugmig.nowhere SELECT 1
        ---
        apiVersion: housekeeper.dev/v1alpha1
        kind: ReportMart
        metadata: {name: daily-events}
        spec:
          connectionRef: {name: ch}
          database: plugmart
          table: daily_events
          columns:
          - {name: day, type: Date}
          - {name: views, type: UInt64}
          partitionBy: toYYYYMM(day)
          orderBy: day
          source:
            clickhouse:
              query: SELECT d AS day, count() AS views FROM plugsrc.events GROUP BY day
          refresh: {mode: full}
        ---
        apiVersion: housekeeper.dev/v1alpha1
        kind: RetentionPolicy
        metadata: {name: old-events}
        spec:
          connectionRef: {name: ch}
          database: plugsrc
          tables: {names: [events]}
          keep: 24M
        """.formatted(dir.resolve("backups")));
  }

  @AfterAll
  static void stop() {
    if (harness != null) {
      harness.close();
    }
  }

  /** {@code kubectl housekeeper ARGS}: kubectl finds the plugin on the PATH. */
  static Result plugin(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("kubectl", "housekeeper"));
    cmd.addAll(List.of(args));
    return run(cmd, null);
  }

  static Result run(List<String> cmd, String stdin) throws Exception {
    return run(cmd, stdin, kubeconfig.toString());
  }

  static Result run(List<String> cmd, String stdin, String kubeconfigEnv) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    env.put("PATH", BIN + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
    env.put("KUBECONFIG", kubeconfigEnv);
    // the mock API serves no OpenAPI document for client-side validation
    env.put("KUBECTL_HOUSEKEEPER_VALIDATE", "false");
    Process p = pb.start();
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    p.getOutputStream().close();
    String out = read(p.getInputStream());
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + cmd);
    }
    return new Result(p.exitValue(), out, err.get());
  }

  static String read(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static void kubectlApply(String yaml) throws Exception {
    Result r = run(List.of("kubectl", "apply", "--validate=false", "-f", "-"), yaml);
    assertThat(r.exit()).as(r.all()).isZero();
  }

  static Result ok(String... args) throws Exception {
    Result r = plugin(args);
    assertThat(r.exit()).as("kubectl housekeeper " + String.join(" ", args) + ": " + r.all()).isZero();
    if (!List.of(args).contains("--help") && !List.of(args).contains("-h")) {
      // what a user sees, for docs/kubectl-plugin.md
      System.out.println("$ kubectl housekeeper " + String.join(" ", args) + "\n" + r.out());
    }
    return r;
  }

  /** The value the plugin set, from its output line "(annotation=value)". */
  static String requested(Result r, String annotation) {
    Matcher m = Pattern.compile(Pattern.quote(annotation) + "=([^)]+)\\)").matcher(r.out());
    assertThat(m.find()).as(r.out()).isTrue();
    return m.group(1);
  }

  static <T extends io.fabric8.kubernetes.api.model.HasMetadata> T get(Class<T> type, String name) {
    return harness.client().resources(type).inNamespace(NS).withName(name).get();
  }

  static <T extends io.fabric8.kubernetes.api.model.HasMetadata> T awaitUntil(Class<T> type, String name,
      java.util.function.Predicate<T> until) {
    return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> get(type, name), r -> r != null && until.test(r));
  }

  @Test
  @Order(1)
  void statusListsEveryResourceWithPhaseReasonAndDetail() throws Exception {
    awaitUntil(ClickHouseBackup.class, "events-backup", b -> b.getStatus() != null && b.getStatus().lastSuccessful != null);
    awaitUntil(RetentionPolicy.class, "old-events", p -> p.getStatus() != null && !p.getStatus().preview.isEmpty());
    awaitUntil(ReportMart.class, "daily-events", m -> m.getStatus() != null && m.getStatus().lastRefresh != null);
    awaitUntil(ClickHouseMigration.class, "broken-schema", m -> m.getStatus() != null && m.getStatus().getPhase() != null);
    Result r = ok("status");
    assertThat(r.out()).contains("KIND").contains("PHASE").contains("REASON").contains("DETAIL");
    assertThat(line(r.out(), "ClickHouseConnection")).contains(" ch ").contains("Ready").contains("ClickHouse 18.16");
    assertThat(line(r.out(), "ClickHouseBackup")).contains("events-backup").contains("Succeeded")
        .contains("last backup ").contains("3000 rows");
    assertThat(line(r.out(), "ClickHouseMigration")).contains("broken-schema");
    assertThat(line(r.out(), "ReportMart")).contains("daily-events").contains("daily_events");
    assertThat(line(r.out(), "RetentionPolicy")).contains("old-events").contains("next run would drop");
    Result all = ok("status", "-A");
    assertThat(all.out()).contains("NAMESPACE").contains(NS + " ");
  }

  static String line(String table, String kind) {
    return table.lines().filter(l -> l.startsWith(kind + " ")).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " line in:\n" + table));
  }

  @Test
  @Order(2)
  void backupNowTakesANewBackup() throws Exception {
    int before = get(ClickHouseBackup.class, "events-backup").getStatus().backups.size();
    Result r = ok("backup", "events-backup", "--now");
    String value = requested(r, "housekeeper.dev/run-now");
    assertThat(get(ClickHouseBackup.class, "events-backup").getMetadata().getAnnotations())
        .containsEntry("housekeeper.dev/run-now", value);
    ClickHouseBackup b = awaitUntil(ClickHouseBackup.class, "events-backup",
        x -> value.equals(x.getStatus().acknowledgedRunNow) && x.getStatus().backups.size() > before
            && x.getStatus().running == null);
    assertThat(b.getStatus().backups).hasSize(before + 1);
    System.out.println("backup --now: " + r.out().strip() + "; backups " + before + " -> " + b.getStatus().backups.size());
  }

  @Test
  @Order(3)
  void restoreLatestIntoAnotherDatabaseIsDoneByTheOperator() throws Exception {
    Result r = ok("restore", "events-backup", "--latest", "--to", "plugrestored", "--name", "events-again");
    assertThat(r.out()).contains("ClickHouseRestore/events-again created").contains("kubectl get chrst events-again");
    ClickHouseRestore restore = awaitUntil(ClickHouseRestore.class, "events-again", x -> x.getStatus() != null
        && x.getStatus().phase == dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase.Succeeded);
    assertThat(restore.getSpec().source.backupName).isEqualTo("events-backup");
    assertThat(restore.getSpec().source.backupId).isEqualTo("latest");
    assertThat(restore.getSpec().targetDatabase).isEqualTo("plugrestored");
    assertThat(restore.getSpec().connectionRef.getName()).isEqualTo("ch");
    assertThat(clickhouse.sql("SELECT count(), sum(user), min(d), max(d) FROM plugrestored.events"))
        .isEqualTo(clickhouse.sql("SELECT count(), sum(user), min(d), max(d) FROM plugsrc.events"));
    assertThat(clickhouse.sqlLong("SELECT count() FROM plugrestored.events")).isEqualTo(3000);
    // with tables and a generated name, as YAML only
    Result dry = ok("restore", "events-backup", "--backup-id", "abc", "--tables", "events,other", "--dry-run");
    assertThat(dry.out()).contains("backupId: \"abc\"").contains("- \"events\"").contains("- \"other\"")
        .contains("name: events-backup-restore-");
  }

  @Test
  @Order(4)
  void refreshAndFullRefreshAreAcknowledgedByTheMart() throws Exception {
    long before = refreshes();
    String value = requested(ok("refresh", "daily-events"), "housekeeper.dev/run-now");
    awaitUntil(ReportMart.class, "daily-events", m -> value.equals(m.getStatus().acknowledgedRunNow));
    String full = requested(ok("refresh", "daily-events", "--full"), "housekeeper.dev/full-refresh-now");
    ReportMart m = awaitUntil(ReportMart.class, "daily-events", x -> full.equals(x.getStatus().acknowledgedFullNow)
        && x.getStatus().refreshes != null && x.getStatus().refreshes >= before + 2);
    assertThat(m.getMetadata().getAnnotations()).containsEntry("housekeeper.dev/run-now", value)
        .containsEntry("housekeeper.dev/full-refresh-now", full);
    assertThat(m.getStatus().lastRefresh.mode).isEqualTo("full");
  }

  static long refreshes() {
    Long n = get(ReportMart.class, "daily-events").getStatus().refreshes;
    return n == null ? 0 : n;
  }

  @Test
  @Order(5)
  void retryIsAcknowledgedByTheMigration() throws Exception {
    String value = requested(ok("retry", "broken-schema"), "housekeeper.dev/retry");
    ClickHouseMigration m = awaitUntil(ClickHouseMigration.class, "broken-schema",
        x -> value.equals(x.getStatus().getAcknowledgedRetry()));
    assertThat(m.getMetadata().getAnnotations()).containsEntry("housekeeper.dev/retry", value);
  }

  @Test
  @Order(6)
  void previewPrintsStatusPreviewAndRunDropsIt() throws Exception {
    RetentionPolicy p = get(RetentionPolicy.class, "old-events");
    var plan = p.getStatus().preview;
    Result r = ok("preview", "old-events");
    long rows = 0;
    int partitions = 0;
    for (var t : plan) {
      String row = r.out().lines().filter(l -> l.startsWith(t.table + " ")).findFirst().orElseThrow();
      assertThat(row).contains(t.action).contains(String.join(",", t.partitions)).contains(" " + t.rows + " ")
          .contains(" " + t.bytes + " ");
      rows += t.rows;
      partitions += t.partitions.size();
    }
    assertThat(partitions).isPositive();
    assertThat(r.out()).contains("total: " + partitions + " partitions, " + rows + " rows");

    String value = requested(ok("run", "old-events"), "housekeeper.dev/run-now");
    RetentionPolicy after = awaitUntil(RetentionPolicy.class, "old-events",
        x -> value.equals(x.getStatus().acknowledgedRunNow) && x.getStatus().lastRun != null
            && x.getStatus().lastRun.endTime != null);
    assertThat(after.getStatus().lastRun.partitionsDroppedCount).isEqualTo(partitions);
    assertThat(clickhouse.sqlLong("SELECT count() FROM plugsrc.events")).isEqualTo(3000 - rows);
    assertThat(ok("preview", "old-events").out()).contains("would remove nothing");
    // status after all of it: the restore, the second backup, the run
    Result status = ok("status");
    assertThat(line(status.out(), "ClickHouseRestore")).contains("events-again").contains("Succeeded")
        .contains("3000 rows").contains("1 tables");
    assertThat(line(status.out(), "ClickHouseBackup")).contains("(2 complete)");
    assertThat(line(status.out(), "RetentionPolicy")).contains(partitions + " partitions dropped")
        .contains("nothing to drop");
  }

  @Test
  @Order(7)
  void anUnknownResourceExitsOneAndSaysHowToListThem() throws Exception {
    Result r = plugin("backup", "nope", "--now");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("no ClickHouseBackup \"nope\" in namespace \"" + NS
        + "\"; list them with: kubectl get chbak -n " + NS);
    for (var c : List.of(List.of("refresh", "nope"), List.of("retry", "nope"), List.of("preview", "nope"),
        List.of("run", "nope"), List.of("restore", "nope", "--to", "x"))) {
      Result e = plugin(c.toArray(String[]::new));
      assertThat(e.exit()).as(c + ": " + e.all()).isEqualTo(1);
      assertThat(e.err()).as(c.toString()).contains("\"nope\" in namespace \"" + NS + "\"").contains("kubectl get ch");
    }
    Result other = plugin("-n", "elsewhere", "retry", "nope");
    assertThat(other.exit()).isEqualTo(1);
    assertThat(other.err()).contains("no ClickHouseMigration \"nope\" in namespace \"elsewhere\"; list them with:"
        + " kubectl get chmig -n elsewhere");
  }

  @Test
  @Order(11)
  void globalFlagsArePassedToKubectl() throws Exception {
    // no KUBECONFIG in the environment: only the flags lead kubectl to the API
    Result r = run(List.of("kubectl", "housekeeper", "--kubeconfig", kubeconfig.toString(), "--context",
        "plugin-test", "status", "--namespace", NS), null, dir.resolve("absent").toString());
    assertThat(r.exit()).as(r.all()).isZero();
    assertThat(line(r.out(), "ClickHouseConnection")).contains(" ch ");
    Result other = run(List.of("kubectl", "housekeeper", "--kubeconfig", kubeconfig.toString(), "--context",
        "no-such-context", "status"), null, dir.resolve("absent").toString());
    assertThat(other.exit()).as(other.all()).isEqualTo(1);
    assertThat(other.err()).contains("no-such-context");
    Result empty = ok("status", "-n", "nothing-here");
    assertThat(empty.out()).contains("No Housekeeper resources found in namespace \"nothing-here\".");
  }

  @Test
  @Order(8)
  void badUsageExitsTwo() throws Exception {
    for (var c : List.of(List.of(), List.of("frobnicate"), List.of("backup", "events-backup"), List.of("backup"),
        List.of("restore"), List.of("restore", "a", "--latest", "--backup-id", "x"), List.of("refresh", "a", "b"),
        List.of("retry", "--bogus", "a"), List.of("status", "extra"), List.of("run", "a", "-A"),
        List.of("restore", "a", "--to", "not-a-db"))) {
      Result r = plugin(c.toArray(String[]::new));
      assertThat(r.exit()).as(c + ": " + r.all()).isEqualTo(2);
      assertThat(r.err()).as(c.toString()).isNotBlank();
    }
  }

  @Test
  @Order(9)
  void helpOnEveryCommandExitsZeroAndNamesIt() throws Exception {
    assertThat(ok("--help").out()).contains("kubectl housekeeper").contains("status").contains("restore");
    assertThat(ok("-h").out()).contains("Commands:");
    for (String c : List.of("status", "backup", "restore", "refresh", "retry", "preview", "run", "version")) {
      assertThat(ok(c, "--help").out()).as(c).startsWith("kubectl housekeeper " + c + ":").contains("Usage:");
      assertThat(ok(c, "-h").out()).as(c).contains("kubectl housekeeper " + c);
    }
    assertThat(ok("version").out()).startsWith("kubectl-housekeeper ");
  }

  @Test
  @Order(10)
  void theKrewManifestNamesTheTarballBinKrewPackageBuilds() throws Exception {
    Path out = dir.resolve("krew");
    Result r = run(List.of(BIN.resolve("krew-package").toString(), "--out", out.toString()), null);
    assertThat(r.exit()).as(r.all()).isZero();
    String version = match(Files.readString(BIN.resolve("kubectl-housekeeper")), "(?m)^VERSION=\"(.*)\"$");
    Path tarball = out.resolve("kubectl-housekeeper-v" + version + ".tar.gz");
    String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(tarball)));
    assertThat(r.out()).contains("sha256:  " + sha);
    String manifest = Files.readString(PROJECT.resolve("deploy/krew/housekeeper.yaml"));
    assertThat(match(manifest, "(?m)^    sha256: \"?([0-9a-f]{64})\"?$")).as("deploy/krew/housekeeper.yaml sha256;"
        + " run bin/krew-package --write after changing bin/kubectl-housekeeper").isEqualTo(sha);
    assertThat(match(manifest, "(?m)^  version: (.*)$")).isEqualTo("v" + version);
    assertThat(manifest).contains("kind: Plugin").contains("name: housekeeper").contains("bin: kubectl-housekeeper")
        .contains("/kubectl-housekeeper-v" + version + ".tar.gz");
    // the tarball holds the executable, as krew's files/bin expect
    Result list = run(List.of("tar", "tzvf", tarball.toString()), null);
    assertThat(list.out()).contains("-rwxr-xr-x").contains(" kubectl-housekeeper");
    // and builds the same bytes twice
    Result again = run(List.of(BIN.resolve("krew-package").toString(), "--out", out.toString()), null);
    assertThat(again.out()).contains("sha256:  " + sha);
  }

  static String match(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertThat(m.find()).as(regex).isTrue();
    return m.group(1);
  }
}
