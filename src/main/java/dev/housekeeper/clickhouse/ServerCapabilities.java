package dev.housekeeper.clickhouse;

/**
 * What a server supports. Each flag selects between the modern path and the path that works on
 * every version (18.16 included).
 */
public record ServerCapabilities(
    ServerVersion version,
    boolean nativeBackup,
    boolean tableTtl,
    boolean exchangeTables,
    boolean lightweightDelete,
    boolean postgresqlTableFunction,
    boolean queryParameters) {

  /**
   * Derives capabilities from facts read off the server.
   *
   * @param databaseEngine engine of the connection's database (EXCHANGE needs Atomic)
   * @param hasPostgresqlFunction whether system.table_functions lists postgresql
   * @param queryParametersProbe whether a {name:Type} query parameter was accepted
   */
  public static ServerCapabilities derive(ServerVersion version, String databaseEngine, boolean hasPostgresqlFunction,
      boolean queryParametersProbe) {
    return new ServerCapabilities(
        version,
        version.atLeast(22, 8),
        version.atLeast(19, 6),
        version.atLeast(21, 8) && "Atomic".equals(databaseEngine),
        version.atLeast(23, 3),
        hasPostgresqlFunction,
        queryParametersProbe);
  }
}
