package dev.housekeeper.retention;

import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus.ReplicaCheck;
import dev.housekeeper.api.retention.RetentionPolicyStatus.RunReport;
import dev.housekeeper.api.retention.RetentionPolicyStatus.TablePlan;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.connection.ClusterTopology;
import dev.housekeeper.connection.ConnectionResolver;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A retention run on a cluster: each shard is planned and run on its own, through a client that
 * fails over only among that shard's replicas (a DROP PARTITION on one replica of a replicated table
 * reaches the others through replication). Afterwards every replica's active partitions are read and
 * compared within its shard, waiting a while for replication.
 */
final class ClusterRetention {

  static final Duration REPLICATION_WAIT = Duration.ofSeconds(60);
  static final String SHARD_UNREACHABLE = "ShardUnreachable";

  private ClusterRetention() {}

  static boolean applies(ConnectionResolver.Resolved conn) {
    return conn.topology() != null;
  }

  static RunReport run(ConnectionResolver.Resolved conn, String database, RetentionPolicySpec spec,
      RetentionPlanner.ServerFeatures server, ZoneId zone, LocalDate today, Consumer<RetentionRunner.Notice> notices,
      Consumer<String> progress)
      throws InterruptedException {
    ClickHouseConnectionStatus.Topology topology = conn.topology();
    Map<Integer, List<ClickHouseConnectionStatus.Replica>> shards = ClusterTopology.byShard(topology);
    RunReport total = new RunReport();
    total.startTime = Instant.now().toString();
    long t0 = System.nanoTime();
    for (var entry : shards.entrySet()) {
      int shard = entry.getKey();
      Optional<ClickHouseClient> client = conn.shard(shard);
      if (client.isEmpty()) {
        total.tables.add(unreachable(shard, spec));
        continue;
      }
      progress.accept("shard " + shard + " of " + shards.size());
      RunReport r;
      try {
        r = new RetentionRunner(client.get(), database, notices, p -> progress.accept("shard " + shard + ": " + p))
            .run(spec, server, zone, today);
      } catch (ClickHouseException e) {
        TablePlan failed = new TablePlan();
        failed.table = "*";
        failed.shard = shard;
        failed.reason = "Failed";
        failed.error = "Shard " + shard + ": " + e.getMessage();
        total.tables.add(failed);
        continue;
      }
      total.cutoff = r.cutoff;
      total.dryRun = r.dryRun;
      for (String p : r.partitionsDropped) {
        total.partitionsDropped.add("shard " + shard + ": " + p);
      }
      total.partitionsDroppedCount += r.partitionsDroppedCount;
      total.rowsDeleted += r.rowsDeleted;
      total.bytesFreed += r.bytesFreed;
      for (TablePlan t : r.tables) {
        t.shard = shard;
        total.tables.add(t);
      }
    }
    progress.accept("checking every replica's partitions");
    total.replicas = check(conn, database, topology, spec);
    total.endTime = Instant.now().toString();
    total.durationMillis = (System.nanoTime() - t0) / 1_000_000;
    return total;
  }

  /** The plan of a shard that no endpoint of the connection reaches: its data is not processed. */
  static TablePlan unreachable(int shard, RetentionPolicySpec spec) {
    TablePlan missing = new TablePlan();
    missing.table = "*";
    missing.shard = shard;
    missing.reason = SHARD_UNREACHABLE;
    missing.error = "No endpoint of shard " + shard + " is in the connection's spec.endpoints; its data is not"
        + " processed. List every replica's HTTP endpoint in the ClickHouseConnection.";
    missing.action = spec.getAction() == null ? null : spec.getAction().toString();
    return missing;
  }

  /** Every replica's active partitions, compared within its shard; waits for replication to settle. */
  static List<ReplicaCheck> check(ConnectionResolver.Resolved conn, String database,
      ClickHouseConnectionStatus.Topology topology, RetentionPolicySpec spec) throws InterruptedException {
    long deadline = System.nanoTime() + REPLICATION_WAIT.toNanos();
    while (true) {
      List<ReplicaCheck> checks = new ArrayList<>();
      for (ClickHouseConnectionStatus.Replica r : topology.replicas) {
        ReplicaCheck c = new ReplicaCheck();
        c.shard = r.shard;
        c.replica = r.replica;
        c.endpoint = r.endpoint;
        Optional<ClickHouseClient> replica = conn.replica(r);
        if (r.endpoint == null) {
          c.state = "Unknown";
        } else if (replica.isEmpty()) {
          c.state = "Unreachable";
        } else {
          try {
            List<Row> all = replica.get().query(Sql.query("SELECT table, partition_id"
                + " FROM system.parts WHERE database = ? AND active"
                + " GROUP BY table, partition_id ORDER BY table, partition_id", database));
            java.util.Set<String> tables = new java.util.TreeSet<>();
            all.forEach(x -> tables.add(x.string("table")));
            java.util.Set<String> selected = RetentionPlanner.select(spec.getTables(), tables);
            List<Row> rows = all.stream().filter(x -> selected.contains(x.string("table"))).toList();
            StringBuilder text = new StringBuilder();
            rows.forEach(x -> text.append(x.string("table")).append('/').append(x.string("partition_id")).append('\n'));
            c.partitions = (long) rows.size();
            c.partitionsHash = sha(text.toString());
          } catch (ClickHouseException e) {
            c.state = "Unreachable";
          }
        }
        checks.add(c);
      }
      boolean same = true;
      for (var shard : ClusterTopology.byShard(topology).keySet()) {
        var hashes = new HashSet<String>();
        checks.stream().filter(c -> c.shard == shard && c.partitionsHash != null).forEach(c -> hashes.add(c.partitionsHash));
        boolean identical = hashes.size() <= 1;
        same &= identical;
        checks.stream().filter(c -> c.shard == shard && c.partitionsHash != null)
            .forEach(c -> c.state = identical ? "Identical" : "Differs");
      }
      if (same || System.nanoTime() > deadline) {
        return checks;
      }
      Thread.sleep(500);
    }
  }

  static String sha(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(
          java.nio.charset.StandardCharsets.UTF_8))).substring(0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
