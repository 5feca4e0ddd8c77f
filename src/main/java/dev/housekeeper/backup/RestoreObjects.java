package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.Transient;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Restores what a backup holds besides its tables' data, after the tables: data-less tables,
 * dictionaries, views and materialized views, each from its recorded DDL moved into the target
 * database, in the order of the dependencies the manifest records; a materialized view's inner table
 * then gets its data back. An object that fails because another is not there yet (a view on a view
 * in a backup without recorded dependencies) is tried again once the others are created.
 */
final class RestoreObjects {

  private final ClickHouseClient client;
  private final LogicalRestore tables;

  RestoreObjects(ClickHouseClient client, LogicalRestore tables) {
    this.client = client;
    this.tables = tables;
  }

  /** An object as a table entry: what the restore's selection and target mapping read (database and name). */
  static Manifest.TableEntry asEntry(Manifest.ObjectEntry o) {
    Manifest.TableEntry t = new ObjectAsTable(o);
    t.database = o.database;
    t.table = o.name;
    t.schemaKey = o.schemaKey;
    t.schemaSha256 = o.schemaSha256;
    t.engine = o.engine;
    return t;
  }

  /** A table entry that stands for an object. */
  static final class ObjectAsTable extends Manifest.TableEntry {
    final Manifest.ObjectEntry object;

    ObjectAsTable(Manifest.ObjectEntry object) {
      this.object = object;
    }
  }

  List<RestoreTable> run(Manifest manifest, List<Manifest.TableEntry> objects, Map<Manifest.TableEntry, String> ddl,
      Function<Manifest.TableEntry, String> target, LogicalRestore.Mode mode) {
    Map<Manifest.TableEntry, RestoreTable> done = new LinkedHashMap<>();
    // in the order of the recorded dependencies; what is still out of order (older backups) is retried below
    List<Manifest.TableEntry> pending = ObjectDependencies.ordered(objects, o -> o.database + "." + o.table,
        o -> ((ObjectAsTable) o).object.dependsOn);
    while (!pending.isEmpty()) {
      List<Manifest.TableEntry> failed = new ArrayList<>();
      for (Manifest.TableEntry o : pending) {
        RestoreTable result = object(manifest, (ObjectAsTable) o, ddl.get(o), target.apply(o), mode);
        done.put(o, result);
        if (result.state() == RestoreTable.State.Failed) {
          failed.add(o);
        }
      }
      if (failed.size() == pending.size()) {
        break; // no progress: what is left fails for a reason of its own
      }
      pending = failed;
    }
    List<RestoreTable> out = new ArrayList<>();
    for (Manifest.TableEntry o : objects) {
      out.add(done.get(o));
    }
    return out;
  }

  private RestoreTable object(Manifest manifest, ObjectAsTable o, String ddl, String db, LogicalRestore.Mode mode) {
    String source = o.database + "." + o.table;
    String dest = db + "." + o.table;
    SchemaText text = SchemaText.parse(ddl);
    if (text == null) {
      return RestoreTable.failed(source, dest, "its recorded DDL does not start with CREATE and a name", false);
    }
    try {
      if (client.tableExists(db, o.table)) {
        return mode == LogicalRestore.Mode.failIfExists
            ? RestoreTable.failed(source, dest, dest + " exists and mode is failIfExists; nothing was changed", false)
            : RestoreTable.skipped(source, dest, "exists");
      }
      client.execute(Sql.command("CREATE " + keyword(text.what()) + " ? ?", Sql.table(db, o.table),
          Sql.serverDdl(text.restIn(o.database, db))));
    } catch (ClickHouseException e) {
      return RestoreTable.failed(source, dest, o.object.kind + ": " + e.getMessage(), Transient.is(e));
    }
    if (BackupScope.Kind.materializedView.name().equals(o.object.kind)) {
      return innerData(manifest, o, db, source, dest);
    }
    return RestoreTable.restored(source, dest, 0, 0);
  }

  /** The words a CREATE statement starts with, from the fixed set a recorded DDL may hold. */
  private static String keyword(String what) {
    return switch (what) {
      case "VIEW" -> "VIEW";
      case "MATERIALIZED VIEW" -> "MATERIALIZED VIEW";
      case "DICTIONARY" -> "DICTIONARY";
      default -> "TABLE";
    };
  }

  /** The view's inner table (created with the view) gets the data its original held. */
  private RestoreTable innerData(Manifest manifest, ObjectAsTable view, String db, String source, String dest) {
    Manifest.TableEntry inner = manifest.tables.stream().filter(t -> view.table.equals(t.innerOf)
        && view.database.equals(t.database)).findFirst().orElse(null);
    if (inner == null) {
      return RestoreTable.restored(source, dest, 0, 0); // a view TO a table: that table holds the data
    }
    String innerName = BackupScope.innerTableName(view.table, uuid(db, view.table));
    try {
      String innerDdl = tables.schema(manifest, inner);
      RestoreTable loaded = tables.table(manifest, inner, innerDdl, db, innerName,
          LogicalRestore.Mode.replacePartitions);
      return loaded.state() == RestoreTable.State.Failed ? RestoreTable.failed(source, dest, "the view was created;"
          + " its data was not restored: " + loaded.error(), loaded.retriable())
          : RestoreTable.restored(source, dest, loaded.rows(), loaded.partitions());
    } catch (java.io.IOException e) {
      return RestoreTable.failed(source, dest, "the view was created; its data was not restored: " + e.getMessage(),
          false);
    }
  }

  /** The new view's uuid where the database is Atomic (its inner table is named by it); empty on 18.16. */
  private String uuid(String db, String view) {
    try {
      return client.query(Sql.query("SELECT toString(uuid) AS uuid FROM system.tables WHERE database = ? AND"
          + " name = ?", db, view)).get(0).string("uuid");
    } catch (ClickHouseException e) {
      return "";
    }
  }
}
