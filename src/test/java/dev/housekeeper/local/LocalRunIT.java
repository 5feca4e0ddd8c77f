package dev.housekeeper.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The README's local run: its own ClickHouse, the embedded API and the operator; every example is
 * applied with the real kubectl and reaches Ready, and {@code kubectl get} shows it.
 */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class LocalRunIT {

  static LocalRun run;
  static Path examples = Path.of(System.getProperty("housekeeper.projectDir", "."), "examples");

  @BeforeAll
  static void start() throws Exception {
    run = new LocalRun(Files.createTempDirectory("hk-local-"), 0, 0, 0, 0, 0);
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
  @org.junit.jupiter.api.Order(1)
  void examplesAppliedWithKubectlBecomeReadyAndShowInKubectlGet() throws Exception {
    applied = true;
    // first what the backups depend on: the connection, the migration that creates the tables, the S3 keys
    List<String> first = new ArrayList<>(List.of("apply", "--validate=false"));
    List<String> backups = new ArrayList<>(List.of("apply", "--validate=false"));
    assertThat(run.postgres()).as("PostgreSQL for examples/bionicpro (bin/setup-debian installs it)").isNotNull();
    for (Path f : LocalRun.exampleFiles(examples)) {
      String name = f.getFileName().toString();
      boolean later = name.startsWith("clickhouse-backup") || name.startsWith("clickhouse-restore")
          || name.startsWith("report-mart");
      (later ? backups : first).addAll(List.of("-f", f.toString()));
    }
    String applied = kubectl(first.toArray(String[]::new));
    assertThat(applied).contains("clickhouseconnection.housekeeper.dev/clickhouse created");
    var secret = run.client().secrets().inNamespace(LocalRun.NAMESPACE).withName(LocalRun.EXAMPLE_S3_SECRET).get();
    LocalRun.useEmbeddedS3Keys(secret);
    run.client().resource(secret).update();
    kubectl("wait", "--for=condition=Ready", "chconn/clickhouse", "--timeout=60s");
    kubectl("wait", "--for=condition=Ready", "chmig/app-schema", "--timeout=60s");
    // the sample page views (18 months), for the backup, the restore, the retention policy and the mart
    assertThat(run.loadSampleData(examples.resolve(LocalRun.SAMPLE_DATA))).isEqualTo(SAMPLE_ROWS);
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

    // the marts: built inside ClickHouse (examples/report-mart.yaml) and from PostgreSQL (examples/bionicpro)
    for (String mart : List.of("daily-page-views", "report-user-monthly-metrics", "report-prosthetic-monthly-metrics")) {
      kubectl("wait", "--for=condition=Ready", "chmart/" + mart, "--timeout=120s");
    }
    assertThat(kubectl("get", "chmart")).contains("daily-page-views").contains("Ready");
    // first build is full: every (day, url) of page_views, and every view counted once
    assertThat(run.clickhouse().sql("SELECT count(), sum(views) FROM reports.daily_page_views").strip()).isEqualTo(
        run.clickhouse().sql("SELECT uniqExact(event_date, url), count() FROM default.page_views").strip())
        .endsWith("\t" + SAMPLE_ROWS);
    assertThat(Long.parseLong(run.clickhouse().sql("SELECT count() FROM reports.report_user_monthly_metrics").strip()))
        .isPositive();
    assertThat(Long.parseLong(run.clickhouse().sql(
        "SELECT count() FROM reports.report_prosthetic_monthly_metrics").strip())).isPositive();
  }

  @Test
  @org.junit.jupiter.api.Order(2)
  void alertsAndDashboardReadOnlyMetricsTheOperatorExports() throws Exception {
    examplesAppliedOnce();
    // a retention run (its counters), then a scrape of the operator that ran every example
    kubectl("annotate", "chret", "page-views", "housekeeper.dev/run-now=metrics-check", "--overwrite");
    await().atMost(Duration.ofSeconds(60)).until(() -> !kubectl("get", "chret", "page-views", "-o",
        "jsonpath={.status.lastRun.endTime}").isBlank());
    // a backup of nightly, then its drill (the drill's gauges: last verified, recovery time)
    kubectl("annotate", "chbak", "nightly", "housekeeper.dev/run-now=metrics-check", "--overwrite");
    await().atMost(Duration.ofSeconds(60)).until(() -> !kubectl("get", "chbak", "nightly", "-o",
        "jsonpath={.status.lastSuccessful.id}").isBlank());
    kubectl("annotate", "chrst", "weekly-drill", "housekeeper.dev/run-now=metrics-check", "--overwrite");
    await().atMost(Duration.ofSeconds(60)).until(() -> kubectl("get", "chrst", "weekly-drill", "-o",
        "jsonpath={.status.lastVerification.outcome}").equals("Passed"));
    String scrape = http("/metrics");
    Set<String> exported = new TreeSet<>();
    for (String line : scrape.split("\n")) {
      if (!line.isBlank() && !line.startsWith("#")) {
        exported.add(line.split("[{ ]", 2)[0]);
      }
    }
    Set<String> used = dev.housekeeper.deploy.HelmChart.metricNamesUsed();
    assertThat(used).as("names read by the PrometheusRule and the dashboard").hasSizeGreaterThanOrEqualTo(10)
        .contains("housekeeper_resource_phase", "housekeeper_last_success_timestamp_seconds",
            "housekeeper_next_run_timestamp_seconds", "housekeeper_resource_ready");
    assertThat(exported).as("metrics scraped from the operator's /metrics").containsAll(used);
    // the series the alerts select are there, with the values they compare
    assertThat(scrape).contains("housekeeper_resource_phase{kind=\"ClickHouseBackup\",name=\"before-upgrade\","
        + "namespace=\"default\",phase=\"Succeeded\"} 1.0");
    assertThat(scrape).contains("housekeeper_resource_ready{kind=\"ClickHouseConnection\",name=\"clickhouse\","
        + "namespace=\"default\"} 1.0");
    assertThat(scrape).containsPattern("housekeeper_next_run_timestamp_seconds\\{kind=\"ClickHouseBackup\","
        + "name=\"nightly\",namespace=\"default\"} [0-9.E]+");
    assertThat(scrape).containsPattern("housekeeper_backup_last_verified_timestamp_seconds\\{kind=\"ClickHouseRestore\","
        + "name=\"weekly-drill\",namespace=\"default\"} [0-9.E]+");
    assertThat(scrape).containsPattern("housekeeper_next_run_timestamp_seconds\\{kind=\"ClickHouseRestore\","
        + "name=\"weekly-drill\",namespace=\"default\"} [0-9.E]+");
    assertThat(scrape).containsPattern("housekeeper_last_success_timestamp_seconds\\{kind=\"ReportMart\","
        + "name=\"daily-page-views\",namespace=\"default\"} [0-9.E]+");
    // the creation time that the never-succeeded alerts compare (and a connection's)
    for (String kind : List.of("ClickHouseConnection", "ClickHouseBackup", "ClickHouseRestore", "ReportMart")) {
      assertThat(scrape).containsPattern("housekeeper_resource_created_timestamp_seconds\\{kind=\"" + kind
          + "\",name=\"[a-z0-9-]+\",namespace=\"default\"} 1\\.[0-9]+E9");
    }
  }

  static boolean applied;
  /** Rows of examples/sample-data/page-views.sql. */
  static final long SAMPLE_ROWS = 3_000_000;

  /** The first test applies the examples; a test run alone applies them first. */
  static synchronized void examplesAppliedOnce() throws Exception {
    if (!applied) {
      new LocalRunIT().examplesAppliedWithKubectlBecomeReadyAndShowInKubectlGet();
    }
  }

  static String http(String path) throws Exception {
    var client = java.net.http.HttpClient.newHttpClient();
    return client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
        + (path.equals("/healthz") || path.equals("/readyz") ? run.operator().probePort() : run.operator().httpPort())
        + path)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
  }
}
