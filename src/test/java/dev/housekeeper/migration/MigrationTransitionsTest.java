package dev.housekeeper.migration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.testing.FakeClickHouseClient;
import dev.housekeeper.testing.ReconcilerHarness;
import dev.housekeeper.testing.TransitionTest;
import dev.housekeeper.testing.Specs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the migration reconciler decides, pass by pass, against a scripted ClickHouse that keeps the
 * ledger as the real one would (rows appended, read back in order) and grants or refuses the lock.
 * The SQL itself is proven against real servers in ClickHouseMigrationIT, MigrationSqlOnChdbIT and
 * ClusterIT.
 */
class MigrationTransitionsTest extends TransitionTest {

  static final String DB = "app";
  static final String IDENTITY = "operator-1";
  static final String CREATE = "CREATE TABLE events (id UInt64) ENGINE = MergeTree ORDER BY id";
  static final String ALTER = "ALTER TABLE events ADD COLUMN user String";
  /** A claim on the lock withdrawn. */
  static final String RELEASE = "^INSERT INTO `app`.`housekeeper_locks`.*materialize\\(now\\(\\)\\),"
      + " materialize\\(now\\(\\)\\) \\+ \\d+, 1$";

  ClickHouseMigrationReconciler reconciler;
  /** The ledger's rows as the fake holds them, in seq order. */
  final List<Map<String, Object>> ledger = new CopyOnWriteArrayList<>();

  @BeforeEach
  void newReconciler() {
    ledger.clear();
    reconciler = new ClickHouseMigrationReconciler(harness.services(), IDENTITY);
  }

  /** A Ready connection to a server with the database, whose ledger the fake keeps and whose lock is free. */
  void server() {
    harness.readyConnection(ns, Specs.CONNECTION, "26.7.2.1");
    clickhouse.answerWith("^EXISTS TABLE `app`.`housekeeper_migrations`",
        sql -> List.of(Map.of("result", ledger.isEmpty() ? 0 : 1)));
    clickhouse.accept("^CREATE TABLE IF NOT EXISTS `app`.`housekeeper_migrations`");
    clickhouse.answerWith("^INSERT INTO `app`.`housekeeper_migrations`", this::append);
    clickhouse.answerWith("FROM `app`.`housekeeper_migrations` ORDER BY seq", sql -> List.copyOf(ledger));
    clickhouse.answer("^EXISTS TABLE `app`.`housekeeper_locks`", List.of(Map.of("result", 1)));
    clickhouse.accept("^INSERT INTO `app`.`housekeeper_locks`");
    lockHeldBy(null);
  }

  /** The lock's live claims: this run's own when {@code other} is null, else another holder's first. */
  void lockHeldBy(String other) {
    String holder = other != null ? other : IDENTITY + "/" + ns + "/schema";
    clickhouse.answer("GROUP BY token", List.of(Map.of("token", "t-1", "holder", holder,
        "claimed", "2026-06-01 10:00:00", "expires", "2026-06-01 10:00:10", "rel", 0)));
  }

  /** Keeps appended ledger rows: the values after each SELECT (rows joined by UNION ALL), in column order. */
  List<Map<String, ?>> append(String sql) {
    String[] columns = {"version", "name", "direction", "event", "checksum", "statement_index", "statement_count",
        "statement_checksum", "query_id", "error", "duration_ms", "run_id", "resource", "event_time", "seq"};
    for (String rowSql : sql.substring(sql.indexOf(" SELECT ") + 8).split(" UNION ALL SELECT ")) {
      List<String> values = values(rowSql);
      Map<String, Object> row = new LinkedHashMap<>();
      for (int i = 0; i < columns.length; i++) {
        row.put(columns[i], values.get(i));
      }
      row.put("event_time", "2026-06-01 10:00:00");
      ledger.add(row);
    }
    return List.of();
  }

  /** Splits {@code 1, 'a, b', 'it\'s'} into its values, unquoted. */
  static List<String> values(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder value = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quoted && c == '\\') {
        value.append(text.charAt(++i));
      } else if (c == '\'') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        out.add(value.toString().strip());
        value.setLength(0);
      } else {
        value.append(c);
      }
    }
    out.add(value.toString().strip());
    return out;
  }

  /** A ledger row written before this test's run (an earlier run's). */
  void ledgerHas(long version, String event, int statementIndex, String statement, String queryId) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("version", version);
    row.put("name", "create_events");
    row.put("direction", "up");
    row.put("event", event);
    row.put("checksum", MigrationScript.sha256(CREATE + ";\n" + ALTER));
    row.put("statement_index", statementIndex);
    row.put("statement_count", 2);
    row.put("statement_checksum", statement == null ? "" : MigrationScript.sha256(statement));
    row.put("query_id", queryId);
    row.put("error", "");
    row.put("duration_ms", 0);
    row.put("run_id", "earlier");
    row.put("resource", ns + "/schema");
    row.put("event_time", "2026-06-01 09:00:00");
    row.put("seq", ledger.size() + 1);
    ledger.add(row);
  }

  ClickHouseMigration migration(UnaryOperator<ClickHouseMigration> more) {
    return harness.create(more.apply(Specs.migration(ns, "schema", DB,
        new Migration(1, "create_events", CREATE + ";\n" + ALTER, null))));
  }

  ClickHouseMigration migration() {
    return migration(m -> m);
  }

  ClickHouseMigrationStatus status(ClickHouseMigration m) {
    return harness.status(m);
  }

  static String ready(ClickHouseMigrationStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).map(c -> c.getStatus() + "/" + c.getReason())
        .orElse("none");
  }

  boolean workStarted(ClickHouseMigration m) {
    return harness.work().get(WorkExecutor.keyOf(m)).isPresent();
  }

  @Test
  void invalidSpecNeverTouchesClickHouse() {
    var m = migration(r -> {
      r.getSpec().setLedgerTable("bad\ntable");
      r.getSpec().getMigrations().add(new Migration(1, "again", "SELECT 1", null));
      return r;
    });
    var control = harness.reconcile(reconciler, m);
    ClickHouseMigrationStatus status = status(m);
    assertThat(status.getPhase()).isEqualTo(Phase.Failed);
    assertThat(ready(status)).isEqualTo("False/ValidationError");
    assertThat(Conditions.find(status.getConditions(), Conditions.READY).orElseThrow().getMessage())
        .contains("spec.ledgerTable");
    assertThat(ReconcilerHarness.requeue(control)).isEmpty();
    assertThat(clickhouse.sent()).isEmpty();
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("ValidationError"));
  }

  @Test
  void missingConnectionWaitsWithoutRunning() {
    var m = migration();
    var control = harness.reconcile(reconciler, m);
    ClickHouseMigrationStatus status = status(m);
    assertThat(status.getPhase()).isEqualTo(Phase.Pending);
    assertThat(ready(status)).isEqualTo("False/ConnectionNotFound");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofSeconds(15));
    assertThat(workStarted(m)).isFalse();
    assertThat(clickhouse.sent()).isEmpty();
  }

  @Test
  void pendingToRunningToReady() {
    server();
    clickhouse.accept("^CREATE TABLE events").accept("^ALTER TABLE events");
    var m = migration();
    harness.reconcile(reconciler, m);
    ClickHouseMigrationStatus running = status(m);
    assertThat(running.getPhase()).isEqualTo(Phase.Progressing);
    assertThat(ready(running)).isEqualTo("False/Running");
    assertThat(running.runInputs).isNull();
    assertThat(running.getStatementTimeout()).isEqualTo("5m");

    var control = harness.finishWork(reconciler, m);
    ClickHouseMigrationStatus done = status(m);
    assertThat(done.getPhase()).isEqualTo(Phase.Ready);
    assertThat(ready(done)).isEqualTo("True/Applied");
    assertThat(done.getCurrentVersion()).isEqualTo(1L);
    assertThat(done.getApplied()).singleElement().satisfies(a -> assertThat(a.getStatements()).isEqualTo(2));
    assertThat(done.getPendingCount()).isZero();
    assertThat(done.runInputs).isNotNull();
    assertThat(done.recheckTime).isEqualTo("2026-06-01T10:10:00Z");
    assertThat(done.retryTime).isNull();
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMinutes(10));
    assertThat(ledger).extracting(r -> r.get("event")).containsExactly(Ledger.STARTED, Ledger.STATEMENT_STARTED,
        Ledger.STATEMENT_DONE, Ledger.STATEMENT_STARTED, Ledger.STATEMENT_DONE, Ledger.APPLIED);
    // six events in four INSERTs: the version's start goes with its first statement's, its last statement's end with
    // the version's end (each INSERT is a part on the server)
    assertThat(clickhouse.sent("^INSERT INTO `app`.`housekeeper_migrations`")).hasSize(4);
    assertThat(clickhouse.sent()).filteredOn(s -> s.sql().startsWith("CREATE TABLE events")).singleElement()
        .satisfies(s -> {
          assertThat(s.settings()).containsEntry("log_queries", "1").containsEntry("database", DB);
          assertThat(s.queryId()).startsWith("hk-mig-").endsWith("-v1-up-s0");
        });
    assertThat(clickhouse.sent(RELEASE)).isNotEmpty();
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Normal") && e.reason().equals("MigrationApplied"));
    assertThat(harness.reasons()).doesNotContain("Running", "Applied");
  }

  @Test
  void sameInputsDoNotRunAgainUntilTheRecheck() {
    server();
    clickhouse.accept("^CREATE TABLE events").accept("^ALTER TABLE events");
    var m = migration();
    harness.reconcile(reconciler, m);
    harness.finishWork(reconciler, m);
    int sent = clickhouse.sent().size();

    harness.clock().advance(Duration.ofMinutes(5));
    var control = harness.reconcile(reconciler, m);
    assertThat(clickhouse.sent()).as("nothing is read before the recheck").hasSize(sent);
    assertThat(ready(status(m))).isEqualTo("True/Applied");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMinutes(5).plusMillis(500));

    harness.clock().advance(Duration.ofMinutes(5));
    harness.reconcile(reconciler, m);
    assertThat(ready(status(m))).as("a recheck shows the last outcome while it reads").isEqualTo("True/Applied");
    harness.finishWork(reconciler, m);
    ClickHouseMigrationStatus checked = status(m);
    assertThat(ready(checked)).isEqualTo("True/UpToDate");
    assertThat(checked.recheckTime).isEqualTo("2026-06-01T10:20:00Z");
    assertThat(clickhouse.sent("^CREATE TABLE events")).hasSize(1);
  }

  @Test
  void transientFailureSchedulesRetryAndTheRetrySettlesTheStatementFirst() {
    server();
    clickhouse.accept("^CREATE TABLE events").accept("^ALTER TABLE events");
    clickhouse.failNext("^ALTER TABLE events", 1, FakeClickHouseClient.failure(ClickHouseException.Kind.CONNECTION,
        "Connection refused"));
    clickhouse.accept("^SYSTEM FLUSH LOGS");
    clickhouse.answer("FROM system.processes", List.of());
    clickhouse.answer("FROM system.query_log", List.of());
    var m = migration();
    harness.reconcile(reconciler, m);
    var control = harness.finishWork(reconciler, m);
    ClickHouseMigrationStatus failed = status(m);
    assertThat(failed.getPhase()).isEqualTo(Phase.Progressing);
    assertThat(ready(failed)).isEqualTo("False/Retrying");
    assertThat(failed.getLastError()).contains("connection lost during statement 1 of version 1");
    assertThat(failed.consecutiveFailures).isEqualTo(1);
    assertThat(failed.retryTime).isEqualTo("2026-06-01T10:00:02Z");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMillis(2500));
    assertThat(clickhouse.sent(RELEASE)).as("the lock is left to expire").isEmpty();

    harness.clock().advance(Duration.ofSeconds(1));
    harness.reconcile(reconciler, m);
    assertThat(workStarted(m)).as("not due yet").isFalse();

    harness.clock().advance(Duration.ofSeconds(1));
    harness.reconcile(reconciler, m);
    assertThat(ready(status(m))).isEqualTo("False/Retrying");
    harness.finishWork(reconciler, m);
    ClickHouseMigrationStatus done = status(m);
    assertThat(ready(done)).isEqualTo("True/Applied");
    assertThat(done.consecutiveFailures).isNull();
    assertThat(done.retryTime).isNull();
    assertThat(clickhouse.sent("FROM system.query_log")).as("the unknown statement was looked up").hasSize(1);
    assertThat(clickhouse.sent("^CREATE TABLE events")).as("statement 0 ran once").hasSize(1);
    assertThat(clickhouse.sent("^ALTER TABLE events")).hasSize(2);
  }

  @Test
  void failedStatementIsDirtyUntilTheRetryAnnotation() {
    server();
    clickhouse.accept("^CREATE TABLE events").accept("^ALTER TABLE events");
    clickhouse.failNext("^ALTER TABLE events", 1, FakeClickHouseClient.failure(ClickHouseException.Kind.SERVER,
        "Code: 44. DB::Exception: Cannot add column user: column with this name already exists"));
    var m = migration();
    harness.reconcile(reconciler, m);
    var control = harness.finishWork(reconciler, m);
    ClickHouseMigrationStatus dirty = status(m);
    assertThat(dirty.getPhase()).isEqualTo(Phase.Dirty);
    assertThat(ready(dirty)).isEqualTo("False/MigrationFailed");
    assertThat(dirty.getDirty().getStatementIndex()).isEqualTo(1);
    assertThat(dirty.getDirty().getError()).contains("already exists");
    assertThat(dirty.recheckTime).isNull();
    assertThat(dirty.retryTime).isNull();
    assertThat(ReconcilerHarness.requeue(control)).isEmpty();
    assertThat(harness.said()).anyMatch(e -> e.type().equals("Warning") && e.reason().equals("MigrationFailed"));

    harness.clock().advance(Duration.ofHours(1));
    harness.reconcile(reconciler, m);
    assertThat(workStarted(m)).as("a final outcome waits for a change").isFalse();

    var annotated = harness.get(m);
    annotated.getMetadata().setAnnotations(Map.of(ClickHouseMigration.RETRY_ANNOTATION, "1"));
    harness.client().resource(annotated).update();
    harness.reconcile(reconciler, m);
    harness.finishWork(reconciler, m);
    ClickHouseMigrationStatus done = status(m);
    assertThat(ready(done)).isEqualTo("True/Applied");
    assertThat(done.getAcknowledgedRetry()).isEqualTo("1");
    assertThat(done.getDirty()).isNull();
    assertThat(clickhouse.sent("^CREATE TABLE events")).as("statement 0 did not run again").hasSize(1);
  }

  @Test
  void lockHeldElsewhereWaitsAndSaysSoOnce() {
    server();
    lockHeldBy("operator-2/other/schema");
    var m = migration();
    harness.reconcile(reconciler, m);
    var control = harness.finishWork(reconciler, m);
    ClickHouseMigrationStatus waiting = status(m);
    assertThat(waiting.getPhase()).isEqualTo(Phase.Progressing);
    assertThat(ready(waiting)).isEqualTo("False/WaitingForLock");
    assertThat(waiting.recheckTime).isEqualTo("2026-06-01T10:00:03Z");
    assertThat(ReconcilerHarness.requeue(control)).contains(Duration.ofMillis(3500));
    assertThat(ledger).as("nothing ran").isEmpty();

    harness.clock().advance(Duration.ofSeconds(3));
    harness.reconcile(reconciler, m);
    assertThat(ready(status(m))).as("another try shows the wait").isEqualTo("False/WaitingForLock");
    harness.finishWork(reconciler, m);
    assertThat(harness.said()).filteredOn(e -> e.reason().equals("WaitingForLock")).singleElement()
        .satisfies(e -> assertThat(e.type()).isEqualTo("Normal"));

    lockHeldBy(null);
    clickhouse.accept("^CREATE TABLE events").accept("^ALTER TABLE events");
    harness.clock().advance(Duration.ofSeconds(3));
    harness.reconcile(reconciler, m);
    harness.finishWork(reconciler, m);
    assertThat(ready(status(m))).isEqualTo("True/Applied");
  }

  @Test
  void restartSettlesTheStatementLeftInFlightInsteadOfRunningItAgain() {
    server();
    clickhouse.accept("^ALTER TABLE events");
    clickhouse.accept("^SYSTEM FLUSH LOGS");
    clickhouse.answer("FROM system.processes", List.of());
    clickhouse.answer("FROM system.query_log", List.of(Map.of("type", "QueryFinish", "written", 0, "exception", "")));
    // an earlier operator started statement 0 and was stopped before it recorded the end
    ledgerHas(1, Ledger.STARTED, -1, null, "");
    ledgerHas(1, Ledger.STATEMENT_STARTED, 0, CREATE, "hk-mig-earlier-v1-up-s0");
    var m = migration();
    var before = harness.get(m);
    var stale = new ClickHouseMigrationStatus();
    stale.setPhase(Phase.Progressing);
    stale.setConditions(Conditions.standard(List.of(), false, true, false, "Running",
        "applying version 1 (create_events), statement 1 of 2", 1L, harness.clock()));
    before.setStatus(stale);
    harness.client().resource(before).updateStatus();

    harness.reconcile(reconciler, m);
    harness.finishWork(reconciler, m);
    ClickHouseMigrationStatus done = status(m);
    assertThat(ready(done)).isEqualTo("True/Applied");
    assertThat(clickhouse.sent("^CREATE TABLE events")).as("the finished statement is not sent again").isEmpty();
    assertThat(ledger).extracting(r -> r.get("event")).containsSubsequence(Ledger.STATEMENT_STARTED,
        Ledger.STATEMENT_DONE, Ledger.STATEMENT_STARTED, Ledger.STATEMENT_DONE, Ledger.APPLIED);
    assertThat(ledger.get(2).get("query_id")).isEqualTo("hk-mig-earlier-v1-up-s0");
  }

  @Test
  void dryRunPlansWithoutWriting() {
    server();
    var m = migration(r -> {
      r.getSpec().setDryRun(true);
      return r;
    });
    harness.reconcile(reconciler, m);
    harness.finishWork(reconciler, m);
    ClickHouseMigrationStatus planned = status(m);
    assertThat(ready(planned)).isEqualTo("True/DryRunPlanned");
    assertThat(planned.getPlan()).singleElement().satisfies(s -> assertThat(s.getStatements()).isEqualTo(2));
    assertThat(planned.getPendingCount()).isEqualTo(1);
    assertThat(clickhouse.sent()).allSatisfy(s -> assertThat(s.sql()).startsWith("EXISTS TABLE"));
    assertThat(harness.said()).filteredOn(e -> e.reason().equals("DryRunPlanned")).singleElement()
        .satisfies(e -> assertThat(e.type()).isEqualTo("Normal"));
  }
}
