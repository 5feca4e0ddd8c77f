package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.backup.storage.FileObjectStore;
import dev.housekeeper.testing.FakeClickHouseClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Access entities created by SQL, on a server that has them (a real 22.x+ server with a
 * local_directory access storage; none of the servers here has one: 18.16 has no access control by
 * SQL, and chDB keeps users in its configuration only), scripted: what is read, what is stored, and
 * the statements a restore sends, in order.
 */
class ServerObjectsTest {

  static FakeClickHouseClient serverWithAccess() {
    return new FakeClickHouseClient()
        .answer("FROM system.settings_profiles", List.of(Map.of("name", "default", "storage", "users_xml")))
        .answer("FROM system.roles", List.of(Map.of("name", "analyst", "storage", "local_directory")))
        .answer("FROM system.users", List.of(Map.of("name", "default", "storage", "users_xml"),
            Map.of("name", "ann", "storage", "local_directory")))
        .answer("FROM system.quotas", List.of())
        .answer("FROM system.row_policies", List.of(Map.of("name", "eu_only", "database", "shop", "table", "orders",
            "storage", "replicated")))
        .answer("FROM system.functions", List.of(Map.of("name", "twice", "create_query",
            "CREATE FUNCTION twice AS x -> (x * 2)")))
        .answer("SHOW CREATE ROLE `analyst`", List.of(Map.of("CREATE ROLE analyst", "CREATE ROLE analyst")))
        .answer("SHOW GRANTS FOR `analyst`", List.of(Map.of("GRANTS FOR analyst", "GRANT SELECT ON shop.* TO analyst")))
        .answer("SHOW CREATE USER `ann`", List.of(Map.of("CREATE USER ann",
            "CREATE USER ann IDENTIFIED WITH sha256_hash BY 'ABC' SALT 'x' DEFAULT ROLE analyst")))
        .answer("SHOW GRANTS FOR `ann`", List.of(Map.of("GRANTS FOR ann", "GRANT analyst TO ann")))
        .answer("SHOW CREATE ROW POLICY `eu_only` ON `shop`.`orders`", List.of(Map.of("CREATE ROW POLICY",
            "CREATE ROW POLICY eu_only ON shop.orders FOR SELECT USING region = 'eu' TO analyst")));
  }

  @Test
  void sqlManagedEntitiesAreBackedUpWithTheirGrantsAndConfigDefinedOnesAreNamedAsLeftOut() {
    ServerObjects.Found found = new ServerObjects(serverWithAccess()).read(List.of("table", "function",
        "accessEntity"), "25.8");
    assertThat(found.functions()).extracting(ServerObjects.Entity::name).containsExactly("twice");
    assertThat(found.access()).extracting(e -> e.kind() + ":" + e.name()).containsExactly("role:analyst",
        "user:ann", "rowPolicy:eu_only ON shop.orders");
    assertEquals(List.of("CREATE ROLE analyst", "GRANT SELECT ON shop.* TO analyst"), found.access().get(0)
        .statements());
    assertThat(found.notHeld()).containsExactly("access entities: 2 defined in the server's configuration files"
        + " (users.xml) are not backed up; the entities created by SQL are");
  }

  @Test
  void aRestoreMakesFunctionsFirstThenEntitiesInOrderAndLeavesExistingOnesAlone() throws Exception {
    Path dir = Files.createTempDirectory("hk-server-objects-");
    FakeClickHouseClient source = serverWithAccess();
    ServerObjects.Found found = new ServerObjects(source).read(List.of("accessEntity", "function"), "25.8");
    Manifest manifest = new Manifest();
    manifest.backupId = "b1";
    try (FileObjectStore store = new FileObjectStore(dir)) {
      new LogicalBackup(source, store, Compression.none, p -> { }).definitions("b1", new BackupScope.Found(List.of(),
          java.util.Set.of(), Map.of(), List.of()), found, manifest);
      assertEquals(Map.of("function", 1, "role", 1, "user", 1, "rowPolicy", 1), manifest.kinds());

      FakeClickHouseClient target = new FakeClickHouseClient()
          .answerWith("SELECT count\\(\\) AS n FROM system\\.", sql -> List.of(Map.of("n",
              sql.contains("'ann'") ? 1 : 0))) // ann exists on the target
          .accept("^CREATE (FUNCTION|ROLE|USER|ROW POLICY) ")
          .accept("^GRANT ");
      List<RestoreTable> results = new LogicalRestore(target, store, p -> { }).definitions(manifest,
          RestoreTargets.into(manifest, "shop", List.of()), LogicalRestore.Mode.createMissing);
      assertThat(results).extracting(r -> r.source() + "=" + r.state()).containsExactly("function twice=Restored",
          "role analyst=Restored", "user ann=Skipped", "rowPolicy eu_only ON shop.orders=Restored");
      assertEquals(List.of("CREATE FUNCTION twice AS x -> (x * 2)", "CREATE ROLE analyst",
          "GRANT SELECT ON shop.* TO analyst",
          "CREATE ROW POLICY eu_only ON shop.orders FOR SELECT USING region = 'eu' TO analyst"),
          target.sent("^(CREATE|GRANT) "));
    } finally {
      Files.walk(dir).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
