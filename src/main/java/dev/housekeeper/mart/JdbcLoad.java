package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.common.Durations;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.mart.MartRefresh.Failed;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;

/**
 * The load of a jdbc source (PostgreSQL): the source query is read with {@code COPY (query) TO
 * STDOUT}, which the server streams while it runs the query (a cursor's fetches wait for each other
 * and for the operator; COPY does not), and each text row is written as RowBinary into one INSERT of
 * the staging table while it is read. A {@link SourceWatch} stops the source query when it does not
 * answer within queryTimeout, when the load outlasts statementTimeout, or when the work is cancelled.
 */
final class JdbcLoad {

  private final ClickHouseClient client;
  private final ReportMartSpec spec;
  private final String database;
  private final MartRefresh.JdbcCredentials credentials;
  private final Duration timeout;
  private final Consumer<String> progress;

  JdbcLoad(ClickHouseClient client, ReportMartSpec spec, String database, MartRefresh.JdbcCredentials credentials,
      Duration timeout, Consumer<String> progress) {
    this.client = client;
    this.spec = spec;
    this.database = database;
    this.credentials = credentials;
    this.timeout = timeout;
    this.progress = progress;
  }

  /** The default of spec.source.jdbc.queryTimeout, and its bounds. */
  static final Duration QUERY_TIMEOUT = Duration.ofMinutes(5);
  private static final Duration MIN_QUERY_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration MAX_QUERY_TIMEOUT = Duration.ofHours(24);

  /**
   * How long the source may take to answer one call: spec.source.jdbc.queryTimeout, or 5 minutes.
   *
   * @throws IllegalArgumentException with a message fit for a condition when it is malformed or out of bounds
   */
  static Duration queryTimeout(ReportMartSpec.JdbcSource source) {
    Duration d = Durations.parse("spec.source.jdbc.queryTimeout", source.queryTimeout, QUERY_TIMEOUT);
    if (d.compareTo(MIN_QUERY_TIMEOUT) < 0 || d.compareTo(MAX_QUERY_TIMEOUT) > 0) {
      throw new IllegalArgumentException("spec.source.jdbc.queryTimeout must be between 1s and 24h");
    }
    return d;
  }

  /** Loads the window's rows of the source into {@code staging}; answers the rows read from the source. */
  long load(String staging, Window window) throws Failed {
    var source = spec.source.jdbc;
    String query = window.bindPostgres(statement(source.query));
    List<ColumnType> types = spec.columns.stream().map(c -> ColumnType.parse(c.type)).toList();
    Duration idle = queryTimeout(source);
    try (SourceWatch watch = new SourceWatch(idle, timeout)) {
      try (Connection connection = connect(idle)) {
        watch.watch(connection);
        // one read-only transaction: the query can change nothing on the source
        connection.setAutoCommit(false);
        connection.setReadOnly(true);
        watch.waiting();
        // the query on lines of its own: a comment on its last line ends before the parenthesis
        CopyOut copy = connection.unwrap(PGConnection.class).getCopyAPI()
            .copyOut("COPY (\n" + query + "\n) TO STDOUT");
        watch.answered();
        try {
          checkColumns(copy, types);
          return stream(copy, types, staging, watch);
        } finally {
          stopEarly(copy);
        }
      } catch (SQLException e) {
        throw sourceFailure(e, watch);
      } catch (IOException e) {
        throw stoppedOr(watch, e, Failed.lasting("LoadFailed", "streaming into ClickHouse failed: "
            + e.getMessage(), e));
      }
    }
  }

  /** A load that stopped before the last row (a failure, the insert's end) tells the source to stop sending. */
  private static void stopEarly(CopyOut copy) {
    try {
      if (copy.isActive()) {
        copy.cancelCopy();
      }
    } catch (SQLException ignored) {
      // the connection is closed next, which ends the query as well
    }
  }

  /** The query as one statement to put inside COPY ( ... ): without the semicolons that may end it. */
  static String statement(String query) {
    String q = query.strip();
    while (q.endsWith(";")) {
      q = q.substring(0, q.length() - 1).stripTrailing();
    }
    return q;
  }

  private Connection connect(Duration idle) throws Failed {
    Properties props = new Properties();
    props.setProperty("user", credentials.user());
    props.setProperty("password", credentials.password());
    // the URL may set connectTimeout and loginTimeout (JdbcUrl allows them); these are the defaults
    props.setProperty("connectTimeout", "10");
    props.setProperty("loginTimeout", String.valueOf(Math.min(idle.toSeconds() + 1, 60)));
    // a last guard if the watch's cancel cannot reach the server: no socket read waits much past queryTimeout
    props.setProperty("socketTimeout", String.valueOf(Math.min(idle.toSeconds() + 30, 2_147_484)));
    props.setProperty("ApplicationName", "housekeeper");
    // the forms CopyText reads: ISO dates, timestamptz in UTC, floats printed exactly on servers before 12
    props.setProperty("options", "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3");
    try {
      return DriverManager.getConnection(spec.source.jdbc.url, props);
    } catch (SQLException e) {
      String message = "connecting to " + JdbcUrl.shown(spec.source.jdbc.url) + " failed: " + hidden(e.getMessage());
      throw unreachable(e) ? Failed.passing("SourceUnavailable", message, e)
          : Failed.lasting("SourceConnectFailed", message, e);
    }
  }

  /**
   * A driver or server message with the Secret's values replaced by where they come from: PostgreSQL
   * quotes the user name when it refuses a login, and nothing the Secret holds may reach status.
   */
  private String hidden(String message) {
    if (message == null) {
      return null;
    }
    var source = spec.source.jdbc;
    String out = message;
    String password = credentials.password();
    if (password != null && !password.isEmpty()) {
      out = out.replace(password, "(the password of Secret " + source.credentialsSecret + ")");
    }
    String user = credentials.user();
    if (user != null && !user.isEmpty()) {
      out = out.replaceAll("(?<![A-Za-z0-9_])" + java.util.regex.Pattern.quote(user) + "(?![A-Za-z0-9_])",
          java.util.regex.Matcher.quoteReplacement("(the user of Secret " + source.credentialsSecret + ", key "
              + source.usernameKey + ")"));
    }
    return out;
  }

  /**
   * Refuses a query that returns another number of columns than the mart has, before any row is
   * read: PostgreSQL's answer to COPY says how many columns its rows have.
   */
  private void checkColumns(CopyOut copy, List<ColumnType> types) throws Failed {
    int n = copy.getFieldCount();
    if (n != types.size()) {
      throw Failed.lasting("ColumnMismatch", "the source query returns " + n + " columns, the mart has "
          + types.size() + " (" + spec.columns.stream().map(c -> c.name).toList() + "); return them in that"
          + " order", null);
    }
  }

  /** Streams the rows into one INSERT running beside the reading; the INSERT's error wins over the pipe's. */
  private long stream(CopyOut copy, List<ColumnType> types, String staging, SourceWatch watch)
      throws IOException, Failed {
    PipedInputStream in = new PipedInputStream(1 << 20);
    PipedOutputStream pipe = new PipedOutputStream(in);
    CompletableFuture<Void> insert = insert(in, staging);
    long rows;
    try (OutputStream out = new BufferedOutputStream(pipe, 1 << 16)) {
      rows = write(copy, types, out, insert, watch);
    } catch (SQLException e) {
      pipe.close();
      waitQuietly(insert);
      throw sourceFailure(e, watch);
    } catch (IllegalArgumentException e) {
      pipe.close();
      waitQuietly(insert);
      throw Failed.lasting("LoadFailed", "a source row does not fit the mart: " + e.getMessage(), e);
    } catch (IOException e) {
      // the insert side closed the pipe: its error is the one to report
      waitQuietly(insert);
      rethrowInsert(insert);
      throw Failed.lasting("LoadFailed", "streaming into ClickHouse failed: " + e.getMessage(), e);
    }
    awaitInsert(insert);
    return rows;
  }

  private CompletableFuture<Void> insert(PipedInputStream in, String staging) {
    String queryId = ClickHouseClient.newQueryId("mart");
    List<String> columns = spec.columns.stream().map(c -> c.name).toList();
    return CompletableFuture.runAsync(() -> {
      try (in) {
        client.insert(database, staging, columns, "RowBinary", in, queryId, timeout);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  private long write(CopyOut copy, List<ColumnType> types, OutputStream out, CompletableFuture<Void> insert,
      SourceWatch watch) throws SQLException, IOException {
    List<String> names = spec.columns.stream().map(c -> c.name).toList();
    long rows = 0;
    RowBytes chunk = new RowBytes();
    for (byte[] row = next(copy, watch); row != null; row = next(copy, watch)) {
      writeRow(row, types, names, chunk);
      if (chunk.full()) {
        chunk.drainTo(out);
        // a pipe's reader that found it empty sleeps until a flush (or a full pipe) wakes it: wake it now
        out.flush();
      }
      rows++;
      if (rows % 100_000 == 0) {
        progress.accept(rows + " rows read from the source");
      }
      if (insert.isDone()) {
        break; // the insert ended early: its error is reported below
      }
    }
    chunk.drainTo(out);
    return rows;
  }

  /** One COPY text row (its fields split at tabs, ending in a newline) as RowBinary. */
  static void writeRow(byte[] row, List<ColumnType> types, List<String> names, RowBytes out) {
    int end = row.length > 0 && row[row.length - 1] == '\n' ? row.length - 1 : row.length;
    int from = 0;
    for (int i = 0; i < types.size(); i++) {
      if (from > end) {
        throw new IllegalArgumentException("a row has " + i + " fields, the mart " + types.size() + " columns");
      }
      int to = from;
      while (to < end && row[to] != '\t') {
        to++;
      }
      types.get(i).write(row, from, to, out, names.get(i));
      from = to + 1;
    }
    if (from <= end) {
      throw new IllegalArgumentException("a row has more fields than the mart's " + types.size() + " columns");
    }
  }

  /** The next row, or null at the end; the watch counts the time the source takes to send it. */
  private static byte[] next(CopyOut copy, SourceWatch watch) throws SQLException {
    watch.waiting();
    byte[] row = copy.readFromCopy();
    watch.answered();
    return row;
  }

  private static void awaitInsert(CompletableFuture<Void> insert) throws Failed {
    try {
      insert.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw Failed.clickhouse("LoadFailed", "inserting into ClickHouse failed: " + cause.getMessage(), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Failed.lasting("Interrupted", "the refresh was interrupted", e);
    }
  }

  private static void waitQuietly(CompletableFuture<Void> insert) {
    try {
      insert.get();
    } catch (Exception ignored) {
      // reported by the caller
    }
  }

  private static void rethrowInsert(CompletableFuture<Void> insert) throws Failed {
    if (insert.isCompletedExceptionally()) {
      try {
        insert.get();
      } catch (ExecutionException e) {
        throw Failed.lasting("LoadFailed", "inserting into ClickHouse failed: " + e.getCause().getMessage(),
            e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Whether the source could not be reached. SQLSTATE 08: connection exceptions; 57P: the server shut
   * down or restarts (admin_shutdown, crash_shutdown, cannot_connect_now).
   */
  private static boolean unreachable(SQLException e) {
    return e.getSQLState() != null && (e.getSQLState().startsWith("08") || e.getSQLState().startsWith("57P"));
  }

  private Failed sourceFailure(SQLException e, SourceWatch watch) {
    String message = hidden(e.getMessage());
    return stoppedOr(watch, e, unreachable(e)
        ? Failed.passing("SourceUnavailable", "the source became unreachable: " + message, e)
        : Failed.lasting("SourceQueryFailed", "the source query failed: " + message, e));
  }

  /**
   * The failure the watch caused, when it stopped the load (the driver then reports a cancelled
   * query or a closed connection), else {@code otherwise}.
   */
  private Failed stoppedOr(SourceWatch watch, Exception e, Failed otherwise) {
    SourceWatch.Stop stop = watch.stopped();
    if (stop == null) {
      return otherwise;
    }
    return switch (stop) {
      case TIMED_OUT -> Failed.lasting("TimedOut", "the source did not answer within spec.source.jdbc.queryTimeout ("
          + StatementTimeout.text(queryTimeout(spec.source.jdbc)) + "); its query was cancelled on the source server",
          e);
      case TOO_LONG -> Failed.lasting("TimedOut", "the load from the source took longer than spec.statementTimeout ("
          + StatementTimeout.text(timeout) + "); its query was cancelled on the source server", e);
      case CANCELLED -> {
        // the work was cancelled and its result is discarded; the staging table is still dropped on the way
        // out, which needs a thread that is not interrupted
        Thread.interrupted();
        yield Failed.lasting("Cancelled", "the refresh was cancelled (its mart was deleted, or the operator is"
            + " stopping); its query was cancelled on the source server", e);
      }
    };
  }
}
