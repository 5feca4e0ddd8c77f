package dev.housekeeper.connection;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus.Replica;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus.Topology;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.IntFunction;

/**
 * A cluster's layout as {@code system.clusters} gives it (shards of replicas, host and native port),
 * and which of the connection's endpoints is which replica: each endpoint is asked for the row of
 * the cluster that is itself ({@code is_local}), which holds on 18.16 as on 26.x. An endpoint that
 * does not answer keeps the place it had at the previous probe.
 */
public final class ClusterTopology {

  /** The cluster named by spec.cluster is not in the server's remote_servers. */
  public static final class NotFound extends Exception {
    public NotFound(String message) {
      super(message);
    }
  }

  private ClusterTopology() {}

  /**
   * @param client the connection's client (any endpoint)
   * @param endpoint a client for spec endpoint i alone, or empty when it did not answer the probe
   * @param specEndpoints the spec's endpoints, as written
   * @param healthy whether spec endpoint i answered the probe
   * @param previous the topology of the previous probe (or null)
   */
  public static Topology discover(ClickHouseClient client, String cluster, List<String> specEndpoints,
      IntFunction<Optional<ClickHouseClient>> endpoint, List<Boolean> healthy, Topology previous) throws NotFound {
    List<Row> rows = client.query(Sql.query("SELECT shard_num, replica_num, host_name, port FROM system.clusters"
        + " WHERE cluster = ? ORDER BY shard_num, replica_num", cluster));
    if (rows.isEmpty()) {
      List<String> known = client.query(Sql.query("SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster"))
          .stream().map(r -> r.string("cluster")).toList();
      throw new NotFound("Cluster \"" + cluster + "\" is not in the server's remote_servers (clusters there: "
          + (known.isEmpty() ? "none" : String.join(", ", known)) + ")");
    }
    Map<String, Replica> byPlace = new LinkedHashMap<>();
    for (Row r : rows) {
      Replica replica = new Replica();
      replica.shard = (int) r.longValue("shard_num");
      replica.replica = (int) r.longValue("replica_num");
      replica.host = r.string("host_name") + ":" + r.longValue("port");
      byPlace.put(replica.shard + "/" + replica.replica, replica);
    }
    Map<Integer, List<Integer>> unplaced = new TreeMap<>();
    for (int i = 0; i < specEndpoints.size(); i++) {
      String place = healthy.get(i) ? endpoint.apply(i).map(one -> place(one, cluster)).orElse(null) : null;
      if (place != null && place.startsWith("shard ")) {
        unplaced.computeIfAbsent(Integer.parseInt(place.substring(6)), k -> new ArrayList<>()).add(i);
        place = null;
      }
      Integer me = i;
      boolean answered = place != null || unplaced.values().stream().anyMatch(l -> l.contains(me));
      if (!answered && previous != null) {
        // down now, or went down between the probe and this question: it keeps the place it had
        for (Replica p : previous.replicas) {
          if (specEndpoints.get(i).equals(p.endpoint)) {
            place = p.shard + "/" + p.replica;
          }
        }
      }
      Replica replica = place == null ? null : byPlace.get(place);
      if (replica != null && replica.endpoint == null) {
        replica.endpoint = specEndpoints.get(i);
        replica.reachable = answered && healthy.get(i);
      }
    }
    unplaced.forEach((shard, indexes) -> {
      List<Replica> free = byPlace.values().stream().filter(r -> r.shard == shard && r.endpoint == null).toList();
      for (int k = 0; k < Math.min(free.size(), indexes.size()); k++) {
        free.get(k).endpoint = specEndpoints.get(indexes.get(k));
        free.get(k).reachable = healthy.get(indexes.get(k));
        free.get(k).placedByOrder = true;
      }
    });
    return topology(cluster, byPlace);
  }

  /**
   * Which replica one endpoint is: {@code "<shard>/<replica>"}, {@code "shard <n>"} when only its shard
   * is known, or null when it cannot tell. The rows an endpoint reports as is_local give its shard (on
   * 18.16 is_local is set for every replica of the server's own shard; on newer servers for the server
   * alone); within a shard, the replica whose host_name is the endpoint's {replica} macro, else the
   * shard's replicas are placed in spec.endpoints order.
   */
  private static String place(ClickHouseClient one, String cluster) {
    List<Row> self;
    try {
      self = one.query(Sql.query("SELECT shard_num, replica_num, host_name,"
          + " (SELECT any(substitution) FROM system.macros WHERE macro = 'replica') AS replica_macro"
          + " FROM system.clusters WHERE cluster = ? AND is_local = 1", cluster));
    } catch (ClickHouseException e) {
      return null;
    }
    if (self.size() == 1) {
      return self.get(0).longValue("shard_num") + "/" + self.get(0).longValue("replica_num");
    }
    String place = null;
    for (Row r : self) {
      if (r.string("host_name").equals(r.string("replica_macro"))) {
        place = r.longValue("shard_num") + "/" + r.longValue("replica_num");
      }
    }
    return place != null || self.isEmpty() ? place : "shard " + self.get(0).longValue("shard_num");
  }

  private static Topology topology(String cluster, Map<String, Replica> byPlace) {
    Topology t = new Topology();
    t.cluster = cluster;
    t.replicas = new ArrayList<>(byPlace.values());
    Map<Integer, List<Replica>> shards = byShard(t);
    t.shards = shards.size();
    t.reachableReplicas = t.replicas.stream().filter(r -> Boolean.TRUE.equals(r.reachable)).count() + "/"
        + t.replicas.size();
    shards.forEach((shard, replicas) -> {
      if (replicas.stream().noneMatch(r -> Boolean.TRUE.equals(r.reachable))) {
        t.unavailableShards.add(shard);
      }
    });
    return t;
  }

  public static Map<Integer, List<Replica>> byShard(Topology t) {
    Map<Integer, List<Replica>> shards = new TreeMap<>();
    for (Replica r : t.replicas) {
      shards.computeIfAbsent(r.shard, k -> new ArrayList<>()).add(r);
    }
    return shards;
  }

  /** One sentence on the cluster for the Ready message. */
  public static String describe(Topology t) {
    StringBuilder s = new StringBuilder("Cluster " + t.cluster + ": " + t.shards + " shard(s), "
        + t.reachableReplicas + " replicas answer");
    long unknown = t.replicas.stream().filter(r -> r.endpoint == null).count();
    if (unknown > 0) {
      s.append(" (").append(unknown).append(" without an endpoint in spec.endpoints)");
    }
    if (!t.unavailableShards.isEmpty()) {
      s.append("; no replica of shard(s) ").append(t.unavailableShards).append(" answers");
    }
    return s.append(".").toString();
  }

  /** The indexes in spec.endpoints of a shard's replicas that have an endpoint, reachable ones first. */
  public static List<Integer> shardEndpointIndexes(ClickHouseConnection connection, int shard) {
    List<String> spec = connection.getSpec().getEndpoints();
    Topology t = connection.getStatus() == null ? null : connection.getStatus().topology;
    List<Integer> up = new ArrayList<>();
    List<Integer> down = new ArrayList<>();
    if (t != null) {
      for (Replica r : t.replicas) {
        if (r.shard == shard && r.endpoint != null && spec.contains(r.endpoint)) {
          (Boolean.TRUE.equals(r.reachable) ? up : down).add(spec.indexOf(r.endpoint));
        }
      }
    }
    up.addAll(down);
    return up;
  }
}
