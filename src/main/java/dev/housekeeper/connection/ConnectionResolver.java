package dev.housekeeper.connection;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.common.Conditions;

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

  /** A usable connection. */
  public record Resolved(ClickHouseClient client, ClickHouseConnection connection) {}

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
    return new Resolved(client, connection);
  }
}
