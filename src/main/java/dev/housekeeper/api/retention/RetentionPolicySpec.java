package dev.housekeeper.api.retention;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.ConnectionRef;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.List;

/** Desired state of a RetentionPolicy. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RetentionPolicySpec {

  public static final String KEEP_PATTERN = "^[0-9]{1,5}(d|w|M|y)$";
  public static final String IDENT_PATTERN = dev.housekeeper.api.common.ClickHouseNames.NAME;

  /** What a rule does. */
  public enum Action {
    /** Drop whole partitions whose newest data is older than the cutoff (time-based partition keys). */
    dropPartitions,
    /** ALTER TABLE ... DELETE WHERE column < cutoff (a mutation), for tables not partitioned by time. */
    delete,
    /** Set the table's TTL so that ClickHouse enforces retention itself (ClickHouse 19.6 and later). */
    ttl
  }

  @Required
  @JsonPropertyDescription("The ClickHouseConnection to work through.")
  private ConnectionRef connectionRef;

  @Pattern(IDENT_PATTERN)
  @JsonPropertyDescription("Database of the tables. Default: the connection's database.")
  private String database;

  @Required
  @JsonPropertyDescription("Which tables the policy covers.")
  private TableSelector tables;

  @Required
  @Pattern(KEEP_PATTERN)
  @JsonPropertyDescription("How much data to keep: a number and a unit, d (days), w (weeks), M (months) or y (years), for"
      + " example 90d, 12w, 18M.")
  private String keep;

  @Pattern("^[0-9]{1,9}(s|m|h)$")
  @JsonPropertyDescription("Time limit of each long statement: an OPTIMIZE, a mutation that is waited for. Default 2h."
      + " Short metadata queries run under the connection's queryTimeout instead. Shown in status.statementTimeout.")
  private String statementTimeout;

  @Pattern(IDENT_PATTERN)
  @JsonPropertyDescription("Date or DateTime column the age is measured on. Required for delete and ttl; for"
      + " dropPartitions the partition ranges of system.parts are used.")
  private String column;

  @Default("dropPartitions")
  @JsonPropertyDescription("dropPartitions (default), delete or ttl.")
  private Action action = Action.dropPartitions;

  @JsonPropertyDescription("Per-table rules that replace keep, column and action for the tables they name.")
  private List<TableRule> overrides = new ArrayList<>();

  @JsonPropertyDescription("When retention runs. Without it, it runs only when asked (annotation housekeeper.dev/run-now).")
  private Schedule schedule;

  @Default("false")
  @JsonPropertyDescription("Stop scheduled runs (and OPTIMIZE runs); previews and statistics go on.")
  private boolean suspend;

  @JsonPropertyDescription("OPTIMIZE settings, with their own schedule.")
  private Optimize optimize;

  @Default("false")
  @JsonPropertyDescription("Runs compute and report what they would remove, and remove nothing.")
  private boolean dryRun;

  @Default("12")
  @Min(1)
  @Max(100000)
  @JsonPropertyDescription("Most partitions one run may drop in one table; a run that would drop more stops for that table.")
  private int maxPartitionsPerRun = 12;

  @Default("100000000")
  @Min(1)
  @JsonPropertyDescription("Most rows one run may remove from one table; a run that would remove more stops for that table.")
  private long maxRowsPerRun = 100_000_000L;

  /** Table selection. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class TableSelector {
    @JsonPropertyDescription("Table names. A name that does not exist is reported; the others are processed.")
    private List<@Pattern(IDENT_PATTERN) String> names = new ArrayList<>();

    @JsonPropertyDescription("A regular expression (RE2 syntax, matched in linear time: no backreferences or"
        + " lookaround) that table names, in any script, must match entirely, for example events_.*")
    private String pattern;

    @JsonPropertyDescription("Table names left out, even when named or matched.")
    private List<String> exclude = new ArrayList<>();

    public List<String> getNames() {
      return names;
    }

    public void setNames(List<String> names) {
      this.names = names;
    }

    public String getPattern() {
      return pattern;
    }

    public void setPattern(String pattern) {
      this.pattern = pattern;
    }

    public List<String> getExclude() {
      return exclude;
    }

    public void setExclude(List<String> exclude) {
      this.exclude = exclude;
    }
  }

  /** A per-table rule. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class TableRule {
    @Required
    @Pattern(IDENT_PATTERN)
    @JsonPropertyDescription("Table the rule applies to.")
    private String table;

    @Pattern(KEEP_PATTERN)
    @JsonPropertyDescription("How much to keep in this table (default: the policy's keep).")
    private String keep;

    @Pattern(IDENT_PATTERN)
    @JsonPropertyDescription("Date or DateTime column of this table (default: the policy's column).")
    private String column;

    @JsonPropertyDescription("Action for this table (default: the policy's action).")
    private Action action;

    public String getTable() {
      return table;
    }

    public void setTable(String table) {
      this.table = table;
    }

    public String getKeep() {
      return keep;
    }

    public void setKeep(String keep) {
      this.keep = keep;
    }

    public String getColumn() {
      return column;
    }

    public void setColumn(String column) {
      this.column = column;
    }

    public Action getAction() {
      return action;
    }

    public void setAction(Action action) {
      this.action = action;
    }
  }

  /** A cron schedule with a time zone. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Schedule {
    @Required
    @Pattern("^(\\S+\\s+){4}\\S+$")
    @JsonPropertyDescription("Cron expression with five fields (minute hour day-of-month month day-of-week), for example"
        + " \"0 3 * * *\". A run missed while the operator was down runs once when it is back, not once per miss.")
    private String cron;

    @Default("UTC")
    @JsonPropertyDescription("Time zone of the cron expression and of the retention cutoff, for example Europe/Berlin.")
    private String timeZone = "UTC";

    public String getCron() {
      return cron;
    }

    public void setCron(String cron) {
      this.cron = cron;
    }

    public String getTimeZone() {
      return timeZone;
    }

    public void setTimeZone(String timeZone) {
      this.timeZone = timeZone;
    }
  }

  /** OPTIMIZE settings. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Optimize {
    @JsonPropertyDescription("When OPTIMIZE runs. Without it, only on request (annotation housekeeper.dev/optimize-now).")
    private Schedule schedule;

    @Default("true")
    @JsonPropertyDescription("OPTIMIZE ... FINAL: merge each chosen partition into one part.")
    private boolean finalMerge = true;

    @Default("false")
    @JsonPropertyDescription("OPTIMIZE ... DEDUPLICATE: also remove fully identical rows.")
    private boolean deduplicate;

    @Default("0")
    @Min(0)
    @Max(100000)
    @JsonPropertyDescription("Only the newest N partitions of each table; 0 for all.")
    private int lastPartitions;

    @Default("1")
    @Min(1)
    @Max(100000)
    @JsonPropertyDescription("Only partitions with more active parts than this.")
    private int minParts = 1;

    public Schedule getSchedule() {
      return schedule;
    }

    public void setSchedule(Schedule schedule) {
      this.schedule = schedule;
    }

    public boolean isFinalMerge() {
      return finalMerge;
    }

    public void setFinalMerge(boolean finalMerge) {
      this.finalMerge = finalMerge;
    }

    public boolean isDeduplicate() {
      return deduplicate;
    }

    public void setDeduplicate(boolean deduplicate) {
      this.deduplicate = deduplicate;
    }

    public int getLastPartitions() {
      return lastPartitions;
    }

    public void setLastPartitions(int lastPartitions) {
      this.lastPartitions = lastPartitions;
    }

    public int getMinParts() {
      return minParts;
    }

    public void setMinParts(int minParts) {
      this.minParts = minParts;
    }
  }

  public ConnectionRef getConnectionRef() {
    return connectionRef;
  }

  public void setConnectionRef(ConnectionRef connectionRef) {
    this.connectionRef = connectionRef;
  }

  public String getDatabase() {
    return database;
  }

  public void setDatabase(String database) {
    this.database = database;
  }

  public TableSelector getTables() {
    return tables;
  }

  public void setTables(TableSelector tables) {
    this.tables = tables;
  }

  public String getKeep() {
    return keep;
  }

  public String getStatementTimeout() {
    return statementTimeout;
  }

  public void setStatementTimeout(String statementTimeout) {
    this.statementTimeout = statementTimeout;
  }

  public void setKeep(String keep) {
    this.keep = keep;
  }

  public String getColumn() {
    return column;
  }

  public void setColumn(String column) {
    this.column = column;
  }

  public Action getAction() {
    return action;
  }

  public void setAction(Action action) {
    this.action = action;
  }

  public List<TableRule> getOverrides() {
    return overrides;
  }

  public void setOverrides(List<TableRule> overrides) {
    this.overrides = overrides;
  }

  public Schedule getSchedule() {
    return schedule;
  }

  public void setSchedule(Schedule schedule) {
    this.schedule = schedule;
  }

  public boolean isSuspend() {
    return suspend;
  }

  public void setSuspend(boolean suspend) {
    this.suspend = suspend;
  }

  public Optimize getOptimize() {
    return optimize;
  }

  public void setOptimize(Optimize optimize) {
    this.optimize = optimize;
  }

  public boolean isDryRun() {
    return dryRun;
  }

  public void setDryRun(boolean dryRun) {
    this.dryRun = dryRun;
  }

  public int getMaxPartitionsPerRun() {
    return maxPartitionsPerRun;
  }

  public void setMaxPartitionsPerRun(int maxPartitionsPerRun) {
    this.maxPartitionsPerRun = maxPartitionsPerRun;
  }

  public long getMaxRowsPerRun() {
    return maxRowsPerRun;
  }

  public void setMaxRowsPerRun(long maxRowsPerRun) {
    this.maxRowsPerRun = maxRowsPerRun;
  }
}
