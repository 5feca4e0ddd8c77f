package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What a backup holds of the server itself rather than of its databases: user-defined SQL functions
 * (a view or a column default may call one), and, when {@code scope.kinds} names
 * {@code accessEntity}, the access entities the server manages by SQL (settings profiles, roles,
 * users, quotas, row policies, with the grants of users and roles). Access entities are opt-in, as
 * in clickhouse-backup ({@code --rbac}): they are server-wide and hold password hashes. What a server
 * cannot give (18.16 has neither functions nor SQL-managed access) is said in words for the status.
 */
final class ServerObjects {

  /** Server error codes that mean "this server has no such thing": an unknown column or table. */
  private static final Set<Integer> ABSENT = Set.of(47, 60, 16);

  /** Access storages whose entities were made by SQL and can be made again by it. */
  private static final Set<String> SQL_STORAGES = Set.of("local_directory", "replicated", "memory");

  /** The kinds of access entity, in the order they are restored: a user names its profile and roles. */
  enum AccessKind {
    settingsProfile("settings_profiles", "SETTINGS PROFILE", false),
    role("roles", "ROLE", true),
    user("users", "USER", true),
    quota("quotas", "QUOTA", false),
    rowPolicy("row_policies", "ROW POLICY", false);

    final String systemTable;
    final String keyword;
    final boolean hasGrants;

    AccessKind(String systemTable, String keyword, boolean hasGrants) {
      this.systemTable = systemTable;
      this.keyword = keyword;
      this.hasGrants = hasGrants;
    }
  }

  /**
   * One server object and the statements that make it again.
   *
   * @param kind {@code function} or an {@link AccessKind}'s name
   * @param name its name; a row policy's is {@code policy ON database.table}
   * @param statements its CREATE statement, then (users and roles) its GRANT statements
   */
  record Entity(String kind, String name, List<String> statements) {}

  /** What was found, and what the server could not give, in words. */
  record Found(List<Entity> functions, List<Entity> access, List<String> notHeld) {}

  private final ClickHouseClient client;

  ServerObjects(ClickHouseClient client) {
    this.client = client;
  }

  /** The server objects of the kinds asked for (none: functions, not access entities). */
  Found read(List<String> kinds, String serverVersion) {
    List<String> notHeld = new ArrayList<>();
    boolean every = kinds == null || kinds.isEmpty();
    List<Entity> functions = every || kinds.contains(BackupScope.Kind.function.name())
        ? functions(serverVersion, notHeld) : List.of();
    List<Entity> access;
    if (!every && kinds.contains(BackupScope.Kind.accessEntity.name())) {
      access = access(serverVersion, notHeld);
    } else {
      access = List.of();
      notHeld.add("access entities: not asked for (add accessEntity to spec.scope.kinds to back up users, roles,"
          + " grants, row policies, quotas and settings profiles)");
    }
    return new Found(functions, access, notHeld);
  }

  private List<Entity> functions(String serverVersion, List<String> notHeld) {
    List<Row> rows;
    try {
      rows = client.query(Sql.query("SELECT name, create_query FROM system.functions WHERE origin = 'SQLUserDefined'"
          + " ORDER BY name"));
    } catch (ClickHouseException e) {
      if (!ABSENT.contains(e.code())) {
        throw e;
      }
      notHeld.add("user-defined functions: ClickHouse " + serverVersion + " has none (CREATE FUNCTION came in 21.10)");
      return List.of();
    }
    return rows.stream().map(r -> new Entity(BackupScope.Kind.function.name(), r.string("name"),
        List.of(r.string("create_query")))).toList();
  }

  /**
   * The SQL-managed access entities. A server without access control by SQL gets a sentence; a user
   * who may not read them fails the backup (it asked for them, and a backup without them would not
   * bring them back).
   */
  private List<Entity> access(String serverVersion, List<String> notHeld) {
    List<Entity> out = new ArrayList<>();
    int fromConfig = 0;
    for (AccessKind kind : AccessKind.values()) {
      List<Row> rows;
      try {
        rows = client.query(Sql.query("SELECT " + (kind == AccessKind.rowPolicy
            ? "short_name AS name, database, table," : "name,") + " storage FROM system." + kind.systemTable
            + " ORDER BY name"));
      } catch (ClickHouseException e) {
        if (e.kind() == ClickHouseException.Kind.PERMISSION_DENIED) {
          throw new IllegalStateException("spec.scope.kinds asks for access entities, but the connection's user may"
              + " not read them (it needs SHOW USERS, SHOW ROLES, SHOW ROW POLICIES, SHOW QUOTAS, SHOW SETTINGS"
              + " PROFILES, or SHOW ACCESS): " + e.getMessage(), e);
        }
        if (!ABSENT.contains(e.code())) {
          throw e;
        }
        notHeld.add("access entities: ClickHouse " + serverVersion + " has no access control by SQL (its users are"
            + " defined in its configuration files, which a backup of the server's SQL objects does not hold)");
        return List.of();
      }
      for (Row r : rows) {
        if (!SQL_STORAGES.contains(r.string("storage"))) {
          fromConfig++;
          continue;
        }
        out.add(entity(kind, r));
      }
    }
    if (fromConfig > 0) {
      notHeld.add("access entities: " + fromConfig + " defined in the server's configuration files (users.xml) are"
          + " not backed up; the entities created by SQL are");
    }
    return out;
  }

  private Entity entity(AccessKind kind, Row r) {
    String name = r.string("name");
    List<String> statements = new ArrayList<>();
    if (kind == AccessKind.rowPolicy) {
      statements.add(first(client.query(Sql.query("SHOW CREATE ROW POLICY ? ON ?", Sql.id(name),
          Sql.table(r.string("database"), r.string("table"))))));
      name = name + " ON " + r.string("database") + "." + r.string("table");
    } else {
      statements.add(first(client.query(Sql.query("SHOW CREATE " + kind.keyword + " ?", Sql.id(name)))));
    }
    if (kind.hasGrants) {
      client.query(Sql.query("SHOW GRANTS FOR ?", Sql.id(name))).forEach(g -> statements.add(firstColumn(g)));
    }
    return new Entity(kind.name(), name, statements);
  }

  private static String first(List<Row> rows) {
    return firstColumn(rows.get(0));
  }

  /** SHOW CREATE and SHOW GRANTS name their one column after the statement; its value is what counts. */
  private static String firstColumn(Row row) {
    return row.json().elements().next().asText();
  }
}
