package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartSpec.Mode;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.Transient;
import dev.housekeeper.common.WorkingTables;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.function.Consumer;

/**
 * One refresh of a mart. Everything is built in a staging table; only a complete, counted staging
 * table reaches the mart: swapped in whole (full: {@link MartSwap}) or partition by partition
 * (incremental: {@link PartitionReplace}). The staging table is dropped whatever happens, and a
 * failure leaves the mart as it was.
 */
public final class MartRefresh {

  /** Why a refresh failed, and whether the failure may pass by itself (then the refresh is retried). */
  public static final class Failed extends Exception {
    private final String reason;
    private final boolean retriable;

    private Failed(String reason, String message, boolean retriable, Throwable cause) {
      super(message, cause);
      this.reason = reason;
      this.retriable = retriable;
    }

    /** A failure that may pass (the source or ClickHouse could not be reached): the refresh is retried. */
    public static Failed passing(String reason, String message, Throwable cause) {
      return new Failed(reason, message, true, cause);
    }

    /** A failure that stays until something changes (the spec, the source's data): it is not retried. */
    public static Failed lasting(String reason, String message, Throwable cause) {
      return new Failed(reason, message, false, cause);
    }

    /** A failure of ClickHouse: passing or lasting as {@link Transient#is} says. */
    static Failed clickhouse(String reason, String message, Throwable cause) {
      return new Failed(reason, message, Transient.is(cause), cause);
    }

    public String reason() {
      return reason;
    }

    public boolean retriable() {
      return retriable;
    }
  }

  /** Credentials of a jdbc source, read from its Secret by the reconciler. */
  public record JdbcCredentials(String user, String password) {
    /** Never the values: a record's own toString would print the password wherever the record is logged. */
    @Override
    public String toString() {
      return "JdbcCredentials[hidden]";
    }
  }

  /** A mart's working tables: the one being built, and the previous one during the swap. */
  public static final String STAGING_SUFFIX = WorkingTables.MART_STAGING_SUFFIX;
  public static final String OLD_SUFFIX = WorkingTables.MART_OLD_SUFFIX;

  private final ClickHouseClient client;
  private final ReportMartSpec spec;
  private final String database;
  private final boolean serverHasExchange;
  private final JdbcCredentials jdbc;
  private final Consumer<String> progress;
  private final Clock clock;
  /** On a cluster (spec.onCluster): its name, and a client for each replica that should hold the mart. */
  private String cluster;
  private List<ClickHouseClient> replicas = List.of();

  /** {@code serverHasExchange}: whether the server has EXCHANGE TABLES (21.8+). */
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

  /** Builds and swaps the mart ON CLUSTER, checking every replica before the swap. */
  public MartRefresh onCluster(String name, List<ClickHouseClient> replicaClients) {
    this.cluster = name;
    this.replicas = replicaClients;
    return this;
  }

  /** {@code <table>_hk_staging}, cut and hashed when that would be longer than a name in {@code database} may be. */
  static String staging(String database, String table) {
    return Identifiers.derived(database, "", table, STAGING_SUFFIX);
  }

  /** {@code <table>_hk_old}, cut and hashed when that would be longer than a name in {@code database} may be. */
  static String old(String database, String table) {
    return Identifiers.derived(database, "", table, OLD_SUFFIX);
  }

  /** The atomic swap where the server has it (Atomic databases, 20.x and later). */
  public static Sql exchangeSql(String database, String staging, String table) {
    return MartSwap.exchangeSql(database, staging, table);
  }

  /** The swap every server version has: one multi-table RENAME. */
  public static Sql renameSwapSql(String database, String staging, String table) {
    return MartSwap.renameSwapSql(database, staging, table, null);
  }

  /**
   * @param mode a full rebuild, or the partitions of {@code window}
   * @param why why this mode (for status)
   */
  public ReportMartStatus.Refresh run(Mode mode, Window window, String why) throws Failed {
    Instant start = clock.instant();
    ReportMartStatus.Refresh r = new ReportMartStatus.Refresh();
    r.startTime = start.truncatedTo(ChronoUnit.SECONDS).toString();
    r.mode = mode.name();
    r.why = why;
    r.windowStart = window.start().toString();
    r.windowEnd = window.end().toString();
    String table = spec.table;
    String staging = staging(database, table);
    try {
      if (cluster != null && mode != Mode.full) {
        throw Failed.lasting("IncrementalOnCluster", "incremental refreshes of a mart on a cluster are not supported"
            + " yet; use mode full", null);
      }
      build(staging, window, start, r);
      // asked once: the mart is this resource's own table, and one refresh of it runs at a time
      boolean exists = client.tableExists(database, table);
      refuseLoss(exists, table, mode, window, r.rowsWritten);
      if (cluster != null) {
        new MartSwap(client, database, serverHasExchange, progress).onCluster(cluster, replicas, table, staging, r,
            exists);
      } else if (mode == Mode.full) {
        new MartSwap(client, database, serverHasExchange, progress).full(table, staging, r, exists);
      } else {
        new PartitionReplace(client, database, spec.refresh.incremental.column).replace(table, staging, window, r);
      }
      r.outcome = "Succeeded";
      r.endTime = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
      r.durationMillis = Duration.between(start, clock.instant()).toMillis();
      return r;
    } catch (ClickHouseException e) {
      throw Failed.clickhouse("ClickHouseError", "ClickHouse: " + e.getMessage(), e);
    } finally {
      dropQuietly(staging);
      dropQuietly(old(database, table));
    }
  }

  /** A new staging table, loaded from the source and counted. */
  private void build(String staging, Window window, Instant start, ReportMartStatus.Refresh r) throws Failed {
    client.execute(Sql.command("CREATE DATABASE IF NOT EXISTS ??", Sql.id(database), Sql.onCluster(cluster))
        .idempotent(true));
    dropQuietly(staging);
    client.execute(MartSql.createTable(spec, database, staging, cluster,
        cluster == null ? null : "/build-" + start.toEpochMilli()));
    progress.accept("loading " + database + "." + staging + " from the " + (spec.source.jdbc != null ? "jdbc"
        : "clickhouse") + " source");
    Long read = null;
    if (spec.source.jdbc != null) {
      read = new JdbcLoad(client, spec, database, jdbc, loadTimeout(), progress).load(staging, window);
    } else {
      loadClickHouse(staging, window);
    }
    r.rowsWritten = MartSql.count(client, database, staging, null);
    r.sourceRows = read != null ? read : r.rowsWritten; // INSERT ... SELECT: what it selected is what it wrote
  }

  /** The limit of the load, the one statement that takes as long as the source is large. */
  private Duration loadTimeout() {
    return StatementTimeout.of(spec.statementTimeout, StatementTimeout.MART);
  }

  private void dropQuietly(String table) {
    try {
      client.execute(Sql.command("DROP TABLE IF EXISTS ??", Sql.table(database, table), Sql.onCluster(cluster))
          .idempotent(true));
    } catch (ClickHouseException e) {
      progress.accept("could not drop " + table + ": " + e.getMessage());
    }
  }

  /**
   * INSERT INTO staging (columns) followed by the user's source query with its window bound: only that
   * query is taken as the user wrote it.
   */
  private void loadClickHouse(String staging, Window window) throws Failed {
    Sql.Fragment select = Sql.userQuery("spec.source.clickhouse.query",
        window.bindClickHouse(spec.source.clickhouse.query.strip()));
    Sql insert = Sql.command("INSERT INTO ? (?) ?", Sql.table(database, staging),
        Sql.ids(spec.columns.stream().map(c -> c.name).toList()), select);
    try {
      client.execute(insert.withTimeout(loadTimeout()).withQueryId(ClickHouseClient.newQueryId("mart")));
    } catch (ClickHouseException e) {
      throw Transient.is(e)
          ? Failed.passing("ClickHouseError", "ClickHouse went away during the load: " + e.getMessage(), e)
          : Failed.lasting("SourceQueryFailed", "the source query failed in ClickHouse: " + e.getMessage(), e);
    }
  }

  /**
   * A source that returned nothing, or far less than the mart holds, is more often a late or broken
   * source (an ETL that has not run, a wrong filter) than a true change: such a refresh is refused,
   * unless the spec allows it, and the mart stays as it is.
   */
  private void refuseLoss(boolean exists, String table, Mode mode, Window window, long fresh) throws Failed {
    if (!exists) {
      return;
    }
    boolean full = mode == Mode.full;
    long replaced = MartSql.count(client, database, table, full ? null
        : MartSql.inWindow(spec.refresh.incremental.column, window));
    String what = full ? "the mart's " + replaced + " rows" : "the " + replaced + " rows of the window ["
        + window.start() + ", " + window.end() + ")";
    if (replaced == 0 || fresh >= replaced) {
      return;
    }
    ReportMartSpec.Refresh settings = spec.refresh == null ? new ReportMartSpec.Refresh() : spec.refresh;
    if (fresh == 0 && !settings.allowEmpty) {
      throw Failed.lasting("EmptySourceResult", "the source returned no rows to replace " + what + "; the mart is"
          + " unchanged. Set spec.refresh.allowEmpty: true if an empty result is right.", null);
    }
    Integer limit = settings.maxShrinkPercent;
    if (limit != null && (replaced - fresh) * 100 > (long) limit * replaced) {
      throw Failed.lasting("ShrinkLimitExceeded", "the source returned " + fresh + " rows to replace " + what
          + ", a loss of more than maxShrinkPercent (" + limit + "%); the mart is unchanged. Raise"
          + " spec.refresh.maxShrinkPercent if the loss is right.", null);
    }
  }
}
