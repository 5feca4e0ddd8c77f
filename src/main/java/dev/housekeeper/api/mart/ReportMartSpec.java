package dev.housekeeper.api.mart;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.ConnectionRef;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Desired state of a ReportMart. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ReportMartSpec {

  public static final String IDENT = dev.housekeeper.api.common.ClickHouseNames.NAME;

  /** How a refresh rebuilds the mart. */
  public enum Mode {
    /** Build all of it in a staging table, then swap it in atomically. */
    full,
    /** Rebuild the partitions of a time window in staging, then REPLACE PARTITION each into the mart. */
    incremental
  }

  /** Calendar unit of an incremental window. */
  public enum Period {
    day,
    month
  }

  @Required
  @JsonPropertyDescription("The ClickHouseConnection to the ClickHouse that holds the mart.")
  public ConnectionRef connectionRef;

  @Pattern(IDENT)
  @JsonPropertyDescription("Database of the mart (created if missing). Default: the connection's database.")
  public String database;

  @Required
  @Pattern(IDENT)
  @io.fabric8.generator.annotation.ValidationRule(value = "self == oldSelf", message = "table cannot change: the"
      + " mart's data is in the old table; create another ReportMart")
  @JsonPropertyDescription("Table name of the mart. It cannot change once set.")
  public String table;

  @Required
  @JsonPropertyDescription("Columns, in the order the source query returns them.")
  public List<Column> columns = new ArrayList<>();

  @Default("MergeTree")
  @Pattern("^[A-Za-z]*MergeTree(\\(.*\\))?$")
  @JsonPropertyDescription("Table engine of the MergeTree family, for example MergeTree or"
      + " ReplacingMergeTree(version). Default MergeTree.")
  public String engine = "MergeTree";

  @io.fabric8.generator.annotation.Pattern("^[0-9]{1,9}(s|m|h)$")
  @JsonPropertyDescription("Time limit of each long statement: the load of the source's rows (INSERT ... SELECT or the JDBC copy). Default 6h. Short metadata"
      + " queries run under the connection's queryTimeout instead. Shown in status.statementTimeout.")
  public String statementTimeout;

  @JsonPropertyDescription("Build the mart on every node of the connection's cluster (spec.cluster): the engine must be"
      + " Replicated*MergeTree with a ZooKeeper path shared by the nodes that should hold the mart (for a small report"
      + " table, one path without {shard} makes every node a replica). Each refresh builds a new replicated table ON"
      + " CLUSTER, waits until every replica has all its rows, then swaps it in ON CLUSTER, so readers on any replica"
      + " see the old mart or the new one, whole. Full refreshes only.")
  public boolean onCluster;

  @JsonPropertyDescription("PARTITION BY expression, for example toYYYYMM(report_date). Incremental refreshes need"
      + " one whose partitions line up with the window's periods.")
  public String partitionBy;

  @Required
  @JsonPropertyDescription("ORDER BY expression, for example (user_id, report_date).")
  public String orderBy;

  @JsonPropertyDescription("Table settings, for example index_granularity: \"8192\".")
  public Map<String, String> settings = new LinkedHashMap<>();

  @Required
  @JsonPropertyDescription("Where the rows come from: exactly one of clickhouse and jdbc.")
  public Source source;

  @JsonPropertyDescription("When and how the mart is refreshed. Default: a full refresh when created, then on"
      + " request (annotation housekeeper.dev/run-now).")
  public Refresh refresh;

  /** A column of the mart. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Column {
    @Required
    @Pattern(IDENT)
    @JsonPropertyDescription("Column name.")
    public String name;

    @Required
    @JsonPropertyDescription("ClickHouse type: (U)Int8-64, Float32/64, Decimal(P,S), String, Date, DateTime, and"
        + " Nullable(...) or LowCardinality(...) of those.")
    public String type;

    public Column() {}

    public Column(String name, String type) {
      this.name = name;
      this.type = type;
    }
  }

  /** The source of the rows. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Source {
    @JsonPropertyDescription("A SELECT that runs inside ClickHouse (INSERT ... SELECT: no rows pass through the"
        + " operator).")
    public ClickHouseSource clickhouse;

    @JsonPropertyDescription("An external database read through JDBC (PostgreSQL); the operator streams its rows into"
        + " ClickHouse in RowBinary, never holding the whole result.")
    public JdbcSource jdbc;
  }

  /** A ClickHouse SELECT. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class ClickHouseSource {
    @Required
    @JsonPropertyDescription("The SELECT, returning the columns in order. {window_start} and {window_end} are bound as"
        + " typed Date literals (the window being rebuilt; for a full refresh 1970-01-01 and 2100-01-01).")
    public String query;
  }

  /** An external database. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class JdbcSource {
    @Required
    @Pattern("^jdbc:postgresql://.+")
    @JsonPropertyDescription("JDBC URL, for example jdbc:postgresql://postgres:5432/bionicpro?sslmode=verify-full."
        + " Only the PostgreSQL driver's harmless parameters are accepted (ssl, sslmode, sslNegotiation,"
        + " channelBinding, requireAuth, connectTimeout, loginTimeout, tcpKeepAlive, ApplicationName, currentSchema,"
        + " readOnly, readOnlyMode, targetServerType, loadBalanceHosts, hostRecheckSeconds, prepareThreshold,"
        + " binaryTransfer, stringtype, assumeMinServerVersion); no credentials (they come from credentialsSecret)."
        + " Status and Events show it without its query string.")
    public String url;

    @Required
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("Secret with the database user and password.")
    public String credentialsSecret;

    @Default("username")
    @JsonPropertyDescription("Key of the user name in the Secret. Default username.")
    public String usernameKey = "username";

    @Default("password")
    @JsonPropertyDescription("Key of the password in the Secret. Default password.")
    public String passwordKey = "password";

    @Required
    @JsonPropertyDescription("The query, returning the columns in order: one statement (a semicolon may end it), read"
        + " with COPY (query) TO STDOUT. {window_start} and {window_end} become typed date literals of the window's"
        + " own dates.")
    public String query;

    @Default("10000")
    @Min(100)
    @Max(1000000)
    @JsonPropertyDescription("No longer used: the source is read with COPY, which streams its rows without round"
        + " trips and is never held whole. Accepted (100 to 1000000) so that existing specs stay valid.")
    public int fetchSize = 10000;

    @Default("5m")
    @Pattern("^[0-9]{1,9}(ms|s|m|h)$")
    @JsonPropertyDescription("How long the source may take to answer: to start its result, and then to send each"
        + " next row. When it is reached the source query is cancelled (on the PostgreSQL server too) and the"
        + " refresh fails with reason TimedOut. The whole load stays within spec.statementTimeout. At least 1s,"
        + " at most 24h. Default 5m.")
    public String queryTimeout = "5m";
  }

  /** When and how. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Refresh {
    @Default("full")
    @JsonPropertyDescription("full (staging table swapped in) or incremental (the window's partitions replaced).")
    public Mode mode = Mode.full;

    @JsonPropertyDescription("Cron schedule with time zone. A time missed while the operator was down runs once.")
    public Schedule schedule;

    @JsonPropertyDescription("Stop scheduled refreshes (requests by annotation still run).")
    public boolean suspend;

    @JsonPropertyDescription("The window of an incremental refresh.")
    public Incremental incremental;

    @JsonPropertyDescription("Accept a source result with no rows where the mart has rows (a full refresh then swaps"
        + " in an empty mart, an incremental one empties the window's partitions). Default false: such a refresh is"
        + " refused with reason EmptySourceResult and the mart stays as it is (an empty result is far more often a"
        + " late or broken source than a true change).")
    public boolean allowEmpty;

    @Min(0)
    @Max(100)
    @JsonPropertyDescription("The largest loss of rows a refresh may make, in percent of the rows it replaces (all of"
        + " the mart for a full refresh, the window for an incremental one); a refresh that loses more is refused"
        + " with reason ShrinkLimitExceeded. Default: no limit.")
    public Integer maxShrinkPercent;
  }

  /** A cron schedule. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Schedule {
    @Required
    @Pattern("^(\\S+\\s+){4}\\S+$")
    @JsonPropertyDescription("Cron expression with five fields, for example \"0 2 * * *\".")
    public String cron;

    @Default("UTC")
    @JsonPropertyDescription("Time zone of the cron expression and of the window. Default UTC.")
    public String timeZone = "UTC";
  }

  /** The window an incremental refresh rebuilds: the last N periods up to now. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Incremental {
    @Required
    @Pattern(IDENT)
    @JsonPropertyDescription("Date or DateTime column of the mart the window applies to, for example report_date.")
    public String column;

    @Default("month")
    @JsonPropertyDescription("day or month. Default month.")
    public Period period = Period.month;

    @Default("1")
    @Min(1)
    @Max(120)
    @JsonPropertyDescription("How many periods, counting the current one: 2 rebuilds this month and last month.")
    public int periods = 1;
  }
}
