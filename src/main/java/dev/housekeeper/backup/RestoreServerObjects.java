package dev.housekeeper.backup;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.Transient;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Restores the server's objects a backup holds: user-defined functions first (a table's default or
 * a view may call one), access entities last (a grant or a row policy names restored tables). One
 * that exists by name is left alone (its definition is not replaced) and reported as skipped, or as
 * failed with mode failIfExists. They are restored by a restore that selects them: one without
 * {@code spec.tables}, or one that names them.
 */
final class RestoreServerObjects {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final ClickHouseClient client;
  private final LogicalRestore reader;

  RestoreServerObjects(ClickHouseClient client, LogicalRestore reader) {
    this.client = client;
    this.reader = reader;
  }

  /** The backup's user-defined functions that the selection takes. */
  List<RestoreTable> functions(Manifest manifest, Predicate<Manifest.TableEntry> selected, LogicalRestore.Mode mode) {
    return restore(manifest, selected, mode, true);
  }

  /** The backup's access entities that the selection takes, in the order they were backed up. */
  List<RestoreTable> access(Manifest manifest, Predicate<Manifest.TableEntry> selected, LogicalRestore.Mode mode) {
    return restore(manifest, selected, mode, false);
  }

  private List<RestoreTable> restore(Manifest manifest, Predicate<Manifest.TableEntry> selected,
      LogicalRestore.Mode mode, boolean functions) {
    List<RestoreTable> out = new ArrayList<>();
    for (Manifest.ObjectEntry o : manifest.server) {
      boolean function = BackupScope.Kind.function.name().equals(o.kind);
      if (function == functions && selected.test(RestoreObjects.asEntry(o))) {
        out.add(one(manifest, o, mode));
      }
    }
    return out;
  }

  private RestoreTable one(Manifest manifest, Manifest.ObjectEntry o, LogicalRestore.Mode mode) {
    String name = o.kind + " " + o.name;
    List<String> statements;
    try {
      statements = JSON.readValue(reader.schema(manifest, RestoreObjects.asEntry(o)), new TypeReference<>() {});
    } catch (IOException e) {
      return RestoreTable.failed(name, name, e.getMessage(), false);
    }
    try {
      if (exists(o)) {
        return mode == LogicalRestore.Mode.failIfExists
            ? RestoreTable.failed(name, name, "exists and mode is failIfExists; nothing was changed", false)
            : RestoreTable.skipped(name, name, "exists; its definition is not replaced");
      }
      for (String statement : statements) {
        client.execute(statement(o, statement));
      }
      return RestoreTable.restored(name, name, 0, 0);
    } catch (ClickHouseException | IOException e) {
      return RestoreTable.failed(name, name, e.getMessage(), Transient.is(e));
    }
  }

  private boolean exists(Manifest.ObjectEntry o) {
    String table = BackupScope.Kind.function.name().equals(o.kind) ? "functions"
        : ServerObjects.AccessKind.valueOf(o.kind).systemTable;
    return client.query(Sql.query("SELECT count() AS n FROM system." + table + " WHERE name = ?", o.name)).get(0)
        .longValue("n") > 0;
  }

  /**
   * A statement the server showed when the backup was taken, sent back as it is after its first
   * words are checked: the object's own CREATE, or a GRANT.
   */
  private static Sql statement(Manifest.ObjectEntry o, String statement) throws IOException {
    String create = "CREATE " + (BackupScope.Kind.function.name().equals(o.kind) ? "FUNCTION"
        : ServerObjects.AccessKind.valueOf(o.kind).keyword) + " ";
    if (statement.regionMatches(true, 0, create, 0, create.length())) {
      return Sql.command(create + "?", Sql.serverDdl(statement.substring(create.length())));
    }
    if (statement.regionMatches(true, 0, "GRANT ", 0, 6)) {
      return Sql.command("GRANT ?", Sql.serverDdl(statement.substring(6)));
    }
    // the statement itself is not quoted: a user's holds its password hash, which no status may show
    throw new IOException("its recorded statement is neither " + create.strip() + " nor GRANT");
  }
}
