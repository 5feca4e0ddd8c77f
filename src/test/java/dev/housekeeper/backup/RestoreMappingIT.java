package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.backup.CompleteBackupIT.Server;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.Specs;
import dev.housekeeper.testing.TempDirs;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A restore that maps and filters, through the operator, on ClickHouse 18.16 and 26.7 (the chDB
 * server): tables and databases under other names (views, the materialized view and the dictionary
 * following them), some partitions by id or range, the schema alone, data alone into existing tables,
 * and a mapping onto a table that exists under each mode; every outcome as status shows it. The
 * native method on 26.7 maps and filters with RESTORE ... AS ... PARTITIONS.
 */
class RestoreMappingIT {

  static final String NS = "restore-map";
  static OperatorHarness harness;
  static Path storage;
  /** The servers whose source database and backup exist already. */
  static final Set<String> prepared = new HashSet<>();

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start();
    harness.namespace(NS);
    harness.readyConnection(NS, "old", List.of(ClickHouseServer.shared().httpUrl()));
    ChdbServer modern = ChdbServer.shared();
    modern.sql("CREATE DATABASE IF NOT EXISTS rm_home ENGINE = Atomic");
    harness.readyConnection(NS, "modern", List.of(modern.httpUrl()), spec -> spec.setDatabase("rm_home"));
    storage = Files.createTempDirectory("hk-restore-map-");
  }

  @AfterAll
  static void stop() {
    harness.close();
    TempDirs.delete(storage);
  }

  static Stream<Arguments> servers() {
    return CompleteBackupIT.servers();
  }

  /** A short name for the server, in database and resource names. */
  static String id(Server s) {
    return s.modern() ? "m" : "o";
  }

  static String db(Server s, String name) {
    return "rm" + id(s) + "_" + name;
  }

  static String connection(Server s) {
    return s.modern() ? "modern" : "old";
  }

  /**
   * The source database (orders over three months, customers, a view, a materialized view, on 26.7 a
   * dictionary) and its logical backup, made once per server.
   */
  static void prepare(Server s) {
    if (!prepared.add(s.name())) {
      return;
    }
    String src = db(s, "src");
    CompleteBackupIT.run(s, "DROP DATABASE IF EXISTS " + src + ";\n"
        + "CREATE DATABASE " + src + ";\n"
        + "CREATE TABLE " + src + ".orders (d Date, id UInt64, amount UInt32) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id;\n"
        + "CREATE TABLE " + src + ".customers (id UInt64, name String) ENGINE = MergeTree ORDER BY id;\n"
        + "CREATE MATERIALIZED VIEW " + src + ".daily ENGINE = SummingMergeTree PARTITION BY toYYYYMM(d) ORDER BY d"
        + " AS SELECT d, sum(amount) AS total FROM " + src + ".orders GROUP BY d;\n"
        + "CREATE VIEW " + src + ".big AS SELECT id, amount FROM " + src + ".orders WHERE amount > 500;\n"
        + "INSERT INTO " + src + ".orders SELECT toDate('2026-01-01') + number % 90, number, (number * 7919) % 1000"
        + " FROM system.numbers LIMIT 3000;\n"
        + "INSERT INTO " + src + ".customers SELECT number, concat('c', toString(number)) FROM system.numbers"
        + " LIMIT 100");
    if (s.modern()) {
      s.sql().apply("CREATE DICTIONARY " + src + ".names (id UInt64, name String) PRIMARY KEY id"
          + " SOURCE(CLICKHOUSE(TABLE 'customers' DB '" + src + "')) LIFETIME(0) LAYOUT(FLAT())");
    }
    ClickHouseBackupSpec spec = Specs.backupSpec(Specs.volume(storage.resolve(id(s))), src);
    spec.connectionRef = new ConnectionRef(connection(s));
    spec.method = ClickHouseBackupSpec.LOGICAL;
    harness.client().resource(Specs.backup(NS, "full-" + id(s), spec)).create();
    await().atMost(Duration.ofSeconds(90)).until(() -> harness.client().resources(ClickHouseBackup.class)
        .inNamespace(NS).withName("full-" + id(s)).get(), b -> b.getStatus() != null
        && b.getStatus().phase == ClickHouseBackupStatus.Phase.Succeeded);
  }

  /** A restore of the server's backup as {@code more} shapes it, awaited to its end. */
  static ClickHouseRestoreStatus restore(Server s, String name, Consumer<ClickHouseRestoreSpec> more) {
    ClickHouseRestore r = Specs.restore(NS, name + "-" + id(s), "full-" + id(s), null);
    r.getSpec().connectionRef = new ConnectionRef(connection(s));
    more.accept(r.getSpec());
    return awaitRestore(r);
  }

  static ClickHouseRestoreStatus awaitRestore(ClickHouseRestore r) {
    harness.client().resource(r).create();
    try {
      return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(
          () -> harness.client().resources(ClickHouseRestore.class).inNamespace(NS)
              .withName(r.getMetadata().getName()).get(),
          x -> x.getStatus() != null && (x.getStatus().phase == Phase.Succeeded
              || x.getStatus().phase == Phase.Failed)).getStatus();
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      var now = harness.client().resources(ClickHouseRestore.class).inNamespace(NS)
          .withName(r.getMetadata().getName()).get();
      throw new AssertionError("timed out; status " + Serialization.asJson(now.getStatus()), e);
    }
  }

  static ClickHouseRestoreStatus.TableResult table(ClickHouseRestoreStatus status, String source) {
    return status.tables.stream().filter(t -> source.equals(t.source)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + source + " in " + Serialization.asJson(status)));
  }

  static String message(ClickHouseRestoreStatus status) {
    return Conditions.find(status.getConditions(), Conditions.READY).map(c -> c.getMessage()).orElse("");
  }

  /** Per partition (or the partitions given): rows and an order-independent content hash. */
  static String fingerprint(Server s, String table, String columns, String... partitions) {
    String where = partitions.length == 0 ? "" : " WHERE _partition_id IN ('" + String.join("', '", partitions)
        + "')";
    return s.sql().apply("SELECT _partition_id AS p, count(), sum(cityHash64(" + columns + ")) FROM " + table + where
        + " GROUP BY p ORDER BY p");
  }

  static final String ORDERS = "d, id, amount";

  static void fresh(Server s, String... databases) {
    for (String d : databases) {
      s.sql().apply("DROP DATABASE IF EXISTS " + d);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void tablesAndDatabasesUnderOtherNamesTakeTheirViewsAlong(Server s) {
    prepare(s);
    String src = db(s, "src");
    String dst = db(s, "mapped");
    fresh(s, dst);
    ClickHouseRestoreStatus status = restore(s, "mapped", spec -> {
      spec.databaseMapping = Map.of(src, dst);
      spec.tableMapping = Map.of(src + ".orders", dst + ".orders2", src + ".customers", "customers_r",
          src + ".daily", "daily2");
    });
    assertEquals(Phase.Succeeded, status.phase, () -> Serialization.asJson(status));
    assertEquals(fingerprint(s, src + ".orders", ORDERS), fingerprint(s, dst + ".orders2", ORDERS));
    assertEquals(s.sql().apply("SELECT count(), sum(cityHash64(id, name)) FROM " + src + ".customers"),
        s.sql().apply("SELECT count(), sum(cityHash64(id, name)) FROM " + dst + ".customers_r"));
    assertEquals("0", s.sql().apply("SELECT count() FROM system.tables WHERE database = '" + dst + "' AND name IN"
        + " ('orders', 'customers', 'daily')"), "nothing under the old names");
    // the view and the materialized view read the renamed table in the new database
    assertThat(s.sql().apply("SHOW CREATE TABLE " + dst + ".big")).contains("orders2").contains(dst)
        .doesNotContain(src + ".");
    assertEquals(s.sql().apply("SELECT count(), sum(amount) FROM " + src + ".big"),
        s.sql().apply("SELECT count(), sum(amount) FROM " + dst + ".big"));
    // the materialized view, renamed too, has its data in its own new inner table
    String daily = "SELECT d, sum(total) FROM %s GROUP BY d ORDER BY d";
    assertEquals(s.sql().apply(daily.formatted(src + ".daily")), s.sql().apply(daily.formatted(dst + ".daily2")));
    String before = s.sql().apply("SELECT sum(total) FROM " + src + ".daily");
    s.sql().apply("INSERT INTO " + dst + ".orders2 VALUES ('2026-01-01', 99999, 1000)");
    assertEquals(Long.parseLong(before) + 1000, Long.parseLong(s.sql().apply("SELECT sum(total) FROM " + dst
        + ".daily2")), "a row into the renamed table reaches the restored view");
    assertEquals(before, s.sql().apply("SELECT sum(total) FROM " + src + ".daily"), "and not the original");
    if (s.modern()) {
      assertThat(s.sql().apply("SHOW CREATE DICTIONARY " + dst + ".names")).contains("customers_r").contains(dst);
      assertEquals("c42", s.sql().apply("SELECT dictGet('" + dst + ".names', 'name', toUInt64(42))"));
    }
    assertEquals(Map.of(src, dst), status.applied.databaseMapping);
    assertEquals(Map.of(src + ".orders", dst + ".orders2", src + ".customers", dst + ".customers_r",
        src + ".daily", dst + ".daily2"), status.applied.tableMapping);
    assertThat(table(status, src + ".daily")).satisfies(t -> {
      assertEquals(dst + ".daily2", t.target);
      assertEquals(3, t.partitions);
    });
    assertThat(table(status, src + ".orders")).satisfies(t -> {
      assertEquals(dst + ".orders2", t.target);
      assertEquals(Boolean.FALSE, t.targetExisted);
      assertEquals(3, t.partitions);
      assertEquals(3000L, t.rows);
    });
    assertEquals(dst + ".big", table(status, src + ".big").target);
    assertEquals(7, status.applied.partitionsSelected, "orders' 3, the view's inner table's 3, customers' 1");
    assertThat(status.applied.partitionsSkipped).isZero();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void partitionsByIdOrRangeBringOnlyTheirRows(Server s) {
    prepare(s);
    String src = db(s, "src");
    String byId = db(s, "by_id");
    String byRange = db(s, "by_range");
    fresh(s, byId, byRange);
    ClickHouseRestoreStatus ids = restore(s, "by-id", spec -> {
      spec.targetDatabase = byId;
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("202602");
    });
    assertEquals(Phase.Succeeded, ids.phase, () -> Serialization.asJson(ids));
    assertEquals(fingerprint(s, src + ".orders", ORDERS, "202602"), fingerprint(s, byId + ".orders", ORDERS));
    assertThat(fingerprint(s, byId + ".orders", ORDERS)).startsWith("202602\t").doesNotContain("\n202");
    assertEquals(s.sql().apply("SELECT d, sum(total) FROM " + src + ".daily WHERE toYYYYMM(d) = 202602 GROUP BY d"
        + " ORDER BY d"), s.sql().apply("SELECT d, sum(total) FROM " + byId + ".daily GROUP BY d ORDER BY d"),
        "the view's inner data is filtered the same way");
    assertEquals("0", s.sql().apply("SELECT count() FROM " + byId + ".customers"),
        "an unpartitioned table (partition id all) is created without its data");
    assertThat(table(ids, src + ".orders")).satisfies(t -> {
      assertEquals(1, t.partitions);
      assertEquals(2, t.partitionsSkipped);
    });
    assertEquals("ids [202602]", ids.applied.partitions);
    assertEquals(2, ids.applied.partitionsSelected, "orders and the view's inner table: one each");
    assertEquals(5, ids.applied.partitionsSkipped, "two of each, and the customers' one");

    ClickHouseRestoreStatus range = restore(s, "by-range", spec -> {
      spec.targetDatabase = byRange;
      spec.tables = List.of("orders");
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.from = "202602";
      spec.partitions.to = "202603";
    });
    assertEquals(Phase.Succeeded, range.phase, () -> Serialization.asJson(range));
    assertEquals(fingerprint(s, src + ".orders", ORDERS, "202602", "202603"),
        fingerprint(s, byRange + ".orders", ORDERS));
    assertEquals("from 202602, to 202603", range.applied.partitions);
    assertThat(range.tables).singleElement().satisfies(t -> {
      assertEquals(2, t.partitions);
      assertEquals(1, t.partitionsSkipped);
    });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void schemaOnlyCreatesEveryObjectWithoutData(Server s) {
    prepare(s);
    String src = db(s, "src");
    String dst = db(s, "schema");
    fresh(s, dst);
    ClickHouseRestoreStatus status = restore(s, "schema", spec -> {
      spec.targetDatabase = dst;
      spec.schemaOnly = true;
    });
    assertEquals(Phase.Succeeded, status.phase, () -> Serialization.asJson(status));
    assertEquals(s.sql().apply("SELECT name, engine FROM system.tables WHERE database = '" + src + "' AND name NOT"
        + " LIKE '.inner%' ORDER BY name"), s.sql().apply("SELECT name, engine FROM system.tables WHERE database = '"
        + dst + "' AND name NOT LIKE '.inner%' ORDER BY name"), "every object, of its kind");
    for (String t : List.of("orders", "customers", "daily", "big")) {
      assertEquals("0", s.sql().apply("SELECT count() FROM " + dst + "." + t), t);
    }
    assertEquals(Boolean.TRUE, status.applied.schemaOnly);
    assertEquals(0, status.applied.partitionsSelected);
    assertEquals(0L, status.rows);
    assertEquals(3, table(status, src + ".orders").partitionsSkipped);
    // the restored view is live: a row into the new table reaches it
    s.sql().apply("INSERT INTO " + dst + ".orders VALUES ('2026-01-01', 1, 7)");
    assertEquals("7", s.sql().apply("SELECT sum(total) FROM " + dst + ".daily"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void dataOnlyReplacesTheBackedUpPartitionsOfAnExistingTableAndFailsForAMissingOne(Server s) {
    prepare(s);
    String src = db(s, "src");
    String dst = db(s, "data");
    fresh(s, dst);
    CompleteBackupIT.run(s, "CREATE DATABASE " + dst + ";\n"
        + "CREATE TABLE " + dst + ".orders (d Date, id UInt64, amount UInt32) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id;\n"
        // other rows in the backed-up months, and a month the backup does not have
        + "INSERT INTO " + dst + ".orders SELECT toDate('2026-01-01') + number % 120, number + 100000, 1"
        + " FROM system.numbers LIMIT 1200");
    String april = fingerprint(s, dst + ".orders", ORDERS, "202604");
    String march = fingerprint(s, dst + ".orders", ORDERS, "202603");
    ClickHouseRestoreStatus status = restore(s, "data", spec -> {
      spec.databaseMapping = Map.of(src, dst);
      spec.tables = List.of("orders", "customers");
      spec.dataOnly = true;
      spec.mode = ClickHouseRestoreSpec.Mode.replacePartitions;
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.to = "202602";
    });
    assertEquals(Phase.Failed, status.phase, "the missing table fails the run");
    assertThat(message(status)).contains(src + ".customers").contains("does not exist").contains("dataOnly");
    assertThat(table(status, src + ".customers")).satisfies(t -> {
      assertEquals("Failed", t.outcome);
      assertEquals(Boolean.FALSE, t.targetExisted);
    });
    assertEquals("0", s.sql().apply("SELECT count() FROM system.tables WHERE database = '" + dst + "' AND name ="
        + " 'customers'"), "dataOnly creates nothing");
    assertThat(table(status, src + ".orders")).satisfies(t -> {
      assertEquals("Restored", t.outcome);
      assertEquals(Boolean.TRUE, t.targetExisted);
      assertEquals(2, t.partitions);
      assertEquals(1, t.partitionsSkipped);
    });
    assertEquals(fingerprint(s, src + ".orders", ORDERS, "202601", "202602"),
        fingerprint(s, dst + ".orders", ORDERS, "202601", "202602"), "the backed-up partitions replaced");
    assertEquals(march, fingerprint(s, dst + ".orders", ORDERS, "202603"), "a partition left out is untouched");
    assertEquals(april, fingerprint(s, dst + ".orders", ORDERS, "202604"), "a partition not in the backup too");
    assertEquals(Boolean.TRUE, status.applied.dataOnly);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void aMappingOntoAnExistingTableIsRefusedSkippedOrReplacedByMode(Server s) {
    prepare(s);
    String src = db(s, "src");
    String dst = db(s, "onto");
    fresh(s, dst);
    CompleteBackupIT.run(s, "CREATE DATABASE " + dst + ";\n"
        + "CREATE TABLE " + dst + ".kept (d Date, id UInt64, amount UInt32) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id;\n"
        + "INSERT INTO " + dst + ".kept VALUES ('2026-01-05', 1, 1), ('2026-04-05', 2, 2)");
    String existing = fingerprint(s, dst + ".kept", ORDERS);
    Consumer<ClickHouseRestoreSpec> onto = spec -> {
      spec.tables = List.of("orders");
      spec.tableMapping = Map.of(src + ".orders", dst + ".kept");
    };
    ClickHouseRestoreStatus refused = restore(s, "onto-refused", onto.andThen(spec -> spec.mode
        = ClickHouseRestoreSpec.Mode.failIfExists));
    assertEquals(Phase.Failed, refused.phase);
    assertThat(refused.tables).singleElement().satisfies(t -> {
      assertEquals("Failed", t.outcome);
      assertEquals(dst + ".kept", t.target);
      assertEquals(Boolean.TRUE, t.targetExisted);
      assertThat(t.message).contains("exists and mode is failIfExists");
    });
    assertEquals(existing, fingerprint(s, dst + ".kept", ORDERS));

    ClickHouseRestoreStatus skipped = restore(s, "onto-skipped", onto);
    assertEquals(Phase.Succeeded, skipped.phase);
    assertThat(skipped.tables).singleElement().satisfies(t -> assertEquals("Skipped", t.outcome));
    assertEquals(existing, fingerprint(s, dst + ".kept", ORDERS));

    ClickHouseRestoreStatus replaced = restore(s, "onto-replaced", onto.andThen(spec -> spec.mode
        = ClickHouseRestoreSpec.Mode.replacePartitions));
    assertEquals(Phase.Succeeded, replaced.phase, () -> Serialization.asJson(replaced));
    assertThat(replaced.tables).singleElement().satisfies(t -> {
      assertEquals("Restored", t.outcome);
      assertEquals(Boolean.TRUE, t.targetExisted);
    });
    assertEquals(fingerprint(s, src + ".orders", ORDERS), fingerprint(s, dst + ".kept", ORDERS, "202601", "202602",
        "202603"));
    assertEquals("1", s.sql().apply("SELECT count() FROM " + dst + ".kept WHERE _partition_id = '202604'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void aMappingOfWhatTheBackupDoesNotHoldFailsNamingWhatItHolds(Server s) {
    prepare(s);
    ClickHouseRestoreStatus status = restore(s, "no-such", spec -> {
      spec.targetDatabase = db(s, "never");
      spec.tableMapping = Map.of(db(s, "src") + ".nosuch", "other");
    });
    assertEquals(Phase.Failed, status.phase);
    assertThat(message(status)).contains("spec.tableMapping names " + db(s, "src") + ".nosuch")
        .contains(db(s, "src") + ".orders");
    assertEquals("0", s.sql().apply("SELECT count() FROM system.databases WHERE name = '" + db(s, "never") + "'"));
  }

  /** The native method on 26.7: RESTORE TABLE ... AS another name, PARTITIONS by id, structure_only for schemaOnly. */
  @Test
  void theNativeMethodMapsAndFiltersPartitions() {
    ChdbServer ch = ChdbServer.shared();
    Server s = new Server("26.7", ch.httpUrl(), ch::sql, true);
    String src = "rmn_src";
    CompleteBackupIT.run(s, "DROP DATABASE IF EXISTS " + src + ";\n"
        + "DROP DATABASE IF EXISTS rmn_dst;\n"
        + "CREATE DATABASE " + src + ";\n"
        + "CREATE TABLE " + src + ".orders (d Date, id UInt64, amount UInt32) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id;\n"
        + "INSERT INTO " + src + ".orders SELECT toDate('2026-01-01') + number % 90, number, number % 1000"
        + " FROM system.numbers LIMIT 3000");
    BackupStorage disk = Specs.volume(ch.backupsDiskPath());
    disk.volume.clickhouseDisk = ch.backupsDisk();
    ClickHouseBackupSpec spec = Specs.backupSpec(disk, src);
    spec.connectionRef = new ConnectionRef("modern");
    spec.method = ClickHouseBackupSpec.NATIVE;
    harness.client().resource(Specs.backup(NS, "native", spec)).create();
    await().atMost(Duration.ofSeconds(90)).until(() -> harness.client().resources(ClickHouseBackup.class)
        .inNamespace(NS).withName("native").get(), b -> b.getStatus() != null
        && b.getStatus().phase == ClickHouseBackupStatus.Phase.Succeeded);

    ClickHouseRestore mapped = Specs.restore(NS, "native-mapped", "native", null);
    mapped.getSpec().connectionRef = new ConnectionRef("modern");
    mapped.getSpec().tableMapping = Map.of(src + ".orders", "rmn_dst.picked");
    mapped.getSpec().partitions = new ClickHouseRestoreSpec.Partitions();
    mapped.getSpec().partitions.ids = List.of("202601", "202603");
    ClickHouseRestoreStatus status = awaitRestore(mapped);
    assertEquals(Phase.Succeeded, status.phase, () -> Serialization.asJson(status));
    assertEquals("native", status.method);
    assertEquals(fingerprint(s, src + ".orders", ORDERS, "202601", "202603"), fingerprint(s, "rmn_dst.picked",
        ORDERS));
    // the backup also holds the shared server's user-defined functions (other tests' ones): they exist, skipped
    assertThat(status.tables).filteredOn(t -> !t.source.startsWith("function ")).singleElement().satisfies(t -> {
      assertEquals("rmn_dst.picked", t.target);
      assertEquals(2, t.partitions);
      assertEquals(1, t.partitionsSkipped);
    });

    ClickHouseRestore schema = Specs.restore(NS, "native-schema", "native", null);
    schema.getSpec().connectionRef = new ConnectionRef("modern");
    schema.getSpec().tableMapping = Map.of(src + ".orders", "rmn_dst.empty");
    schema.getSpec().schemaOnly = true;
    ClickHouseRestoreStatus empty = awaitRestore(schema);
    assertEquals(Phase.Succeeded, empty.phase, () -> Serialization.asJson(empty));
    assertEquals("0", s.sql().apply("SELECT count() FROM rmn_dst.empty"));

    ClickHouseRestore data = Specs.restore(NS, "native-data", "native", null);
    data.getSpec().connectionRef = new ConnectionRef("modern");
    data.getSpec().tableMapping = Map.of(src + ".orders", "rmn_dst.empty");
    data.getSpec().dataOnly = true;
    data.getSpec().mode = ClickHouseRestoreSpec.Mode.replacePartitions;
    ClickHouseRestoreStatus refused = awaitRestore(data);
    assertEquals(Phase.Failed, refused.phase);
    assertThat(refused.tables).singleElement().satisfies(t -> assertThat(t.message).contains("dataOnly")
        .contains("native"));
    assertEquals("0", s.sql().apply("SELECT count() FROM rmn_dst.empty"), "nothing loaded");
  }
}
