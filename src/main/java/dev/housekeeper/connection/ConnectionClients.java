package dev.housekeeper.connection;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.HttpClickHouseClient;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * One {@link ClickHouseClient} per ClickHouseConnection, kept while its configuration (spec and
 * Secret) stays the same, so that circuit breakers and connection pools outlive a reconcile. Every
 * kind reaches ClickHouse through the client registered here for the connection it names.
 */
public class ConnectionClients implements AutoCloseable {

  private record Entry(ClientConfig config, ClickHouseClient client) {}

  private final Map<String, Entry> clients = new ConcurrentHashMap<>();
  private final Function<ClientConfig, ClickHouseClient> factory;
  /** Set when the leader lease is lost: no client is made or used any more. */
  private volatile boolean fenced;

  public ConnectionClients() {
    this(HttpClickHouseClient::new);
  }

  public ConnectionClients(Function<ClientConfig, ClickHouseClient> factory) {
    this.factory = factory;
  }

  private static String key(String namespace, String name) {
    return namespace + "/" + name;
  }

  /** The client for this connection and configuration; replaces (and closes) a client of an older one. */
  public ClickHouseClient obtain(String namespace, String name, ClientConfig config) {
    if (fenced) {
      throw new IllegalStateException("this replica lost the leader lease: it sends nothing more to ClickHouse");
    }
    Entry entry = clients.compute(key(namespace, name), (k, old) -> {
      if (old != null && old.config().equals(config)) {
        return old;
      }
      if (old != null) {
        old.client().close();
      }
      return new Entry(config, factory.apply(config));
    });
    if (!name.contains(SUBSET)) {
      // subsets of an older configuration go with it
      String prefix = key(namespace, name) + SUBSET;
      clients.entrySet().removeIf(e -> {
        if (e.getKey().startsWith(prefix) && !sameSettings(e.getValue().config(), config)) {
          e.getValue().client().close();
          return true;
        }
        return false;
      });
    }
    return entry.client();
  }

  /** The client of a connection the reconciler has set up, if any. */
  public Optional<ClickHouseClient> find(String namespace, String name) {
    return Optional.ofNullable(clients.get(key(namespace, name))).map(Entry::client);
  }

  /**
   * A client for some of a connection's endpoints (by their index in spec.endpoints), with the same
   * settings: the replicas of one shard, so that a query fails over only within that shard; or one
   * replica. Cached; closed with the connection's client.
   */
  public Optional<ClickHouseClient> subset(String namespace, String name, List<Integer> endpointIndexes) {
    Entry parent = clients.get(key(namespace, name));
    if (parent == null || endpointIndexes.isEmpty()) {
      return Optional.empty();
    }
    List<String> endpoints = endpointIndexes.stream().map(i -> parent.config().endpoints().get(i)).toList();
    ClientConfig config = parent.config().withEndpoints(endpoints);
    return Optional.of(obtain(namespace, name + SUBSET + endpointIndexes, config));
  }

  private static final String SUBSET = "#";

  /** A client for every endpoint of a connection, first healthy first (see {@link ConnectionResolver.Resolved#pinned}). */
  public Optional<ClickHouseClient> pinned(String namespace, String name) {
    Entry parent = clients.get(key(namespace, name));
    if (parent == null) {
      return Optional.empty();
    }
    return Optional.of(obtain(namespace, name + SUBSET + "pinned",
        parent.config().withBalancing(ClientConfig.Balancing.FIRST_HEALTHY)));
  }

  /** Drops and closes a connection's client and its subsets. */
  public void remove(String namespace, String name) {
    String prefix = key(namespace, name);
    clients.entrySet().removeIf(e -> {
      if (e.getKey().equals(prefix) || e.getKey().startsWith(prefix + SUBSET)) {
        e.getValue().client().close();
        return true;
      }
      return false;
    });
  }

  private static boolean sameSettings(ClientConfig subset, ClientConfig parent) {
    return subset.withBalancing(parent.balancing()).equals(parent.withEndpoints(subset.endpoints()))
        && parent.endpoints().containsAll(subset.endpoints());
  }

  /** Cancels every query of every client (KILL QUERY on its server); returns how many were running. */
  public int cancelAll() {
    return clients.values().stream().mapToInt(e -> e.client().cancelAll()).sum();
  }

  /**
   * After a lost lease: kills every query still running (see {@link #cancelAll}), closes every client,
   * so that a statement already on its way fails instead of being sent, and refuses new clients.
   * Returns how many queries were killed.
   */
  public int fence() {
    fenced = true;
    int killed = cancelAll();
    close();
    return killed;
  }

  @Override
  public void close() {
    clients.values().forEach(e -> e.client().close());
    clients.clear();
  }
}
