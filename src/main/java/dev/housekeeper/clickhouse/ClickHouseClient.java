package dev.housekeeper.clickhouse;

import java.io.InputStream;
import java.util.List;

/**
 * The only way Housekeeper talks to ClickHouse. Every call carries a query id (the statement's
 * own, or a generated one), is routed to a healthy endpoint, is retried only when that is safe,
 * and fails with a typed {@link ClickHouseException}.
 */
public interface ClickHouseClient extends AutoCloseable {

  /** Runs a statement that returns rows and reads them as JSONEachRow. */
  List<Row> query(Sql sql);

  /** Runs a statement whose result is not needed (DDL, ALTER, OPTIMIZE, KILL ...). */
  void execute(Sql sql);

  /**
   * Runs a statement and hands its raw output, in {@code format}, to {@code reader} while it is
   * streamed. Nothing is buffered whole.
   */
  <T> T stream(Sql sql, String format, StreamReader<T> reader);

  /**
   * Streams {@code data}, encoded in {@code format}, into {@code database.table}
   * ({@code columns} may be empty for all of them).
   */
  default void insert(String database, String table, List<String> columns, String format, InputStream data,
      String queryId) {
    insert(database, table, columns, format, data, queryId, null);
  }

  /**
   * The same, allowed to run for {@code timeout} (null: the connection's queryTimeout): a restore's or
   * a mart's load streams for as long as its data takes.
   */
  void insert(String database, String table, List<String> columns, String format, InputStream data, String queryId,
      java.time.Duration timeout);

  /**
   * Kills the query with this id on the server that runs it ({@code KILL QUERY ... SYNC}), and
   * aborts the local request. Returns whether a running query was found.
   */
  boolean cancel(String queryId);

  /** Cancels every query this client is running (see {@link #cancel}); returns how many were found running. */
  int cancelAll();

  /** Probes every endpoint once, bypassing circuit breakers, and reports what each answered. */
  List<EndpointProbe> probe();

  /**
   * Whether a table exists, by {@code EXISTS TABLE}: it looks at that one table, where a
   * {@code system.tables} query on 18.16 can fail while another table of the database is being
   * dropped or renamed (seen with 200 marts refreshing at once).
   */
  default boolean tableExists(String database, String table) {
    return query(Sql.query("EXISTS TABLE ?", Sql.table(database, table))).get(0).longValue("result") == 1;
  }

  /** The server version and what it supports, from the first endpoint that answers. */
  ServerCapabilities capabilities();

  /** State of each endpoint's circuit breaker: CLOSED, OPEN or HALF_OPEN. */
  List<String> breakerStates();

  /**
   * How long until the client sends anything again: zero while some endpoint's circuit breaker lets
   * requests through, else the time until the first one half-opens. Work that failed because every
   * breaker was open is due again then, not on a backoff that knows nothing of the breaker.
   */
  java.time.Duration blockedFor();

  /** The configuration this client was built from. */
  ClientConfig config();

  @Override
  void close();

  /**
   * A failure of a {@link StreamReader} itself (for example the storage it writes to): passed to
   * the caller as it is, never classified as a ClickHouse error, never retried.
   */
  final class ReaderFailure extends RuntimeException {
    public ReaderFailure(Throwable cause) {
      super(cause.getMessage(), cause);
    }
  }

  /** Consumes a raw result stream. */
  @FunctionalInterface
  interface StreamReader<T> {
    T read(InputStream in) throws Exception;
  }

  /** What one endpoint answered to a probe. */
  record EndpointProbe(String endpoint, boolean healthy, long latencyMillis, String serverVersion,
      ClickHouseException error) {}

  /** A new query id, unique enough to find the query in system.processes and system.query_log. */
  static String newQueryId(String purpose) {
    return "hk-" + purpose + "-" + java.util.UUID.randomUUID();
  }
}
