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
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;

/**
 * The load of a jdbc source (PostgreSQL): the source query is read through a cursor, fetchSize rows
 * at a time, and streamed as RowBinary into one INSERT of the staging table while it is read. A
 * {@link SourceWatch} stops the source query when it does not answer within queryTimeout, when the
 * load outlasts statementTimeout, or when the work is cancelled.
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
    Window.Prepared prepared = window.bindJdbc(source.query.strip());
    List<ColumnType> types = spec.columns.stream().map(c -> ColumnType.parse(c.type)).toList();
    Duration idle = queryTimeout(source);
    try (SourceWatch watch = new SourceWatch(idle, timeout)) {
      try (Connection connection = connect(idle)) {
        watch.watch(connection);
        connection.setAutoCommit(false); // a cursor: rows arrive fetchSize at a time
        connection.setReadOnly(true);
        try (PreparedStatement st = connection.prepareStatement(prepared.sql(), ResultSet.TYPE_FORWARD_ONLY,
            ResultSet.CONCUR_READ_ONLY)) {
          st.setFetchSize(source.fetchSize);
          prepared.bind(st);
          watch.waiting();
          ResultSet rs = st.executeQuery();
          watch.answered();
          checkColumns(rs, types);
          return stream(rs, types, staging, watch);
        }
      } catch (SQLException e) {
        throw sourceFailure(e, watch);
      } catch (IOException e) {
        throw stoppedOr(watch, e, Failed.lasting("LoadFailed", "streaming into ClickHouse failed: "
            + e.getMessage(), e));
      }
    }
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
    // the result is read to its end through a cursor: plan for the whole result, not its first rows
    props.setProperty("options", "-c cursor_tuple_fraction=1");
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

  private void checkColumns(ResultSet rs, List<ColumnType> types) throws SQLException, Failed {
    int n = rs.getMetaData().getColumnCount();
    if (n != types.size()) {
      throw Failed.lasting("ColumnMismatch", "the source query returns " + n + " columns, the mart has "
          + types.size() + " (" + spec.columns.stream().map(c -> c.name).toList() + "); return them in that"
          + " order", null);
    }
  }

  /** Streams the rows into one INSERT running beside the reading; the INSERT's error wins over the pipe's. */
  private long stream(ResultSet rs, List<ColumnType> types, String staging, SourceWatch watch)
      throws IOException, Failed {
    PipedInputStream in = new PipedInputStream(1 << 20);
    PipedOutputStream pipe = new PipedOutputStream(in);
    CompletableFuture<Void> insert = insert(in, staging);
    long rows;
    try (OutputStream out = new BufferedOutputStream(pipe, 1 << 16)) {
      rows = write(rs, types, out, insert, watch);
    } catch (SQLException e) {
      pipe.close();
      waitQuietly(insert);
      throw sourceFailure(e, watch);
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

  private long write(ResultSet rs, List<ColumnType> types, OutputStream out, CompletableFuture<Void> insert,
      SourceWatch watch) throws SQLException, IOException {
    long rows = 0;
    RowBytes chunk = new RowBytes();
    while (next(rs, watch)) {
      for (int i = 0; i < types.size(); i++) {
        types.get(i).write(rs, i + 1, chunk);
      }
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

  /** The next row; the watch counts the time the source takes to send it (a fetch every fetchSize rows). */
  private static boolean next(ResultSet rs, SourceWatch watch) throws SQLException {
    watch.waiting();
    boolean more = rs.next();
    watch.answered();
    return more;
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
