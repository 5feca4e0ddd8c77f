package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectionResolver;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * A restore as it runs on the work pool: the manifest read, what of it goes where checked
 * ({@link RestoreTargets}), then the native method (the server restores each table), a cluster's
 * shards one by one, or a single server's logical restore.
 *
 * @param client the connection's client for long work ({@link ConnectionResolver.Resolved#forJob})
 * @param done source tables ({@code db.table}) an earlier attempt of this run restored: not again
 * @param resume a server-side restore to watch instead of starting it, or null
 * @param started told of a native restore as it starts, so that its server-side id reaches status
 */
record RestoreWork(ClickHouseClient client, ConnectionResolver.Resolved conn, ClickHouseRestoreSpec spec,
    RestoreSource source, RestoreSource.Opened opened, Set<String> done, Duration limit, NativeRestore.Resume resume,
    Consumer<NativeRestore> started) implements WorkExecutor.Work<RestoreWork.Result> {

  /** What a restore produced: the backup, the method (logical or native), each table's outcome, what it applied. */
  record Result(String backupId, String method, List<RestoreTable> tables, ClickHouseRestoreStatus.Applied applied) {}

  @Override
  public Result run(Consumer<String> progress) throws Exception {
    try (var store = opened.store()) {
      LogicalRestore restore = new LogicalRestore(client, store, opened.keys(), progress).statementTimeout(limit);
      Manifest manifest = restore.manifest(source.backupId());
      RestoreTargets targets = RestoreTargets.of(manifest, spec, done);
      targets.check();
      var mode = LogicalRestore.Mode.valueOf(spec.mode == null ? "createMissing" : spec.mode.name());
      if ("native".equals(manifest.method)) {
        var nativeRestore = new NativeRestore(client, source.storage(), opened.credentials(), manifest, limit,
            progress, resume);
        started.accept(nativeRestore);
        List<RestoreTable> tables = new ArrayList<>(nativeRestore.run(targets, mode));
        tables.addAll(restore.definitions(manifest, targets, mode)); // written beside the server's files
        return new Result(source.backupId(), "native", tables, targets.applied());
      }
      if (manifest.tables.stream().anyMatch(t -> t.shard != null)) {
        return new Result(source.backupId(), "logical", onCluster(restore, manifest, targets, mode),
            targets.applied());
      }
      return new Result(source.backupId(), "logical", restore.run(manifest, targets, mode), targets.applied());
    }
  }

  /** A backup taken on a cluster, restored into the connection's cluster shard by shard. */
  private List<RestoreTable> onCluster(LogicalRestore restore, Manifest manifest, RestoreTargets targets,
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
    return restore.runOnCluster(manifest, targets, mode, topology.cluster, conn.shardClients(), replicas);
  }
}
