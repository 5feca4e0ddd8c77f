package dev.housekeeper.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus.Phase;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** ClickHouseMigration through the real operator and mock API, on the real ClickHouse server. */
class ClickHouseMigrationIT {

  static final String NS = "mig-it";
  static OperatorHarness harness;
  static ClickHouseServer ch;

  @BeforeAll
  static void start() {
    harness = OperatorHarness.start();
    ch = harness.clickhouse();
    harness.namespace(NS);
    harness.readyConnection(NS, "ch");
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  static String database(String name) {
    ch.sql("DROP DATABASE IF EXISTS " + name + "; CREATE DATABASE " + name);
    return name;
  }

  static ClickHouseMigration resource(String name, String db, Migration... migrations) {
    return dev.housekeeper.testing.Specs.migration(NS, name, db, migrations);
  }

  static ClickHouseMigration get(String name) {
    return harness.client().resources(ClickHouseMigration.class).inNamespace(NS).withName(name).get();
  }

  static ClickHouseMigration awaitState(String name, Predicate<ClickHouseMigration> condition) {
    return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> get(name), m -> m != null && m.getStatus() != null && condition.test(m));
  }

  static ClickHouseMigration awaitReason(String name, String reason) {
    return awaitState(name, m -> reason.equals(readyReason(m)) && m.getStatus().getObservedGeneration() != null
        && m.getStatus().getObservedGeneration().equals(m.getMetadata().getGeneration()));
  }

  static String readyReason(ClickHouseMigration m) {
    return Conditions.find(m.getStatus().getConditions(), "Ready").map(Condition::getReason).orElse("");
  }

  static ClickHouseMigration awaitReady(String name, long version) {
    return awaitState(name, m -> m.getStatus().getPhase() == Phase.Ready && m.getStatus().getCurrentVersion() != null
        && m.getStatus().getCurrentVersion() == version
        && m.getMetadata().getGeneration().equals(m.getStatus().getObservedGeneration()));
  }

  static void update(String name, java.util.function.UnaryOperator<ClickHouseMigration> edit) {
    harness.client().resources(ClickHouseMigration.class).inNamespace(NS).withName(name).edit(edit);
  }

  static List<String> columns(String db, String table) {
    return java.util.Arrays.stream(ch.sql("DESCRIBE TABLE " + db + "." + table).split("\n"))
        .map(line -> line.split("\t")[0]).toList();
  }

  static long ledgerCount(String db, String where) {
    return ch.sqlLong("SELECT count() FROM " + db + ".housekeeper_migrations WHERE " + where);
  }

  @Test
  void threeMigrationsAppliedThenAFourthAdded() {
    String db = database("mig_basic");
    harness.client().resource(resource("basic", db,
        new Migration(1, "create_events", "CREATE TABLE events (d Date, id UInt64) ENGINE = MergeTree"
            + " PARTITION BY toYYYYMM(d) ORDER BY id", "DROP TABLE events"),
        new Migration(2, "add_user", "ALTER TABLE events ADD COLUMN user String", null),
        new Migration(3, "seed", "INSERT INTO events VALUES ('2024-01-01', 1, 'a');"
            + " INSERT INTO events VALUES ('2024-01-02', 2, 'b; still one value')", null))).create();
    ClickHouseMigration m = awaitReady("basic", 3);
    assertEquals(List.of("d", "id", "user"), columns(db, "events"));
    assertEquals(2, ch.sqlLong("SELECT count() FROM " + db + ".events"));
    assertEquals(3, m.getStatus().getApplied().size());
    assertEquals(3L, m.getStatus().getApplied().get(0).getVersion());
    assertThat(m.getStatus().getApplied().get(2).getChecksum()).hasSize(64);
    assertEquals(0, m.getStatus().getPendingCount());
    assertEquals(3, ledgerCount(db, "event = 'applied'"));
    assertEquals(MigrationScript.sha256("ALTER TABLE events ADD COLUMN user String"),
        ch.sql("SELECT checksum FROM " + db + ".housekeeper_migrations WHERE version = 2 AND event = 'applied'"));

    update("basic", r -> {
      r.getSpec().getMigrations().add(new Migration(4, "add_amount", "ALTER TABLE events ADD COLUMN amount Float64",
          null));
      return r;
    });
    m = awaitReady("basic", 4);
    assertEquals(List.of("d", "id", "user", "amount"), columns(db, "events"));
    assertEquals(4, ledgerCount(db, "event = 'applied'"));
    assertEquals(2, ch.sqlLong("SELECT count() FROM " + db + ".events"), "seed ran once");
    ClickHouseMigration done = m;
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(done).stream()
        .filter(e -> "MigrationApplied".equals(e.getReason())).count() == 4);
  }

  @Test
  void dryRunChangesNothing() {
    String db = database("mig_dry");
    ClickHouseMigration r = resource("dry", db,
        new Migration(1, "a", "CREATE TABLE a (x UInt8) ENGINE = Memory", null),
        new Migration(2, "b", "CREATE TABLE b (x UInt8) ENGINE = Memory", null));
    r.getSpec().setDryRun(true);
    harness.client().resource(r).create();
    ClickHouseMigration m = awaitReason("dry", "DryRunPlanned");
    assertEquals(2, m.getStatus().getPlan().size());
    assertEquals("up", m.getStatus().getPlan().get(0).getDirection());
    assertEquals(2, m.getStatus().getPendingCount());
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = '" + db + "'"), "no table, no ledger");
  }

  @Test
  void changedAppliedMigrationGivesDrift() {
    String db = database("mig_drift");
    harness.client().resource(resource("drift", db,
        new Migration(1, "a", "CREATE TABLE a (x UInt8) ENGINE = Memory", null))).create();
    awaitReady("drift", 1);
    update("drift", r -> {
      r.getSpec().getMigrations().get(0).setUp("CREATE TABLE a (x UInt16) ENGINE = Memory");
      r.getSpec().getMigrations().add(new Migration(2, "b", "CREATE TABLE b (x UInt8) ENGINE = Memory", null));
      return r;
    });
    ClickHouseMigration m = awaitReason("drift", "DriftDetected");
    assertEquals(Phase.Drift, m.getStatus().getPhase());
    assertEquals(List.of(1L), m.getStatus().getDrifted());
    assertEquals("0", ch.sql("SELECT count() FROM system.tables WHERE database = '" + db + "' AND name = 'b'"),
        "nothing ran after the drift");

    update("drift", r -> {
      r.getSpec().setAllowDrift(true);
      return r;
    });
    awaitReady("drift", 2);
  }

  @Test
  void failingSecondStatementGivesDirtyAndTheRetryRunsOnlyTheRest() {
    String db = database("mig_dirty");
    harness.client().resource(resource("dirty", db, new Migration(1, "three_statements",
        "CREATE TABLE t1 (x UInt8) ENGINE = Memory;\nINSERT INTO no_such_table VALUES (1);\n"
            + "CREATE TABLE t2 (x UInt8) ENGINE = Memory", null))).create();
    ClickHouseMigration m = awaitReason("dirty", "MigrationFailed");
    assertEquals(Phase.Dirty, m.getStatus().getPhase());
    assertNotNull(m.getStatus().getDirty());
    assertEquals(1, m.getStatus().getDirty().getStatementIndex());
    assertThat(m.getStatus().getDirty().getError()).contains("no_such_table").contains("doesn't exist");
    assertEquals("t1", ch.sql("SELECT name FROM system.tables WHERE database = '" + db + "' AND name LIKE 't%'"),
        "statement 0 ran, statement 2 did not");
    ClickHouseMigration dirty = m;
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(dirty).stream()
        .anyMatch(e -> "MigrationFailed".equals(e.getReason()) && "Warning".equals(e.getType())));

    // the user fixes the statement, then asks for a retry
    update("dirty", r -> {
      r.getSpec().getMigrations().get(0).setUp("CREATE TABLE t1 (x UInt8) ENGINE = Memory;\n"
          + "INSERT INTO t1 VALUES (1);\nCREATE TABLE t2 (x UInt8) ENGINE = Memory");
      return r;
    });
    awaitReason("dirty", "MigrationFailed"); // no retry without the explicit action
    update("dirty", r -> {
      r.getMetadata().setAnnotations(Map.of(ClickHouseMigration.RETRY_ANNOTATION, "1"));
      return r;
    });
    m = awaitReady("dirty", 1);
    assertEquals("1", m.getStatus().getAcknowledgedRetry());
    assertEquals(1, ch.sqlLong("SELECT count() FROM " + db + ".t1"));
    assertEquals("t1\nt2", ch.sql("SELECT name FROM system.tables WHERE database = '" + db
        + "' AND name LIKE 't%' ORDER BY name"));
    assertEquals(1, ledgerCount(db, "event = 'statement_started' AND statement_index = 0"),
        "statement 0 was not run again (it would have failed: the table exists)");
  }

  @Test
  void rollbackThroughDownScriptsAndAMissingDownIsAClearError() {
    String db = database("mig_down");
    harness.client().resource(resource("down", db,
        new Migration(1, "a", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x", "DROP TABLE a"),
        new Migration(2, "b", "CREATE TABLE b (x UInt8) ENGINE = Memory", "DROP TABLE b"),
        new Migration(3, "a_y", "ALTER TABLE a ADD COLUMN y UInt8", "ALTER TABLE a DROP COLUMN y"))).create();
    awaitReady("down", 3);
    assertEquals(List.of("x", "y"), columns(db, "a"));

    update("down", r -> {
      r.getSpec().setTargetVersion(1L);
      return r;
    });
    ClickHouseMigration m = awaitReady("down", 1);
    assertEquals(List.of("x"), columns(db, "a"));
    assertEquals("a", ch.sql("SELECT name FROM system.tables WHERE database = '" + db + "' AND name IN ('a', 'b')"));
    assertEquals(2, ledgerCount(db, "event = 'rolled_back'"));
    assertEquals(1, m.getStatus().getApplied().size());
    ClickHouseMigration rolled = m;
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(rolled).stream()
        .filter(e -> "MigrationRolledBack".equals(e.getReason())).count() == 2);

    // version 1 has a down script, a second resource's version 2 has none
    String db2 = database("mig_nodown");
    harness.client().resource(resource("nodown", db2,
        new Migration(1, "a", "CREATE TABLE a (x UInt8) ENGINE = Memory", "DROP TABLE a"),
        new Migration(2, "b", "CREATE TABLE b (x UInt8) ENGINE = Memory", null))).create();
    awaitReady("nodown", 2);
    update("nodown", r -> {
      r.getSpec().setTargetVersion(0L);
      return r;
    });
    m = awaitReason("nodown", "MissingDownScript");
    assertEquals(Phase.Failed, m.getStatus().getPhase());
    assertThat(Conditions.find(m.getStatus().getConditions(), "Ready").orElseThrow().getMessage())
        .contains("no down script for version(s) [2]").contains("Nothing was run");
    assertEquals("a\nb", ch.sql("SELECT name FROM system.tables WHERE database = '" + db2
        + "' AND name IN ('a', 'b') ORDER BY name"));
  }

  /**
   * The lock is renewed while a statement runs: a 20 s statement under lockTimeout 5s keeps it, and a
   * second resource on the same database waits (WaitingForLock) until the first is done.
   */
  @Test
  void aStatementLongerThanTheLockTimeoutKeepsTheLock() {
    String db = database("mig_long");
    ch.sql("CREATE TABLE " + db + ".trace (s String, n UInt64) ENGINE = MergeTree ORDER BY n");
    ClickHouseMigration first = resource("long-a", db, new Migration(1, "long",
        "INSERT INTO trace SELECT 'a-begin', count() FROM trace;\n"
            + "SELECT count() FROM (SELECT sleep(0.5) FROM numbers(40)) SETTINGS max_block_size = 1;\n"
            + "INSERT INTO trace SELECT 'a-end', count() FROM trace", null));
    first.getSpec().setLockTimeout("5s");
    first.getSpec().setLedgerTable("ledger_a");
    harness.client().resource(first).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> ch.sqlLong("SELECT count() FROM system.processes"
        + " WHERE query LIKE '%sleep(0.5) FROM numbers(40)%' AND query NOT LIKE '%system.processes%'") == 1);
    ClickHouseMigration second = resource("long-b", db, new Migration(1, "after",
        "INSERT INTO trace SELECT 'b', count() FROM trace", null));
    second.getSpec().setLockTimeout("5s");
    second.getSpec().setLedgerTable("ledger_b");
    harness.client().resource(second).create();
    // well past the lock timeout, the long statement still runs and the second resource waits for the lock (its
    // status says so between attempts, for as long as an attempt finds the lock held; the Event stays)
    await().atMost(Duration.ofSeconds(60)).until(() -> harness.events(get("long-b")).stream()
        .anyMatch(e -> "WaitingForLock".equals(e.getReason()) && e.getMessage().contains("long-a")));
    ClickHouseMigration m = awaitReady("long-a", 1);
    awaitReady("long-b", 1);
    assertEquals(List.of("a-begin", "a-end", "b"), List.of(ch.sql("SELECT s FROM " + db + ".trace ORDER BY n")
        .split("\n")), "the second ran only after the first was done");
    assertEquals(1, ch.sqlLong("SELECT count() FROM " + db + ".ledger_a WHERE event = 'applied'"));
    assertEquals(1, ch.sqlLong("SELECT count() FROM " + db + ".ledger_b WHERE event = 'applied'"));
    assertThat(m.getStatus().getApplied().get(0).getVersion()).isEqualTo(1L);
  }

  @Test
  void twoResourcesOnOneDatabaseNeverRunAtOnce() {
    String db = database("mig_lock");
    ch.sql("CREATE TABLE " + db + ".trace (s String, n UInt64) ENGINE = MergeTree ORDER BY n");
    for (String who : List.of("a", "b")) {
      ClickHouseMigration r = resource("lock-" + who, db, new Migration(1, "slow_" + who,
          "INSERT INTO trace SELECT '" + who + "-begin', count() FROM trace;\nSELECT sleep(2);\n"
              + "INSERT INTO trace SELECT '" + who + "-end', count() FROM trace", null));
      r.getSpec().setLedgerTable("ledger_" + who);
      harness.client().resource(r).create();
    }
    awaitReady("lock-a", 1);
    awaitReady("lock-b", 1);
    List<String> order = List.of(ch.sql("SELECT s FROM " + db + ".trace ORDER BY n").split("\n"));
    assertEquals(4, order.size(), order::toString);
    assertThat(order.get(1)).as("whoever began first ended before the other began: " + order)
        .isEqualTo(order.get(0).replace("-begin", "-end"));
  }

  @Test
  void operatorStoppedMidRunAppliesNothingTwice() throws Exception {
    String db = database("mig_restart");
    ClickHouseMigration r = resource("restart", db,
        new Migration(1, "table", "CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x", null),
        new Migration(2, "rows", "INSERT INTO t SELECT number FROM system.numbers LIMIT 5;\n"
            + "INSERT INTO t SELECT number + 100 FROM system.numbers WHERE sleep(3) = 0 LIMIT 7;\n"
            + "INSERT INTO t VALUES (1000)", null),
        new Migration(3, "more", "INSERT INTO t VALUES (2000)", null));
    r.getSpec().setLockTimeout("5s");
    harness.client().resource(r).create();
    // stop the operator while the slow, non-idempotent INSERT (statement 2 of 3 of version 2) runs
    awaitState("restart", m -> String.valueOf(Conditions.find(m.getStatus().getConditions(), "Progressing")
        .map(Condition::getMessage).orElse("")).contains("version 2 (rows), statement 2 of 3"));
    harness.stopOperator();
    Thread.sleep(4000); // the INSERT finishes on the server without its client
    harness.startOperator();
    ClickHouseMigration m = awaitReady("restart", 3);
    assertEquals(5 + 7 + 1 + 1, ch.sqlLong("SELECT count() FROM " + db + ".t"), "each INSERT applied exactly once");
    assertEquals(1, ledgerCount(db, "event = 'statement_started' AND version = 2 AND statement_index = 1"));
    assertEquals(1, ledgerCount(db, "event = 'statement_done' AND version = 2 AND statement_index = 1"));
    assertEquals(1, ledgerCount(db, "event = 'applied' AND version = 2"));
    assertEquals(3, m.getStatus().getApplied().size());
  }

  @Test
  void clickhouseKilledMidRunResumesWithoutRerunningFinishedStatements() throws Exception {
    String db = database("mig_crash");
    ClickHouseMigration r = resource("crash", db,
        new Migration(1, "table", "CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x", null),
        new Migration(2, "rows", "INSERT INTO t SELECT number FROM system.numbers LIMIT 5;\n"
            + "SELECT sleep(3);\nINSERT INTO t SELECT number + 100 FROM system.numbers LIMIT 7", null));
    r.getSpec().setLockTimeout("5s");
    harness.client().resource(r).create();
    awaitState("crash", m -> String.valueOf(Conditions.find(m.getStatus().getConditions(), "Progressing")
        .map(Condition::getMessage).orElse("")).contains("version 2 (rows), statement 2 of 3"));
    ch.stop(true); // kill -9 while the sleep runs: the connection drops mid-statement
    ch.start();
    ClickHouseMigration m = awaitState("crash", x -> x.getStatus().getPhase() == Phase.Ready
        && Long.valueOf(2).equals(x.getStatus().getCurrentVersion()));
    assertEquals(12, ch.sqlLong("SELECT count() FROM " + db + ".t"), "5 + 7 rows: the first INSERT did not run twice");
    assertEquals(1, ledgerCount(db, "event = 'statement_started' AND version = 2 AND statement_index = 0"));
    assertEquals(1, ledgerCount(db, "event = 'applied' AND version = 2"));
    assertThat(m.getStatus().getLastRun()).isNotBlank();
    assertThat(harness.events(m)).as("the dropped statement went through the settle-and-retry path")
        .anyMatch(e -> "Retrying".equals(e.getReason()));
  }

  @Test
  void configMapSourcedMigrationSetWorks() {
    String db = database("mig_cm");
    harness.client().configMaps().inNamespace(NS).resource(new ConfigMapBuilder()
        .withNewMetadata().withName("schema-files").addToLabels(dev.housekeeper.common.Secrets.ALLOW_LABEL, "true").endMetadata()
        .withData(Map.of(
            "V1__create.sql", "CREATE TABLE c (x UInt8) ENGINE = Memory;",
            "V1__create.down.sql", "DROP TABLE c;",
            "V2__seed.sql", "INSERT INTO c VALUES (1), (2);",
            "V2__seed.down.sql", "TRUNCATE TABLE c;"))
        .build()).create();
    ClickHouseMigration r = resource("from-configmap", db);
    r.getSpec().setConfigMaps(List.of(new ClickHouseMigrationSpec.ConfigMapSource("schema-files")));
    harness.client().resource(r).create();
    ClickHouseMigration m = awaitReady("from-configmap", 2);
    assertEquals(2, ch.sqlLong("SELECT count() FROM " + db + ".c"));
    assertEquals("seed", m.getStatus().getApplied().get(0).getName());
  }

  @Test
  void duplicateVersionIsAValidationError() {
    String db = database("mig_dup");
    harness.client().resource(resource("dup", db,
        new Migration(1, "a", "SELECT 1", null), new Migration(1, "b", "SELECT 2", null))).create();
    ClickHouseMigration m = awaitReason("dup", "ValidationError");
    assertThat(Conditions.find(m.getStatus().getConditions(), "Ready").orElseThrow().getMessage())
        .contains("version 1 is declared twice");
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = '" + db + "'"));
  }
}
