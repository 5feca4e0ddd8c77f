package dev.housekeeper.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The README's local run: its own ClickHouse, the embedded API and the operator; every example is
 * applied with the real kubectl and reaches Ready, and {@code kubectl get} shows it.
 */
class LocalRunIT {

  static LocalRun run;
  static Path examples = Path.of(System.getProperty("housekeeper.projectDir", "."), "examples");

  @BeforeAll
  static void start() throws Exception {
    run = new LocalRun(Files.createTempDirectory("hk-local-"), 0, 0, 0, 0);
  }

  @AfterAll
  static void stop() {
    if (run != null) {
      run.close();
    }
  }

  static String kubectl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("kubectl", "--kubeconfig", run.kubeconfig().toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    if (p.exitValue() != 0) {
      throw new AssertionError("kubectl " + String.join(" ", args) + " failed: " + out);
    }
    return out;
  }

  @Test
  void examplesAppliedWithKubectlBecomeReadyAndShowInKubectlGet() throws Exception {
    // first what the backups depend on: the connection, the migration that creates the tables, the S3 keys
    List<String> first = new ArrayList<>(List.of("apply", "--validate=false"));
    List<String> backups = new ArrayList<>(List.of("apply", "--validate=false"));
    try (var files = Files.list(examples)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        boolean later = f.getFileName().toString().startsWith("clickhouse-backup")
            || f.getFileName().toString().startsWith("clickhouse-restore");
        (later ? backups : first).addAll(List.of("-f", f.toString()));
      }
    }
    String applied = kubectl(first.toArray(String[]::new));
    assertThat(applied).contains("clickhouseconnection.housekeeper.dev/clickhouse created");
    var secret = run.client().secrets().inNamespace(LocalRun.NAMESPACE).withName(LocalRun.EXAMPLE_S3_SECRET).get();
    LocalRun.useEmbeddedS3Keys(secret);
    run.client().resource(secret).update();
    kubectl("wait", "--for=condition=Ready", "chconn/clickhouse", "--timeout=60s");
    kubectl("wait", "--for=condition=Ready", "chmig/app-schema", "--timeout=60s");
    assertThat(kubectl(backups.toArray(String[]::new))).contains("clickhousebackup.housekeeper.dev/before-upgrade created")
        .contains("clickhouserestore.housekeeper.dev/before-upgrade-check created");
    kubectl("wait", "--for=condition=Ready", "chret/page-views", "--timeout=60s");
    // the policy may have looked before the migration created the tables; any annotation change makes it look again
    kubectl("annotate", "chret", "page-views", "example-test/refresh=1", "--overwrite");
    await().atMost(Duration.ofSeconds(30)).until(() -> kubectl("get", "chret", "page-views", "-o",
        "jsonpath={.status.tables[*].table}").contains("page_views_daily"));
    assertThat(kubectl("get", "chmig", "app-schema")).contains("Ready").contains("3");
    assertThat(run.clickhouse().sql("SELECT name FROM system.columns WHERE database = 'default'"
        + " AND table = 'page_views'")).contains("referrer");
    await().atMost(Duration.ofSeconds(30)).until(() -> kubectl("get", "chconn").contains("Ready"));
    String table = kubectl("get", "chconn");
    assertThat(table).contains("PHASE").contains("clickhouse").contains("Connected").contains("Ready")
        .contains("18.16");
    assertThat(kubectl("get", "housekeeper")).contains("clickhouse");

    // the one-shot backup completes, the restore puts its tables beside the originals, the schedule waits
    kubectl("wait", "--for=condition=Ready", "chbak/before-upgrade", "--timeout=60s");
    kubectl("wait", "--for=condition=Ready", "chrst/before-upgrade-check", "--timeout=60s");
    assertThat(kubectl("get", "chbak", "before-upgrade")).contains("Succeeded").contains("logical")
        .contains("BackupComplete");
    assertThat(kubectl("get", "chrst")).contains("Succeeded").contains("before-upgrade-");
    assertThat(run.clickhouse().sql("SELECT name FROM system.tables WHERE database = 'restored' ORDER BY name"))
        .contains("page_views");
    assertThat(run.clickhouse().sql("SELECT count() FROM restored.page_views")).isEqualTo(
        run.clickhouse().sql("SELECT count() FROM default.page_views"));
    kubectl("wait", "--for=condition=Ready", "chbak/nightly", "--timeout=60s");
    assertThat(kubectl("get", "chbak", "nightly", "-o", "jsonpath={.status.nextScheduleTime}")).isNotBlank();
    assertThat(LocalRun.format(run.statusTable())).contains("ClickHouseConnection").contains("Connected");
  }
}
