package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.clickhouse.ClickHouseClient;
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
 * at a time, and streamed as RowBinary into one INSERT of the staging table while it is read.
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

  /** Loads the window's rows of the source into {@code staging}; answers the rows read from the source. */
  long load(String staging, Window window) throws Failed {
    var source = spec.source.jdbc;
    Window.Prepared prepared = window.bindJdbc(source.query.strip());
    List<ColumnType> types = spec.columns.stream().map(c -> ColumnType.parse(c.type)).toList();
    try (Connection connection = connect()) {
      connection.setAutoCommit(false); // a cursor: rows arrive fetchSize at a time
      connection.setReadOnly(true);
      try (PreparedStatement st = connection.prepareStatement(prepared.sql(), ResultSet.TYPE_FORWARD_ONLY,
          ResultSet.CONCUR_READ_ONLY)) {
        st.setFetchSize(source.fetchSize);
        prepared.bind(st);
        ResultSet rs = execute(st);
        checkColumns(rs, types);
        return stream(rs, types, staging);
      }
    } catch (SQLException e) {
      throw sourceFailure(e);
    } catch (IOException e) {
      throw Failed.lasting("LoadFailed", "streaming into ClickHouse failed: " + e.getMessage(), e);
    }
  }

  private Connection connect() throws Failed {
    Properties props = new Properties();
    props.setProperty("user", credentials.user());
    props.setProperty("password", credentials.password());
    props.setProperty("connectTimeout", "10");
    props.setProperty("ApplicationName", "housekeeper");
    // the result is read to its end through a cursor: plan for the whole result, not its first rows
    props.setProperty("options", "-c cursor_tuple_fraction=1");
    String url = spec.source.jdbc.url;
    try {
      return DriverManager.getConnection(url, props);
    } catch (SQLException e) {
      // PostgreSQL names the user in its answer ("password authentication failed for user ..."), and the
      // user came from a Secret's key, which may hold anything
      String message = "connecting to " + url + " failed: " + redacted(e.getMessage());
      throw unreachable(e) ? Failed.passing("SourceUnavailable", message, e)
          : Failed.lasting("SourceConnectFailed", message, e);
    }
  }

  /** A driver's message without the credentials' values. */
  private String redacted(String message) {
    if (message == null) {
      return null;
    }
    String out = message;
    if (credentials.password().length() >= 4) {
      out = out.replace(credentials.password(), "[password]");
    }
    if (credentials.user().length() >= 2) {
      out = out.replace(credentials.user(), "[the source's user]");
    }
    return out;
  }

  private static ResultSet execute(PreparedStatement st) throws Failed {
    try {
      return st.executeQuery();
    } catch (SQLException e) {
      throw sourceFailure(e);
    }
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
  private long stream(ResultSet rs, List<ColumnType> types, String staging) throws IOException, Failed {
    PipedInputStream in = new PipedInputStream(1 << 20);
    PipedOutputStream pipe = new PipedOutputStream(in);
    CompletableFuture<Void> insert = insert(in, staging);
    long rows;
    try (OutputStream out = new BufferedOutputStream(pipe, 1 << 16)) {
      rows = write(rs, types, out, insert);
    } catch (SQLException e) {
      pipe.close();
      waitQuietly(insert);
      throw sourceFailure(e);
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

  private long write(ResultSet rs, List<ColumnType> types, OutputStream out, CompletableFuture<Void> insert)
      throws SQLException, IOException {
    long rows = 0;
    while (rs.next()) {
      for (int i = 0; i < types.size(); i++) {
        types.get(i).write(rs, i + 1, out);
      }
      rows++;
      if (rows % 100_000 == 0) {
        progress.accept(rows + " rows read from the source");
      }
      if (insert.isDone()) {
        break; // the insert ended early: its error is reported below
      }
    }
    return rows;
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

  private static Failed sourceFailure(SQLException e) {
    return unreachable(e) ? Failed.passing("SourceUnavailable", "the source became unreachable: " + e.getMessage(), e)
        : Failed.lasting("SourceQueryFailed", "the source query failed: " + e.getMessage(), e);
  }
}
