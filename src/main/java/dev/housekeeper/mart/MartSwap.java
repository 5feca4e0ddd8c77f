package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.mart.MartRefresh.Failed;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * How a complete staging table becomes the mart, whole: EXCHANGE TABLES where the server and the
 * database have it, else one multi-table RENAME; on a cluster, once every replica holds all the new
 * build's rows, one RENAME ON CLUSTER.
 */
final class MartSwap {

  private static final Duration REPLICA_WAIT = Duration.ofMinutes(5);

  private final ClickHouseClient client;
  private final String database;
  /** Whether the server has EXCHANGE TABLES (21.8+); it also needs the mart's database to be Atomic. */
  private final boolean serverHasExchange;
  private final Consumer<String> progress;

  MartSwap(ClickHouseClient client, String database, boolean serverHasExchange, Consumer<String> progress) {
    this.client = client;
    this.database = database;
    this.serverHasExchange = serverHasExchange;
    this.progress = progress;
  }

  /** The atomic swap where the server has it (Atomic databases, 20.x and later). */
  static Sql exchangeSql(String database, String staging, String table) {
    return Sql.command("EXCHANGE TABLES ? AND ?", Sql.table(database, staging), Sql.table(database, table));
  }

  /** The swap every server version has: one multi-table RENAME (the mart becomes its old table). */
  static Sql renameSwapSql(String database, String staging, String table, String cluster) {
    return Sql.command("RENAME TABLE ? TO ?, ? TO ??", Sql.table(database, table),
        Sql.table(database, MartRefresh.old(database, table)), Sql.table(database, staging), Sql.table(database, table),
        Sql.onCluster(cluster));
  }

  /** The first build: the staging table is renamed to the mart. */
  private Sql firstSql(String staging, String table, String cluster) {
    return Sql.command("RENAME TABLE ? TO ??", Sql.table(database, staging), Sql.table(database, table),
        Sql.onCluster(cluster));
  }

  /** A full refresh on one server. */
  void full(String table, String staging, ReportMartStatus.Refresh r, boolean exists) {
    if (!exists) {
      client.execute(firstSql(staging, table, null));
      r.swap = "rename";
    } else if (serverHasExchange && atomicDatabase()) {
      client.execute(exchangeSql(database, staging, table));
      r.swap = "exchange";
    } else {
      // one statement: both renames happen under the server's locks for all three names
      client.execute(renameSwapSql(database, staging, table, null));
      r.swap = "rename";
    }
  }

  /**
   * On a cluster: every replica has all the new build's rows, then one RENAME per node, ON CLUSTER: on
   * each replica the mart is the old build or the new one, whole.
   */
  void onCluster(String cluster, List<ClickHouseClient> replicas, String table, String staging,
      ReportMartStatus.Refresh r, boolean exists) throws Failed {
    awaitReplicas(replicas, staging, r.rowsWritten);
    client.execute(exists ? renameSwapSql(database, staging, table, cluster)
        : firstSql(staging, table, cluster));
    r.swap = "rename on cluster";
  }

  /**
   * The mart's own database, not the connection's, decides: a mart may live in an Ordinary database
   * of a server whose default database is Atomic (EXCHANGE there fails with NOT_IMPLEMENTED).
   */
  private boolean atomicDatabase() {
    return client.query(Sql.query("SELECT engine FROM system.databases WHERE name = ?", database)).stream()
        .anyMatch(row -> "Atomic".equals(row.string("engine")));
  }

  /** Every replica has all the new build's rows before it becomes the mart anywhere. */
  private void awaitReplicas(List<ClickHouseClient> replicas, String staging, long rows) throws Failed {
    long deadline = System.nanoTime() + REPLICA_WAIT.toNanos();
    for (ClickHouseClient replica : replicas) {
      long n;
      while ((n = MartSql.count(replica, database, staging, null)) != rows) {
        if (System.nanoTime() > deadline) {
          throw Failed.passing("ReplicationLagging", "replica " + replica.config().endpoints() + " has " + n
              + " of the " + rows + " rows of the new build after 5 minutes; the mart was not swapped anywhere", null);
        }
        progress.accept("waiting for replica " + replica.config().endpoints() + ": " + n + " of " + rows + " rows");
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw Failed.passing("Interrupted", "interrupted while waiting for the replicas", e);
        }
      }
    }
  }
}
