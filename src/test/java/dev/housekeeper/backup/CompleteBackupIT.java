package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.backup.storage.FileObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.HttpClickHouseClient;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.ClickHouseServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A logical backup of a whole database holds every object in it, and its restore into another
 * database brings them all back, on ClickHouse 18.16 and on 26.7 (the chDB server): a MergeTree
 * table, a Log table, a data-less table, views (one on another), a materialized view with its own
 * inner table and one writing TO a table, and on 26.7 a dictionary.
 */
class CompleteBackupIT {

  /** A server and a way to run SQL on it other than the operator's client. */
  record Server(String name, String httpUrl, UnaryOperator<String> sql, boolean modern) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> servers() {
    ClickHouseServer old = ClickHouseServer.shared();
    ChdbServer modern = ChdbServer.shared();
    return Stream.of(Arguments.of(new Server("18.16", old.httpUrl(), old::sql, false)),
        Arguments.of(new Server("26.7", modern.httpUrl(), modern::sql, true)));
  }

  static void run(Server server, String statements) {
    for (String statement : statements.split(";\n")) {
      if (!statement.isBlank()) {
        server.sql().apply(statement);
      }
    }
  }

  /** A database holding one object of every kind, with data flowing through both materialized views. */
  static void createSource(Server s, String db) {
    run(s, "DROP DATABASE IF EXISTS " + db + ";\n"
        + "CREATE DATABASE " + db + ";\n"
        + "CREATE TABLE " + db + ".orders (d Date, id UInt64, amount UInt32) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id;\n"
        + "CREATE TABLE " + db + ".events_log (id UInt64, s String) ENGINE = Log;\n"
        + "CREATE TABLE " + db + ".sink (x UInt8) ENGINE = Null;\n"
        + "CREATE MATERIALIZED VIEW " + db + ".daily ENGINE = SummingMergeTree PARTITION BY toYYYYMM(d) ORDER BY d"
        + " AS SELECT d, sum(amount) AS total FROM " + db + ".orders GROUP BY d;\n"
        + "CREATE TABLE " + db + ".totals (d Date, n UInt64) ENGINE = SummingMergeTree ORDER BY d;\n"
        + "CREATE MATERIALIZED VIEW " + db + ".counter TO " + db + ".totals AS SELECT d, count() AS n FROM " + db
        + ".orders GROUP BY d;\n"
        + "CREATE VIEW " + db + ".big AS SELECT id, amount FROM " + db + ".orders WHERE amount > 500;\n"
        // named so that it comes before the view it reads: its first try fails, the retry after big succeeds
        + "CREATE VIEW " + db + ".a_on_big AS SELECT count() AS n, sum(amount) AS s FROM " + db + ".big;\n"
        + "INSERT INTO " + db + ".orders SELECT toDate('2026-01-01') + number % 90, number, (number * 7919) % 1000"
        + " FROM system.numbers LIMIT 3000;\n"
        + "INSERT INTO " + db + ".events_log SELECT number, concat('e', toString(number)) FROM system.numbers"
        + " LIMIT 100");
    // names the server holds that are no plain identifier: a back-quote, a quote, a space, a backslash, Cyrillic
    run(s, "CREATE TABLE " + db + "." + ODD + " (k UInt64, v String) ENGINE = MergeTree ORDER BY k;\n"
        + "INSERT INTO " + db + "." + ODD + " SELECT number, concat('v', toString(number)) FROM system.numbers"
        + " LIMIT 50;\n"
        + "CREATE VIEW " + db + "." + Identifiers.quote("вид") + " AS SELECT count() AS n FROM " + db + "." + ODD);
    if (s.modern()) {
      run(s, "CREATE DICTIONARY " + db + ".amounts (id UInt64, amount UInt32) PRIMARY KEY id"
          + " SOURCE(CLICKHOUSE(TABLE 'orders' DB '" + db + "')) LIFETIME(0) LAYOUT(FLAT())");
    }
  }

  /** A table name with a back-quote, a quote, a backslash, a space and Cyrillic, quoted by the one quoting function. */
  static final String ODD = Identifiers.quote("odd `name' \\ имя");

  /** Per partition: rows and an order-independent content hash. */
  static String fingerprint(Server s, String db, String table, String columns) {
    String partition = table.equals("events_log") ? "'all'" : "_partition_id";
    return s.sql().apply("SELECT " + partition + " AS p, count(), sum(cityHash64(" + columns + ")) FROM " + db + "."
        + table + " GROUP BY p ORDER BY p");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void everyObjectOfADatabaseIsBackedUpAndRestoredIntoAnotherDatabase(Server s) throws Exception {
    String src = "cb_src";
    String dst = "cb_dst";
    createSource(s, src);
    s.sql().apply("DROP DATABASE IF EXISTS " + dst);
    if (s.modern()) { // a user-defined function (the server's, not the database's) and a view that calls it
      run(s, "DROP FUNCTION IF EXISTS cb_double;\n"
          + "CREATE FUNCTION cb_double AS (x) -> x * 2;\n"
          + "CREATE VIEW " + src + ".doubled AS SELECT sum(cb_double(amount)) AS a FROM " + src + ".orders");
    }
    Path dir = Files.createTempDirectory("hk-complete-");
    try (ClickHouseClient client = new HttpClickHouseClient(ClientConfig.of(List.of(s.httpUrl()),
        ClickHouseServer.USER, ClickHouseServer.PASSWORD).withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(120)));
        FileObjectStore store = new FileObjectStore(dir)) {
      List<String> skipped = new ArrayList<>();
      BackupScope.Found found = BackupScope.resolve(client, List.of(src), List.of(), skipped);
      ServerObjects.Found server = new ServerObjects(client).read(List.of(), s.modern() ? "26.7" : "18.16");
      Manifest m = new LogicalBackup(client, store, Compression.zstd, p -> { }).serverObjects(server)
          .run("complete-1", found, false);

      Map<String, Integer> expected = new TreeMap<>(Map.of("table", 4, "schemaOnlyTable", 1, "view", 3,
          "materializedView", 2));
      if (s.modern()) {
        expected.put("dictionary", 1);
        expected.put("view", 4);
        expected.put("function", 1);
      } else {
        assertThat(server.notHeld()).contains("user-defined functions: ClickHouse 18.16 has none (CREATE FUNCTION"
            + " came in 21.10)");
      }
      assertEquals(expected, m.kinds(), "objects by kind; skipped: " + skipped);
      assertThat(skipped).isEmpty();
      // each object records what it reads and writes, and the restore creates it after them
      Map<String, List<String>> deps = new TreeMap<>();
      m.objects.forEach(o -> deps.put(o.name, o.dependsOn));
      assertEquals(List.of(src + ".orders"), deps.get("big"));
      assertEquals(List.of(src + ".big"), deps.get("a_on_big"));
      assertEquals(List.of(src + ".orders"), deps.get("daily"));
      assertThat(deps.get("counter")).containsExactlyInAnyOrder(src + ".orders", src + ".totals");
      assertEquals(List.of(src + ".odd `name' \\ имя"), deps.get("вид"));
      assertEquals(List.of(), deps.get("sink"));
      if (s.modern()) {
        assertEquals(List.of(src + ".orders"), deps.get("amounts"), "a dictionary's ClickHouse source");
        // the function comes back from the backup, not from the server it never left
        s.sql().apply("DROP FUNCTION cb_double");
      }
      assertThat(m.tables).filteredOn(t -> "daily".equals(t.innerOf)).singleElement()
          .satisfies(t -> assertThat(t.table).startsWith(".inner"));

      var results = new LogicalRestore(client, store, p -> { }).run("complete-1", dst, Set.of(),
          LogicalRestore.Mode.failIfExists);
      assertThat(results).allMatch(r -> r.state() == RestoreTable.State.Restored, results.toString());
    }
    Files.walk(dir).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());

    // every table's content, per partition; the inner table's through its view
    assertEquals(fingerprint(s, src, "orders", "d, id, amount"), fingerprint(s, dst, "orders", "d, id, amount"));
    assertEquals(fingerprint(s, src, "events_log", "id, s"), fingerprint(s, dst, "events_log", "id, s"));
    assertEquals(fingerprint(s, src, "totals", "d, n"), fingerprint(s, dst, "totals", "d, n"));
    String daily = "SELECT d, sum(total) FROM %s.daily GROUP BY d ORDER BY d";
    assertEquals(s.sql().apply(daily.formatted(src)), s.sql().apply(daily.formatted(dst)));
    assertThat(s.sql().apply(daily.formatted(dst)).lines().count()).isEqualTo(90);
    // the views answer the same queries
    assertEquals(s.sql().apply("SELECT count(), sum(amount) FROM " + src + ".big"),
        s.sql().apply("SELECT count(), sum(amount) FROM " + dst + ".big"));
    assertEquals(s.sql().apply("SELECT n, s FROM " + src + ".a_on_big"),
        s.sql().apply("SELECT n, s FROM " + dst + ".a_on_big"));
    assertEquals("0", s.sql().apply("SELECT count() FROM " + dst + ".sink"));
    assertEquals(s.sql().apply("SELECT count(), sum(cityHash64(k, v)) FROM " + src + "." + ODD),
        s.sql().apply("SELECT count(), sum(cityHash64(k, v)) FROM " + dst + "." + ODD));
    assertEquals("50", s.sql().apply("SELECT n FROM " + dst + "." + Identifiers.quote("вид")));
    if (s.modern()) {
      assertEquals("CREATE FUNCTION cb_double AS x -> (x * 2)", s.sql().apply("SELECT create_query FROM"
          + " system.functions WHERE name = 'cb_double'"));
      assertEquals(s.sql().apply("SELECT a FROM " + src + ".doubled"), s.sql().apply("SELECT a FROM " + dst
          + ".doubled"));
      assertEquals(s.sql().apply("SELECT dictGet('" + src + ".amounts', 'amount', toUInt64(42))"),
          s.sql().apply("SELECT dictGet('" + dst + ".amounts', 'amount', toUInt64(42))"));
    }

    // a row inserted into the restored source reaches the restored views, and not the originals
    String before = s.sql().apply(daily.formatted(src));
    String totalsBefore = s.sql().apply("SELECT sum(n) FROM " + src + ".totals");
    s.sql().apply("INSERT INTO " + dst + ".orders VALUES ('2026-01-01', 99999, 1000)");
    assertEquals(before, s.sql().apply(daily.formatted(src)), "the original view is untouched");
    assertEquals(totalsBefore, s.sql().apply("SELECT sum(n) FROM " + src + ".totals"));
    assertEquals(Long.parseLong(s.sql().apply("SELECT sum(total) FROM " + src + ".daily WHERE d = '2026-01-01'"))
        + 1000, Long.parseLong(s.sql().apply("SELECT sum(total) FROM " + dst + ".daily WHERE d = '2026-01-01'")));
    assertEquals(Long.parseLong(totalsBefore) + 1, Long.parseLong(s.sql().apply("SELECT sum(n) FROM " + dst
        + ".totals")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void scopeKindsSelectsObjectsByKindAndAViewKeepsItsInnerTable(Server s) throws Exception {
    createSource(s, "cb_kinds");
    try (ClickHouseClient client = new HttpClickHouseClient(ClientConfig.of(List.of(s.httpUrl()),
        ClickHouseServer.USER, ClickHouseServer.PASSWORD))) {
      List<String> skipped = new ArrayList<>();
      BackupScope.Found views = BackupScope.resolve(client, List.of("cb_kinds"), List.of(),
          List.of("view", "materializedView"), skipped);
      assertThat(views.objects()).extracting(o -> o.kind() + ":" + o.name()).containsExactlyInAnyOrder(
          "view:big", "view:a_on_big", "view:вид", "materializedView:daily", "materializedView:counter");
      assertThat(views.tables()).singleElement().satisfies(t -> assertThat(views.innerOf()).containsEntry(t,
          "daily"));
      BackupScope.Found tables = BackupScope.resolve(client, List.of("cb_kinds"), List.of(), List.of("table"),
          skipped);
      assertThat(tables.objects()).isEmpty();
      assertThat(tables.tables()).extracting(LogicalBackup.TableRef::table).containsExactlyInAnyOrder("orders",
          "events_log", "totals", "odd `name' \\ имя");
    }
  }

  /**
   * Access entities are backed up only when asked for; a server without access control by SQL
   * (18.16) says so in words, and one whose user may not read them fails the backup with what grant
   * is missing (the chDB server's user has none of the SHOW grants).
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void accessEntitiesAreSaidInWordsWhereTheServerCannotGiveThem(Server s) throws Exception {
    try (ClickHouseClient client = new HttpClickHouseClient(ClientConfig.of(List.of(s.httpUrl()),
        ClickHouseServer.USER, ClickHouseServer.PASSWORD))) {
      ServerObjects objects = new ServerObjects(client);
      assertThat(objects.read(List.of("table"), "x").notHeld()).contains("access entities: not asked for (add"
          + " accessEntity to spec.scope.kinds to back up users, roles, grants, row policies, quotas and settings"
          + " profiles)");
      if (s.modern()) {
        assertThatThrownBy(() -> objects.read(List.of("accessEntity"), "26.7"))
            .hasMessageContaining("spec.scope.kinds asks for access entities, but the connection's user may not"
                + " read them").hasMessageContaining("SHOW USERS");
      } else {
        ServerObjects.Found found = objects.read(List.of("accessEntity"), "18.16");
        assertThat(found.access()).isEmpty();
        assertThat(found.functions()).isEmpty();
        assertThat(found.notHeld()).containsExactly("access entities: ClickHouse 18.16 has no access control by SQL"
            + " (its users are defined in its configuration files, which a backup of the server's SQL objects does"
            + " not hold)");
      }
    }
  }
}
