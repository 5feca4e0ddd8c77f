package dev.housekeeper.connection;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.common.Conditions;
import java.util.List;

/**
 * Turns a resource's {@code connectionRef} into a client, once the ClickHouseConnection it names
 * is Ready; otherwise says, in words, why not.
 */
public final class ConnectionResolver {

  /** The connection is Ready but this process has not probed it yet (just started): wait quietly. */
  public static final String WARMING_UP = "ConnectionWarmingUp";

  private final ConnectionClients clients;

  public ConnectionResolver(ConnectionClients clients) {
    this.clients = clients;
  }

  /**
   * A usable connection: its client (queries balanced over every endpoint), and the clients for one
   * node at a time and for one shard.
   */
  public record Resolved(ClickHouseClient client, ClickHouseConnection connection, ConnectionClients clients) {

    /**
     * A client that sends every query to the first endpoint that answers, and moves on only when it
     * stops answering: reads then see the writes before them, which a replicated table read through
     * a balancer does not promise (replication is asynchronous). For a cluster's ledger and lock.
     */
    public ClickHouseClient pinned() {
      String ns = connection.getMetadata().getNamespace();
      String name = connection.getMetadata().getName();
      return clients.pinned(ns, name).orElse(client);
    }

    /**
     * The client for the whole of one job (a migration run, a backup, a restore, a mart refresh, a
     * retention run): its statements build on each other (a lock claim read back, a ledger row, a
     * staging table created, loaded, then swapped), so on independent servers behind one connection
     * they must all go to one server. That is the first endpoint that answered the connection's last
     * probe; if it stops answering, the job fails and is retried as a whole on the endpoint that
     * answers then. On a cluster, where replicas share state through ZooKeeper, it is {@link #pinned()}.
     */
    public ClickHouseClient forJob() {
      List<String> endpoints = connection.getSpec().getEndpoints();
      if (topology() != null) {
        return pinned();
      }
      if (endpoints == null || endpoints.size() <= 1) {
        return client;
      }
      int chosen = 0;
      List<ClickHouseConnectionStatus.EndpointStatus> probed = connection.getStatus() == null ? List.of()
          : connection.getStatus().getEndpoints();
      for (int i = 0; i < endpoints.size(); i++) {
        String endpoint = endpoints.get(i);
        if (probed.stream().anyMatch(p -> endpoint.equals(p.getUrl()) && p.isHealthy())) {
          chosen = i;
          break;
        }
      }
      return clients.subset(connection.getMetadata().getNamespace(), connection.getMetadata().getName(),
          List.of(chosen)).orElse(client);
    }

    /** A client for one shard's replicas (failing over only among them), or empty when none has an endpoint. */
    public java.util.Optional<ClickHouseClient> shard(int shard) {
      return clients.subset(connection.getMetadata().getNamespace(), connection.getMetadata().getName(),
          ClusterTopology.shardEndpointIndexes(connection, shard));
    }

    /** A client for one spec endpoint alone. */
    public java.util.Optional<ClickHouseClient> endpoint(String specEndpoint) {
      int i = connection.getSpec().getEndpoints().indexOf(specEndpoint);
      return i < 0 ? java.util.Optional.empty()
          : clients.subset(connection.getMetadata().getNamespace(), connection.getMetadata().getName(), List.of(i));
    }

    /** The cluster's topology at the connection's last probe, or null for a single server. */
    public ClickHouseConnectionStatus.Topology topology() {
      return connection.getStatus() == null ? null : connection.getStatus().topology;
    }

    /** A client per shard that has an endpoint (empty on a single server). */
    public java.util.Map<Integer, ClickHouseClient> shardClients() {
      java.util.Map<Integer, ClickHouseClient> out = new java.util.TreeMap<>();
      if (topology() != null) {
        for (int shard : ClusterTopology.byShard(topology()).keySet()) {
          shard(shard).ifPresent(c -> out.put(shard, c));
        }
      }
      return out;
    }

    /** A client for one replica alone, when it has an endpoint and answered the last probe. */
    public java.util.Optional<ClickHouseClient> replica(ClickHouseConnectionStatus.Replica replica) {
      return replica.endpoint != null && Boolean.TRUE.equals(replica.reachable) ? endpoint(replica.endpoint)
          : java.util.Optional.empty();
    }
  }

  /** Why a connection cannot be used yet. */
  public static final class NotReady extends Exception {
    private final String reason;

    NotReady(String reason, String message) {
      super(message);
      this.reason = reason;
    }

    public String reason() {
      return reason;
    }

    /** When to look again: soon while this process warms up (it probes the connection in a moment), else in 15 s. */
    public java.time.Duration requeue() {
      return java.time.Duration.ofSeconds(WARMING_UP.equals(reason) ? 2 : 15);
    }
  }

  /**
   * @param namespace the namespace of both resources
   * @param name the connection's name
   * @param connection the connection resource, or null if it does not exist
   */
  public Resolved resolve(String namespace, String name, ClickHouseConnection connection) throws NotReady {
    if (connection == null) {
      throw new NotReady("ConnectionNotFound", "ClickHouseConnection \"" + name + "\" does not exist in namespace "
          + namespace + "; create it, or fix spec.connectionRef.name.");
    }
    var status = connection.getStatus();
    if (status == null || !Conditions.isTrue(status.getConditions(), Conditions.READY)) {
      String why = status == null ? "not probed yet" : Conditions.find(status.getConditions(), Conditions.READY)
          .map(c -> c.getReason() + ": " + c.getMessage()).orElse("not probed yet");
      throw new NotReady("ConnectionNotReady", "ClickHouseConnection \"" + name + "\" is not Ready (" + why + ").");
    }
    ClickHouseClient client = clients.find(namespace, name).orElseThrow(() -> new NotReady(WARMING_UP,
        "ClickHouseConnection \"" + name + "\" has not been probed by this operator process yet."));
    return new Resolved(client, connection, clients);
  }
}
