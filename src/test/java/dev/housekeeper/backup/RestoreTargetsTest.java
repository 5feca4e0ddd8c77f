package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.common.ConnectionRef;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Where a restore puts what, and which of it: mappings, partition filters, schemaOnly and dataOnly,
 * the names a view's DDL refers to, a replicated table's ZooKeeper path, and the checks made before
 * anything is touched. Pure rules, no server.
 */
class RestoreTargetsTest {

  /** Backup shop-1: shop.orders (3 months), shop.customers (whole), a view, a materialized view with its inner table. */
  @Test
  void aDistributedTablesLocalTableFollowsTheMappings() {
    var t = targets(spec -> spec.databaseMapping = Map.of("shop", "shop2"));
    // 18.16 and 26.x show the local table's database and name as literals; a spec may have written identifiers
    SchemaText shown = SchemaText.parse("CREATE TABLE shop.orders_all (d Date, id UInt64) ENGINE ="
        + " Distributed('c1', 'shop', 'orders', rand())");
    assertEquals("(d Date, id UInt64) ENGINE = Distributed('c1', 'shop2', 'orders', rand())", shown.restMoved(t::moved));
    SchemaText written = SchemaText.parse("CREATE TABLE shop.orders_all (d Date) ENGINE = Distributed(c1, shop,"
        + " orders)");
    var renamed = targets(spec -> spec.tableMapping = Map.of("shop.orders", "other.orders_r"));
    assertEquals("(d Date) ENGINE = Distributed(c1, 'other', 'orders_r')", written.restMoved(renamed::moved));
    SchemaText elsewhere = SchemaText.parse("CREATE TABLE shop.x_all (d Date) ENGINE = Distributed(c1, 'logs', 'x')");
    assertEquals("(d Date) ENGINE = Distributed(c1, 'logs', 'x')", elsewhere.restMoved(t::moved),
        "a database outside the backup stays");
  }

  static Manifest manifest() {
    Manifest m = new Manifest();
    m.backupId = "shop-1";
    m.tables.add(table("shop", "orders", null, "202601", "202602", "202603"));
    m.tables.add(table("shop", "customers", null, "all"));
    m.tables.add(table("shop", ".inner.daily", "daily", "202601", "202602", "202603"));
    m.objects.add(object("view", "shop", "big"));
    m.objects.add(object("materializedView", "shop", "daily"));
    return m;
  }

  static Manifest.TableEntry table(String db, String name, String innerOf, String... partitions) {
    var t = new Manifest.TableEntry();
    t.database = db;
    t.table = name;
    t.innerOf = innerOf;
    for (String id : partitions) {
      var p = new Manifest.PartitionEntry();
      p.partitionId = id;
      p.rows = 10;
      t.partitions.add(p);
    }
    return t;
  }

  static Manifest.ObjectEntry object(String kind, String db, String name) {
    var o = new Manifest.ObjectEntry();
    o.kind = kind;
    o.database = db;
    o.name = name;
    return o;
  }

  static RestoreTargets targets(Consumer<ClickHouseRestoreSpec> more) {
    var spec = new ClickHouseRestoreSpec();
    more.accept(spec);
    return RestoreTargets.of(manifest(), spec, Set.of());
  }

  static Manifest.TableEntry entry(String name) {
    return manifest().tables.stream().filter(t -> t.table.equals(name)).findFirst().orElseThrow();
  }

  @Test
  void aTableMappingWinsOverTheDatabaseMappingWhichWinsOverItsOwnDatabase() {
    var t = targets(spec -> {
      spec.databaseMapping = Map.of("shop", "shop2");
      spec.tableMapping = Map.of("shop.orders", "archive.orders_2026", "shop.customers", "clients");
    });
    assertEquals(new RestoreTargets.Target("archive", "orders_2026"), t.target(entry("orders")));
    assertEquals(new RestoreTargets.Target("shop2", "clients"), t.target(entry("customers")),
        "a bare table name goes to the database the table goes to anyway");
    assertEquals(new RestoreTargets.Target("shop2", "big"), t.target("shop", "big"));
    assertEquals(new RestoreTargets.Target("other", "x"), t.target("other", "x"), "a database not mapped stays");
    var into = targets(spec -> spec.targetDatabase = "restored");
    assertEquals(new RestoreTargets.Target("restored", "orders"), into.target(entry("orders")));
  }

  @Test
  void partitionsByIdsRangeOrSchemaOnly() {
    var byIds = targets(spec -> {
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("202601", "202603");
    });
    assertThat(byIds.partitions(entry("orders"))).extracting(p -> p.partitionId).containsExactly("202601", "202603");
    assertThat(byIds.partitions(entry("customers"))).as("a whole table's one partition is all").isEmpty();
    var range = targets(spec -> {
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.from = "202602";
    });
    assertThat(range.partitions(entry("orders"))).extracting(p -> p.partitionId).containsExactly("202602", "202603");
    var both = targets(spec -> {
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("202601", "202603");
      spec.partitions.to = "202602";
    });
    assertThat(both.partitions(entry("orders"))).extracting(p -> p.partitionId).containsExactly("202601");
    assertThat(targets(spec -> spec.schemaOnly = true).partitions(entry("orders"))).isEmpty();
    assertThat(targets(spec -> { }).partitions(entry("customers"))).hasSize(1);
    assertThat(range.partitions(entry("customers"))).as("a range is of partition keys: all is not in it").isEmpty();
    var whole = targets(spec -> {
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("all");
    });
    assertThat(whole.partitions(entry("customers"))).hasSize(1);
    assertThat(whole.partitions(entry("orders"))).isEmpty();
  }

  @Test
  void appliedShowsTheMappingsInEffectAndThePartitionsSelectedAndSkipped() {
    var applied = targets(spec -> {
      spec.targetDatabase = "restored";
      spec.tableMapping = Map.of("shop.orders", "orders_copy");
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("202601");
    }).applied();
    assertEquals(Map.of("shop", "restored"), applied.databaseMapping);
    assertEquals(Map.of("shop.orders", "restored.orders_copy"), applied.tableMapping);
    assertEquals("ids [202601]", applied.partitions);
    assertEquals(2, applied.partitionsSelected, "orders' and the view's inner table's 202601");
    assertEquals(5, applied.partitionsSkipped);
    assertEquals(null, applied.schemaOnly);
    var plain = targets(spec -> spec.dataOnly = true).applied();
    assertEquals(null, plain.databaseMapping);
    assertEquals(null, plain.tableMapping);
    assertEquals(Boolean.TRUE, plain.dataOnly);
    assertEquals(7, plain.partitionsSelected);
  }

  @Test
  void aMappingOfWhatTheBackupDoesNotHoldFailsNamingWhatItHolds() {
    IOException db = assertThrows(IOException.class, () -> targets(spec -> spec.databaseMapping = Map.of("shopp",
        "x")).check());
    assertThat(db.getMessage()).contains("spec.databaseMapping names database shopp").contains("backup shop-1")
        .contains("[shop]");
    IOException table = assertThrows(IOException.class, () -> targets(spec -> spec.tableMapping = Map.of(
        "shop.order", "shop.x")).check());
    assertThat(table.getMessage()).contains("spec.tableMapping names shop.order").contains("shop.orders")
        .contains("shop.customers").contains("shop.big").doesNotContain(".inner");
    IOException unselected = assertThrows(IOException.class, () -> targets(spec -> {
      spec.tables = List.of("customers");
      spec.tableMapping = Map.of("shop.orders", "shop.x");
    }).check());
    assertThat(unselected.getMessage()).contains("shop.orders, which spec.tables does not select");
    IOException clash = assertThrows(IOException.class, () -> targets(spec -> spec.tableMapping = Map.of(
        "shop.orders", "shop.customers")).check());
    assertThat(clash.getMessage()).contains("would be restored as shop.customers");
    IOException none = assertThrows(IOException.class, () -> targets(spec -> {
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.from = "2030";
    }).check());
    assertThat(none.getMessage()).contains("selects no partition of backup shop-1")
        .contains("[202601, 202602, 202603, all]");
  }

  @Test
  void aViewsReferencesFollowTheMappings() {
    var t = targets(spec -> {
      spec.databaseMapping = Map.of("shop", "shop2");
      spec.tableMapping = Map.of("shop.orders", "shop2.orders_r", "shop.names", "names_r");
    });
    SchemaText view = SchemaText.parse("CREATE VIEW shop.big AS SELECT id, dictGet('shop.names', 'n', id) AS n"
        + " FROM shop.orders AS o JOIN `shop`.`customers` USING id JOIN other.t USING id WHERE o.x = 'shop.orders'"
        + " AND id IN (SELECT id FROM system.numbers)");
    assertEquals("AS SELECT id, dictGet('shop2.names_r', 'n', id) AS n FROM `shop2`.`orders_r` AS o JOIN"
        + " `shop2`.`customers` USING id JOIN other.t USING id WHERE o.x = 'shop2.orders_r' AND id IN (SELECT id FROM"
        + " system.numbers)", view.restMoved(t::moved));
    SchemaText dictionary = SchemaText.parse("CREATE DICTIONARY shop.names (id UInt64, n String) PRIMARY KEY id"
        + " SOURCE(CLICKHOUSE(TABLE 'customers' DB 'shop')) LIFETIME(0) LAYOUT(FLAT())");
    assertThat(dictionary.restMoved(t::moved)).contains("TABLE 'customers' DB 'shop2'");
    var renamed = targets(spec -> spec.tableMapping = Map.of("shop.customers", "other.clients"));
    assertThat(dictionary.restMoved(renamed::moved)).contains("TABLE 'clients' DB 'other'");
    SchemaText odd = SchemaText.parse("CREATE VIEW shop.v AS SELECT * FROM `shop`.`we\\`ird na.me`");
    assertEquals("AS SELECT * FROM `shop2`.`we\\`ird na.me`", odd.restMoved(t::moved),
        "a dot inside a quoted name is part of the name");
  }

  @Test
  void aReplicatedTablesPathMovesWithItsDatabaseAndName() {
    String body = "(`id` UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/shop/orders', '{replica}')"
        + " ORDER BY id";
    assertThat(RestoreTargets.movePath(body, "shop", "orders", "shop", "orders_copy"))
        .contains("'/clickhouse/tables/{shard}/shop/orders_copy'");
    assertThat(RestoreTargets.movePath(body, "shop", "orders", "dst", "o2"))
        .contains("'/clickhouse/tables/{shard}/dst/o2'");
    assertThat(RestoreTargets.movePath(body.replace("/shop/orders", "/t"), "shop", "orders", "dst", "o2"))
        .as("a path that names neither gets both added, beside the original's path, not under it")
        .contains("'/clickhouse/tables/{shard}/t-dst-o2'");
    String same = "ENGINE = ReplicatedMergeTree('/ch/shop/shop', '{replica}')";
    assertThat(RestoreTargets.movePath(same, "shop", "shop", "dst", "shop")).contains("'/ch/dst/shop'");
    assertThat(RestoreTargets.movePath(same, "shop", "shop", "dst", "t")).contains("'/ch/dst/t'");
    String uuid = "ENGINE = ReplicatedMergeTree('/ch/{uuid}/{shard}', '{replica}')";
    assertEquals(uuid, RestoreTargets.movePath(uuid, "shop", "orders", "dst", "o2"), "already unique");
    assertThat(RestoreTargets.stagingPath(body, "shop", "orders", new RestoreTargets.Target("shop", "orders"),
        "_hk_restore_orders")).contains("'/clickhouse/tables/{shard}/shop/orders-_hk_restore_orders'");
  }

  // ---- validation

  static ClickHouseRestoreSpec valid() {
    var spec = new ClickHouseRestoreSpec();
    spec.connectionRef = new ConnectionRef("ch");
    spec.source = new ClickHouseRestoreSpec.Source();
    spec.source.backupName = "nightly";
    return spec;
  }

  static List<String> problems(Consumer<ClickHouseRestoreSpec> more) {
    var spec = valid();
    more.accept(spec);
    return RestoreValidation.validate(spec);
  }

  @Test
  void validMappingsAndFiltersPass() {
    assertThat(problems(spec -> {
      spec.databaseMapping = Map.of("shop", "shop2");
      spec.tableMapping = Map.of("shop.orders", "shop2.orders_r", "shop.customers", "clients");
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("202601", "all", "1-2_a");
      spec.partitions.from = "202601";
      spec.partitions.to = "202612";
    })).isEmpty();
    assertThat(problems(spec -> {
      spec.dataOnly = true;
      spec.mode = ClickHouseRestoreSpec.Mode.replacePartitions;
    })).isEmpty();
    assertThat(problems(spec -> spec.schemaOnly = true)).isEmpty();
  }

  @Test
  void schemaOnlyAndDataOnlyTogetherAreRefused() {
    assertThat(problems(spec -> {
      spec.schemaOnly = true;
      spec.dataOnly = true;
      spec.mode = ClickHouseRestoreSpec.Mode.replacePartitions;
    })).singleElement().asString().contains("spec.schemaOnly and spec.dataOnly exclude each other");
    assertThat(problems(spec -> spec.dataOnly = true)).singleElement().asString()
        .contains("spec.dataOnly needs mode replacePartitions");
    assertThat(problems(spec -> {
      spec.schemaOnly = true;
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("202601");
    })).singleElement().asString().contains("schemaOnly does not restore");
  }

  @Test
  void mappingKeysAndValuesMustBeNames() {
    // any name ClickHouse can hold is a name (a hyphen, a back-quote); one it cannot (a control character) is not
    assertThat(problems(spec -> spec.databaseMapping = Map.of("shop", "bad-db"))).isEmpty();
    assertThat(problems(spec -> spec.databaseMapping = Map.of("shop", "bad\ndb"))).singleElement().asString()
        .contains("spec.databaseMapping: \"shop\" to \"bad\\u000adb\" is not a database name");
    assertThat(problems(spec -> spec.tableMapping = Map.of("orders", "shop.x"))).singleElement().asString()
        .contains("spec.tableMapping: \"orders\" to \"shop.x\" is not database.table");
    assertThat(problems(spec -> spec.tableMapping = Map.of("shop.orders", "a.b.c"))).as("table b.c in a").isEmpty();
    assertThat(problems(spec -> spec.tableMapping = Map.of("shop.orders", "`a`b.c"))).hasSize(1);
    assertThat(problems(spec -> spec.tableMapping = Map.of("shop.orders", "shop.x\u0000"))).hasSize(1);
    assertThat(problems(spec -> spec.tableMapping = Map.of("shop.a", "shop.x", "shop.b", "shop.x")))
        .singleElement().asString().contains("maps both").contains("to shop.x");
  }

  @Test
  void targetDatabaseAndDatabaseMappingTogetherAreRefused() {
    assertThat(problems(spec -> {
      spec.targetDatabase = "restored";
      spec.databaseMapping = Map.of("shop", "shop2");
    })).singleElement().asString().contains("spec.targetDatabase and spec.databaseMapping: give one");
    assertThat(problems(spec -> {
      spec.targetDatabase = "restored";
      spec.tableMapping = Map.of("shop.orders", "orders_r");
    })).as("tableMapping goes with targetDatabase").isEmpty();
  }

  @Test
  void aPartitionFilterIsPartitionIds() {
    assertThat(problems(spec -> spec.partitions = new ClickHouseRestoreSpec.Partitions())).singleElement()
        .asString().contains("give ids, from or to");
    assertThat(problems(spec -> {
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.ids = List.of("2026'01");
    })).singleElement().asString().contains("\"2026'01\" is not a partition id");
    assertThat(problems(spec -> {
      spec.partitions = new ClickHouseRestoreSpec.Partitions();
      spec.partitions.from = "202605";
      spec.partitions.to = "202601";
    })).singleElement().asString().contains("from 202605 comes after to 202601");
  }
}
