package dev.housekeeper.modern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.backup.storage.S3ObjectStore;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.S3Server;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TcpProxy;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every kind through the real operator and the mock API, on ClickHouse 26.7 (the chDB engine behind
 * {@code tools/chdb/server.js}, over HTTP as a real server): the modern paths (native BACKUP, table
 * TTL, lightweight DELETE, EXCHANGE TABLES on Atomic databases) run through the operator here, not
 * only as SQL text.
 */
class ModernServerIT {

  static final String NS = "modern-it";
  /** The connection's database. */
  static final String DATABASE = "modern";
  static final LocalDate TODAY = LocalDate.now(ZoneOffset.UTC);
  static OperatorHarness harness;
  static ChdbServer ch;
  static S3Server s3;
  static S3ObjectStore bucket;

  @BeforeAll
  static void start() throws Exception {
    ch = ChdbServer.shared();
    harness = OperatorHarness.start();
    harness.namespace(NS);
    // chDB's own default database is of its Overlay engine; a database made by CREATE DATABASE is
    // Atomic, as every database of a 26.x server is by default
    database(DATABASE, "Atomic");
    harness.readyConnection(NS, Specs.CONNECTION, List.of(ch.httpUrl()), spec -> spec.setDatabase(DATABASE));
    s3 = new S3Server("modern").start();
    harness.secret(NS, "s3", Map.of("id", S3Server.ACCESS_KEY, "secret", S3Server.SECRET_KEY));
    bucket = new S3ObjectStore(s3.endpoint(), "us-east-1", "modern", "", S3Server.ACCESS_KEY, S3Server.SECRET_KEY, true,
        S3ObjectStore.MIN_PART);
  }

  @AfterAll
  static void stop() throws Exception {
    bucket.close();
    harness.close();
    s3.close();
  }

  static <T extends HasMetadata> T get(Class<T> kind, String name) {
    return harness.client().resources(kind).inNamespace(NS).withName(name).get();
  }

  /** Waits until the resource's status passes {@code condition}; a timeout shows the status it saw last. */
  static <T extends HasMetadata> T awaitStatus(Class<T> kind, String name, Predicate<T> condition) {
    try {
      return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
          .until(() -> get(kind, name), r -> r != null && condition.test(r));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      HasMetadata now = get(kind, name);
      throw new AssertionError("timed out on " + kind.getSimpleName() + " " + name + "; now "
          + (now == null ? "(gone)" : Serialization.asJson(now)), e);
    }
  }

  static void annotate(Class<? extends HasMetadata> kind, String name, String key, String value) {
    harness.client().resources(kind).inNamespace(NS).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
        "{\"metadata\":{\"annotations\":{\"" + key + "\":\"" + value + "\"}}}");
  }

  static String readyReason(List<io.fabric8.kubernetes.api.model.Condition> conditions) {
    return Conditions.find(conditions, Conditions.READY).map(c -> c.getReason()).orElse(null);
  }

  static void database(String name, String engine) {
    ch.sql("DROP DATABASE IF EXISTS " + name + " SYNC");
    ch.sql("CREATE DATABASE " + name + " ENGINE = " + engine);
  }

  /** Per partition: rows and an order-independent content hash. */
  static String fingerprint(String table) {
    return ch.sql("SELECT _partition_id, count(), sum(cityHash64(*)) FROM " + table
        + " GROUP BY _partition_id ORDER BY _partition_id");
  }

  // ---- ClickHouseConnection

  @Test
  void connectionIsReadyOn26WithEveryModernCapabilityAndAWrongPasswordIsAnAuthenticationFailure() {
    ClickHouseConnection c = get(ClickHouseConnection.class, Specs.CONNECTION);
    assertThat(c.getStatus().getServerVersion()).startsWith("26.7.");
    var caps = c.getStatus().getCapabilities();
    assertTrue(caps.isNativeBackup(), "native BACKUP");
    assertTrue(caps.isTableTtl(), "table TTL");
    assertTrue(caps.isExchangeTables(), "EXCHANGE TABLES (the connection's database is Atomic)");
    assertTrue(caps.isLightweightDelete(), "lightweight DELETE");
    assertTrue(caps.isQueryParameters(), "query parameters");
    assertTrue(caps.isPostgresqlTableFunction(), "the postgresql() table function");

    harness.secret(NS, "wrong-credentials", Map.of("username", ClickHouseServer.USER, "password", "not-it"));
    var spec = new ClickHouseConnectionSpec();
    spec.setEndpoints(List.of(ch.httpUrl()));
    var creds = new ClickHouseConnectionSpec.Credentials();
    creds.setSecretName("wrong-credentials");
    spec.setCredentials(creds);
    var wrong = new ClickHouseConnection();
    wrong.setMetadata(Specs.meta(NS, "wrong"));
    wrong.setSpec(spec);
    harness.client().resource(wrong).create();
    ClickHouseConnection refused = awaitStatus(ClickHouseConnection.class, "wrong",
        x -> x.getStatus() != null && "AuthenticationFailed".equals(readyReason(x.getStatus().getConditions())));
    assertThat(Conditions.find(refused.getStatus().getConditions(), Conditions.READY).orElseThrow().getMessage())
        .doesNotContain("not-it");
  }

  // ---- ClickHouseMigration

  static ClickHouseMigration awaitMigration(String name, long version) {
    return awaitStatus(ClickHouseMigration.class, name, m -> m.getStatus() != null
        && m.getStatus().getPhase() == ClickHouseMigrationStatus.Phase.Ready
        && m.getStatus().getCurrentVersion() != null && m.getStatus().getCurrentVersion() == version
        && m.getMetadata().getGeneration().equals(m.getStatus().getObservedGeneration()));
  }

  static void editMigration(String name, java.util.function.UnaryOperator<ClickHouseMigration> edit) {
    harness.client().resources(ClickHouseMigration.class).inNamespace(NS).withName(name).edit(edit);
  }

  static String columns(String table) {
    return ch.sql("SELECT groupArray(name) FROM (SELECT name FROM system.columns WHERE database || '.' || table = '"
        + table + "' ORDER BY position)");
  }

  @Test
  void migrationsApplyDriftAndRollBackOnAnAtomicDatabase() {
    database("modern_mig", "Atomic");
    harness.client().resource(Specs.migration(NS, "mig", "modern_mig",
        new Migration(1, "events", "CREATE TABLE events (d Date, id UInt64) ENGINE = MergeTree"
            + " PARTITION BY toYYYYMM(d) ORDER BY id", "DROP TABLE events SYNC"),
        new Migration(2, "user", "ALTER TABLE events ADD COLUMN user String", "ALTER TABLE events DROP COLUMN user"),
        new Migration(3, "seed", "INSERT INTO events VALUES ('2024-01-01', 1, 'a'), ('2024-02-01', 2, 'b')",
            "TRUNCATE TABLE events"))).create();
    ClickHouseMigration m = awaitMigration("mig", 3);
    assertEquals("['d','id','user']", columns("modern_mig.events"));
    assertEquals(2, ch.sqlLong("SELECT count() FROM modern_mig.events"));
    assertEquals(3, m.getStatus().getApplied().size());
    assertEquals(3, ch.sqlLong("SELECT count() FROM modern_mig.housekeeper_migrations WHERE event = 'applied'"));
    // SHOW CREATE on an Atomic database names no UUID unless asked: the ledger table is a plain MergeTree
    assertThat(ch.sql("SELECT engine FROM system.tables WHERE database = 'modern_mig' AND name = 'events'"))
        .isEqualTo("MergeTree");

    editMigration("mig", r -> {
      r.getSpec().getMigrations().get(1).setUp("ALTER TABLE events ADD COLUMN user LowCardinality(String)");
      return r;
    });
    ClickHouseMigration drifted = awaitStatus(ClickHouseMigration.class, "mig", x -> x.getStatus() != null
        && "DriftDetected".equals(readyReason(x.getStatus().getConditions()))
        && x.getMetadata().getGeneration().equals(x.getStatus().getObservedGeneration()));
    assertEquals(ClickHouseMigrationStatus.Phase.Drift, drifted.getStatus().getPhase());
    assertEquals(List.of(2L), drifted.getStatus().getDrifted());

    editMigration("mig", r -> {
      r.getSpec().getMigrations().get(1).setUp("ALTER TABLE events ADD COLUMN user String");
      r.getSpec().setTargetVersion(1L);
      return r;
    });
    awaitMigration("mig", 1);
    assertEquals("['d','id']", columns("modern_mig.events"));
    assertEquals(0, ch.sqlLong("SELECT count() FROM modern_mig.events"));
    assertEquals(2, ch.sqlLong("SELECT count() FROM modern_mig.housekeeper_migrations WHERE event = 'rolled_back'"));
  }

  // ---- RetentionPolicy

  /** One row a day on the 10th to 12th of each of the last 24 months, partitioned by month. */
  static void monthly(String table) {
    ch.sql("CREATE TABLE " + table + " (d Date, id UInt64, v String) ENGINE = MergeTree PARTITION BY toYYYYMM(d)"
        + " ORDER BY id");
    ch.sql("INSERT INTO " + table + " SELECT toStartOfMonth(toDate('" + TODAY + "')) - toIntervalMonth(intDiv(number, 3))"
        + " + 9 + number % 3, number, 'x' FROM numbers(72)");
  }

  static RetentionPolicy policy(String name, String db, String table, RetentionPolicySpec.Action action) {
    var spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef(Specs.CONNECTION));
    spec.setDatabase(db);
    var tables = new RetentionPolicySpec.TableSelector();
    tables.setNames(new ArrayList<>(List.of(table)));
    spec.setTables(tables);
    spec.setKeep("6M");
    spec.setAction(action);
    spec.setColumn("d");
    spec.setMaxPartitionsPerRun(30);
    spec.setMaxRowsPerRun(1000);
    var p = new RetentionPolicy();
    p.setMetadata(Specs.meta(NS, name));
    p.setSpec(spec);
    return p;
  }

  static RetentionPolicy runRetention(RetentionPolicy p, String token) {
    harness.client().resource(p).create();
    annotate(RetentionPolicy.class, p.getMetadata().getName(), RetentionPolicy.RUN_NOW_ANNOTATION, token);
    return awaitStatus(RetentionPolicy.class, p.getMetadata().getName(), x -> x.getStatus() != null
        && token.equals(x.getStatus().acknowledgedRunNow) && x.getStatus().lastRun != null
        && x.getStatus().phase != RetentionPolicyStatus.Phase.Progressing);
  }

  @Test
  void retentionDropsPartitionsDeletesWithLightweightDeleteAndSetsTtl() {
    database("modern_ret", "Atomic");
    String cutoff = ch.sql("SELECT toDate('" + TODAY + "') - toIntervalMonth(6)");
    String oldRows = "SELECT count() FROM %s WHERE d < '" + cutoff + "'";

    monthly("modern_ret.dropped");
    long partitionsBefore = ch.sqlLong("SELECT uniqExact(partition) FROM system.parts WHERE database = 'modern_ret'"
        + " AND table = 'dropped' AND active");
    long expectedOldPartitions = ch.sqlLong("SELECT count() FROM (SELECT toYYYYMM(d) AS m FROM modern_ret.dropped"
        + " GROUP BY m HAVING max(d) < '" + cutoff + "')");
    RetentionPolicy dropped = runRetention(policy("drop", "modern_ret", "dropped",
        RetentionPolicySpec.Action.dropPartitions), "drop-1");
    assertEquals(expectedOldPartitions, dropped.getStatus().lastRun.partitionsDroppedCount);
    assertEquals(partitionsBefore - expectedOldPartitions, ch.sqlLong("SELECT uniqExact(partition) FROM system.parts"
        + " WHERE database = 'modern_ret' AND table = 'dropped' AND active"));
    assertEquals(0, ch.sqlLong(oldRows.formatted("modern_ret.dropped")));

    monthly("modern_ret.deleted");
    long old = ch.sqlLong(oldRows.formatted("modern_ret.deleted"));
    assertThat(old).isPositive();
    RetentionPolicy deleted = runRetention(policy("delete", "modern_ret", "deleted", RetentionPolicySpec.Action.delete),
        "delete-1");
    assertEquals(old, deleted.getStatus().lastRun.rowsDeleted);
    assertEquals(0, ch.sqlLong(oldRows.formatted("modern_ret.deleted")));
    assertEquals(72 - old, ch.sqlLong("SELECT count() FROM modern_ret.deleted"));
    // a lightweight DELETE masks the rows (the _row_exists column), it does not rewrite them: the mutation says so
    assertThat(ch.sql("SELECT command FROM system.mutations WHERE database = 'modern_ret' AND table = 'deleted'"))
        .contains("_row_exists");
    RetentionPolicy deletedDone = deleted;
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(deletedDone).stream()
        .anyMatch(e -> "MutationIssued".equals(e.getReason()) && e.getMessage().contains("DELETE FROM")));

    // ttl: the table's own rule (a recompression) stays beside the operator's; set once, not on every run
    monthly("modern_ret.ttl");
    ch.sql("ALTER TABLE modern_ret.ttl MODIFY TTL d + toIntervalMonth(1) RECOMPRESS CODEC(ZSTD(3))");
    RetentionPolicy ttl = runRetention(policy("ttl", "modern_ret", "ttl", RetentionPolicySpec.Action.ttl), "ttl-1");
    assertThat(ch.sql("SHOW CREATE TABLE modern_ret.ttl")).contains("TTL d + toIntervalMonth(1) RECOMPRESS CODEC(ZSTD(3)),"
        + " d + toIntervalMonth(6)");
    assertThat(ttl.getStatus().lastRun.tables).anyMatch(t -> "ttl".equals(t.table) && t.reason == null);
    annotate(RetentionPolicy.class, "ttl", RetentionPolicy.RUN_NOW_ANNOTATION, "ttl-2");
    RetentionPolicy again = awaitStatus(RetentionPolicy.class, "ttl", x -> "ttl-2".equals(x.getStatus().acknowledgedRunNow)
        && x.getStatus().phase != RetentionPolicyStatus.Phase.Progressing);
    await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).until(() -> true);
    assertEquals(1, harness.events(again).stream().filter(e -> "TtlSet".equals(e.getReason())).count(),
        "the TTL in place is not set again");
    ch.sql("OPTIMIZE TABLE modern_ret.ttl FINAL");
    assertEquals(0, ch.sqlLong(oldRows.formatted("modern_ret.ttl")), "the server applied the TTL the operator set");

    // ttl has the safety of delete: a table whose every row is past the cutoff is refused
    ch.sql("CREATE TABLE modern_ret.all_old (d Date, id UInt64) ENGINE = MergeTree ORDER BY id");
    ch.sql("INSERT INTO modern_ret.all_old SELECT toDate('2001-01-01') + number, number FROM numbers(10)");
    RetentionPolicy allOld = runRetention(policy("ttl-all-old", "modern_ret", "all_old",
        RetentionPolicySpec.Action.ttl), "old-1");
    assertThat(allOld.getStatus().lastRun.tables).anyMatch(t -> "AllRowsWouldBeRemoved".equals(t.reason));
    assertThat(ch.sql("SHOW CREATE TABLE modern_ret.all_old")).doesNotContain("TTL");
  }

  // ---- ClickHouseBackup and ClickHouseRestore

  static ClickHouseBackup backup(String name, BackupStorage storage, String method, String db) {
    ClickHouseBackupSpec spec = Specs.backupSpec(storage, db);
    spec.method = method;
    harness.client().resource(Specs.backup(NS, name, spec)).create();
    return awaitStatus(ClickHouseBackup.class, name, b -> b.getStatus() != null
        && b.getStatus().phase == ClickHouseBackupStatus.Phase.Succeeded && b.getStatus().lastSuccessful != null);
  }

  static ClickHouseRestore restore(String name, String backupName, String target) {
    database(target, "Atomic");
    ClickHouseRestore r = Specs.restore(NS, name, backupName, target);
    harness.client().resource(r).create();
    return awaitStatus(ClickHouseRestore.class, name, x -> x.getStatus() != null
        && (x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded
        || x.getStatus().phase == ClickHouseRestoreStatus.Phase.Failed));
  }

  /**
   * Restores a backup into {@code target} and checks that it succeeded and that {@code source}'s
   * events came back with equal rows and content hash in every partition.
   */
  static ClickHouseRestore restoredEqual(String name, String backupName, String source, String target) {
    ClickHouseRestore restored = restore(name, backupName, target);
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, restored.getStatus().phase,
        () -> Serialization.asJson(restored.getStatus()));
    assertEquals(fingerprint(source), fingerprint(target + ".events"));
    return restored;
  }

  static void backupSource() {
    if (ch.sqlLong("SELECT count() FROM system.tables WHERE database = 'modern_src'") == 0) {
      database("modern_src", "Atomic");
      ch.sql("CREATE TABLE modern_src.events (d Date, id UInt64, s String) ENGINE = MergeTree PARTITION BY toYYYYMM(d)"
          + " ORDER BY id");
      ch.sql("INSERT INTO modern_src.events SELECT toDate('2024-01-01') + number % 90, number, toString(number)"
          + " FROM numbers(100000)");
    }
  }

  @Test
  void autoPicksNativeToS3AndTheRestoreIsIdenticalPerPartition() throws Exception {
    backupSource();
    ClickHouseBackup b = backup("native-s3", Specs.s3(s3.endpoint(), "modern", "native"), null, "modern_src");
    ClickHouseBackupStatus.BackupRecord r = b.getStatus().lastSuccessful;
    assertEquals("native", r.method);
    assertThat(bucket.list("native/" + r.id + "/")).isNotEmpty();
    ClickHouseRestore restored = restoredEqual("from-native-s3", "native-s3", "modern_src.events", "modern_from_s3");
    // the S3 secret goes to the server in the BACKUP and RESTORE statements only: 26.7 lists them without it, and
    // neither status nor an Event carries it
    // (s3rver's key id and secret are the same word: the secret is the third argument, which 26.7 shows as [HIDDEN])
    assertEquals(0, ch.sqlLong("SELECT count() FROM system.backups WHERE name LIKE 'S3(%' AND (position(name,"
        + " '[HIDDEN]') = 0 OR position(name, ', \\'" + S3Server.SECRET_KEY + "\\')') > 0)"),
        () -> ch.sql("SELECT name FROM system.backups"));
    assertEquals(0, ch.sqlLong("SELECT count() FROM system.backups WHERE position(error, '" + S3Server.SECRET_KEY
        + "') > 0"));
    for (HasMetadata resource : List.of(get(ClickHouseBackup.class, "native-s3"), restored)) {
      assertThat(Serialization.asJson(resource)).doesNotContain(S3Server.SECRET_KEY);
      assertThat(harness.events(resource)).noneMatch(e -> String.valueOf(e.getMessage()).contains(S3Server.SECRET_KEY));
    }
  }

  /**
   * A native backup of a database holds its views, its materialized view and the server's function
   * beside the server's own files, says in status what it does not hold, and its restore into
   * another database brings them back reading the restored tables.
   */
  @Test
  void aNativeBackupHoldsViewsAndFunctionsAndTheRestoredViewsReadTheRestoredTables() {
    database("modern_views", "Atomic");
    ch.sql("CREATE TABLE modern_views.orders (d Date, id UInt64, amount UInt32) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id");
    ch.sql("CREATE TABLE modern_views.totals (d Date, n UInt64) ENGINE = SummingMergeTree ORDER BY d");
    ch.sql("CREATE MATERIALIZED VIEW modern_views.counter TO modern_views.totals AS SELECT d, count() AS n"
        + " FROM modern_views.orders GROUP BY d");
    ch.sql("DROP FUNCTION IF EXISTS modern_triple");
    ch.sql("CREATE FUNCTION modern_triple AS (x) -> x * 3");
    ch.sql("CREATE VIEW modern_views.tripled AS SELECT sum(modern_triple(amount)) AS a FROM modern_views.orders");
    ch.sql("INSERT INTO modern_views.orders SELECT toDate('2024-01-01') + number % 60, number, number % 1000"
        + " FROM numbers(20000)");
    // the server's functions are the server's, not the database's: the backup holds every one (other tests' too)
    int functions = (int) ch.sqlLong("SELECT count() FROM system.functions WHERE origin = 'SQLUserDefined'");
    ClickHouseBackup b = backup("native-views", Specs.s3(s3.endpoint(), "modern", "native-views"), null,
        "modern_views");
    ClickHouseBackupStatus.BackupRecord r = b.getStatus().lastSuccessful;
    assertEquals("native", r.method);
    assertEquals(Map.of("table", 2, "view", 1, "materializedView", 1, "function", functions), r.objects);
    assertThat(r.notBackedUp).containsExactly("access entities: not asked for (add accessEntity to"
        + " spec.scope.kinds to back up users, roles, grants, row policies, quotas and settings profiles)");
    ch.sql("DROP FUNCTION modern_triple"); // it comes back from the backup

    ClickHouseRestore restored = restore("native-views-restored", "native-views", "modern_views_to");
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, restored.getStatus().phase,
        () -> Serialization.asJson(restored.getStatus()));
    assertEquals(fingerprint("modern_views.orders"), fingerprint("modern_views_to.orders"));
    assertEquals(fingerprint("modern_views.totals"), fingerprint("modern_views_to.totals"));
    assertEquals(ch.sql("SELECT a FROM modern_views.tripled"), ch.sql("SELECT a FROM modern_views_to.tripled"));
    assertThat(restored.getStatus().tables).extracting(t -> t.source + "=" + t.outcome).contains(
        "function modern_triple=Restored", "modern_views.tripled=Restored", "modern_views.counter=Restored");
    // a row into the restored source reaches the restored totals, not the original's
    String totals = ch.sql("SELECT sum(n) FROM modern_views.totals");
    ch.sql("INSERT INTO modern_views_to.orders VALUES ('2024-01-01', 99999, 5)");
    assertEquals(totals, ch.sql("SELECT sum(n) FROM modern_views.totals"));
    assertEquals(Long.parseLong(totals) + 1, ch.sqlLong("SELECT sum(n) FROM modern_views_to.totals"));
  }

  /** Access entities asked for from a user who may not read them: the backup fails saying which grant is missing. */
  @Test
  void accessEntitiesAskedForWithoutTheGrantToReadThemFailTheBackupInWords() throws Exception {
    backupSource();
    ClickHouseBackupSpec spec = Specs.backupSpec(Specs.s3(s3.endpoint(), "modern", "access"), "modern_src");
    spec.scope.kinds = List.of("table", "accessEntity");
    harness.client().resource(Specs.backup(NS, "access", spec)).create();
    ClickHouseBackup failed = awaitStatus(ClickHouseBackup.class, "access", x -> x.getStatus() != null
        && x.getStatus().backups.stream().anyMatch(rec -> "Failed".equals(rec.outcome)));
    assertThat(failed.getStatus().backups.get(0).message).contains("spec.scope.kinds asks for access entities, but"
        + " the connection's user may not read them").contains("SHOW USERS");
    assertThat(bucket.list("access/")).isEmpty(); // nothing of the failed backup is left in storage
    harness.client().resource(failed).delete();
  }

  @Test
  void autoPicksNativeToADiskAndTheRestoreIsIdenticalPerPartition() {
    bigSource(); // 3,000,000 rows
    BackupStorage disk = Specs.volume(ch.backupsDiskPath());
    disk.volume.clickhouseDisk = ch.backupsDisk();
    ClickHouseBackup b = backup("native-disk", disk, null, "modern_big");
    assertEquals("native", b.getStatus().lastSuccessful.method);
    assertEquals(3_000_000L, b.getStatus().lastSuccessful.rows);
    restoredEqual("from-native-disk", "native-disk", "modern_big.events", "modern_from_disk");
  }

  /**
   * Native incremental backups on the server's base_backup: each holds only what changed, every third
   * is full, retention with keepLast 2 keeps the bases a kept backup needs and deletes a whole chain
   * once nothing kept needs it, and the newest incremental restores equal to the source.
   */
  @Test
  void nativeIncrementalBackupsKeepTheirBasesAndRestoreWhole() throws Exception {
    database("modern_inc", "Atomic");
    ch.sql("CREATE TABLE modern_inc.events (d Date, id UInt64, s String) ENGINE = MergeTree PARTITION BY toYYYYMM(d)"
        + " ORDER BY id");
    ch.sql("INSERT INTO modern_inc.events SELECT toDate('2024-01-01') + number % 90, number, toString(number)"
        + " FROM numbers(300000)");
    ClickHouseBackupSpec spec = Specs.backupSpec(Specs.s3(s3.endpoint(), "modern", "incremental"), "modern_inc");
    spec.method = ClickHouseBackupSpec.NATIVE;
    spec.incremental = new ClickHouseBackupSpec.Incremental();
    spec.incremental.fullEvery = 3;
    spec.retention = new ClickHouseBackupSpec.Retention();
    spec.retention.keepLast = 2;
    harness.client().resource(Specs.backup(NS, "native-inc", spec)).create();
    List<ClickHouseBackupStatus.BackupRecord> taken = new ArrayList<>();
    Map<String, Long> bytes = new java.util.HashMap<>();
    for (int run = 1; run <= 5; run++) {
      if (run > 1) {
        ch.sql("INSERT INTO modern_inc.events SELECT toDate('2024-03-01'), 1000000 * " + run + " + number, 'more'"
            + " FROM numbers(1000)");
        annotate(ClickHouseBackup.class, "native-inc", ClickHouseBackup.RUN_NOW_ANNOTATION, "run" + run);
      }
      String previous = taken.isEmpty() ? null : taken.get(taken.size() - 1).id;
      ClickHouseBackupStatus st = awaitStatus(ClickHouseBackup.class, "native-inc", b -> b.getStatus() != null
          && b.getStatus().running == null && b.getStatus().lastSuccessful != null
          && !b.getStatus().lastSuccessful.id.equals(previous)).getStatus();
      taken.add(st.lastSuccessful);
      String id = st.lastSuccessful.id;
      bytes.put(id, bucket.list("incremental/" + id + "/").stream().mapToLong(o -> o.size()).sum());
    }
    // full, on 1, on 2, full (the chain had 3), on 4
    List<String> ids = taken.stream().map(r -> r.id).toList();
    assertEquals(java.util.Arrays.asList(null, ids.get(0), ids.get(1), null, ids.get(3)),
        taken.stream().map(r -> r.base).toList());
    assertThat(bytes.get(ids.get(1))).as("an incremental holds what changed: %s", bytes)
        .isLessThan(bytes.get(ids.get(0)) / 5);
    // after the 4th, keepLast 2 kept the 4th and 3rd, and with the 3rd its bases 2 and 1; after the 5th, nothing
    // kept needs the first chain, and it is gone from status and storage
    ClickHouseBackupStatus st = get(ClickHouseBackup.class, "native-inc").getStatus();
    assertEquals(List.of(ids.get(4), ids.get(3)), st.backups.stream().filter(b -> "Complete".equals(b.outcome))
        .map(b -> b.id).toList());
    assertEquals(java.util.Set.of(ids.get(4), ids.get(3)), bucket.list("incremental/").stream()
        .map(o -> o.key().split("/")[1]).collect(java.util.stream.Collectors.toSet()));
    assertThat(harness.events(get(ClickHouseBackup.class, "native-inc"))).anyMatch(e -> "BackupPruned"
        .equals(e.getReason()) && e.getMessage().contains(ids.get(0)) && e.getMessage().contains(ids.get(2)));
    // the base's S3 credentials go to the server in the statement only: neither status nor an Event carries them
    ClickHouseBackup resource = get(ClickHouseBackup.class, "native-inc");
    assertThat(Serialization.asJson(resource)).doesNotContain(S3Server.SECRET_KEY);
    assertThat(harness.events(resource)).noneMatch(e -> String.valueOf(e.getMessage()).contains(S3Server.SECRET_KEY));
    // the newest, an incremental, restores whole through its base
    restoredEqual("from-native-inc", "native-inc", "modern_inc.events", "modern_from_inc");
  }

  @Test
  void theLogicalMethodRoundTripsOnTheSameServer() {
    backupSource();
    ClickHouseBackup b = backup("logical", Specs.s3(s3.endpoint(), "modern", "logical"), ClickHouseBackupSpec.LOGICAL,
        "modern_src");
    assertEquals("logical", b.getStatus().lastSuccessful.method);
    assertEquals(100_000L, b.getStatus().lastSuccessful.rows);
    assertEquals(3, b.getStatus().lastSuccessful.partitions);
    ClickHouseRestore restored = restoredEqual("from-logical", "logical", "modern_src.events", "modern_from_logical");
    assertEquals(100_000L, restored.getStatus().rows);
  }

  /** A table of 3,000,000 rows (about 40 MB in parts) for backups that take a while through a throttled link. */
  static void bigSource() {
    if (ch.sqlLong("SELECT count() FROM system.tables WHERE database = 'modern_big'") == 0) {
      database("modern_big", "Atomic");
      ch.sql("CREATE TABLE modern_big.events (d Date, id UInt64, s String) ENGINE = MergeTree PARTITION BY toYYYYMM(d)"
          + " ORDER BY id");
      ch.sql("INSERT INTO modern_big.events SELECT toDate('2024-01-01') + number % 90, number,"
          + " toString(cityHash64(number)) FROM numbers(3000000)");
    }
  }

  /** S3 as the ClickHouse server reaches it through a proxy throttled to 500 kB/s a connection: a native backup takes many seconds. */
  static BackupStorage throttledS3(TcpProxy toS3, String prefix) {
    toS3.throttle(500_000);
    BackupStorage storage = Specs.s3(s3.endpoint(), "modern", prefix);
    storage.s3.clickhouseEndpoint = toS3.url();
    return storage;
  }

  static long serverBackups(String backupId) {
    return ch.sqlLong("SELECT count() FROM system.backups WHERE position(name, '" + backupId + "') > 0");
  }

  /**
   * The operator restarts while the server writes a native backup (BACKUP ... ASYNC): the new one
   * finds the server's backup from status and goes on watching it; exactly one server backup is
   * made, it completes, and it restores equal.
   */
  @Test
  void aNativeBackupIsTakenOverByTheNextOperatorNeverStartedTwice() throws Exception {
    bigSource();
    try (TcpProxy toS3 = new TcpProxy(java.net.URI.create(s3.endpoint()).getPort()).start()) {
      ClickHouseBackupSpec spec = Specs.backupSpec(throttledS3(toS3, "takeover"), "modern_big");
      harness.client().resource(Specs.backup(NS, "takeover", spec)).create();
      ClickHouseBackup running = awaitStatus(ClickHouseBackup.class, "takeover", b -> b.getStatus() != null
          && b.getStatus().runningServerBackupId != null);
      String id = running.getStatus().running;
      String serverId = running.getStatus().runningServerBackupId;
      assertEquals("CREATING_BACKUP", ch.sql("SELECT status FROM system.backups WHERE id = '" + serverId + "'"));
      harness.restartOperator();
      ClickHouseBackup done = awaitStatus(ClickHouseBackup.class, "takeover", b -> b.getStatus().lastSuccessful != null);
      assertEquals(id, done.getStatus().lastSuccessful.id, "the run that was taken over completed");
      assertEquals("native", done.getStatus().lastSuccessful.method);
      assertEquals(1, serverBackups(id), "one server backup for the run");
      assertEquals("BACKUP_CREATED", ch.sql("SELECT status FROM system.backups WHERE id = '" + serverId + "'"));
      assertThat(harness.events(done)).anyMatch(e -> "BackupTakenOver".equals(e.getReason()));
      toS3.throttle(0);
      restoredEqual("from-takeover", "takeover", "modern_big.events", "modern_big_restored");
    }
  }

  /**
   * The operator restarts while the server runs a native RESTORE ... ASYNC: the server's restore id is
   * in status at once, the next operator watches that restore to its end instead of restoring the
   * table again (which would find it half-restored and skip it), and the data is equal.
   */
  @Test
  void aNativeRestoreIsTakenOverByTheNextOperatorNeverStartedTwice() throws Exception {
    bigSource();
    try (TcpProxy toS3 = new TcpProxy(java.net.URI.create(s3.endpoint()).getPort()).start()) {
      ClickHouseBackupSpec spec = Specs.backupSpec(throttledS3(toS3, "restore-takeover"), "modern_big");
      toS3.throttle(0); // the backup at full speed; the restore through 500 kB/s
      harness.client().resource(Specs.backup(NS, "restore-takeover", spec)).create();
      String backupId = awaitStatus(ClickHouseBackup.class, "restore-takeover",
          b -> b.getStatus() != null && b.getStatus().lastSuccessful != null).getStatus().lastSuccessful.id;
      toS3.throttle(500_000);
      ch.sql("DROP DATABASE IF EXISTS modern_big_taken_over SYNC");
      harness.client().resource(Specs.restore(NS, "restore-takeover", "restore-takeover", "modern_big_taken_over"))
          .create();
      ClickHouseRestore running = awaitStatus(ClickHouseRestore.class, "restore-takeover",
          r -> r.getStatus() != null && r.getStatus().runningServerRestoreId != null);
      String serverId = running.getStatus().runningServerRestoreId;
      assertEquals("modern_big.events", running.getStatus().runningServerRestoreTable);
      assertEquals("RESTORING", ch.sql("SELECT status FROM system.backups WHERE id = '" + serverId + "'"));
      harness.restartOperator();
      ClickHouseRestore done = awaitStatus(ClickHouseRestore.class, "restore-takeover",
          r -> r.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded
              || r.getStatus().phase == ClickHouseRestoreStatus.Phase.Failed);
      assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, done.getStatus().phase,
          () -> Serialization.asJson(done.getStatus()));
      assertEquals("Restored", done.getStatus().tables.get(0).outcome);
      assertNull(done.getStatus().runningServerRestoreId);
      assertEquals("RESTORED", ch.sql("SELECT status FROM system.backups WHERE id = '" + serverId + "'"));
      assertEquals(1, ch.sqlLong("SELECT count() FROM system.backups WHERE position(name, '" + backupId + "') > 0"
          + " AND status LIKE 'RESTOR%'"), "one server restore for the run, never a second");
      assertThat(harness.events(done)).anyMatch(e -> "RestoreTakenOver".equals(e.getReason()));
      assertEquals(fingerprint("modern_big.events"), fingerprint("modern_big_taken_over.events"));
    }
  }

  /** Suspended while the server writes it, a native backup is cancelled on the server and leaves nothing in storage. */
  @Test
  void aSuspendedNativeBackupIsCancelledOnTheServerAndLeavesNothing() throws Exception {
    bigSource();
    try (TcpProxy toS3 = new TcpProxy(java.net.URI.create(s3.endpoint()).getPort()).start()) {
      ClickHouseBackupSpec spec = Specs.backupSpec(throttledS3(toS3, "suspended"), "modern_big");
      harness.client().resource(Specs.backup(NS, "suspended", spec)).create();
      ClickHouseBackup running = awaitStatus(ClickHouseBackup.class, "suspended", b -> b.getStatus() != null
          && b.getStatus().runningServerBackupId != null);
      String id = running.getStatus().running;
      harness.client().resources(ClickHouseBackup.class).inNamespace(NS).withName("suspended").patch(
          PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"suspend\":true}}");
      ClickHouseBackup cancelled = awaitStatus(ClickHouseBackup.class, "suspended", b -> b.getStatus().running == null
          && !b.getStatus().backups.isEmpty());
      assertEquals("Cancelled", cancelled.getStatus().backups.get(0).outcome,
          () -> Serialization.asJson(cancelled.getStatus()));
      assertEquals("BACKUP_CANCELLED", ch.sql("SELECT status FROM system.backups WHERE position(name, '" + id
          + "') > 0"));
      assertThat(bucket.list("suspended/" + id + "/")).as("nothing of the cancelled backup is left").isEmpty();
    }
  }

  // ---- ReportMart

  static ReportMart mart(String name, ReportMartSpec.Mode mode) {
    ReportMartSpec spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef(Specs.CONNECTION);
    spec.database = DATABASE;
    spec.table = name.replace('-', '_');
    spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("day", "Date"),
        new ReportMartSpec.Column("sales", "UInt64")));
    spec.partitionBy = "toYYYYMM(day)";
    spec.orderBy = "day";
    spec.source = new ReportMartSpec.Source();
    spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
    spec.source.clickhouse.query = "SELECT d, count() FROM modern_mart.sales WHERE d >= {window_start} AND d <"
        + " {window_end} GROUP BY d";
    spec.refresh = new ReportMartSpec.Refresh();
    spec.refresh.mode = mode;
    if (mode == ReportMartSpec.Mode.incremental) {
      spec.refresh.incremental = new ReportMartSpec.Incremental();
      spec.refresh.incremental.column = "day";
      spec.refresh.incremental.periods = 2;
    }
    ReportMart m = new ReportMart();
    m.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    m.setSpec(spec);
    return m;
  }

  static ReportMartStatus refreshNow(String name, String token) {
    long before = get(ReportMart.class, name).getStatus().refreshes;
    annotate(ReportMart.class, name, ReportMart.RUN_NOW_ANNOTATION, token);
    return awaitStatus(ReportMart.class, name, m -> token.equals(m.getStatus().acknowledgedRunNow)
        && m.getStatus().phase != ReportMartStatus.Phase.Refreshing && m.getStatus().refreshes > before).getStatus();
  }

  static ReportMartStatus awaitRefreshed(String name, String token) {
    long before = get(ReportMart.class, name).getStatus().refreshes;
    annotate(ReportMart.class, name, ReportMart.RUN_NOW_ANNOTATION, token);
    return awaitStatus(ReportMart.class, name, m -> token.equals(m.getStatus().acknowledgedRunNow)
        && m.getStatus().phase != ReportMartStatus.Phase.Refreshing && m.getStatus().lastRefresh != null
        && m.getStatus().lastRefresh.endTime != null && (m.getStatus().refreshes > before
        || "Failed".equals(m.getStatus().lastRefresh.outcome))).getStatus();
  }

  static boolean warned(String name, String reason) {
    ReportMart m = get(ReportMart.class, name);
    return harness.events(m).stream().anyMatch(e -> reason.equals(e.getReason()) && "Warning".equals(e.getType()));
  }

  /**
   * A source that returned nothing or far less is refused, and a partition that reaches outside the
   * window is never dropped: the mart keeps its data, status and a Warning Event say why.
   */
  @Test
  void martsRefuseAnEmptyOrShrunkenSourceAndNeverDropAPartitionReachingOutsideTheWindow() {
    database("modern_safe", "Atomic");
    ch.sql("CREATE TABLE modern_safe.sales (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id");
    ch.sql("INSERT INTO modern_safe.sales SELECT toDate('" + TODAY + "') - number % 100, number FROM numbers(10000)");
    String source = "SELECT d, count() FROM modern_safe.sales WHERE d >= {window_start} AND d < {window_end}"
        + " GROUP BY d";

    // full: an empty source is refused, then allowed
    ReportMart full = mart("safe-full", ReportMartSpec.Mode.full);
    full.getSpec().source.clickhouse.query = source;
    harness.client().resource(full).create();
    awaitStatus(ReportMart.class, "safe-full", m -> m.getStatus() != null
        && m.getStatus().phase == ReportMartStatus.Phase.Ready && m.getStatus().lastRefresh != null);
    String built = ch.sql("SELECT count(), sum(sales) FROM modern.safe_full");
    assertEquals("100\t10000", built);
    ch.sql("TRUNCATE TABLE modern_safe.sales");
    ReportMartStatus empty = awaitRefreshed("safe-full", "empty-1");
    assertEquals("Failed", empty.lastRefresh.outcome);
    assertEquals("EmptySourceResult", readyReason(empty.getConditions()));
    assertThat(empty.lastRefresh.error).contains("no rows").contains("100 rows");
    assertEquals(built, ch.sql("SELECT count(), sum(sales) FROM modern.safe_full"), "the mart is unchanged");
    await().atMost(Duration.ofSeconds(5)).until(() -> warned("safe-full", "EmptySourceResult"));

    // a shrink past the limit is refused; within it, it is applied
    ch.sql("INSERT INTO modern_safe.sales SELECT toDate('" + TODAY + "') - number % 10, number FROM numbers(1000)");
    harness.client().resources(ReportMart.class).inNamespace(NS).withName("safe-full").edit(m -> {
      m.getSpec().refresh.maxShrinkPercent = 50;
      return m;
    });
    ReportMartStatus shrunk = awaitRefreshed("safe-full", "shrink-1");
    assertEquals("ShrinkLimitExceeded", readyReason(shrunk.getConditions()));
    assertEquals(built, ch.sql("SELECT count(), sum(sales) FROM modern.safe_full"));
    harness.client().resources(ReportMart.class).inNamespace(NS).withName("safe-full").edit(m -> {
      m.getSpec().refresh.maxShrinkPercent = 95;
      return m;
    });
    ReportMartStatus allowed = awaitRefreshed("safe-full", "shrink-2");
    assertEquals("Succeeded", allowed.lastRefresh.outcome, () -> Serialization.asJson(allowed));
    assertEquals("10\t1000", ch.sql("SELECT count(), sum(sales) FROM modern.safe_full"));

    // incremental by day over monthly partitions: the window [today - 2, today + 1) lies in partitions
    // that also hold days outside it (before it, or on the 3rd of a month the days after it); a source
    // that is late for the window's days must not drop those partitions
    ch.sql("TRUNCATE TABLE modern_safe.sales");
    ch.sql("INSERT INTO modern_safe.sales SELECT toDate('" + TODAY + "') + 5 - number % 65, number FROM numbers(6500)");
    ReportMart daily = mart("safe-daily", ReportMartSpec.Mode.incremental);
    daily.getSpec().source.clickhouse.query = source;
    daily.getSpec().refresh.incremental.period = ReportMartSpec.Period.day;
    daily.getSpec().refresh.incremental.periods = 3;
    daily.getSpec().refresh.allowEmpty = true;
    harness.client().resource(daily).create();
    awaitStatus(ReportMart.class, "safe-daily", m -> m.getStatus() != null && m.getStatus().lastRefresh != null
        && "Succeeded".equals(m.getStatus().lastRefresh.outcome) && "full".equals(m.getStatus().lastRefresh.mode));
    String whole = ch.sql("SELECT count(), sum(sales) FROM modern.safe_daily");
    assertEquals("65\t6500", whole);
    ch.sql("ALTER TABLE modern_safe.sales DELETE WHERE d >= toDate('" + TODAY + "') - 2 SETTINGS mutations_sync = 1");
    ReportMartStatus late = awaitRefreshed("safe-daily", "late-1");
    assertEquals("Failed", late.lastRefresh.outcome, () -> Serialization.asJson(late));
    assertEquals("WindowNotAligned", readyReason(late.getConditions()));
    assertEquals(whole, ch.sql("SELECT count(), sum(sales) FROM modern.safe_daily"), "no partition was dropped");
  }

  @Test
  void martsSwapWithExchangeAndReplacePartitionsAndAReaderNeverSeesAPartialMart() throws Exception {
    database("modern_mart", "Atomic");
    ch.sql("DROP DATABASE IF EXISTS modern_ordinary");
    ch.sql("CREATE TABLE modern_mart.sales (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id");
    ch.sql("INSERT INTO modern_mart.sales SELECT toDate('" + TODAY + "') - number % 100, number FROM numbers(50000)");
    String expected = "SELECT d, count() FROM modern_mart.sales GROUP BY d ORDER BY d";

    harness.client().resource(mart("full-mart", ReportMartSpec.Mode.full)).create();
    ReportMartStatus first = awaitStatus(ReportMart.class, "full-mart", m -> m.getStatus() != null
        && m.getStatus().phase == ReportMartStatus.Phase.Ready && m.getStatus().lastRefresh != null).getStatus();
    assertEquals("rename", first.lastRefresh.swap, "the first build has nothing to swap with");
    assertEquals(ch.sql(expected), ch.sql("SELECT * FROM modern.full_mart ORDER BY day"));

    // a reader polls the mart while it is refreshed: every read sees one whole refresh, never a part of one
    List<String> seen = new CopyOnWriteArrayList<>();
    List<String> errors = new CopyOnWriteArrayList<>();
    AtomicBoolean reading = new AtomicBoolean(true);
    Thread reader = new Thread(() -> {
      while (reading.get()) {
        try {
          seen.add(ch.sql("SELECT count(), sum(sales) FROM modern.full_mart"));
        } catch (RuntimeException e) {
          errors.add(e.getMessage());
        }
      }
    });
    reader.start();
    String beforeRefresh = ch.sql("SELECT count(), sum(sales) FROM modern.full_mart");
    ch.sql("INSERT INTO modern_mart.sales SELECT toDate('" + TODAY + "') - number % 100, number FROM numbers(50000)");
    ReportMartStatus second = refreshNow("full-mart", "full-2");
    String afterRefresh = ch.sql("SELECT count(), sum(sales) FROM modern.full_mart");
    reading.set(false);
    reader.join();
    assertEquals("exchange", second.lastRefresh.swap);
    assertEquals(ch.sql(expected), ch.sql("SELECT * FROM modern.full_mart ORDER BY day"));
    assertThat(errors).isEmpty();
    assertThat(seen).isNotEmpty().allMatch(s -> s.equals(beforeRefresh) || s.equals(afterRefresh));

    // a mart in an Ordinary database of the same server: EXCHANGE needs Atomic, the one RENAME swaps
    ch.post("CREATE DATABASE modern_ordinary ENGINE = Ordinary", Map.of("allow_deprecated_database_ordinary", "1"),
        Map.of());
    ReportMart ordinary = mart("ordinary-mart", ReportMartSpec.Mode.full);
    ordinary.getSpec().database = "modern_ordinary";
    harness.client().resource(ordinary).create();
    awaitStatus(ReportMart.class, "ordinary-mart", m -> m.getStatus() != null
        && m.getStatus().phase == ReportMartStatus.Phase.Ready && m.getStatus().lastRefresh != null);
    ReportMartStatus ordinarySecond = refreshNow("ordinary-mart", "ordinary-2");
    assertEquals("Succeeded", ordinarySecond.lastRefresh.outcome, () -> Serialization.asJson(ordinarySecond));
    assertEquals("rename", ordinarySecond.lastRefresh.swap);
    assertEquals(ch.sql(expected), ch.sql("SELECT * FROM modern_ordinary.ordinary_mart ORDER BY day"));

    harness.client().resource(mart("incremental-mart", ReportMartSpec.Mode.incremental)).create();
    awaitStatus(ReportMart.class, "incremental-mart", m -> m.getStatus() != null
        && m.getStatus().phase == ReportMartStatus.Phase.Ready && m.getStatus().lastRefresh != null);
    ch.sql("INSERT INTO modern_mart.sales VALUES ('" + TODAY + "', 1000000)");
    ReportMartStatus incremental = refreshNow("incremental-mart", "inc-2");
    assertEquals("incremental", incremental.lastRefresh.mode);
    String thisMonth = ch.sql("SELECT toYYYYMM(toDate('" + TODAY + "'))");
    assertThat(incremental.lastRefresh.partitionsReplaced).contains(thisMonth);
    assertEquals(ch.sql("SELECT d, count() FROM modern_mart.sales WHERE toYYYYMM(d) >= toYYYYMM(toDate('" + TODAY
        + "') - toIntervalMonth(1)) GROUP BY d ORDER BY d"), ch.sql("SELECT * FROM modern.incremental_mart WHERE"
        + " toYYYYMM(day) >= toYYYYMM(toDate('" + TODAY + "') - toIntervalMonth(1)) ORDER BY day"));
  }
}
