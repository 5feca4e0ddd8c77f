package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectionResolver;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A restore as it runs on the work pool: the manifest read, the selected tables checked, then the
 * native method (the server restores each table), a cluster's shards one by one, or a single
 * server's logical restore.
 *
 * @param client the connection's client for long work ({@link ConnectionResolver.Resolved#forJob})
 * @param done source tables ({@code db.table}) an earlier attempt of this run restored: not again
 * @param resume a server-side restore to watch instead of starting it, or null
 * @param started told of a native restore as it starts, so that its server-side id reaches status
 */
record RestoreWork(ClickHouseClient client, ConnectionResolver.Resolved conn, ClickHouseRestoreSpec spec,
    RestoreSource source, RestoreSource.Opened opened, Set<String> done, Duration limit, NativeRestore.Resume resume,
    Consumer<NativeRestore> started) implements WorkExecutor.Work<RestoreWork.Result> {

  /** What a restore produced: the backup, the method (logical or native), each table's outcome. */
  record Result(String backupId, String method, List<RestoreTable> tables) {}

  @Override
  public Result run(Consumer<String> progress) throws Exception {
    try (var store = opened.store()) {
      LogicalRestore restore = new LogicalRestore(client, store, opened.keys(), progress).statementTimeout(limit);
      Manifest manifest = restore.manifest(source.backupId());
      Predicate<Manifest.TableEntry> selected = t -> BackupScope.matches(spec.tables, t.database, t.table)
          && !done.contains(t.database + "." + t.table);
      Function<Manifest.TableEntry, String> target = t -> spec.targetDatabase != null ? spec.targetDatabase
          : t.database;
      checkTargets(manifest, selected, target);
      var mode = LogicalRestore.Mode.valueOf(spec.mode == null ? "createMissing" : spec.mode.name());
      if ("native".equals(manifest.method)) {
        var nativeRestore = new NativeRestore(client, source.storage(), opened.credentials(), manifest, limit,
            progress, resume);
        started.accept(nativeRestore);
        List<RestoreTable> tables = new ArrayList<>(nativeRestore.run(selected, target, mode));
        tables.addAll(restore.definitions(manifest, target, selected, mode)); // written beside the server's files
        return new Result(source.backupId(), "native", tables);
      }
      if (manifest.tables.stream().anyMatch(t -> t.shard != null)) {
        return new Result(source.backupId(), "logical", onCluster(restore, manifest, target, selected, mode));
      }
      return new Result(source.backupId(), "logical", restore.run(manifest, target, selected, mode));
    }
  }

  /** A backup taken on a cluster, restored into the connection's cluster shard by shard. */
  private List<RestoreTable> onCluster(LogicalRestore restore, Manifest manifest,
      Function<Manifest.TableEntry, String> target, Predicate<Manifest.TableEntry> selected,
      LogicalRestore.Mode mode) throws IOException {
    var topology = conn.topology();
    if (topology == null) {
      throw new IOException("the backup was taken on a cluster (its data is per shard) but the connection names no"
          + " cluster (spec.cluster); restore it through a connection to a cluster");
    }
    Map<Integer, List<ClickHouseClient>> replicas = new TreeMap<>();
    for (var r : topology.replicas) {
      conn.replica(r).ifPresent(c -> replicas.computeIfAbsent(r.shard, k -> new ArrayList<>()).add(c));
    }
    return restore.runOnCluster(manifest, target, selected, mode, topology.cluster, conn.shardClients(), replicas);
  }

  /** Two tables restored into one database must not share a name; at least one table must be selected. */
  static void checkTargets(Manifest manifest, Predicate<Manifest.TableEntry> selected,
      Function<Manifest.TableEntry, String> target) throws IOException {
    Map<String, String> seen = new HashMap<>();
    for (Manifest.TableEntry t : manifest.tables) {
      if (!selected.test(t)) {
        continue;
      }
      String to = target.apply(t) + "." + t.table;
      String before = seen.put(to, t.database + "." + t.table);
      if (before != null && !before.equals(t.database + "." + t.table)) { // one table's shards are one table
        throw new IOException("both " + before + " and " + t.database + "." + t.table + " would be restored as " + to
            + "; restore them separately or narrow spec.tables");
      }
    }
    boolean objectSelected = manifest.objects.stream().anyMatch(o -> selected.test(RestoreObjects.asEntry(o)));
    if (seen.isEmpty() && !objectSelected) {
      throw new IOException("nothing in backup " + manifest.backupId + " matches spec.tables; it holds "
          + manifest.tables.stream().filter(t -> t.innerOf == null).map(t -> t.database + "." + t.table).toList()
          + (manifest.objects.isEmpty() ? "" : " and " + manifest.objects.stream().map(o -> o.kind + " " + o.database
          + "." + o.name).toList()));
    }
  }
}
