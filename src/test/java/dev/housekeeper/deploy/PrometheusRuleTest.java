package dev.housekeeper.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's PrometheusRule (rendered with its defaults: backups 26 h, drills 8 days, marts 30 min,
 * connections 5 min) evaluated by Prometheus's own rule engine: {@code promtool test rules} on input
 * series named and labelled as the operator exports them (plus the job and instance labels a scrape
 * adds), for every alert where it must fire (after its {@code for:}, not before) and where it must stay
 * silent. In promtool's tests time starts at 0 (the epoch), so a timestamp gauge of -100000 means
 * 100000 s before the test began.
 */
class PrometheusRuleTest {

  static final Set<String> TESTED = Set.of("HousekeeperBackupFailed", "HousekeeperNoRecentBackup",
      "HousekeeperRestoreFailed", "HousekeeperNoVerifiedRestore", "HousekeeperMigrationDirtyOrDrifted",
      "HousekeeperRetentionRunFailed", "HousekeeperMartRefreshLate", "HousekeeperConnectionNotReady");

  static final String PHASE = "housekeeper_resource_phase";
  static final String READY = "housekeeper_resource_ready";
  static final String LAST_SUCCESS = "housekeeper_last_success_timestamp_seconds";
  static final String NEXT_RUN = "housekeeper_next_run_timestamp_seconds";
  static final String CREATED = "housekeeper_resource_created_timestamp_seconds";
  static final String LAST_VERIFIED = "housekeeper_backup_last_verified_timestamp_seconds";
  static final String TABLE_FAILURES = "housekeeper_retention_table_failures_total";

  @TempDir
  static Path dir;
  static JsonNode rule;
  static Path rulesFile;

  @BeforeAll
  static void renderTheRules() throws Exception {
    rule = Promtool.chartRule(Map.of());
    rulesFile = Promtool.writeRulesFile(rule, dir.resolve("rules.yaml"));
  }

  @Test
  void theRenderedRulesPassPromtoolsCheckAndEveryAlertIsTestedHere() throws Exception {
    Promtool.Run check = Promtool.checkRules(rulesFile);
    assertThat(check.exit()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS: 8 rules found");
    Set<String> alerts = new TreeSet<>();
    rule.path("spec").path("groups").forEach(g -> g.path("rules").forEach(r -> alerts.add(r.path("alert").asText())));
    assertThat(alerts).as("the chart's alerts, each with a test below").isEqualTo(new TreeSet<>(TESTED));
    // the ServiceMonitor keeps the exported namespace label that every alert groups by
    JsonNode monitor = HelmChart.ofKind(HelmChart.render(Map.of("metrics.serviceMonitor.enabled", true)),
        "ServiceMonitor").get(0);
    assertThat(monitor.path("spec").path("endpoints").get(0).path("honorLabels").asBoolean()).isTrue();
  }

  @Test
  void backupFailedFiresOneMinuteAfterABackupTurnsFailed() throws Exception {
    String alert = "HousekeeperBackupFailed";
    UnitTest t = new UnitTest()
        .series(PHASE, "ClickHouseBackup", "nightly", "Failed", "0 0 1+0x20")
        .series(PHASE, "ClickHouseBackup", "nightly", "Succeeded", "1 1 0+0x20")
        // failed before, succeeded since: the Failed series stays at 0
        .series(PHASE, "ClickHouseBackup", "recovered", "Failed", "0+0x22")
        .series(PHASE, "ClickHouseBackup", "recovered", "Succeeded", "1+0x22")
        // another kind's Failed
        .series(PHASE, "ClickHouseRestore", "restore", "Failed", "1+0x22");
    Alert nightly = new Alert("nightly", Map.of("summary", "ClickHouseBackup default/nightly failed",
        "description", "Its last backup failed. See: kubectl -n default describe chbak nightly"));
    t.expect(alert, "1m").expect(alert, "2m").expect(alert, "3m", nightly).expect(alert, "20m", nightly);
    passes(t, alert);
  }

  @Test
  void noRecentBackupFiresForAScheduledBackupWithoutSuccessForTooLongAlsoWhenItNeverSucceeded() throws Exception {
    String alert = "HousekeeperNoRecentBackup";
    String kind = "ClickHouseBackup";
    UnitTest t = new UnitTest()
        // last success 93000 s before the start: older than 26 h (93600 s) from 11m on, fires 5 minutes later
        .series(NEXT_RUN, kind, "overdue", null, "7200+0x60")
        .series(CREATED, kind, "overdue", null, "-200000+0x60")
        .series(LAST_SUCCESS, kind, "overdue", null, "-93000+0x60")
        // scheduled, created 100000 s (27.8 h) before, never succeeded: no last-success series at all
        .series(NEXT_RUN, kind, "never-succeeded", null, "7200+0x60")
        .series(CREATED, kind, "never-succeeded", null, "-100000+0x60")
        // scheduled, never succeeded, but created at the start: not yet late
        .series(NEXT_RUN, kind, "brand-new", null, "7200+0x60")
        .series(CREATED, kind, "brand-new", null, "0+0x60")
        // created 11 days before, succeeded an hour before: its age does not count
        .series(NEXT_RUN, kind, "recent-success", null, "7200+0x60")
        .series(CREATED, kind, "recent-success", null, "-1000000+0x60")
        .series(LAST_SUCCESS, kind, "recent-success", null, "-3600+0x60")
        // created 27.8 h before, its first success at 3m: pending until then, never firing
        .series(NEXT_RUN, kind, "first-success-in-time", null, "7200+0x60")
        .series(CREATED, kind, "first-success-in-time", null, "-100000+0x60")
        .series(LAST_SUCCESS, kind, "first-success-in-time", null, "_ _ _ 180+0x57")
        // a one-shot backup (no next run) long ago is not expected to repeat
        .series(CREATED, kind, "one-shot", null, "-200000+0x60")
        .series(LAST_SUCCESS, kind, "one-shot", null, "-200000+0x60");
    t.expect(alert, "4m")
        .expect(alert, "5m", noRecentBackup("never-succeeded", "1d 3h 51m 40s"))
        .expect(alert, "15m", noRecentBackup("never-succeeded", "1d 4h 1m 40s"))
        .expect(alert, "16m", noRecentBackup("never-succeeded", "1d 4h 2m 40s"),
            noRecentBackup("overdue", "1d 2h 6m 0s"));
    passes(t, alert);
  }

  static Alert noRecentBackup(String name, String age) {
    return new Alert(name, Map.of("summary", "No successful backup of default/" + name + " in 26h",
        "description", "No successful backup for " + age + " (since the last success, or since the ClickHouseBackup"
            + " was created if none succeeded). See: kubectl -n default describe chbak " + name));
  }

  @Test
  void restoreFailedFiresOneMinuteAfterARestoreTurnsFailed() throws Exception {
    String alert = "HousekeeperRestoreFailed";
    UnitTest t = new UnitTest()
        .series(PHASE, "ClickHouseRestore", "restore", "Failed", "0 0 1+0x20")
        .series(PHASE, "ClickHouseRestore", "restore", "Running", "1 1 0+0x20")
        .series(PHASE, "ClickHouseRestore", "restored", "Failed", "0+0x22")
        .series(PHASE, "ClickHouseRestore", "restored", "Succeeded", "1+0x22")
        .series(PHASE, "ClickHouseBackup", "backup", "Failed", "1+0x22");
    Alert restore = new Alert("restore", Map.of("summary", "ClickHouseRestore default/restore failed"));
    t.expect(alert, "2m").expect(alert, "3m", restore).expect(alert, "20m", restore);
    passes(t, alert);
  }

  @Test
  void noVerifiedRestoreFiresForADrillWhoseDrillsFailedOrThatNeverRanForEightDays() throws Exception {
    String alert = "HousekeeperNoVerifiedRestore";
    String kind = "ClickHouseRestore";
    // drills ran and none passed: the gauge is 0, as old as can be; time() must pass 8 days for that
    UnitTest failing = new UnitTest()
        .series(NEXT_RUN, kind, "drills-fail", null, "700000+0x11600")
        .series(CREATED, kind, "drills-fail", null, "0+0x11600")
        .series(LAST_VERIFIED, kind, "drills-fail", null, "0+0x11600")
        // its first drill failed, the second (day 1) passed: 7 days old at the end, not late
        .series(NEXT_RUN, kind, "drill-passed", null, "700000+0x11600")
        .series(CREATED, kind, "drill-passed", null, "0+0x11600")
        .series(LAST_VERIFIED, kind, "drill-passed", null, "0x1440 86400+0x10159");
    failing.expect(alert, "8d5m").expect(alert, "8d6m", noVerifiedRestore("drills-fail", "8d 0h 6m 0s"));
    // no drill ran (e.g. waiting for a complete backup, NoCompleteBackup): no last-verified series
    UnitTest neverRan = new UnitTest()
        .series(NEXT_RUN, kind, "never-ran", null, "-3600+0x60")
        .series(CREATED, kind, "never-ran", null, "-691000+0x60")
        .series(NEXT_RUN, kind, "brand-new", null, "86400+0x60")
        .series(CREATED, kind, "brand-new", null, "0+0x60")
        // a one-shot restore (no schedule) is no drill
        .series(CREATED, kind, "one-shot", null, "-1000000+0x60")
        .series(NEXT_RUN, kind, "verified-recently", null, "86400+0x60")
        .series(CREATED, kind, "verified-recently", null, "-2000000+0x60")
        .series(LAST_VERIFIED, kind, "verified-recently", null, "-3600+0x60");
    neverRan.expect(alert, "8m")
        .expect(alert, "9m", noVerifiedRestore("never-ran", "8d 0h 5m 40s"))
        .expect(alert, "30m", noVerifiedRestore("never-ran", "8d 0h 26m 40s"));
    passes(alert, failing, neverRan);
  }

  static Alert noVerifiedRestore(String name, String age) {
    return new Alert(name, Map.of("summary", "No verified restore by drill default/" + name + " in 8 days",
        "description", "Its backups have not been proven restorable for " + age + " (since the last passed"
            + " verification, or since the drill was created if none ran; decades: drills ran and none passed)."
            + " See: kubectl -n default get chrst " + name + " -o jsonpath='{.status.lastVerification}'"));
  }

  @Test
  void migrationDirtyOrDriftedFiresWithThePhaseAfterOneMinute() throws Exception {
    String alert = "HousekeeperMigrationDirtyOrDrifted";
    String kind = "ClickHouseMigration";
    UnitTest t = new UnitTest()
        .series(PHASE, kind, "dirty", "Dirty", "1+0x10")
        .series(PHASE, kind, "drifted", "Drift", "0 0 1+0x8")
        .series(PHASE, kind, "drifted", "Succeeded", "1 1 0+0x8")
        .series(PHASE, kind, "was-dirty", "Dirty", "0+0x10")
        .series(PHASE, kind, "was-dirty", "Succeeded", "1+0x10");
    t.expect(alert, "0m")
        .expect(alert, "1m", migration("dirty", "Dirty"))
        .expect(alert, "2m", migration("dirty", "Dirty"))
        .expect(alert, "3m", migration("dirty", "Dirty"), migration("drifted", "Drift"));
    passes(t, alert);
  }

  static Alert migration(String name, String phase) {
    return new Alert(Map.of("namespace", "default", "name", name, "phase", phase), Map.of(
        "summary", "ClickHouseMigration default/" + name + " is " + phase,
        "description", "Dirty: a statement failed midway; fix it and retry (annotation housekeeper.dev/retry)."
            + " Drift: an applied script changed. See: kubectl -n default describe chmig " + name));
  }

  @Test
  void retentionRunFailedFiresOnADegradedPolicyAndOnTableFailuresInTheLastHour() throws Exception {
    String alert = "HousekeeperRetentionRunFailed";
    UnitTest t = new UnitTest()
        .series(PHASE, "RetentionPolicy", "degraded", "Degraded", "0 0 1+0x80")
        .series(PHASE, "RetentionPolicy", "degraded", "Succeeded", "1 1 0+0x80")
        .series(PHASE, "RetentionPolicy", "fine", "Succeeded", "1+0x82")
        .series(PHASE, "RetentionPolicy", "fine", "Failed", "0+0x82")
        // a table failed at 5m in team-b; none ever in team-c
        .counter(TABLE_FAILURES, "team-b", "0 0 0 0 0 1+0x77")
        .counter(TABLE_FAILURES, "team-c", "0+0x82");
    Alert degraded = new Alert("degraded", Map.of("summary", "A retention run failed in default",
        "description", "See: kubectl -n default get chret; kubectl describe shows the failed table."));
    Alert teamB = new Alert(Map.of("namespace", "team-b"), Map.of("summary", "A retention run failed in team-b",
        "description", "See: kubectl -n team-b get chret; kubectl describe shows the failed table."));
    t.expect(alert, "1m").expect(alert, "2m", degraded).expect(alert, "5m", degraded, teamB)
        .expect(alert, "70m", degraded); // the failure is more than an hour old
    passes(t, alert);
  }

  @Test
  void martRefreshLateFiresWhenOverdueOrFailedWithoutSuccessForThirtyMinutesAlsoWhenItNeverSucceeded()
      throws Exception {
    String alert = "HousekeeperMartRefreshLate";
    String kind = "ReportMart";
    UnitTest t = new UnitTest()
        // the refresh due at 0 has not started (30 minutes late: fires after, at 31m)
        .series(NEXT_RUN, kind, "overdue", null, "0+0x40")
        .series(CREATED, kind, "overdue", null, "-10000+0x40")
        .series(LAST_SUCCESS, kind, "overdue", null, "-600+0x40")
        .series(PHASE, kind, "overdue", "Succeeded", "1+0x40")
        // Failed, retrying (its next run ahead), last success 1800 s before the start: late from 1m
        .series(NEXT_RUN, kind, "failing", null, "100000+0x40")
        .series(CREATED, kind, "failing", null, "-100000+0x40")
        .series(LAST_SUCCESS, kind, "failing", null, "-1800+0x40")
        .series(PHASE, kind, "failing", "Failed", "1+0x40")
        // Failed, created an hour before, never succeeded
        .series(NEXT_RUN, kind, "never-succeeded", null, "100000+0x40")
        .series(CREATED, kind, "never-succeeded", null, "-3600+0x40")
        .series(PHASE, kind, "never-succeeded", "Failed", "1+0x40")
        // Failed since it was created at the start, never succeeded: late after 30 minutes
        .series(NEXT_RUN, kind, "new-failing", null, "100000+0x40")
        .series(CREATED, kind, "new-failing", null, "0+0x40")
        .series(PHASE, kind, "new-failing", "Failed", "1+0x40")
        // created long ago, succeeded at the start, Failed since: late after 30 minutes, not before
        .series(NEXT_RUN, kind, "failed-after-success", null, "100000+0x40")
        .series(CREATED, kind, "failed-after-success", null, "-100000+0x40")
        .series(LAST_SUCCESS, kind, "failed-after-success", null, "0+0x40")
        .series(PHASE, kind, "failed-after-success", "Failed", "1+0x40")
        // a daily mart: its last success a day old, not Failed, next run ahead
        .series(NEXT_RUN, kind, "daily", null, "3600+0x40")
        .series(CREATED, kind, "daily", null, "-1000000+0x40")
        .series(LAST_SUCCESS, kind, "daily", null, "-82800+0x40")
        .series(PHASE, kind, "daily", "Succeeded", "1+0x40")
        .series(PHASE, kind, "daily", "Failed", "0+0x40");
    t.expect(alert, "0m", mart("never-succeeded"))
        .expect(alert, "1m", mart("never-succeeded"), mart("failing"))
        .expect(alert, "30m", mart("never-succeeded"), mart("failing"))
        .expect(alert, "31m", mart("never-succeeded"), mart("failing"), mart("overdue"), mart("new-failing"),
            mart("failed-after-success"));
    passes(t, alert);
  }

  static Alert mart(String name) {
    return new Alert(name, Map.of("summary", "ReportMart default/" + name + " refresh is late",
        "description", "See: kubectl -n default describe chmart " + name));
  }

  @Test
  void connectionNotReadyFiresAfterFiveMinutesNotReady() throws Exception {
    String alert = "HousekeeperConnectionNotReady";
    UnitTest t = new UnitTest()
        .series(READY, "ClickHouseConnection", "down", null, "0+0x12")
        .series(READY, "ClickHouseConnection", "up", null, "1+0x12")
        // Ready for a moment at 3m: the five minutes start again at 4m
        .series(READY, "ClickHouseConnection", "flapping", null, "0 0 0 1 0+0x8")
        // another kind not Ready
        .series(READY, "ReportMart", "mart", null, "0+0x12");
    t.expect(alert, "4m").expect(alert, "5m", connection("down")).expect(alert, "8m", connection("down"))
        .expect(alert, "9m", connection("down"), connection("flapping"));
    passes(t, alert);
  }

  static Alert connection(String name) {
    return new Alert(name, Map.of("summary", "ClickHouseConnection default/" + name + " is not Ready",
        "description", "See: kubectl -n default describe chconn " + name));
  }

  @Test
  void promtoolFailsAWrongExpectation() throws Exception {
    // not vacuous: a brand-new scheduled backup that never succeeded is expected (wrongly) to alert
    String alert = "HousekeeperNoRecentBackup";
    UnitTest t = new UnitTest()
        .series(NEXT_RUN, "ClickHouseBackup", "brand-new", null, "7200+0x60")
        .series(CREATED, "ClickHouseBackup", "brand-new", null, "0+0x60");
    t.expect(alert, "30m", noRecentBackup("brand-new", "30m 0s"));
    Promtool.Run run = Promtool.testRules(dir.resolve("wrong.test.yaml"), tests(alert, List.of(t)));
    assertThat(run.exit()).as(run.output()).isEqualTo(1);
    assertThat(run.output()).contains("FAILED").contains("alertname: " + alert).contains("got:[]");
  }

  /**
   * The unit tests pass in promtool (exit 0, SUCCESS) and test this alert firing; at each time they list
   * every alert that fires, so that the resources not listed are checked silent.
   */
  static void passes(UnitTest t, String alert) throws Exception {
    passes(alert, t);
  }

  static void passes(String alert, UnitTest... groups) throws Exception {
    for (UnitTest t : groups) {
      assertThat(t.alerts).as("each test group checks only its alert").containsOnly(alert);
      assertThat(t.firing).as("each test group checks the alert firing").isTrue();
    }
    Promtool.Run run = Promtool.testRules(dir.resolve(alert + ".test.yaml"), tests(alert, List.of(groups)));
    assertThat(run.exit()).as(run.output()).isZero();
    assertThat(run.output()).contains("SUCCESS").doesNotContain("FAILED");
  }

  /** A promtool unit-test file of these groups, on a rules file of the chart's rule of this alert alone. */
  static Map<String, Object> tests(String alert, List<UnitTest> groups) throws java.io.IOException {
    Path rules = Promtool.writeRulesFile(rule, alert, dir.resolve("rules-" + alert + ".yaml"));
    Map<String, Object> file = new LinkedHashMap<>();
    file.put("rule_files", List.of(rules.getFileName().toString()));
    file.put("evaluation_interval", "1m");
    file.put("tests", groups.stream().map(UnitTest::group).toList());
    return file;
  }

  /** An alert as expected: its labels (severity added), its annotations. */
  record Alert(Map<String, String> labels, Map<String, String> annotations) {
    /** One of namespace default, the resource's name. */
    Alert(String name, Map<String, String> annotations) {
      this(Map.of("namespace", "default", "name", name), annotations);
    }
  }

  /** One test group of a promtool unit-test file: input series every minute, alerts expected at times. */
  static final class UnitTest {
    final List<Map<String, Object>> series = new ArrayList<>();
    final List<Map<String, Object>> evals = new ArrayList<>();
    final Set<String> alerts = new TreeSet<>();
    boolean firing;

    /** A per-resource gauge as the operator exports it (kind, namespace default, name, maybe phase). */
    UnitTest series(String metric, String kind, String name, String phase, String values) {
      String labels = "kind=\"" + kind + "\",namespace=\"default\",name=\"" + name + "\""
          + (phase == null ? "" : ",phase=\"" + phase + "\"");
      return add(metric, labels, values);
    }

    /** A per-namespace counter as the operator exports it. */
    UnitTest counter(String metric, String namespace, String values) {
      return add(metric, "namespace=\"" + namespace + "\"", values);
    }

    private UnitTest add(String metric, String labels, String values) {
      // the labels a scrape adds (the ServiceMonitor honors the exported namespace)
      series.add(Map.of("series", metric + "{" + labels + ",job=\"housekeeper-metrics\",instance=\"10.1.2.3:8080\"}",
          "values", values));
      return this;
    }

    /** At this time, exactly these alerts of this name fire (none: silent; pending is not firing). */
    UnitTest expect(String alert, String at, Alert... expected) {
      alerts.add(alert);
      firing |= expected.length > 0;
      List<Map<String, Object>> exp = new ArrayList<>();
      for (Alert a : expected) {
        Map<String, String> labels = new LinkedHashMap<>(a.labels());
        labels.put("severity", "warning");
        exp.add(Map.of("exp_labels", labels, "exp_annotations", a.annotations()));
      }
      evals.add(Map.of("eval_time", at, "alertname", alert, "exp_alerts", exp));
      return this;
    }

    Map<String, Object> group() {
      return Map.of("interval", "1m", "input_series", series, "alert_rule_test", evals);
    }
  }
}
