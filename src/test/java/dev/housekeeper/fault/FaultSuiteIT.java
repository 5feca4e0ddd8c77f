package dev.housekeeper.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.backup.Manifest;
import dev.housekeeper.backup.storage.S3ObjectStore;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.OperatorProcess;
import dev.housekeeper.testing.PostgresServer;
import dev.housekeeper.testing.S3Server;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TcpProxy;
import dev.housekeeper.testing.TempDirs;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The fault suite: a real ClickHouse server killed (SIGKILL) and restarted in the middle of a
 * backup, a restore, a migration, a mart refresh and a retention run; the S3 server and
 * PostgreSQL stopped mid-operation; the Kubernetes API answering slowly and with conflicts; and
 * the operator itself killed (its own JVM, SIGKILL) with a second replica taking over through
 * leader election, mid-operation and mid native backup on ClickHouse 26.7; and the leader cut off
 * from the API for longer than its lease, which must stop writing before the standby leads; and
 * the operator's watches sent a frame that is not UTF-8. Every scenario waits until the resource
 * has recovered by itself and then checks that nothing was lost or done twice: content hashes of
 * the data, the migration ledger, the objects in storage. The suite prints how many scenarios ran.
 */
@Tag("faults")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultSuiteIT {

  static final String NS = "faults";
  static final Duration RECOVERY = Duration.ofSeconds(150);
  static OperatorHarness harness;
  static ClickHouseServer ch;
  static S3Server s3;
  /** Between the operator's "slow" connection and ClickHouse: 2 MB/s per connection, so that a backup or restore lasts long enough to be cut. */
  static TcpProxy slow;
  static Path volume;
  static final List<String> REPORT = new ArrayList<>();
  static String sourceHash;

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start();
    ch = harness.clickhouse();
    harness.namespace(NS);
    harness.readyConnection(NS, "ch");
    slow = new TcpProxy(ch.httpPort()).start();
    slow.throttle(2_000_000);
    harness.readyConnection(NS, "slow", List.of(slow.url()));
    s3 = new S3Server("faults").start();
    harness.secret(NS, "s3", Map.of("id", S3Server.ACCESS_KEY, "secret", S3Server.SECRET_KEY));
    volume = Files.createTempDirectory("hk-faults-");
    ch.sql("DROP DATABASE IF EXISTS faults; CREATE DATABASE faults;"
        + " CREATE TABLE faults.events (d Date, id UInt64, v String) ENGINE = MergeTree PARTITION BY toYYYYMM(d)"
        + " ORDER BY id;"
        + " INSERT INTO faults.events SELECT toDate('2023-01-01') + number % 1000, number,"
        + " concat('payload-', toString(cityHash64(number))) FROM system.numbers LIMIT 3000000");
    sourceHash = hash("faults.events");
  }

  @AfterAll
  static void stop() {
    System.out.printf("%nfault suite: %d scenarios, each recovered by itself with nothing lost or done twice:%n  %s%n",
        REPORT.size(), String.join("\n  ", REPORT));
    if (s3 != null) {
      s3.close();
    }
    if (slow != null) {
      slow.close();
    }
    harness.close();
    TempDirs.delete(volume);
  }

  // ---- ClickHouse killed mid-operation

  @Test
  @Order(1)
  void clickhouseKilledDuringABackup() throws Exception {
    ClickHouseBackup b = backup("killed-backup", volumeStorage(), "faults");
    b.getSpec().connectionRef = new ConnectionRef("slow");
    create(b);
    // a few partitions are uploaded (object, then receipt) before the kill: the retry must name them, not upload them
    awaitTrue(() -> receipts(volume) >= 3);
    long uploadedBeforeTheKill = receipts(volume);
    killClickHouse(Duration.ofSeconds(8)); // longer than the client's own retries last
    ClickHouseBackup done = await(ClickHouseBackup.class, "killed-backup", x -> x.getStatus() != null
        && x.getStatus().lastSuccessful != null);
    var failed = done.getStatus().backups.stream().filter(r -> "Failed".equals(r.outcome)).toList();
    assertThat(failed).as("the killed attempt (and any made while the server was still starting) is recorded")
        .isNotEmpty().allMatch(r -> r.message.contains("retrying at"));
    assertNull(done.getStatus().consecutiveFailures, "reset by the complete backup");
    assertThat(done.getStatus().pendingCleanup).isEmpty();
    String completeId = done.getStatus().lastSuccessful.id;
    List<String> named = assertStorageHoldsOnly(volume, completeId);
    BackupRecord complete = done.getStatus().lastSuccessful;
    assertThat(complete.objectsReused).as("the retry reused what the killed attempt uploaded")
        .isGreaterThanOrEqualTo((int) uploadedBeforeTheKill);
    assertEquals(named.size(), complete.objectsReused + complete.objectsUploaded);
    assertEquals(3_000_000L, done.getStatus().lastSuccessful.rows);
    REPORT.add("ClickHouse killed (down 8 s) during a backup: " + failed.size() + " attempt(s) Failed (\""
        + failed.get(0).message.substring(0, Math.min(80, failed.get(0).message.length())) + "...\"), retried by"
        + " itself, backup "
        + completeId + " Complete with 3,000,000 rows, reusing " + complete.objectsReused + " of " + named.size()
        + " partition objects (" + uploadedBeforeTheKill + " were complete at the kill); storage holds exactly the"
        + " objects its manifest names");
  }

  @Test
  @Order(2)
  void clickhouseKilledDuringARestore() throws Exception {
    ch.sql("DROP DATABASE IF EXISTS faults_restored");
    ClickHouseRestore r = restore("killed-restore", "killed-backup", "faults_restored");
    r.getSpec().connectionRef = new ConnectionRef("slow");
    create(r);
    awaitQuery("%faults_restored%", "INSERT%");
    killClickHouse();
    ClickHouseRestore done = await(ClickHouseRestore.class, "killed-restore", x -> x.getStatus() != null
        && x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded);
    assertThat(harness.events(done)).as("the killed attempt failed first").anyMatch(e ->
        "TablesFailed".equals(e.getReason()) || "RestoreFailed".equals(e.getReason()));
    assertEquals(sourceHash, hash("faults_restored.events"), "restored data = backed-up data, no row twice");
    assertEquals("events", ch.sql("SELECT name FROM system.tables WHERE database = 'faults_restored'").strip(),
        "no staging table left");
    REPORT.add("ClickHouse killed during a restore: the table failed, was tried again by itself, and the restored"
        + " table's hash equals the source's (" + sourceHash + "); no staging table left");
  }

  @Test
  @Order(3)
  void clickhouseKilledDuringAMigration() throws Exception {
    ch.sql("DROP DATABASE IF EXISTS faults_mig; CREATE DATABASE faults_mig");
    ClickHouseMigration m = migration("killed-migration", "faults_mig",
        new Migration(1, "table", "CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x", null),
        new Migration(2, "rows", "INSERT INTO t SELECT number FROM system.numbers LIMIT 5;\n"
            + "SELECT sleep(3);\nINSERT INTO t SELECT number + 100 FROM system.numbers LIMIT 7", null),
        new Migration(3, "more", "INSERT INTO t VALUES (1000)", null));
    create(m);
    awaitQuery("%sleep(3)%", "SELECT%");
    killClickHouse();
    ClickHouseMigration done = await(ClickHouseMigration.class, "killed-migration", x -> x.getStatus() != null
        && x.getStatus().getPhase() == ClickHouseMigrationStatus.Phase.Ready
        && Long.valueOf(3).equals(x.getStatus().getCurrentVersion()));
    assertEquals(13, ch.sqlLong("SELECT count() FROM faults_mig.t"), "5 + 7 + 1 rows: no INSERT ran twice");
    assertEquals(1, ledger("faults_mig", "event = 'statement_started' AND version = 2 AND statement_index = 0"));
    for (int v = 1; v <= 3; v++) {
      assertEquals(1, ledger("faults_mig", "event = 'applied' AND version = " + v), "version " + v + " applied once");
    }
    assertThat(harness.events(done)).anyMatch(e -> "Retrying".equals(e.getReason()));
    REPORT.add("ClickHouse killed during a migration (statement 2 of 3 of version 2): resumed by itself, 13 rows"
        + " (each INSERT once), ledger: each version applied once, the finished statement not started again");
  }

  @Test
  @Order(4)
  void clickhouseKilledDuringAMartRefresh() throws Exception {
    ch.sql("DROP DATABASE IF EXISTS faults_marts");
    ReportMart m = clickhouseMart("killed-mart", "faults_marts", "daily",
        "SELECT number AS k, number * 2 AS v FROM system.numbers WHERE sleep(2) = 0 LIMIT 10");
    create(m);
    await(ReportMart.class, "killed-mart", x -> x.getStatus() != null && x.getStatus().refreshes != null
        && x.getStatus().refreshes >= 1);
    String before = hash("faults_marts.daily", "1", "k, v");
    annotate(ReportMart.class, "killed-mart", ReportMart.RUN_NOW_ANNOTATION, "1");
    awaitQuery("%sleep(2)%", "INSERT%");
    killClickHouse();
    assertEquals(before, hash("faults_marts.daily", "1", "k, v"), "after the crash the mart still has its previous data");
    ReportMart done = await(ReportMart.class, "killed-mart", x -> x.getStatus().refreshes != null
        && x.getStatus().refreshes >= 2 && "Succeeded".equals(x.getStatus().lastRefresh.outcome));
    assertThat(harness.events(done)).as("the killed refresh failed first").anyMatch(e ->
        e.getMessage() != null && e.getMessage().contains("The refresh failed"));
    assertEquals(before, hash("faults_marts.daily", "1", "k, v"), "the same rows after the retried refresh, none twice");
    assertEquals("daily", ch.sql("SELECT name FROM system.tables WHERE database = 'faults_marts'").strip(),
        "no build table left behind");
    REPORT.add("ClickHouse killed during a mart refresh: the mart kept its previous rows (hash " + before
        + "), the refresh was retried by itself and produced the same rows; no build table left");
  }

  @Test
  @Order(5)
  void clickhouseKilledDuringARetentionRun() throws Exception {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    StringBuilder sql = new StringBuilder("DROP DATABASE IF EXISTS faults_ret; CREATE DATABASE faults_ret;");
    for (int t = 0; t < 20; t++) {
      sql.append("CREATE TABLE faults_ret.t").append(t).append(" (d Date, id UInt64) ENGINE = MergeTree")
          .append(" PARTITION BY toYYYYMM(d) ORDER BY id; INSERT INTO faults_ret.t").append(t)
          .append(" SELECT addMonths(toDate('").append(today.withDayOfMonth(10)).append("'), -toInt32(number % 60)),")
          .append(" number FROM system.numbers LIMIT 600;");
    }
    ch.sql(sql.toString());
    LocalDate cutoff = today.minusMonths(24);
    String keptBefore = hash("merge('faults_ret', '^t')", "d >= toDate('" + cutoff + "')");
    long partitionsBefore = ch.sqlLong("SELECT count() FROM (SELECT DISTINCT table, partition FROM system.parts"
        + " WHERE database = 'faults_ret' AND active)");
    var spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef("ch"));
    spec.setDatabase("faults_ret");
    var tables = new RetentionPolicySpec.TableSelector();
    tables.setPattern("t[0-9]+");
    spec.setTables(tables);
    spec.setKeep("24M");
    spec.setMaxPartitionsPerRun(100);
    RetentionPolicy p = new RetentionPolicy();
    p.setMetadata(meta("killed-retention"));
    p.setSpec(spec);
    create(p);
    annotate(RetentionPolicy.class, "killed-retention", RetentionPolicy.RUN_NOW_ANNOTATION, "1");
    // kill as soon as the first partitions are gone
    awaitTrue(() -> ch.ping() && ch.sqlLong("SELECT count() FROM (SELECT DISTINCT table, partition FROM system.parts"
        + " WHERE database = 'faults_ret' AND active)") < partitionsBefore);
    killClickHouse();
    long afterKill = ch.sqlLong("SELECT count() FROM (SELECT DISTINCT table, partition FROM system.parts"
        + " WHERE database = 'faults_ret' AND active)");
    RetentionPolicy done = await(RetentionPolicy.class, "killed-retention", x -> x.getStatus() != null
        && x.getStatus().lastRun != null && x.getStatus().retryTime == null
        && x.getStatus().lastRun.tables.stream().noneMatch(t -> "Failed".equals(t.reason))
        && Conditions.isTrue(x.getStatus().getConditions(), "Ready"));
    assertThat(afterKill).as("the kill came mid-run").isGreaterThan(20L * 24);
    assertThat(harness.events(done)).as("tables failed when the server died").anyMatch(e ->
        "TableFailed".equals(e.getReason()));
    assertEquals(0, ch.sqlLong("SELECT count() FROM merge('faults_ret', '^t') WHERE toStartOfMonth(d) < "
        + "toStartOfMonth(toDate('" + cutoff + "')) AND d < toDate('" + cutoff + "')"), "every expired partition gone");
    assertEquals(keptBefore, hash("merge('faults_ret', '^t')", "d >= toDate('" + cutoff + "')"),
        "kept rows untouched");
    REPORT.add("ClickHouse killed during a retention run (" + partitionsBefore + " partitions, " + afterKill
        + " left at the kill): tables failed, the run was retried by itself, every expired partition is gone and the"
        + " kept rows' hash is unchanged (" + keptBefore + ")");
  }

  // ---- storage and source killed mid-operation

  @Test
  @Order(6)
  void s3StoppedDuringABackup() throws Exception {
    ClickHouseBackup b = backup("s3-backup", s3Storage(), "faults");
    b.getSpec().connectionRef = new ConnectionRef("slow");
    create(b);
    awaitQuery("SELECT * FROM %events%", "SELECT%");
    Thread.sleep(300);
    s3.stop();
    Thread.sleep(2000);
    s3.start();
    ClickHouseBackup done = await(ClickHouseBackup.class, "s3-backup", x -> x.getStatus() != null
        && x.getStatus().lastSuccessful != null);
    var failed = done.getStatus().backups.stream().filter(r -> "Failed".equals(r.outcome)).toList();
    assertThat(failed).as("a failed attempt is only ever one that is retried")
        .allMatch(r -> r.message.contains("retrying at"));
    String id = done.getStatus().lastSuccessful.id;
    try (S3ObjectStore view = new S3ObjectStore(s3.endpoint(), "us-east-1", "faults", "", S3Server.ACCESS_KEY,
        S3Server.SECRET_KEY, true, S3ObjectStore.MIN_PART)) {
      assertThat(view.list("").stream().map(o -> o.key()).toList()).as("only the complete backup's objects")
          .isNotEmpty().allMatch(k -> k.startsWith(id + "/") || k.startsWith("objects/s3-backup/"));
    }
    ch.sql("DROP DATABASE IF EXISTS faults_s3restored");
    create(restore("s3-restore", "s3-backup", "faults_s3restored"));
    await(ClickHouseRestore.class, "s3-restore", x -> x.getStatus() != null
        && x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded);
    assertEquals(sourceHash, hash("faults_s3restored.events"));
    REPORT.add("S3 server stopped for 2 s during a backup: " + (failed.isEmpty()
        ? "the upload's own retries carried it through"
        : failed.size() + " attempt(s) Failed (\"" + failed.get(0).message.substring(0,
            Math.min(80, failed.get(0).message.length())) + "...\") and the retry completed") + "; the bucket holds"
        + " only the complete backup's objects, and its restore has the source's hash");
  }

  @Test
  @Order(7)
  void postgresStoppedDuringAMartRefresh() throws Exception {
    if (!PostgresServer.installed()) {
      throw new IllegalStateException("PostgreSQL server binaries are missing: run bin/setup-debian");
    }
    try (PostgresServer pg = new PostgresServer().start()) {
      harness.secret(NS, "pg", Map.of("username", PostgresServer.USER, "password", PostgresServer.PASSWORD));
      ch.sql("DROP DATABASE IF EXISTS faults_pg");
      var spec = martSpec("faults_pg", "slow");
      spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("k", "Int32"),
          new ReportMartSpec.Column("v", "Int32")));
      spec.source.jdbc = new ReportMartSpec.JdbcSource();
      spec.source.jdbc.url = pg.jdbcUrl();
      spec.source.jdbc.credentialsSecret = "pg";
      spec.source.jdbc.query = "SELECT g AS k, g * 2 AS v FROM generate_series(1, 20) g"
          + " CROSS JOIN LATERAL (SELECT pg_sleep(0.4 + 0 * g)) s";
      ReportMart m = new ReportMart();
      m.setMetadata(meta("pg-mart"));
      m.setSpec(spec);
      create(m);
      await(ReportMart.class, "pg-mart", x -> x.getStatus() != null && x.getStatus().refreshes != null
          && x.getStatus().refreshes >= 1);
      String before = hash("faults_pg.slow", "1", "k, v");
      annotate(ReportMart.class, "pg-mart", ReportMart.RUN_NOW_ANNOTATION, "1");
      awaitTrue(() -> {
        try (var c = pg.connect(); var st = c.createStatement(); var rs = st.executeQuery(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(0.4%' AND pid <> pg_backend_pid()")) {
          return rs.next() && rs.getInt(1) > 0;
        }
      });
      pg.stop();
      ReportMart failed = await(ReportMart.class, "pg-mart", x -> x.getStatus().lastRefresh != null
          && "Failed".equals(x.getStatus().lastRefresh.outcome));
      assertEquals(before, hash("faults_pg.slow", "1", "k, v"), "the mart keeps its rows while the source is down");
      assertThat(failed.getStatus().retryTime).as("a retry is scheduled").isNotNull();
      pg.start();
      await(ReportMart.class, "pg-mart", x -> x.getStatus().refreshes >= 2
          && "Succeeded".equals(x.getStatus().lastRefresh.outcome));
      assertEquals(before, hash("faults_pg.slow", "1", "k, v"));
      assertEquals(20, ch.sqlLong("SELECT count() FROM faults_pg.slow"));
      REPORT.add("PostgreSQL stopped during a mart refresh: RefreshFailed with a retry at "
          + failed.getStatus().retryTime + ", the mart kept its 20 rows, and the retry after the restart produced the"
          + " same rows");
    }
  }

  // ---- the Kubernetes API slow and conflicting

  @Test
  @Order(8)
  void slowApiAndUpdateConflicts() throws Exception {
    ch.sql("DROP DATABASE IF EXISTS faults_api; CREATE DATABASE faults_api");
    harness.api().faults().latency(Duration.ofMillis(250));
    try {
      create(migration("api-migration", "faults_api",
          new Migration(1, "table", "CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x", null),
          new Migration(2, "rows", "INSERT INTO t SELECT number FROM system.numbers LIMIT 100", null)));
      ClickHouseBackup b = backup("api-backup", volumeStorage(), "faults_api");
      b.getSpec().scope.databases = new ArrayList<>(List.of("faults"));
      create(b);
      harness.api().faults().conflicts(15); // the operator's next 15 writes are refused
      ClickHouseMigration m = await(ClickHouseMigration.class, "api-migration", x -> x.getStatus() != null
          && Long.valueOf(2).equals(x.getStatus().getCurrentVersion())
          && x.getStatus().getPhase() == ClickHouseMigrationStatus.Phase.Ready);
      ClickHouseBackup done = await(ClickHouseBackup.class, "api-backup", x -> x.getStatus() != null
          && x.getStatus().lastSuccessful != null);
      assertEquals(100, ch.sqlLong("SELECT count() FROM faults_api.t"), "the INSERT ran once");
      assertEquals(1, ledger("faults_api", "event = 'applied' AND version = 2"));
      assertEquals(2, m.getStatus().getApplied().size());
      assertEquals(1, done.getStatus().backups.size(), "one backup taken, not one per retried status write");
      int served = harness.api().faults().conflictsServed();
      assertEquals(15, served, "the conflicts were all served");
      REPORT.add("Kubernetes API answering after 250 ms and refusing the next 15 writes with 409 Conflict: the"
          + " migration applied each version once (100 rows), one backup was taken, both statuses converged");
    } finally {
      harness.api().faults().latency(Duration.ZERO);
      harness.api().faults().conflicts(0);
    }
  }

  // ---- the operator killed, a second replica takes over

  @Test
  @Order(9)
  void operatorKilledMidOperationAndTheStandbyTakesOver() throws Exception {
    harness.stopOperator();
    Path dir = Files.createTempDirectory("hk-operators-");
    try (OperatorProcess a = OperatorProcess.start(harness.api(), dir, "replica-a", NS, Duration.ofSeconds(10))) {
      awaitTrue(() -> "replica-a".equals(leaseHolder()));
      try (OperatorProcess b = OperatorProcess.start(harness.api(), dir, "replica-b", NS, Duration.ofSeconds(10))) {
        ch.sql("DROP DATABASE IF EXISTS faults_takeover; CREATE DATABASE faults_takeover");
        ClickHouseMigration m = migration("takeover-migration", "faults_takeover",
            new Migration(1, "table", "CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x", null),
            new Migration(2, "rows", "INSERT INTO t SELECT number FROM system.numbers LIMIT 5;\n"
                + "INSERT INTO t SELECT number + 100 FROM system.numbers WHERE sleep(3) = 0 LIMIT 7;\n"
                + "INSERT INTO t VALUES (1000)", null));
        m.getSpec().setLockTimeout("5s");
        create(m);
        ClickHouseBackup tb = backup("takeover-backup", volumeStorage(), "faults");
        tb.getSpec().connectionRef = new ConnectionRef("slow");
        create(tb);
        awaitQuery("%sleep(3)%", "INSERT%");
        String holderAtKill = leaseHolder();
        a.kill();
        awaitTrue(() -> "replica-b".equals(leaseHolder()));
        ClickHouseMigration done = await(ClickHouseMigration.class, "takeover-migration", x -> x.getStatus() != null
            && x.getStatus().getPhase() == ClickHouseMigrationStatus.Phase.Ready
            && Long.valueOf(2).equals(x.getStatus().getCurrentVersion()));
        assertEquals(5 + 7 + 1, ch.sqlLong("SELECT count() FROM faults_takeover.t"), () -> "each INSERT applied exactly"
            + " once; ledger:\n" + diagnose("faults_takeover"));
        assertEquals(1, ledger("faults_takeover", "event = 'statement_started' AND version = 2 AND statement_index = 1"),
            "the statement in flight at the kill was not started again");
        assertEquals(1, ledger("faults_takeover", "event = 'applied' AND version = 2"));
        ClickHouseBackup backup = await(ClickHouseBackup.class, "takeover-backup", x -> x.getStatus() != null
            && x.getStatus().lastSuccessful != null);
        assertEquals(3_000_000L, backup.getStatus().lastSuccessful.rows);
        assertThat(backup.getStatus().pendingCleanup).isEmpty();
        long interrupted = backup.getStatus().backups.stream().filter(r -> "Failed".equals(r.outcome)).count();
        ch.sql("DROP DATABASE IF EXISTS faults_takeover_restored");
        create(restore("takeover-restore", "takeover-backup", "faults_takeover_restored"));
        await(ClickHouseRestore.class, "takeover-restore", x -> x.getStatus() != null
            && x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded);
        assertEquals(sourceHash, hash("faults_takeover_restored.events"));
        assertTrue(b.isAlive());
        REPORT.add("Operator killed (SIGKILL of its JVM; lease holder at the kill: " + holderAtKill + ") mid-migration"
            + " and mid-backup; replica-b took the lease and"
            + " finished: 13 rows (each INSERT once, the in-flight one not restarted), " + interrupted
            + " interrupted backup attempt(s) redone, the backup's restore has the source's hash");
      }
    } finally {
      harness.startOperator();
      TempDirs.delete(dir);
    }
  }

  /**
   * One writer: the leader's connection to the API is cut (a proxy stops) for longer than the lease
   * while it runs a backup and a mart refresh. The old leader kills its statements and exits before
   * the standby may take the lease; from then on ClickHouse sees nothing from it, the standby
   * finishes both, and storage holds only the complete backup.
   */
  @Test
  @Order(10)
  void theLeaderLosesTheApiAndTheStandbyTakesOverWithNoSecondWriter() throws Exception {
    harness.stopOperator();
    Path dir = Files.createTempDirectory("hk-lease-");
    Path storage = volume.resolve("lost-lease");
    try (TcpProxy toApi = new TcpProxy(harness.api().server().getPort()).start();
        OperatorProcess a = OperatorProcess.start(harness.api(), toApi.url(), dir, "replica-a", NS,
            Duration.ofSeconds(10))) {
      awaitTrue(() -> "replica-a".equals(leaseHolder()));
      try (OperatorProcess b = OperatorProcess.start(harness.api(), dir, "replica-b", NS, Duration.ofSeconds(10))) {
        ch.sql("DROP DATABASE IF EXISTS faults_lease");
        ClickHouseBackup backup = backup("lease-backup", Specs.volume(storage), "faults");
        backup.getSpec().connectionRef = new ConnectionRef("slow");
        create(backup);
        create(clickhouseMart("lease-mart", "faults_lease", "slow", "SELECT number AS k, number * 2 AS v"
            + " FROM numbers(20) WHERE sleepEachRow(1) = 0 SETTINGS max_block_size = 1"));
        awaitQuery("SELECT * FROM %events%", "SELECT%");
        awaitQuery("%sleepEachRow(1)%", "INSERT%");

        java.time.Instant cut = java.time.Instant.now();
        toApi.stop();
        toApi.closeOpenConnections();
        // the old leader's last renewal: the standby may lead 10 s (the lease) after it, not before
        java.time.Instant lastRenewal = harness.client().leases().inNamespace(NS).withName("housekeeper-leader").get()
            .getSpec().getRenewTime().toInstant();
        awaitTrue(() -> ch.sqlLong("SELECT count() FROM system.processes WHERE user = '" + ClickHouseServer.USER
            + "' AND query NOT LIKE '%system.processes%'") == 0);
        java.time.Instant quiet = java.time.Instant.now();
        awaitTrue(() -> "replica-b".equals(leaseHolder()));
        java.time.Instant takenOver = java.time.Instant.now();
        awaitTrue(() -> !a.isAlive());
        java.time.Instant exited = java.time.Instant.now();
        assertThat(quiet).as("the old leader's statements ended before its lease expired")
            .isBefore(lastRenewal.plusSeconds(10));
        assertThat(takenOver).as("the standby led only once the lease had expired")
            .isAfterOrEqualTo(lastRenewal.plusSeconds(10));
        ch.sql("SYSTEM FLUSH LOGS");
        String fromA = "SELECT count() FROM system.query_log WHERE type = 1 AND http_user_agent LIKE 'housekeeper/replica-a %'";
        assertThat(ch.sqlLong(fromA + " AND query_start_time < toDateTime(" + cut.getEpochSecond() + ")"))
            .as("the old leader's statements are told apart by their User-Agent").isPositive();
        assertEquals(0, ch.sqlLong(fromA + " AND query_start_time > toDateTime(" + (quiet.getEpochSecond() + 1) + ")"),
            () -> "the old leader sent nothing after its statements ended; it sent: " + ch.sql("SELECT query_start_time,"
                + " substring(query, 1, 100) FROM system.query_log WHERE type = 1 AND http_user_agent LIKE"
                + " 'housekeeper/replica-a %' AND query_start_time > toDateTime(" + (quiet.getEpochSecond() + 1) + ")"));

        ClickHouseBackup done = await(ClickHouseBackup.class, "lease-backup", x -> x.getStatus() != null
            && x.getStatus().lastSuccessful != null);
        assertEquals(3_000_000L, done.getStatus().lastSuccessful.rows);
        assertThat(done.getStatus().pendingCleanup).isEmpty();
        assertStorageHoldsOnly(storage, done.getStatus().lastSuccessful.id);
        ReportMart mart = await(ReportMart.class, "lease-mart", x -> x.getStatus() != null
            && x.getStatus().lastRefresh != null && "Succeeded".equals(x.getStatus().lastRefresh.outcome));
        assertEquals("20\t380", ch.sql("SELECT count(), sum(v) FROM faults_lease.slow").strip(),
            "the mart holds the source's rows once");
        assertEquals("slow", ch.sql("SELECT name FROM system.tables WHERE database = 'faults_lease'").strip(),
            "no build table left behind");
        ch.sql("DROP DATABASE IF EXISTS faults_lease_restored");
        create(restore("lease-restore", "lease-backup", "faults_lease_restored"));
        await(ClickHouseRestore.class, "lease-restore", x -> x.getStatus() != null
            && x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded);
        assertEquals(sourceHash, hash("faults_lease_restored.events"));
        assertTrue(b.isAlive());
        REPORT.add("Leader's API connection cut (lease 10 s) mid-backup and mid-refresh: its statements were gone "
            + Duration.between(cut, quiet).toMillis() + " ms after the cut, " + Duration.between(quiet,
            lastRenewal.plusSeconds(10)).toMillis() + " ms before its lease expired; it sent nothing after (query_log by"
            + " User-Agent) and exited " + Duration.between(cut, exited).toMillis() + " ms after the cut; replica-b led "
            + Duration.between(cut, takenOver).toMillis() + " ms after the cut and"
            + " replica-b finished backup " + done.getStatus().lastSuccessful.id + " (restores with the source's"
            + " hash, the only backup in storage) and the mart (20 rows, " + mart.getStatus().refreshes
            + " refresh(es))");
      }
    } finally {
      harness.startOperator();
      TempDirs.delete(dir);
    }
  }

  /**
   * A native backup survives its operator: on ClickHouse 26.7 the leader starts BACKUP ... ASYNC to
   * S3 (reached through a link throttled to 500 kB/s, so that it lasts) and is killed (SIGKILL) while
   * the server writes it; the standby takes the lease, finds the server's backup id in status and
   * watches it to the end. Exactly one server backup is made for the run, and it restores equal.
   */
  @Test
  @Order(11)
  void operatorKilledMidNativeBackupAndTheStandbyWatchesItToTheEnd() throws Exception {
    ChdbServer modern = ChdbServer.shared();
    modern.sql("DROP DATABASE IF EXISTS faults_native SYNC");
    modern.sql("CREATE DATABASE faults_native ENGINE = Atomic");
    modern.sql("CREATE TABLE faults_native.events (d Date, id UInt64, v String) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id");
    modern.sql("INSERT INTO faults_native.events SELECT toDate('2023-01-01') + number % 1000, number,"
        + " concat('payload-', toString(cityHash64(number))) FROM numbers(3000000)");
    String source = modern.sql("SELECT count(), sum(cityHash64(d, id, v)) FROM faults_native.events");
    harness.readyConnection(NS, "modern", List.of(modern.httpUrl()), spec -> spec.setDatabase("faults_native"));
    harness.stopOperator();
    Path dir = Files.createTempDirectory("hk-native-");
    try (TcpProxy toS3 = new TcpProxy(java.net.URI.create(s3.endpoint()).getPort()).start();
        OperatorProcess a = OperatorProcess.start(harness.api(), dir, "replica-a", NS, Duration.ofSeconds(10))) {
      toS3.throttle(500_000);
      awaitTrue(() -> "replica-a".equals(leaseHolder()));
      try (OperatorProcess b = OperatorProcess.start(harness.api(), dir, "replica-b", NS, Duration.ofSeconds(10))) {
        BackupStorage storage = Specs.s3(s3.endpoint(), "faults", "native");
        storage.s3.clickhouseEndpoint = toS3.url();
        var spec = Specs.backupSpec(storage, "faults_native");
        spec.connectionRef = new ConnectionRef("modern");
        create(Specs.backup(NS, "native-backup", spec));
        ClickHouseBackup running = await(ClickHouseBackup.class, "native-backup", x -> x.getStatus() != null
            && x.getStatus().runningServerBackupId != null);
        String id = running.getStatus().running;
        String serverId = running.getStatus().runningServerBackupId;
        assertEquals("CREATING_BACKUP", modern.sql("SELECT status FROM system.backups WHERE id = '" + serverId + "'"));
        a.kill();
        awaitTrue(() -> "replica-b".equals(leaseHolder()));
        ClickHouseBackup done = withLogOf(b, () -> await(ClickHouseBackup.class, "native-backup",
            x -> x.getStatus().lastSuccessful != null));
        assertEquals(id, done.getStatus().lastSuccessful.id, "the run the killed leader started completed");
        assertEquals("native", done.getStatus().lastSuccessful.method);
        assertEquals(1, modern.sqlLong("SELECT count() FROM system.backups WHERE position(name, '" + id + "') > 0"),
            "one server backup for the run, never a second");
        assertEquals("BACKUP_CREATED", modern.sql("SELECT status FROM system.backups WHERE id = '" + serverId + "'"));
        assertThat(harness.events(done)).anyMatch(e -> "BackupTakenOver".equals(e.getReason()));
        toS3.throttle(0);
        modern.sql("DROP DATABASE IF EXISTS faults_native_restored SYNC");
        var restore = Specs.restore(NS, "native-restore", "native-backup", "faults_native_restored");
        restore.getSpec().connectionRef = new ConnectionRef("modern");
        create(restore);
        await(ClickHouseRestore.class, "native-restore", x -> x.getStatus() != null
            && x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded);
        assertEquals(source, modern.sql("SELECT count(), sum(cityHash64(d, id, v)) FROM faults_native_restored.events"));
        assertTrue(b.isAlive());
        REPORT.add("Operator killed (SIGKILL) while ClickHouse 26.7 wrote a native backup to S3: replica-b took the"
            + " lease and watched server backup " + serverId + " to BACKUP_CREATED; one server backup for the run,"
            + " restored equal (" + source.strip().replace('\t', ' ') + ")");
      }
    } finally {
      harness.startOperator();
      TempDirs.delete(dir);
    }
  }

  /**
   * A logical restore drill cut off by its operator's death: the leader restores the backup into the
   * drill's scratch database (through the slow link, so that it lasts) and is killed (SIGKILL) mid-INSERT;
   * the standby takes the lease, records the drill as interrupted (Event RestoreInterrupted) and drills
   * again after 15 s, instead of showing Running until the next cron time. The drill passes on all
   * 3,000,000 rows and its scratch database is gone.
   */
  @Test
  @Order(12)
  void operatorKilledMidDrillAndTheStandbyDrillsAgain() throws Exception {
    create(backup("drill-backup", Specs.volume(volume.resolve("drill")), "faults"));
    await(ClickHouseBackup.class, "drill-backup", x -> x.getStatus() != null && x.getStatus().lastSuccessful != null);
    harness.stopOperator();
    Path dir = Files.createTempDirectory("hk-drill-");
    try (OperatorProcess a = OperatorProcess.start(harness.api(), dir, "replica-a", NS, Duration.ofSeconds(10))) {
      awaitTrue(() -> "replica-a".equals(leaseHolder()));
      try (OperatorProcess b = OperatorProcess.start(harness.api(), dir, "replica-b", NS, Duration.ofSeconds(10))) {
        ClickHouseRestore drill = restore("killed-drill", "drill-backup", null);
        drill.getSpec().connectionRef = new ConnectionRef("slow");
        drill.getSpec().verify = true;
        drill.getSpec().schedule = new ClickHouseBackupSpec.Schedule();
        drill.getSpec().schedule.cron = "0 5 1 1 *"; // once a year: in this test it runs for its run-now value
        drill.getMetadata().setAnnotations(Map.of(ClickHouseRestore.RUN_NOW_ANNOTATION, "1"));
        create(drill);
        String scratch = await(ClickHouseRestore.class, "killed-drill", x -> x.getStatus() != null
            && x.getStatus().phase == ClickHouseRestoreStatus.Phase.Running && x.getStatus().scratchDatabase != null)
            .getStatus().scratchDatabase;
        awaitQuery("%" + scratch + "%", "INSERT%");
        a.kill();
        awaitTrue(() -> "replica-b".equals(leaseHolder()));
        ClickHouseRestore done = withLogOf(b, () -> await(ClickHouseRestore.class, "killed-drill",
            x -> x.getStatus() != null && x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded));
        assertThat(harness.events(done)).as("the cut-off drill is reported").anyMatch(e ->
            "RestoreInterrupted".equals(e.getReason()) && e.getMessage().contains("interrupted"));
        var verified = done.getStatus().lastVerification;
        assertEquals("Passed", verified.outcome);
        assertEquals(3_000_000L, verified.rowsCompared);
        assertEquals(scratch, verified.database);
        assertTrue(verified.scratchDropped);
        assertEquals(0, ch.sqlLong("SELECT count() FROM system.databases WHERE name = '" + scratch + "'"),
            "the scratch database is gone, the cut-off drill's leftover included");
        assertNull(done.getStatus().consecutiveFailures, "reset by the drill that passed");
        assertTrue(b.isAlive());
        REPORT.add("Operator killed (SIGKILL) mid logical restore drill: replica-b recorded it interrupted (Event"
            + " RestoreInterrupted), drilled again by itself and verified 3,000,000 rows; scratch database dropped");
      }
    } finally {
      harness.startOperator();
      TempDirs.delete(dir);
    }
  }

  /**
   * A watch that delivers bad data, as a faulty proxy or API server might: the proxy between the
   * operator and the API writes a text frame that is not UTF-8 into every watch it carries. Each
   * informer's watch fails; the informers watch again, and the process keeps leading and reconciles
   * what is created afterwards (JOSDK's default stopped the whole process at the first such watch).
   */
  @Test
  @Order(13)
  void aWatchThatDeliversBadDataIsWatchedAgain() throws Exception {
    harness.stopOperator();
    Path dir = Files.createTempDirectory("hk-watch-");
    try (TcpProxy toApi = new TcpProxy(harness.api().server().getPort()).start();
        OperatorProcess a = OperatorProcess.start(harness.api(), toApi.url(), dir, "replica-a", NS,
            Duration.ofSeconds(10))) {
      awaitTrue(() -> "replica-a".equals(leaseHolder()));
      harness.readyConnection(NS, "before-bad-frame");
      int opened = toApi.webSocketsOpened();
      // a text frame (FIN, opcode 1) of two bytes that are not UTF-8: 0xC3 must be followed by 0x80..0xBF
      int broken = toApi.writeToWebSockets(new byte[] {(byte) 0x81, 2, (byte) 0xc3, (byte) 0x28});
      assertThat(broken).as("the operator's watches, one per kind it reconciles at least").isGreaterThanOrEqualTo(6);
      withLogOf(a, () -> {
        awaitTrue(() -> toApi.webSocketsOpened() >= opened + broken);
        return harness.readyConnection(NS, "after-bad-frame");
      });
      assertTrue(a.isAlive(), "the process still runs");
      assertEquals("replica-a", leaseHolder(), "and still leads");
      awaitTrue(() -> a.probe("/readyz") == 200); // every informer watching again
      assertThat(Files.readString(a.log())).as("the broken watches are logged").contains("Invalid UTF-8");
      REPORT.add("A text frame that is not UTF-8 written into the operator's " + broken + " watches: each was watched"
          + " again (" + (toApi.webSocketsOpened() - opened) + " new watches), the process kept leading and"
          + " reconciled a connection created afterwards");
    } finally {
      harness.startOperator();
      TempDirs.delete(dir);
    }
  }

  // ---- helpers

  static void killClickHouse() throws InterruptedException {
    killClickHouse(Duration.ofMillis(500));
  }

  /** SIGKILL, down for {@code down}, started again on the same data. */
  static void killClickHouse(Duration down) throws InterruptedException {
    ch.stop(true);
    Thread.sleep(down.toMillis());
    ch.start();
  }

  /** Waits until ClickHouse runs a query of the operator's user like {@code like} (and starting like {@code kind}). */
  static void awaitQuery(String like, String kind) {
    // each look bounded: one that hangs must not use up the time in which the query runs
    awaitTrue(() -> ch.sqlLong("SELECT count() FROM system.processes WHERE user = '" + ClickHouseServer.USER
        + "' AND query LIKE '" + like + "' AND query LIKE '" + kind + "' AND query NOT LIKE '%system.processes%'",
        Duration.ofSeconds(10)) > 0);
  }

  static void awaitTrue(java.util.concurrent.Callable<Boolean> condition) {
    Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(20))
        .ignoreExceptions().until(condition);
  }

  static String hash(String table) {
    return hash(table, "1");
  }

  static String hash(String table, String where) {
    return hash(table, where, "d, id, v");
  }

  static String hash(String table, String where, String columns) {
    if (table.startsWith("merge(")) {
      columns = "d, id";
    }
    return ch.sql("SELECT count(), sum(cityHash64(" + columns + ")) FROM " + table + " WHERE " + where).strip()
        .replace('\t', '/');
  }

  static long ledger(String db, String where) {
    return ch.sqlLong("SELECT count() FROM " + db + ".housekeeper_migrations WHERE " + where);
  }

  static String leaseHolder() {
    Lease l = harness.client().leases().inNamespace(NS).withName("housekeeper-leader").get();
    return l == null || l.getSpec() == null ? null : l.getSpec().getHolderIdentity();
  }

  static io.fabric8.kubernetes.api.model.ObjectMeta meta(String name) {
    return new ObjectMetaBuilder().withName(name).withNamespace(NS).build();
  }

  static void create(HasMetadata r) {
    harness.client().resource(r).create();
  }

  static <T extends CustomResource<?, ?>> void annotate(Class<T> kind, String name, String key, String value) {
    harness.client().resources(kind).inNamespace(NS).withName(name).patch(
        io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
        "{\"metadata\":{\"annotations\":{\"" + key + "\":\"" + value + "\"}}}");
  }

  static <T extends CustomResource<?, ?>> T await(Class<T> kind, String name, Predicate<T> done) {
    try {
      return Awaitility.await().atMost(RECOVERY).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
          .until(() -> harness.client().resources(kind).inNamespace(NS).withName(name).get(), done);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      T r = harness.client().resources(kind).inNamespace(NS).withName(name).get();
      throw new AssertionError(kind.getSimpleName() + " " + name + " did not recover in " + RECOVERY + "; status "
          + (r == null ? "(gone)" : Serialization.asJson(r.getStatus())) + "; events " + (r == null ? List.of()
          : harness.events(r).stream().map(ev -> ev.getReason() + ": " + ev.getMessage()).toList()), e);
    }
  }

  /** The migration's ledger and what query_log says of its statements, for a failure message. */
  static String diagnose(String db) {
    return ch.sql("SELECT event_time, event, version, statement_index, query_id, run_id, error FROM " + db + ".housekeeper_migrations"
        + " ORDER BY seq") + "\nquery_log:\n" + ch.sql("SELECT query_id, type, written_rows, exception FROM"
        + " system.query_log WHERE query_id IN (SELECT query_id FROM " + db + ".housekeeper_migrations)");
  }

  /**
   * A volume holds one complete backup and nothing of a failed attempt: its folder, and exactly the
   * shared partition objects its manifest names, each with its receipt. Returns those objects' keys.
   */
  static List<String> assertStorageHoldsOnly(Path storage, String completeId) throws IOException {
    try (Stream<Path> ids = Files.list(storage); Stream<Path> all = Files.walk(storage)) {
      List<String> left = all.filter(p -> !p.startsWith(storage.resolve(completeId)))
          .map(p -> storage.relativize(p) + (Files.isDirectory(p) ? "/" : "")).toList();
      assertThat(ids.map(p -> p.getFileName().toString()).toList())
          .as("no folder of a failed attempt is left; left: %s", left)
          .containsExactlyInAnyOrder(completeId, "objects");
    }
    Manifest manifest = Manifest.fromJson(Files.readAllBytes(storage.resolve(completeId).resolve("manifest.json")));
    List<String> named = manifest.tables.stream().flatMap(t -> t.partitions.stream()).map(p -> p.key).toList();
    try (Stream<Path> all = Files.walk(storage.resolve("objects"))) {
      assertThat(all.filter(Files::isRegularFile).map(p -> storage.relativize(p).toString()).toList())
          .as("exactly the partition objects the complete backup names")
          .containsExactlyInAnyOrderElementsOf(Stream.concat(named.stream(), named.stream().map(k -> k
              + ".receipt.json")).toList());
    }
    return named;
  }

  /** Partition objects complete with their receipt in a volume. */
  static long receipts(Path volume) throws IOException {
    Path objects = volume.resolve("objects");
    if (!Files.isDirectory(objects)) {
      return 0;
    }
    try (Stream<Path> all = Files.walk(objects)) {
      return all.filter(p -> p.getFileName().toString().endsWith(".receipt.json")).count();
    }
  }

  static BackupStorage volumeStorage() {
    return Specs.volume(volume);
  }

  static BackupStorage s3Storage() {
    return Specs.s3(s3.endpoint(), "faults", null);
  }

  static ClickHouseBackup backup(String name, BackupStorage storage, String database) {
    var spec = Specs.backupSpec(storage, database);
    spec.method = "logical";
    return Specs.backup(NS, name, spec);
  }

  static ClickHouseRestore restore(String name, String backupName, String target) {
    return Specs.restore(NS, name, backupName, target);
  }

  static ClickHouseMigration migration(String name, String db, Migration... migrations) {
    return Specs.migration(NS, name, db, migrations);
  }

  static ReportMartSpec martSpec(String db, String table) {
    var spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef("ch");
    spec.database = db;
    spec.table = table;
    spec.orderBy = "k";
    spec.source = new ReportMartSpec.Source();
    return spec;
  }

  static ReportMart clickhouseMart(String name, String db, String table, String query) {
    var spec = martSpec(db, table);
    spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("k", "UInt64"),
        new ReportMartSpec.Column("v", "UInt64")));
    spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
    spec.source.clickhouse.query = query;
    var m = new ReportMart();
    m.setMetadata(meta(name));
    m.setSpec(spec);
    return m;
  }

  /** A wait for work of an operator process; when it fails, the message ends with the process's last log lines. */
  static <T> T withLogOf(OperatorProcess process, java.util.function.Supplier<T> wait) {
    try {
      return wait.get();
    } catch (AssertionError | org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(e.getMessage() + "\nthe log of the operator process, its last lines:\n"
          + tail(process.log(), 80), e);
    }
  }

  /** The last lines of a log, for a failure's message (the folder holding it is deleted afterwards). */
  static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (java.io.IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
