package dev.housekeeper.backup;

import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.Transient;
import dev.housekeeper.common.WorkingTables;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Restores a logical backup. Each table is loaded into a staging table first; every object's
 * SHA-256 is checked as it streams and every partition's row count after it is loaded. Only a
 * fully verified staging table becomes the target (an atomic RENAME, or REPLACE PARTITION into an
 * existing table); on any failure the staging table is dropped, so no half-restored table is left.
 * A backup taken on a cluster is restored by {@link RestoreOnCluster}.
 */
public final class LogicalRestore {

  /** Tables are loaded into a staging table named so, then swapped in. */
  public static final String STAGING_PREFIX = WorkingTables.RESTORE_STAGING_PREFIX;

  /** What to do with a table that exists in the target database. */
  public enum Mode {
    /** Create and load missing tables; leave existing ones alone (reported as skipped). */
    createMissing,
    /** Refuse the restore of a table that exists. */
    failIfExists,
    /** Replace the backed-up partitions of existing tables (missing tables are created). */
    replacePartitions
  }

  private final ClickHouseClient client;
  private final RestoreReader reader;
  private final Consumer<String> progress;
  /** How long one partition's data may take to stream in: its size, not the connection's queryTimeout, sets it. */
  private Duration dataTimeout = StatementTimeout.RESTORE;
  private int parallelism = 2;

  public LogicalRestore(ClickHouseClient client, ObjectStore store, Consumer<String> progress) {
    this(client, store, null, progress);
  }

  /** @param keys key id to 32-byte key, for encrypted backups (every key of the key Secret) */
  public LogicalRestore(ClickHouseClient client, ObjectStore store, Map<String, byte[]> keys,
      Consumer<String> progress) {
    this.client = client;
    this.reader = new RestoreReader(store, keys);
    this.progress = progress;
  }

  /** The limit of each partition's load (spec.statementTimeout). */
  public LogicalRestore statementTimeout(Duration limit) {
    this.dataTimeout = limit;
    return this;
  }

  /** Partitions loaded at once (default 2): each is one INSERT stream, parsed by its own server thread. */
  public LogicalRestore parallelism(int n) {
    this.parallelism = Math.max(1, n);
    return this;
  }

  /** A table's or object's recorded DDL, checked and decrypted. */
  String schema(Manifest manifest, Manifest.TableEntry t) throws IOException {
    return reader.schema(manifest, t);
  }

  /** The manifest of a complete backup; a backup without one is refused. */
  public Manifest manifest(String backupId) throws IOException {
    return reader.manifest(backupId);
  }

  public List<RestoreTable> run(String backupId, String targetDatabase, Set<String> tables, Mode mode)
      throws IOException {
    Identifiers.quote(targetDatabase);
    Manifest manifest = manifest(backupId);
    return run(manifest, RestoreTargets.into(manifest, targetDatabase, tables), mode);
  }

  /**
   * Restores the selected tables of a complete backup, each where {@code targets} says. Before any
   * table is touched, every selected schema object is read, checked and decrypted, so that a wrong key
   * or a corrupt schema changes nothing.
   */
  List<RestoreTable> run(Manifest manifest, RestoreTargets targets, Mode mode) throws IOException {
    List<Manifest.TableEntry> chosen = manifest.tables.stream().filter(t -> t.innerOf == null)
        .filter(targets::selected).toList();
    List<Manifest.TableEntry> objects = manifest.objects.stream().map(RestoreObjects::asEntry)
        .filter(targets::selected).toList();
    Map<Manifest.TableEntry, String> ddl = new LinkedHashMap<>();
    for (Manifest.TableEntry t : chosen) {
      ddl.put(t, reader.schema(manifest, t));
    }
    for (Manifest.TableEntry o : objects) {
      ddl.put(o, reader.schema(manifest, o));
    }
    List<RestoreTable> results = new ArrayList<>();
    Set<String> created = new HashSet<>();
    for (Manifest.TableEntry t : ddl.keySet()) {
      String db = targets.target(t).database();
      if (!targets.dataOnly() && created.add(db)) { // dataOnly creates nothing
        client.execute(Sql.command("CREATE DATABASE IF NOT EXISTS ?", Sql.id(db)).idempotent(true));
      }
    }
    RestoreServerObjects server = new RestoreServerObjects(client, this);
    Predicate<Manifest.TableEntry> serverObjects = t -> !targets.dataOnly() && targets.selected(t);
    results.addAll(server.functions(manifest, serverObjects, mode)); // a column default or a view may call one
    for (Manifest.TableEntry t : chosen) {
      results.add(table(manifest, t, ddl.get(t), targets.target(t), mode, targets));
    }
    // after the tables and their data, so that loading a view's source does not run the view a second time
    results.addAll(new RestoreObjects(client, this).run(manifest, objects, ddl, targets, mode));
    results.addAll(server.access(manifest, serverObjects, mode)); // grants and row policies name the tables
    return results;
  }

  /**
   * Restores the definitions of a backup whose tables the server restored itself (the native
   * method): the selected views, dictionaries and data-less tables, and the server's objects.
   */
  List<RestoreTable> definitions(Manifest manifest, RestoreTargets targets, Mode mode) throws IOException {
    List<Manifest.TableEntry> objects = manifest.objects.stream().map(RestoreObjects::asEntry)
        .filter(targets::selected).toList();
    Map<Manifest.TableEntry, String> ddl = new LinkedHashMap<>();
    for (Manifest.TableEntry o : objects) {
      ddl.put(o, reader.schema(manifest, o));
      client.execute(Sql.command("CREATE DATABASE IF NOT EXISTS ?", Sql.id(targets.target(o).database()))
          .idempotent(true));
    }
    RestoreServerObjects server = new RestoreServerObjects(client, this);
    Predicate<Manifest.TableEntry> serverObjects = t -> !targets.dataOnly() && targets.selected(t);
    List<RestoreTable> results = new ArrayList<>(server.functions(manifest, serverObjects, mode));
    results.addAll(new RestoreObjects(client, this).run(manifest, objects, ddl, targets, mode));
    results.addAll(server.access(manifest, serverObjects, mode));
    return results;
  }

  /**
   * Restores a backup taken on a cluster into {@code cluster} (see {@link RestoreOnCluster}).
   *
   * @param shards a client per shard (failing over among its replicas)
   * @param replicas clients for each reachable replica, per shard, for the checks
   */
  List<RestoreTable> runOnCluster(Manifest manifest, RestoreTargets targets, Mode mode, String cluster,
      Map<Integer, ClickHouseClient> shards, Map<Integer, List<ClickHouseClient>> replicas) throws IOException {
    return new RestoreOnCluster(client, reader, progress, dataTimeout, cluster, shards, replicas)
        .run(manifest, targets, mode);
  }

  /** What follows {@code CREATE TABLE db.table} in a recorded CREATE statement; null when it does not start so. */
  static String body(String ddl) {
    SchemaText text = SchemaText.parse(ddl);
    return text == null || !"TABLE".equals(text.what()) ? null : text.rest();
  }

  /**
   * Restores one table's schema and its selected partitions into {@code to} (a materialized view's
   * inner table is restored into the new view's own inner table, which exists by then), and says
   * whether {@code to} existed and how many partitions were left out.
   */
  RestoreTable table(Manifest manifest, Manifest.TableEntry t, String ddl, RestoreTargets.Target to, Mode mode,
      RestoreTargets targets) {
    boolean exists = client.tableExists(to.database(), to.table());
    List<Manifest.PartitionEntry> partitions = targets.partitions(t);
    return into(manifest, t, ddl, to, exists, mode, partitions, targets.dataOnly())
        .found(exists, t.partitions.size() - partitions.size());
  }

  private RestoreTable into(Manifest manifest, Manifest.TableEntry t, String ddl, RestoreTargets.Target to,
      boolean exists, Mode mode, List<Manifest.PartitionEntry> partitions, boolean dataOnly) {
    String source = t.database + "." + t.table;
    String dest = to.qualified();
    if (!exists && dataOnly) {
      return RestoreTable.failed(source, dest, "table " + dest + " does not exist; dataOnly loads data into existing"
          + " tables only: create it, or restore without dataOnly", false);
    }
    if (exists && mode == Mode.failIfExists) {
      return RestoreTable.failed(source, dest, "table " + dest + " exists and mode is failIfExists; nothing was"
          + " changed", false);
    }
    if (exists && mode == Mode.createMissing) {
      return RestoreTable.skipped(source, dest, "table exists (mode createMissing)");
    }
    if (exists && t.whole) {
      return RestoreTable.skipped(source, dest, "table exists, and its data (read whole: it has no partitions) is not"
          + " replaced into an existing table");
    }
    if (exists && partitions.isEmpty()) {
      return RestoreTable.skipped(source, dest, "table exists, and no partition of it is to be restored"
          + " (spec.partitions or schemaOnly)");
    }
    String db = to.database();
    String staging = staging(db, to.table());
    try {
      String body = body(ddl);
      if (body == null) {
        throw new IOException("the schema of " + source + " does not start with CREATE TABLE db.table");
      }
      body = exists ? RestoreTargets.stagingPath(body, t.database, t.table, to, staging)
          : RestoreTargets.movePath(body, t.database, t.table, db, to.table());
      client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table(db, staging)).idempotent(true));
      client.execute(Sql.command("CREATE TABLE ? ?", Sql.table(db, staging), Sql.serverDdl(body)));
      long rows = RestoreLoads.runAll(loads(manifest, t, partitions, db, staging), parallelism);
      swapIn(partitions, db, to.table(), staging, exists);
      return RestoreTable.restored(source, dest, rows, partitions.size());
    } catch (IOException | ClickHouseException e) {
      try {
        client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table(db, staging)).idempotent(true));
      } catch (ClickHouseException ignored) {
        // reported below; the staging table's name says what it is
      }
      return RestoreTable.failed(source, dest, e.getMessage(), Transient.is(e));
    }
  }

  /** {@code _hk_restore_<table>}, cut and hashed when that would be longer than a name in {@code db} may be. */
  static String staging(String db, String table) {
    return Identifiers.derived(db, STAGING_PREFIX, table, "");
  }

  /** One load per partition into the staging table, each checking the rows it loaded against the manifest. */
  private List<Callable<Long>> loads(Manifest manifest, Manifest.TableEntry t, List<Manifest.PartitionEntry> parts,
      String db, String staging) {
    String source = t.database + "." + t.table;
    List<Callable<Long>> loads = new ArrayList<>();
    for (Manifest.PartitionEntry p : parts) {
      loads.add(() -> {
        progress.accept("restoring " + source + " partition " + p.partitionId);
        reader.load(client, manifest, p, db, staging, dataTimeout);
        // a fresh staging table has no deleted rows: its parts' row counts are exact
        long loaded = t.whole ? client.query(Sql.query("SELECT count() AS n FROM ?", Sql.table(db, staging))).get(0)
            .longValue("n") : client.query(Sql.query("SELECT sum(rows) AS n FROM system.parts WHERE database = ? AND"
            + " table = ? AND partition_id = ? AND active", db, staging, p.partitionId)).get(0).longValue("n");
        if (loaded != p.rows) {
          throw new IOException("partition " + p.partitionId + " of " + source + ": " + loaded + " rows loaded, the"
              + " manifest says " + p.rows);
        }
        return loaded;
      });
    }
    return loads;
  }

  /** The verified staging table becomes the target: renamed, or its partitions replace the existing table's. */
  private void swapIn(List<Manifest.PartitionEntry> parts, String db, String name, String staging, boolean exists) {
    if (!exists) {
      client.execute(Sql.command("RENAME TABLE ? TO ?", Sql.table(db, staging), Sql.table(db, name)));
      return;
    }
    for (Manifest.PartitionEntry p : parts) {
      client.execute(Sql.command("ALTER TABLE ? REPLACE PARTITION ID ? FROM ?", Sql.table(db, name),
          p.partitionId, Sql.table(db, staging)));
    }
    client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table(db, staging)).idempotent(true));
  }
}
