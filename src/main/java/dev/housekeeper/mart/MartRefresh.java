package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.Transient;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;

/**
 * One refresh of a mart. Everything is built in a staging table; only a complete, counted staging
 * table reaches the mart: swapped in whole (full: EXCHANGE TABLES where the server has it, else
 * one multi-table RENAME) or partition by partition (incremental: REPLACE PARTITION). The staging
 * table is dropped whatever happens, and a failure leaves the mart as it was.
 */
public final class MartRefresh {

  /** Why a refresh failed; {@code retriable} when the source could not be reached. */
  public static final class Failed extends Exception {
    private final String reason;
    private final boolean retriable;

    public Failed(String reason, String message, boolean retriable, Throwable cause) {
      super(message, cause);
      this.reason = reason;
      this.retriable = retriable;
    }

    public String reason() {
      return reason;
    }

    public boolean retriable() {
      return retriable;
    }
  }

  /** Credentials of a jdbc source, read from its Secret by the reconciler. */
  public record JdbcCredentials(String user, String password) {}

  private final ClickHouseClient client;
  private final ReportMartSpec spec;
  private final String database;
  /** Whether the server has EXCHANGE TABLES (21.8+); it also needs the mart's database to be Atomic. */
  private final boolean serverHasExchange;
  private final JdbcCredentials jdbc;
  private final Consumer<String> progress;
  private final Clock clock;
  /** On a cluster (spec.onCluster): its name, and a client for each replica that should hold the mart. */
  private String cluster;
  private List<ClickHouseClient> replicas = List.of();

  /** Builds and swaps the mart ON CLUSTER, checking every replica before the swap. */
  public MartRefresh onCluster(String name, List<ClickHouseClient> replicaClients) {
    this.cluster = name;
    this.replicas = replicaClients;
    return this;
  }

  private String on() {
    return cluster == null ? "" : " ON CLUSTER " + Identifiers.quote(cluster);
  }

  public MartRefresh(ClickHouseClient client, ReportMartSpec spec, String database, boolean serverHasExchange,
      JdbcCredentials jdbc, Consumer<String> progress, Clock clock) {
    this.client = client;
    this.spec = spec;
    this.database = database;
    this.serverHasExchange = serverHasExchange;
    this.jdbc = jdbc;
    this.progress = progress;
    this.clock = clock;
  }
  /** The limit of the load, the one statement that takes as long as the source is large. */
  private Duration loadTimeout() {
    return StatementTimeout.of(spec.statementTimeout, StatementTimeout.MART);
  }


  /** A mart's working tables: the one being built, and the previous one during the swap. */
  public static final String STAGING_SUFFIX = dev.housekeeper.common.WorkingTables.MART_STAGING_SUFFIX;
  public static final String OLD_SUFFIX = dev.housekeeper.common.WorkingTables.MART_OLD_SUFFIX;

  static String staging(String table) {
    return table + STAGING_SUFFIX;
  }

  static String old(String table) {
    return table + OLD_SUFFIX;
  }

  private boolean exists(String table) {
    return client.tableExists(database, table);
  }

  /**
   * The mart's own database, not the connection's, decides: a mart may live in an Ordinary database
   * of a server whose default database is Atomic (EXCHANGE there fails with NOT_IMPLEMENTED).
   */
  private boolean atomicDatabase() {
    return client.query(Sql.query("SELECT engine FROM system.databases WHERE name = ?", database)).stream()
        .anyMatch(row -> "Atomic".equals(row.string("engine")));
  }

  /**
   * @param full a full rebuild; else the partitions of {@code window}
   * @param why why this mode (for status)
   */
  public ReportMartStatus.Refresh run(boolean full, Window window, String why) throws Failed {
    Instant start = clock.instant();
    ReportMartStatus.Refresh r = new ReportMartStatus.Refresh();
    r.startTime = start.truncatedTo(ChronoUnit.SECONDS).toString();
    r.mode = full ? "full" : "incremental";
    r.why = why;
    r.windowStart = window.start().toString();
    r.windowEnd = window.end().toString();
    String table = spec.table;
    String staging = staging(table);
    try {
      if (cluster != null && !full) {
        throw new Failed("IncrementalOnCluster", "incremental refreshes of a mart on a cluster are not supported yet;"
            + " use mode full", false, null);
      }
      client.execute(Sql.verbatim("CREATE DATABASE IF NOT EXISTS " + Identifiers.quote(database) + on())
          .idempotent(true));
      dropQuietly(staging);
      client.execute(Sql.verbatim(MartSql.createTable(spec, database, staging, cluster,
          cluster == null ? null : "/build-" + start.toEpochMilli())));
      progress.accept("loading " + database + "." + staging + " from the " + (spec.source.jdbc != null ? "jdbc"
          : "clickhouse") + " source");
      Long read = null;
      if (spec.source.jdbc != null) {
        read = loadJdbc(staging, window);
      } else {
        loadClickHouse(staging, window);
      }
      r.rowsWritten = count(staging, null);
      r.sourceRows = read != null ? read : r.rowsWritten; // INSERT ... SELECT: what it selected is what it wrote
      refuseLoss(table, full, window, r.rowsWritten);
      if (cluster != null) {
        awaitReplicas(staging, r.rowsWritten);
        swapOnCluster(table, staging, r);
      } else if (full) {
        swap(table, staging, r);
      } else {
        replacePartitions(table, staging, window, r);
      }
      r.outcome = "Succeeded";
      r.endTime = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
      r.durationMillis = Duration.between(start, clock.instant()).toMillis();
      return r;
    } catch (ClickHouseException e) {
      throw new Failed("ClickHouseError", "ClickHouse: " + e.getMessage(), Transient.is(e), e);
    } finally {
      dropQuietly(staging);
      dropQuietly(old(table));
    }
  }

  /** Every replica has all the new build's rows before it becomes the mart anywhere. */
  private void awaitReplicas(String staging, long rows) throws Failed {
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    for (ClickHouseClient replica : replicas) {
      while (true) {
        long n = replica.query(Sql.verbatim("SELECT count() AS n FROM " + Identifiers.qualified(database, staging)))
            .get(0).longValue("n");
        if (n == rows) {
          break;
        }
        if (System.nanoTime() > deadline) {
          throw new Failed("ReplicationLagging", "replica " + replica.config().endpoints() + " has " + n + " of the "
              + rows + " rows of the new build after 5 minutes; the mart was not swapped anywhere", true, null);
        }
        progress.accept("waiting for replica " + replica.config().endpoints() + ": " + n + " of " + rows + " rows");
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new Failed("Interrupted", "interrupted while waiting for the replicas", true, e);
        }
      }
    }
  }

  /** One RENAME per node, ON CLUSTER: on each replica the mart is the old build or the new one, whole. */
  private void swapOnCluster(String table, String staging, ReportMartStatus.Refresh r) {
    if (!exists(table)) {
      client.execute(Sql.verbatim("RENAME TABLE " + Identifiers.qualified(database, staging) + " TO "
          + Identifiers.qualified(database, table) + on()));
    } else {
      client.execute(Sql.verbatim("RENAME TABLE " + Identifiers.qualified(database, table) + " TO "
          + Identifiers.qualified(database, old(table)) + ", " + Identifiers.qualified(database, staging) + " TO "
          + Identifiers.qualified(database, table) + on()));
    }
    r.swap = "rename on cluster";
  }

  private void dropQuietly(String table) {
    try {
      client.execute(cluster != null
          ? Sql.verbatim("DROP TABLE IF EXISTS " + Identifiers.qualified(database, table) + on()).idempotent(true)
          : Sql.command("DROP TABLE IF EXISTS ?", Sql.table(database, table)).idempotent(true));
    } catch (ClickHouseException e) {
      progress.accept("could not drop " + table + ": " + e.getMessage());
    }
  }

  private long count(String table, String where) {
    return client.query(Sql.verbatim("SELECT count() AS n FROM " + Identifiers.qualified(database, table)
        + (where == null ? "" : " WHERE " + where))).get(0).longValue("n");
  }

  private String columnList() {
    return String.join(", ", spec.columns.stream().map(c -> Identifiers.quote(c.name)).toList());
  }

  private void loadClickHouse(String staging, Window window) throws Failed {
    String select = window.bindClickHouse(spec.source.clickhouse.query.strip());
    try {
      client.execute(Sql.verbatim("INSERT INTO " + Identifiers.qualified(database, staging) + " (" + columnList()
          + ") " + select).withTimeout(loadTimeout()).withQueryId(ClickHouseClient.newQueryId("mart")));
    } catch (ClickHouseException e) {
      throw Transient.is(e) ? new Failed("ClickHouseError", "ClickHouse went away during the load: " + e.getMessage(),
          true, e) : new Failed("SourceQueryFailed", "the source query failed in ClickHouse: " + e.getMessage(), false, e);
    }
  }

  private long loadJdbc(String staging, Window window) throws Failed {
    var source = spec.source.jdbc;
    Window.Prepared prepared = window.bindJdbc(source.query.strip());
    List<ColumnType> types = spec.columns.stream().map(c -> ColumnType.parse(c.type)).toList();
    Properties props = new Properties();
    props.setProperty("user", jdbc.user());
    props.setProperty("password", jdbc.password());
    props.setProperty("connectTimeout", "10");
    props.setProperty("ApplicationName", "housekeeper");
    // the result is read to its end through a cursor: plan for the whole result, not its first rows
    props.setProperty("options", "-c cursor_tuple_fraction=1");
    Connection connection;
    try {
      connection = DriverManager.getConnection(source.url, props);
    } catch (SQLException e) {
      boolean unreachable = e.getSQLState() != null && (e.getSQLState().startsWith("08")
          || e.getSQLState().startsWith("57P"));
      throw new Failed(unreachable ? "SourceUnavailable" : "SourceConnectFailed", "connecting to " + source.url
          + " failed: " + e.getMessage(), unreachable, e);
    }
    try (connection) {
      connection.setAutoCommit(false); // a cursor: rows arrive fetchSize at a time
      connection.setReadOnly(true);
      try (PreparedStatement st = connection.prepareStatement(prepared.sql(), ResultSet.TYPE_FORWARD_ONLY,
          ResultSet.CONCUR_READ_ONLY)) {
        st.setFetchSize(source.fetchSize);
        prepared.bind(st);
        ResultSet rs;
        try {
          rs = st.executeQuery();
        } catch (SQLException e) {
          throw sourceFailure(e);
        }
        int n = rs.getMetaData().getColumnCount();
        if (n != types.size()) {
          throw new Failed("ColumnMismatch", "the source query returns " + n + " columns, the mart has "
              + types.size() + " (" + spec.columns.stream().map(c -> c.name).toList() + "); return them in that"
              + " order", false, null);
        }
        PipedInputStream in = new PipedInputStream(1 << 20);
        PipedOutputStream pipe = new PipedOutputStream(in);
        String qid = ClickHouseClient.newQueryId("mart");
        CompletableFuture<Void> insert = CompletableFuture.runAsync(() -> {
          try (in) {
            client.insert(database, staging, spec.columns.stream().map(c -> c.name).toList(), "RowBinary", in, qid,
                loadTimeout());
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
        long rows = 0;
        try (OutputStream out = new java.io.BufferedOutputStream(pipe, 1 << 16)) {
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
        } catch (SQLException e) {
          pipe.close();
          waitQuietly(insert);
          throw sourceFailure(e);
        } catch (IOException e) {
          // the insert side closed the pipe: its error is the one to report
          waitQuietly(insert);
          rethrowInsert(insert);
          throw new Failed("LoadFailed", "streaming into ClickHouse failed: " + e.getMessage(), false, e);
        }
        try {
          insert.get();
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          throw new Failed("LoadFailed", "inserting into ClickHouse failed: " + cause.getMessage(),
              Transient.is(cause), cause);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new Failed("Interrupted", "the refresh was interrupted", false, e);
        }
        return rows;
      }
    } catch (SQLException e) {
      throw sourceFailure(e);
    } catch (IOException e) {
      throw new Failed("LoadFailed", "streaming into ClickHouse failed: " + e.getMessage(), false, e);
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
        throw new Failed("LoadFailed", "inserting into ClickHouse failed: " + e.getCause().getMessage(), false,
            e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static Failed sourceFailure(SQLException e) {
    // 08: connection exceptions; 57P: the server shut down or restarts (admin_shutdown, crash_shutdown, cannot_connect_now)
    boolean unreachable = e.getSQLState() != null && (e.getSQLState().startsWith("08") || e.getSQLState().startsWith("57P"));
    return new Failed(unreachable ? "SourceUnavailable" : "SourceQueryFailed", (unreachable
        ? "the source became unreachable: " : "the source query failed: ") + e.getMessage(), unreachable, e);
  }

  /** The atomic swap where the server has it (Atomic databases, 20.x and later). */
  public static Sql exchangeSql(String database, String staging, String table) {
    return Sql.command("EXCHANGE TABLES ? AND ?", Sql.table(database, staging), Sql.table(database, table));
  }

  /** The swap every server version has: one multi-table RENAME. */
  public static Sql renameSwapSql(String database, String staging, String table) {
    return Sql.command("RENAME TABLE ? TO ?, ? TO ?", Sql.table(database, table), Sql.table(database, old(table)),
        Sql.table(database, staging), Sql.table(database, table));
  }

  private void swap(String table, String staging, ReportMartStatus.Refresh r) {
    if (!exists(table)) {
      client.execute(Sql.command("RENAME TABLE ? TO ?", Sql.table(database, staging), Sql.table(database, table)));
      r.swap = "rename";
    } else if (serverHasExchange && atomicDatabase()) {
      client.execute(exchangeSql(database, staging, table));
      r.swap = "exchange";
    } else {
      // one statement: both renames happen under the server's locks for all three names
      client.execute(renameSwapSql(database, staging, table));
      r.swap = "rename";
    }
  }

  /** The condition that selects the rows of the window in the mart (and in its staging table). */
  private String inWindow(Window window) {
    String column = Identifiers.quote(spec.refresh.incremental.column);
    return column + " >= " + dev.housekeeper.clickhouse.SqlLiterals.render(window.start()) + " AND "
        + column + " < " + dev.housekeeper.clickhouse.SqlLiterals.render(window.end());
  }

  /**
   * A source that returned nothing, or far less than the mart holds, is more often a late or broken
   * source (an ETL that has not run, a wrong filter) than a true change: such a refresh is refused,
   * unless the spec allows it, and the mart stays as it is.
   */
  private void refuseLoss(String table, boolean full, Window window, long fresh) throws Failed {
    if (!exists(table)) {
      return;
    }
    long replaced = full ? count(table, null) : count(table, inWindow(window));
    String what = full ? "the mart's " + replaced + " rows" : "the " + replaced + " rows of the window ["
        + window.start() + ", " + window.end() + ")";
    if (replaced == 0 || fresh >= replaced) {
      return;
    }
    ReportMartSpec.Refresh settings = spec.refresh == null ? new ReportMartSpec.Refresh() : spec.refresh;
    if (fresh == 0 && !settings.allowEmpty) {
      throw new Failed("EmptySourceResult", "the source returned no rows to replace " + what + "; the mart is"
          + " unchanged. Set spec.refresh.allowEmpty: true if an empty result is right.", false, null);
    }
    Integer limit = settings.maxShrinkPercent;
    if (limit != null && (replaced - fresh) * 100 > (long) limit * replaced) {
      throw new Failed("ShrinkLimitExceeded", "the source returned " + fresh + " rows to replace " + what + ", a loss"
          + " of more than maxShrinkPercent (" + limit + "%); the mart is unchanged. Raise"
          + " spec.refresh.maxShrinkPercent if the loss is right.", false, null);
    }
  }

  private void replacePartitions(String table, String staging, Window window, ReportMartStatus.Refresh r)
      throws Failed {
    String inWindow = inWindow(window);
    long outside = count(staging, "NOT (" + inWindow + ")");
    if (outside > 0) {
      throw new Failed("RowsOutsideWindow", "the source returned " + outside + " rows outside the window ["
          + window.start() + ", " + window.end() + "); filter on {window_start} and {window_end}. The mart is"
          + " unchanged.", false, null);
    }
    List<String> fresh = new ArrayList<>();
    for (Row row : client.query(Sql.query("SELECT DISTINCT partition_id FROM system.parts WHERE database = ? AND"
        + " table = ? AND active ORDER BY partition_id", database, staging))) {
      fresh.add(row.string("partition_id"));
    }
    List<String> touched = new ArrayList<>();
    for (Row row : client.query(Sql.verbatim("SELECT DISTINCT _partition_id AS p FROM " + Identifiers.qualified(
        database, table) + " WHERE " + inWindow + " ORDER BY p"))) {
      touched.add(row.string("p"));
    }
    // a partition must lie wholly inside the window, or replacing or dropping it would lose rows outside it
    List<String> changed = new ArrayList<>(fresh);
    touched.stream().filter(p -> !fresh.contains(p)).forEach(changed::add);
    for (String p : changed) {
      long beyond = count(table, "_partition_id = " + dev.housekeeper.clickhouse.SqlLiterals.render(p)
          + " AND NOT (" + inWindow + ")");
      if (beyond > 0) {
        throw new Failed("WindowNotAligned", "partition " + p + " of the mart has " + beyond + " rows outside the"
            + " window [" + window.start() + ", " + window.end() + "); the window's periods must line up with"
            + " partitionBy. The mart is unchanged.", false, null);
      }
    }
    for (String p : fresh) {
      client.execute(Sql.command("ALTER TABLE ? REPLACE PARTITION ID ? FROM ?", Sql.table(database, table), p,
          Sql.table(database, staging)));
      r.partitionsReplaced.add(p);
    }
    for (String p : touched) {
      if (!fresh.contains(p)) {
        client.execute(Sql.command("ALTER TABLE ? DROP PARTITION ID ?", Sql.table(database, table), p));
        r.partitionsDropped.add(p);
      }
    }
    r.swap = "replacePartition";
  }
}
