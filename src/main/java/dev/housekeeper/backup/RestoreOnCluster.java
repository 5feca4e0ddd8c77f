package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.Transient;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Restores a backup taken on a cluster (entries marked with their shard) into a cluster: each table
 * is created ON CLUSTER where the restore maps it (a replicated table's ZooKeeper path moved with it,
 * {@link RestoreTargets#movePath}, so it does not join the original), then each shard's
 * partitions are loaded through that shard's client into one of its replicas; replication copies
 * them to the others, and every replica's row counts are checked against the manifest. A table that
 * fails is dropped ON CLUSTER again. Then the views, dictionaries and data-less tables (Distributed)
 * are created ON CLUSTER. Modes createMissing and failIfExists.
 */
final class RestoreOnCluster {

  /** How long the replicas may take to catch up with what was loaded. */
  private static final Duration REPLICATION = Duration.ofSeconds(120);

  private final ClickHouseClient client;
  private final RestoreReader reader;
  private final Consumer<String> progress;
  private final Duration dataTimeout;
  private final String cluster;
  private final Map<Integer, ClickHouseClient> shards;
  private final Map<Integer, List<ClickHouseClient>> replicas;

  /**
   * @param shards a client per shard (failing over among its replicas)
   * @param replicas clients for each reachable replica, per shard, for the checks
   */
  RestoreOnCluster(ClickHouseClient client, RestoreReader reader, Consumer<String> progress, Duration dataTimeout,
      String cluster, Map<Integer, ClickHouseClient> shards, Map<Integer, List<ClickHouseClient>> replicas) {
    this.client = client;
    this.reader = reader;
    this.progress = progress;
    this.dataTimeout = dataTimeout;
    this.cluster = cluster;
    this.shards = shards;
    this.replicas = replicas;
  }

  List<RestoreTable> run(Manifest manifest, RestoreTargets targets, LogicalRestore.Mode mode) throws IOException {
    if (mode == LogicalRestore.Mode.replacePartitions || targets.dataOnly()) {
      throw new IOException("mode replacePartitions (and dataOnly, which needs it) is not supported for a cluster"
          + " backup yet; restore into a new database (targetDatabase or databaseMapping) with mode createMissing or"
          + " failIfExists");
    }
    Map<String, List<Manifest.TableEntry>> byTable = byTable(manifest, targets::selected);
    Map<String, String> ddl = new LinkedHashMap<>();
    for (var e : byTable.entrySet()) {
      ddl.put(e.getKey(), reader.schema(manifest, e.getValue().get(0)));
    }
    List<RestoreTable> results = new ArrayList<>();
    Set<String> created = new HashSet<>();
    for (var e : byTable.entrySet()) {
      RestoreTargets.Target to = targets.target(e.getValue().get(0));
      Identifiers.quote(to.database());
      if (created.add(to.database())) {
        client.execute(Sql.command("CREATE DATABASE IF NOT EXISTS ??", Sql.id(to.database()), Sql.onCluster(cluster))
            .idempotent(true));
      }
      results.add(table(manifest, e.getKey(), e.getValue(), ddl.get(e.getKey()), to, mode, targets));
    }
    results.addAll(objects(manifest, targets, mode, created));
    return results;
  }

  /**
   * After the tables: the selected Distributed and other data-less tables, dictionaries, views and
   * materialized views, each created ON CLUSTER in its target database, references moved with it.
   */
  private List<RestoreTable> objects(Manifest manifest, RestoreTargets targets, LogicalRestore.Mode mode,
      Set<String> created) throws IOException {
    List<Manifest.TableEntry> objects = manifest.objects.stream().map(RestoreObjects::asEntry)
        .filter(targets::selected).toList();
    Map<Manifest.TableEntry, String> ddl = new LinkedHashMap<>();
    for (Manifest.TableEntry o : objects) {
      ddl.put(o, reader.schema(manifest, o));
      String db = targets.target(o).database();
      if (!targets.dataOnly() && created.add(db)) {
        client.execute(Sql.command("CREATE DATABASE IF NOT EXISTS ??", Sql.id(db), Sql.onCluster(cluster))
            .idempotent(true));
      }
    }
    return new RestoreObjects(client, null).onCluster(cluster).run(manifest, objects, ddl, targets, mode);
  }

  /** The selected entries by source table ({@code db.table}): one per shard; a shard without an endpoint fails all. */
  private Map<String, List<Manifest.TableEntry>> byTable(Manifest manifest, Predicate<Manifest.TableEntry> selected)
      throws IOException {
    Map<String, List<Manifest.TableEntry>> byTable = new LinkedHashMap<>();
    for (Manifest.TableEntry t : manifest.tables) {
      // a materialized view's inner table is restored with its view, which a cluster restore does not create yet
      if (t.innerOf == null && selected.test(t)) {
        byTable.computeIfAbsent(t.database + "." + t.table, k -> new ArrayList<>()).add(t);
      }
    }
    for (Manifest.TableEntry t : manifest.tables) {
      if (selected.test(t) && t.shard != null && !shards.containsKey(t.shard)) {
        throw new IOException("the backup has data of shard " + t.shard + ", which the connection has no endpoint"
            + " for; nothing was restored");
      }
    }
    return byTable;
  }

  private RestoreTable table(Manifest manifest, String source, List<Manifest.TableEntry> entries, String ddl,
      RestoreTargets.Target to, LogicalRestore.Mode mode, RestoreTargets targets) {
    Manifest.TableEntry first = entries.get(0);
    String dest = to.qualified();
    int skipped = entries.stream().mapToInt(e -> e.partitions.size() - targets.partitions(e).size()).sum();
    if (client.tableExists(to.database(), to.table())) {
      return (mode == LogicalRestore.Mode.failIfExists
          ? RestoreTable.failed(source, dest, "table " + dest + " exists and mode is failIfExists; nothing was"
              + " changed", false)
          : RestoreTable.skipped(source, dest, "table exists (mode createMissing)")).found(true, skipped);
    }
    String body = LogicalRestore.body(ddl);
    if (body == null) {
      return RestoreTable.failed(source, dest, "the schema does not start with CREATE TABLE", false);
    }
    try {
      // IF NOT EXISTS (it did not exist a moment ago): a retry after a dropped connection is harmless
      client.execute(Sql.command("CREATE TABLE IF NOT EXISTS ?? ?", Sql.table(to.database(), to.table()),
          Sql.onCluster(cluster), Sql.serverDdl(RestoreTargets.movePath(body, first.database, first.table,
          to.database(), to.table()))).idempotent(true));
      long rows = 0;
      int partitions = 0;
      for (Manifest.TableEntry shardEntry : entries) {
        ClickHouseClient shard = shards.getOrDefault(shardEntry.shard, client);
        for (Manifest.PartitionEntry p : targets.partitions(shardEntry)) {
          progress.accept("loading " + source + " shard " + shardEntry.shard + " partition " + p.partitionId);
          reader.load(shard, manifest, p, to.database(), to.table(), dataTimeout);
          rows += p.rows;
          partitions++;
        }
      }
      verifyReplicas(entries, to, targets);
      return RestoreTable.restored(source, dest, rows, partitions).found(false, skipped);
    } catch (IOException | RuntimeException ex) {
      try {
        client.execute(Sql.command("DROP TABLE IF EXISTS ??", Sql.table(to.database(), to.table()),
            Sql.onCluster(cluster)).idempotent(true));
      } catch (RuntimeException dropFailed) {
        progress.accept("dropping " + dest + " after the failure failed: " + dropFailed.getMessage());
      }
      return RestoreTable.failed(source, dest, ex.getMessage(), Transient.is(ex)).found(false, skipped);
    }
  }

  /** Each replica of each shard has every selected partition with the manifest's row count (waits for replication). */
  private void verifyReplicas(List<Manifest.TableEntry> entries, RestoreTargets.Target to, RestoreTargets targets)
      throws IOException {
    long deadline = System.nanoTime() + REPLICATION.toNanos();
    for (Manifest.TableEntry e : entries) {
      Map<String, Long> expected = new TreeMap<>();
      targets.partitions(e).forEach(p -> expected.merge(p.partitionId, p.rows, Long::sum));
      for (ClickHouseClient replica : replicas.getOrDefault(e.shard, List.of())) {
        awaitRows(replica, e.shard, to.database(), to.table(), expected, deadline);
      }
    }
  }

  private static void awaitRows(ClickHouseClient replica, Integer shard, String db, String table,
      Map<String, Long> expected, long deadline) throws IOException {
    while (true) {
      Map<String, Long> actual = new TreeMap<>();
      for (var r : replica.query(Sql.query("SELECT partition_id, sum(rows) AS n FROM system.parts WHERE"
          + " database = ? AND table = ? AND active GROUP BY partition_id", db, table))) {
        actual.put(r.string("partition_id"), r.longValue("n"));
      }
      if (actual.equals(expected)) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("shard " + shard + " replica " + replica.config().endpoints() + " has " + actual
            + " rows per partition, the backup " + expected + " (replication did not catch up in 120 s)");
      }
      try {
        Thread.sleep(300);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while checking the replicas", ie);
      }
    }
  }

}
