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
    String applied = kubectl("apply", "--validate=false", "-f", examples.toString());
    assertThat(applied).contains("clickhouseconnection.housekeeper.dev/clickhouse created");
    kubectl("wait", "--for=condition=Ready", "chconn/clickhouse", "--timeout=60s");
    kubectl("wait", "--for=condition=Ready", "chmig/app-schema", "--timeout=60s");
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
    assertThat(LocalRun.format(run.statusTable())).contains("ClickHouseConnection").contains("Connected");
  }
}
