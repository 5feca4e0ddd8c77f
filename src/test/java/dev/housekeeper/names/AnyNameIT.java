package dev.housekeeper.names;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.SqlLiterals;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.Specs;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Databases, tables and columns named with a back-quote, a quote, a backslash, spaces, a hyphen, a
 * dot, Cyrillic and CJK, written in specs as they are, go through every kind on ClickHouse 18.16 and
 * on 26.7 (the chDB server): migrated (spec.database), retained (partitions dropped), backed up
 * (spec.scope with a back-quoted database.table entry) and restored into such a database, and
 * reported into a mart whose database, table and columns are such names, with a table name long
 * enough that its working tables need shortened names. One operator and one namespace for both
 * servers; each server's connection has such a database as its own, so unqualified SQL (a migration,
 * a mart's source query) resolves there.
 */
class AnyNameIT {

  static final String NS = "any-name";
  /** A database name with every kind of character a plain identifier lacks. */
  static final String DB = "odd `db' \\ имя-1.2 表";
  static final String TABLE = "t `x' \\ имя-1.2 表";
  static final String RESTORED = "restored `db' \\ 名前.x";
  static final String MART_DB = "отчёты `m'";
  /**
   * 161 characters as a file name: within the 167 that 26.7 allows in {@link #MART_DB}, but its
   * {@code _hk_staging} and {@code _hk_old} tables would not be: the operator shortens their names.
   */
  static final String MART_TABLE = "витрина `v' \\ 表-1.2 " + "x".repeat(80);
  static final LocalDate TODAY = LocalDate.now(ZoneOffset.UTC);
  static OperatorHarness harness;

  /** A server, the connection to it, and a way to run SQL on it other than the operator's client. */
  record Server(String name, String connection, UnaryOperator<String> sql, boolean modern) {
    @Override
    public String toString() {
      return name;
    }

    long number(String query) {
      return Long.parseLong(sql.apply(query).strip());
    }
  }

  static Stream<Arguments> servers() {
    ClickHouseServer old = harness.clickhouse();
    ChdbServer modern = ChdbServer.shared();
    return Stream.of(Arguments.of(new Server("18.16", "old", old::sql, false)),
        Arguments.of(new Server("26.7", "modern", modern::sql, true)));
  }

  @BeforeAll
  static void start() {
    harness = OperatorHarness.start();
    harness.namespace(NS);
    for (Arguments a : servers().toList()) {
      Server s = (Server) a.get()[0];
      for (String db : List.of(DB, RESTORED, MART_DB)) {
        s.sql().apply("DROP DATABASE IF EXISTS " + Identifiers.quote(db));
      }
      s.sql().apply("CREATE DATABASE " + Identifiers.quote(DB));
    }
    // the connection's own database is such a name: a database client-v2 cannot send as a plain header
    harness.readyConnection(NS, "old", List.of(harness.clickhouse().httpUrl()), spec -> spec.setDatabase(DB));
    harness.readyConnection(NS, "modern", List.of(ChdbServer.shared().httpUrl()), spec -> spec.setDatabase(DB));
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void oddNamesAreMigratedRetainedBackedUpRestoredAndReported(Server s) throws Exception {
    String table = Identifiers.qualified(DB, TABLE);

    // ---- a migration in the odd database: its unqualified SQL lands there, and so do its ledger and lock
    ClickHouseMigration m = Specs.migration(NS, s.connection() + "-mig", DB,
        new Migration(1, "create", "CREATE TABLE " + Identifiers.quote(TABLE) + " (d Date, id UInt64, v String)"
            + " ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id", null),
        // one row a day on the 10th to 12th of each of the last 24 months
        new Migration(2, "seed", "INSERT INTO " + Identifiers.quote(TABLE) + " SELECT toStartOfMonth(toDate('" + TODAY
            + "')) - toIntervalMonth(intDiv(number, 3)) + 9 + number % 3, number, 'x' FROM numbers(72)", null));
    m.getSpec().setConnectionRef(new ConnectionRef(s.connection()));
    harness.client().resource(m).create();
    awaitStatus(ClickHouseMigration.class, s.connection() + "-mig", x -> x.getStatus() != null
        && x.getStatus().getPhase() == ClickHouseMigrationStatus.Phase.Ready
        && Long.valueOf(2).equals(x.getStatus().getCurrentVersion()));
    assertEquals(72, s.number("SELECT count() FROM " + table));
    assertEquals(2, s.number("SELECT count() FROM " + Identifiers.qualified(DB, "housekeeper_migrations")
        + " WHERE event = 'applied'"));
    assertTables(s, DB, "housekeeper_locks", "housekeeper_migrations", TABLE);

    // ---- retention on the odd table: every partition older than 6 months is dropped, nothing else
    String cutoff = TODAY.minusMonths(6).toString();
    long oldPartitions = s.number("SELECT count() FROM (SELECT toYYYYMM(d) AS m FROM " + table
        + " GROUP BY m HAVING max(d) < toDate('" + cutoff + "'))");
    long youngRows = s.number("SELECT count() FROM " + table + " WHERE toYYYYMM(d) IN (SELECT toYYYYMM(d) AS m FROM "
        + table + " GROUP BY m HAVING max(d) >= toDate('" + cutoff + "'))");
    assertThat(oldPartitions).isGreaterThan(10);
    RetentionPolicy p = retention(s, s.connection() + "-ret");
    harness.client().resource(p).create();
    annotate(RetentionPolicy.class, p.getMetadata().getName(), RetentionPolicy.RUN_NOW_ANNOTATION, "1");
    RetentionPolicy ran = awaitStatus(RetentionPolicy.class, p.getMetadata().getName(), x -> x.getStatus() != null
        && "1".equals(x.getStatus().acknowledgedRunNow) && x.getStatus().lastRun != null
        && x.getStatus().phase != RetentionPolicyStatus.Phase.Progressing);
    assertEquals(oldPartitions, ran.getStatus().lastRun.partitionsDroppedCount, () -> Serialization.asJson(ran.getStatus()));
    assertEquals(youngRows, s.number("SELECT count() FROM " + table));
    if (!s.modern()) {
      // on 18.16 the statements themselves: one DROP PARTITION per partition, each naming the odd table escaped
      harness.clickhouse().sql("SYSTEM FLUSH LOGS");
      assertEquals(oldPartitions, s.number("SELECT count() FROM system.query_log WHERE type = 2 AND query LIKE "
          + SqlLiterals.quoteString("ALTER TABLE " + table.replace("\\", "\\\\") + " DROP PARTITION ID %")));
    }

    // ---- a backup of that one table, named by a back-quoted database.table entry, restored into an odd database
    String entry = "`" + entryEscaped(DB) + "`.`" + entryEscaped(TABLE) + "`";
    Path dir = Files.createTempDirectory("hk-any-name-");
    ClickHouseBackupSpec spec = Specs.backupSpec(Specs.volume(dir), DB);
    spec.connectionRef = new ConnectionRef(s.connection());
    spec.scope.tables = new ArrayList<>(List.of(entry));
    harness.client().resource(Specs.backup(NS, s.connection() + "-bak", spec)).create();
    ClickHouseBackup b = awaitStatus(ClickHouseBackup.class, s.connection() + "-bak", x -> x.getStatus() != null
        && x.getStatus().phase == ClickHouseBackupStatus.Phase.Succeeded && x.getStatus().lastSuccessful != null);
    assertEquals(1, b.getStatus().lastSuccessful.tables, "only the table the entry names, not the ledger or lock");
    assertEquals(youngRows, b.getStatus().lastSuccessful.rows);

    ClickHouseRestore r = Specs.restore(NS, s.connection() + "-rst", s.connection() + "-bak", RESTORED);
    r.getSpec().connectionRef = new ConnectionRef(s.connection());
    r.getSpec().tables = new ArrayList<>(List.of(entry));
    harness.client().resource(r).create();
    ClickHouseRestore restored = awaitStatus(ClickHouseRestore.class, s.connection() + "-rst", x -> x.getStatus() != null
        && (x.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded
        || x.getStatus().phase == ClickHouseRestoreStatus.Phase.Failed));
    assertEquals(ClickHouseRestoreStatus.Phase.Succeeded, restored.getStatus().phase,
        () -> Serialization.asJson(restored.getStatus()));
    assertThat(restored.getStatus().tables).singleElement().satisfies(t -> {
      assertEquals(DB + "." + TABLE, t.source);
      assertEquals(RESTORED + "." + TABLE, t.target);
    });
    String hash = "SELECT _partition_id AS p, count(), sum(cityHash64(d, id, v)) FROM %s GROUP BY p ORDER BY p";
    assertEquals(s.sql().apply(hash.formatted(table)), s.sql().apply(hash.formatted(Identifiers.qualified(RESTORED,
        TABLE))));
    // the restored table, and no staging table left
    assertTables(s, RESTORED, TABLE);

    // ---- a mart with an odd database, table and columns, its source query unqualified in the connection's database
    harness.client().resource(mart(s, s.connection() + "-mart")).create();
    awaitStatus(ReportMart.class, s.connection() + "-mart", x -> x.getStatus() != null && x.getStatus().refreshes >= 1
        && x.getStatus().phase == ReportMartStatus.Phase.Ready);
    // a second full refresh swaps the built table in (EXCHANGE on 26.7, RENAME through _hk_old on 18.16)
    annotate(ReportMart.class, s.connection() + "-mart", ReportMart.RUN_NOW_ANNOTATION, "2");
    ReportMart mart = awaitStatus(ReportMart.class, s.connection() + "-mart", x -> "2".equals(x.getStatus()
        .acknowledgedRunNow) && x.getStatus().refreshes >= 2 && x.getStatus().phase == ReportMartStatus.Phase.Ready);
    assertEquals("Succeeded", mart.getStatus().lastRefresh.outcome, () -> Serialization.asJson(mart.getStatus()));
    String martTable = Identifiers.qualified(MART_DB, MART_TABLE);
    assertEquals(s.sql().apply("SELECT d, count() FROM " + table + " GROUP BY d ORDER BY d"),
        s.sql().apply("SELECT `день`, `число-n` FROM " + martTable + " ORDER BY `день`"));
    // the mart alone: its working tables are gone
    assertTables(s, MART_DB, MART_TABLE);
    if (!s.modern()) {
      // the shortened working-table names were used: built under one, swapped out under the other
      harness.clickhouse().sql("SYSTEM FLUSH LOGS");
      String staging = Identifiers.derived(MART_DB, "", MART_TABLE, "_hk_staging");
      assertThat(staging).isNotEqualTo(MART_TABLE + "_hk_staging").endsWith("_hk_staging");
      assertThat(s.number("SELECT count() FROM system.query_log WHERE type = 2 AND query LIKE " + SqlLiterals.quoteString(
          "RENAME TABLE %" + Identifiers.quote(staging).replace("\\", "\\\\") + "%"))).isPositive();
    }
  }

  static RetentionPolicy retention(Server s, String name) {
    var spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef(s.connection()));
    spec.setDatabase(DB);
    var tables = new RetentionPolicySpec.TableSelector();
    tables.setNames(new ArrayList<>(List.of(TABLE)));
    spec.setTables(tables);
    spec.setKeep("6M");
    spec.setAction(RetentionPolicySpec.Action.dropPartitions);
    spec.setColumn("d");
    spec.setMaxPartitionsPerRun(30);
    spec.setMaxRowsPerRun(1000);
    var p = new RetentionPolicy();
    p.setMetadata(Specs.meta(NS, name));
    p.setSpec(spec);
    return p;
  }

  static ReportMart mart(Server s, String name) {
    ReportMartSpec spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef(s.connection());
    spec.database = MART_DB;
    spec.table = MART_TABLE;
    spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("день", "Date"),
        new ReportMartSpec.Column("число-n", "UInt64")));
    spec.partitionBy = "toYYYYMM(`день`)";
    spec.orderBy = "`день`";
    spec.source = new ReportMartSpec.Source();
    spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
    spec.source.clickhouse.query = "SELECT d, count() FROM " + Identifiers.quote(TABLE) + " GROUP BY d";
    spec.refresh = new ReportMartSpec.Refresh();
    spec.refresh.mode = ReportMartSpec.Mode.full;
    ReportMart m = new ReportMart();
    m.setMetadata(Specs.meta(NS, name));
    m.setSpec(spec);
    return m;
  }

  /** A name inside a back-quoted part of a spec entry: a back-quote and a backslash escaped by a backslash. */
  static String entryEscaped(String name) {
    return name.replace("\\", "\\\\").replace("`", "\\`");
  }

  /** {@code database} holds exactly these tables (compared in SQL: TabSeparated output escapes the odd names). */
  static void assertTables(Server s, String database, String... names) {
    String where = "FROM system.tables WHERE database = " + SqlLiterals.quoteString(database);
    String list = String.join(", ", Stream.of(names).map(SqlLiterals::quoteString).toList());
    assertEquals(names.length, s.number("SELECT count() " + where),
        () -> database + " holds " + s.sql().apply("SELECT groupArray(name) " + where));
    assertEquals(names.length, s.number("SELECT count() " + where + " AND name IN (" + list + ")"),
        () -> database + " holds " + s.sql().apply("SELECT groupArray(name) " + where));
  }

  static <T extends HasMetadata> T get(Class<T> kind, String name) {
    return harness.client().resources(kind).inNamespace(NS).withName(name).get();
  }

  static void annotate(Class<? extends HasMetadata> kind, String name, String key, String value) {
    harness.client().resources(kind).inNamespace(NS).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
        "{\"metadata\":{\"annotations\":{\"" + key + "\":\"" + value + "\"}}}");
  }

  /** Waits until the resource's status passes {@code condition}; a timeout shows the status it saw last. */
  static <T extends HasMetadata> T awaitStatus(Class<T> kind, String name, Predicate<T> condition) {
    try {
      return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
          .until(() -> get(kind, name), x -> x != null && condition.test(x));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      HasMetadata now = get(kind, name);
      throw new AssertionError("timed out on " + kind.getSimpleName() + " " + name + "; now "
          + (now == null ? "(gone)" : Serialization.asJson(now)), e);
    }
  }
}
