package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.api.retention.RetentionPolicyStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.connection.ClusterTopology;
import dev.housekeeper.connection.ConnectionResolver;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A policy between runs: the preview of its next run and the storage statistics, read with
 * read-only metadata queries (on a cluster, per shard: each shard has its own data), and what the
 * preview and the last run say about its health.
 */
final class RetentionPreview {

  private RetentionPreview() {}

  /** Reads every shard's plan and statistics into status; throws when the metadata cannot be read. */
  static void read(RetentionStart.Target target, RetentionPolicySpec spec, LocalDate today,
      RetentionPolicyStatus status, PreviewCatalogs catalogs) {
    status.preview = new ArrayList<>();
    status.tables = new ArrayList<>();
    status.databaseBytes = 0L;
    var conn = target.conn();
    Map<Integer, ClickHouseClient> shards = ClusterRetention.applies(conn) ? conn.shardClients()
        : Map.of(0, conn.forJob());
    for (var e : shards.entrySet()) {
      var catalog = catalogs.get(new PreviewCatalogs.Key(server(conn, e.getKey()), target.database()), e.getValue());
      RetentionPlanner.Plan plan = new RetentionPlanner(e.getValue(), target.database(), target.server())
          .plan(spec, target.zone(), today, catalog);
      Integer shard = e.getKey() == 0 ? null : e.getKey();
      plan.work().forEach(w -> {
        w.plan().shard = shard;
        status.preview.add(w.plan());
      });
      plan.stats().forEach(t -> {
        t.shard = shard;
        status.tables.add(t);
      });
      status.databaseBytes += plan.databaseBytes();
    }
    if (ClusterRetention.applies(conn)) {
      // a shard no endpoint reaches is a finding of its own, not a shard the policy silently leaves out
      for (int shard : ClusterTopology.byShard(conn.topology()).keySet()) {
        if (!shards.containsKey(shard)) {
          status.preview.add(ClusterRetention.unreachable(shard, spec));
        }
      }
    }
  }

  /** The server a preview reads: the connection (by uid: a connection made again is another) and the shard. */
  private static String server(ConnectionResolver.Resolved conn, int shard) {
    var meta = conn.connection().getMetadata();
    return meta.getNamespace() + "/" + meta.getName() + "/" + meta.getUid() + "/shard-" + shard;
  }

  /** Refusals found: what each says, and the reason of the first (null: none yet). */
  private record Findings(List<String> said, String firstReason) {
    Findings add(String reason, String text) {
      said.add(text);
      return firstReason == null ? new Findings(said, reason) : this;
    }
  }

  /**
   * The settled pass: Degraded (yet Ready, the policy is in force) when the preview refuses a table,
   * the last run failed a table, failed as a whole or left replicas that differ, or a retry is
   * pending; else Ready.
   */
  static Pass<Phase> settled(RetentionPolicyStatus status, Duration requeue) {
    Findings found = new Findings(new ArrayList<>(), null);
    for (var p : status.preview) {
      if (p.reason != null) {
        String where = p.shard == null ? p.table
            : "*".equals(p.table) ? "shard " + p.shard : "shard " + p.shard + " " + p.table;
        found = found.add(p.reason, where + ": " + p.error);
      }
    }
    found = lastRun(status.lastRun, status.preview, found);
    if (status.lastFailedRun != null) {
      found = found.add("RunFailed", "the last " + status.lastFailedRun.kind + " run failed as a whole at "
          + status.lastFailedRun.time + ": " + status.lastFailedRun.error);
    }
    if (status.retryTime != null) {
      String what = status.lastFailedRun != null && RetentionStart.RunKind.RETENTION.word().equals(status.lastFailedRun.kind)
          ? "the run is" : "the failed tables are";
      found.said().add(what + " tried again at " + status.retryTime + " (retry "
          + status.consecutiveFailures + " of " + RetryPolicy.BOUNDED.maxRetries() + ")");
    }
    if (!found.said().isEmpty()) {
      // a retry pending after a whole run failed is the only finding: still a reason a condition can carry
      String reason = found.firstReason() == null ? "RetryScheduled" : found.firstReason();
      return Pass.failed(Phase.Degraded, reason, String.join("; ", found.said()), requeue).stillReady(true);
    }
    return Pass.ok(Phase.Ready, "Ready", "Policy in force; next run " + (status.nextRunTime == null
        ? "on request (annotation " + RetentionPolicy.RUN_NOW_ANNOTATION + ")" : "at " + status.nextRunTime) + ".",
        requeue);
  }

  private static boolean unreachableNow(List<RetentionPolicyStatus.TablePlan> preview, Integer shard) {
    return preview.stream().anyMatch(p -> ClusterRetention.SHARD_UNREACHABLE.equals(p.reason)
        && java.util.Objects.equals(p.shard, shard));
  }

  private static Findings lastRun(RetentionPolicyStatus.RunReport run, List<RetentionPolicyStatus.TablePlan> preview,
      Findings found) {
    if (run == null) {
      return found;
    }
    for (var t : run.tables) {
      if ("Failed".equals(t.reason)) {
        found = found.add("TableFailed", t.table + " (last run): " + t.error);
      } else if (ClusterRetention.SHARD_UNREACHABLE.equals(t.reason) && !unreachableNow(preview, t.shard)) {
        // while the shard is still out of reach, the preview says it already
        found = found.add(ClusterRetention.SHARD_UNREACHABLE, "shard " + t.shard + " (last run): " + t.error);
      }
    }
    if (run.replicas != null) {
      for (var r : run.replicas) {
        if ("Differs".equals(r.state)) {
          found = found.add("ReplicasDiffer", "shard " + r.shard + " replica " + r.replica + " (" + r.endpoint
              + ") has other partitions than its shard's other replicas after the last run (replication has not"
              + " caught up, or the table is not Replicated*MergeTree)");
        }
      }
    }
    return found;
  }
}
