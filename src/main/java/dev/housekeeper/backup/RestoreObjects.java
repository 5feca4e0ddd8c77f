package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.Transient;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

  /** The cluster each object is created on (ON CLUSTER), or null on a single server. */
  private String cluster;

  /** @param tables loads a materialized view's inner data on a single server (null on a cluster) */
  RestoreObjects(ClickHouseClient client, LogicalRestore tables) {
    this.client = client;
    this.tables = tables;
  }

  /** Creates each object on every node of {@code cluster}, as the cluster restore creates its tables. */
  RestoreObjects onCluster(String cluster) {
    this.cluster = cluster;
    return this;
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
      RestoreTargets targets, LogicalRestore.Mode mode) {
    Map<Manifest.TableEntry, RestoreTable> done = new LinkedHashMap<>();
    // in the order of the recorded dependencies; what is still out of order (older backups) is retried below
    List<Manifest.TableEntry> pending = ObjectDependencies.ordered(objects, o -> o.database + "." + o.table,
        o -> ((ObjectAsTable) o).object.dependsOn);
    while (!pending.isEmpty()) {
      List<Manifest.TableEntry> failed = new ArrayList<>();
      for (Manifest.TableEntry o : pending) {
        RestoreTable result = object(manifest, (ObjectAsTable) o, ddl.get(o), targets, mode);
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

  private RestoreTable object(Manifest manifest, ObjectAsTable o, String ddl, RestoreTargets targets,
      LogicalRestore.Mode mode) {
    String source = o.database + "." + o.table;
    RestoreTargets.Target to = targets.target(o);
    String dest = to.qualified();
    SchemaText text = SchemaText.parse(ddl);
    if (text == null) {
      return RestoreTable.failed(source, dest, "its recorded DDL does not start with CREATE and a name", false);
    }
    boolean view = BackupScope.Kind.materializedView.name().equals(o.object.kind);
    boolean exists;
    try {
      exists = client.tableExists(to.database(), to.table());
      if (targets.dataOnly()) {
        return (view ? dataOnly(manifest, o, to, exists, targets) : RestoreTable.skipped(source, dest, "dataOnly: a "
            + o.object.kind + " holds no data of its own")).found(exists, 0);
      }
      if (exists) {
        return (mode == LogicalRestore.Mode.failIfExists
            ? RestoreTable.failed(source, dest, dest + " exists and mode is failIfExists; nothing was changed", false)
            : RestoreTable.skipped(source, dest, "exists")).found(true, 0);
      }
      String rest = text.restMoved(targets::moved);
      if (view) { // a materialized view's replicated inner engine: its path moves with the view
        rest = RestoreTargets.movePath(rest, o.database, o.table, to.database(), to.table());
      }
      client.execute(Sql.command("CREATE " + keyword(text.what()) + " ?? ?", Sql.table(to.database(), to.table()),
          Sql.onCluster(cluster), Sql.serverDdl(rest)));
    } catch (ClickHouseException e) {
      return RestoreTable.failed(source, dest, o.object.kind + ": " + e.getMessage(), Transient.is(e));
    }
    if (view) {
      return innerData(manifest, o, to, source, dest, targets);
    }
    return RestoreTable.restored(source, dest, 0, 0).found(false, 0);
  }

  /** dataOnly: an existing materialized view's inner table gets the backed-up partitions; a missing view fails. */
  private RestoreTable dataOnly(Manifest manifest, ObjectAsTable view, RestoreTargets.Target to, boolean exists,
      RestoreTargets targets) {
    String source = view.database + "." + view.table;
    if (!exists) {
      return RestoreTable.failed(source, to.qualified(), "materialized view " + to.qualified() + " does not exist;"
          + " dataOnly loads data into existing objects only: create it, or restore without dataOnly", false);
    }
    return innerData(manifest, view, to, source, to.qualified(), targets);
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
  private RestoreTable innerData(Manifest manifest, ObjectAsTable view, RestoreTargets.Target to, String source,
      String dest, RestoreTargets targets) {
    Manifest.TableEntry inner = manifest.tables.stream().filter(t -> view.table.equals(t.innerOf)
        && view.database.equals(t.database)).findFirst().orElse(null);
    if (inner == null) {
      // a view TO a table: that table holds the data
      return RestoreTable.restored(source, dest, 0, 0).found(targets.dataOnly(), 0);
    }
    if (cluster != null) {
      return RestoreTable.failed(source, dest, "the view was created on every node of cluster " + cluster + "; the"
          + " data of its inner table is not restored by a cluster restore yet (a view TO a table is: that table is"
          + " restored as a table); restore it through a connection to a single node", false);
    }
    String innerName = BackupScope.innerTableName(to.table(), uuid(to.database(), to.table()));
    try {
      String innerDdl = tables.schema(manifest, inner);
      RestoreTable loaded = tables.table(manifest, inner, innerDdl, new RestoreTargets.Target(to.database(),
          innerName), LogicalRestore.Mode.replacePartitions, targets);
      RestoreTable out = loaded.state() == RestoreTable.State.Failed ? RestoreTable.failed(source, dest, "the view"
          + " exists; its data was not restored: " + loaded.error(), loaded.retriable())
          : loaded.state() == RestoreTable.State.Skipped ? RestoreTable.restored(source, dest, 0, 0)
          : RestoreTable.restored(source, dest, loaded.rows(), loaded.partitions());
      return out.found(targets.dataOnly(), loaded.partitionsSkipped()); // dataOnly: the view was there before
    } catch (java.io.IOException e) {
      return RestoreTable.failed(source, dest, "the view exists; its data was not restored: " + e.getMessage(),
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
