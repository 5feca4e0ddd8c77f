package dev.housekeeper.migration;

import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.api.migration.ClickHouseMigrationStatus.ReplicaSchema;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.connection.ConnectionResolver;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Compares a database's schema (tables and their columns) on every replica of the connection's
 * cluster with the node the migrations ran through: after ON CLUSTER DDL every node should have the
 * same, and a node that was down has it once it has run the distributed DDL queue.
 */
final class ClusterSchema {

  private ClusterSchema() {}

  static String hash(ClickHouseClient client, String database) {
    StringBuilder text = new StringBuilder();
    for (Row r : client.query(Sql.query("SELECT table, name, type FROM system.columns WHERE database = ?"
        + " AND table NOT LIKE '.inner.%' ORDER BY table, name", database))) {
      text.append(r.string("table")).append('.').append(r.string("name")).append(' ').append(r.string("type"))
          .append('\n');
    }
    return MigrationScript.sha256(text.toString()).substring(0, 16);
  }

  /** Every replica's state; the reference is the pinned node's schema. */
  static List<ReplicaSchema> check(ConnectionResolver.Resolved conn, String database) {
    ClickHouseConnectionStatus.Topology topology = conn.topology();
    List<ReplicaSchema> out = new ArrayList<>();
    if (topology == null) {
      return out;
    }
    String reference = hash(conn.pinned(), database);
    for (ClickHouseConnectionStatus.Replica r : topology.replicas) {
      ReplicaSchema s = new ReplicaSchema();
      s.shard = r.shard;
      s.replica = r.replica;
      s.endpoint = r.endpoint;
      Optional<ClickHouseClient> replica = conn.replica(r);
      if (r.endpoint == null) {
        s.state = "Unknown";
      } else if (replica.isEmpty()) {
        s.state = "Unreachable";
      } else {
        try {
          s.schemaHash = hash(replica.get(), database);
          s.state = s.schemaHash.equals(reference) ? "InSync" : "Behind";
        } catch (ClickHouseException e) {
          s.state = "Unreachable";
        }
      }
      out.add(s);
    }
    return out;
  }

  static boolean converged(List<ReplicaSchema> replicas) {
    return replicas.stream().allMatch(r -> "InSync".equals(r.state) || "Unknown".equals(r.state));
  }
}
