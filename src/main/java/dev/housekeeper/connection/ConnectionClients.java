package dev.housekeeper.connection;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.HttpClickHouseClient;
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
    Entry entry = clients.compute(key(namespace, name), (k, old) -> {
      if (old != null && old.config().equals(config)) {
        return old;
      }
      if (old != null) {
        old.client().close();
      }
      return new Entry(config, factory.apply(config));
    });
    return entry.client();
  }

  /** The client of a connection the reconciler has set up, if any. */
  public Optional<ClickHouseClient> find(String namespace, String name) {
    return Optional.ofNullable(clients.get(key(namespace, name))).map(Entry::client);
  }

  /** Drops and closes a connection's client. */
  public void remove(String namespace, String name) {
    Entry old = clients.remove(key(namespace, name));
    if (old != null) {
      old.client().close();
    }
  }

  @Override
  public void close() {
    clients.values().forEach(e -> e.client().close());
    clients.clear();
  }
}
