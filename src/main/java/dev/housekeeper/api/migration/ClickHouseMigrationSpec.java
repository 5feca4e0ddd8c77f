package dev.housekeeper.api.migration;

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

/** Desired state of a ClickHouseMigration. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClickHouseMigrationSpec {

  @Required
  @JsonPropertyDescription("The ClickHouseConnection to migrate through.")
  private ConnectionRef connectionRef;

  @Pattern(dev.housekeeper.api.common.ClickHouseNames.NAME)
  @JsonPropertyDescription("Database the migrations run in and the ledger lives in. Default: the connection's database.")
  private String database;

  @JsonPropertyDescription("Migrations given inline. Versions order numerically; each version must be unique.")
  private List<Migration> migrations = new ArrayList<>();

  @JsonPropertyDescription(
      "ConfigMaps (same namespace) whose keys are migration files: V<version>__<name>.sql and optional"
          + " V<version>__<name>.down.sql.")
  private List<ConfigMapSource> configMaps = new ArrayList<>();

  @Min(0)
  @JsonPropertyDescription(
      "Version to reach. Default: the latest. A lower version than the current one rolls back by running the"
          + " down scripts in reverse order.")
  private Long targetVersion;

  @Default("false")
  @JsonPropertyDescription("Run the DDL and keep the ledger ON CLUSTER the connection's cluster.")
  private boolean onCluster;

  @Default("false")
  @JsonPropertyDescription("List what would run, in status, and run nothing.")
  private boolean dryRun;

  @Default("housekeeper_migrations")
  @Pattern(dev.housekeeper.api.common.ClickHouseNames.NAME)
  @JsonPropertyDescription("Name of the ledger table in the database.")
  private String ledgerTable = "housekeeper_migrations";

  @Default("false")
  @JsonPropertyDescription(
      "Go on although the text of an applied migration changed (its checksum no longer matches the ledger)."
          + " Without it such a change stops the resource in phase Drift.")
  private boolean allowDrift;

  @Default("60s")
  @Pattern("^[0-9]{1,9}(s|m|h)$")
  @JsonPropertyDescription(
      "How long the migration lock in ClickHouse lives without renewal; a holder that dies releases it after this."
          + " At least 5s.")
  private String lockTimeout = "60s";

  @Default("300s")
  @Pattern("^[0-9]{1,9}(s|m|h)$")
  @JsonPropertyDescription("Time limit of each statement.")
  private String statementTimeout = "300s";

  /** One inline migration. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Migration {
    @Required
    @Min(1)
    @JsonPropertyDescription("Version number; migrations run in ascending order of it.")
    private long version;

    @Required
    @Pattern("^[A-Za-z0-9_.-]{1,200}$")
    @JsonPropertyDescription("Short name, for the ledger and status.")
    private String name;

    @Required
    @JsonPropertyDescription("SQL to apply: one or more statements separated by semicolons.")
    private String up;

    @JsonPropertyDescription("SQL that undoes 'up', for rollbacks. Optional; a rollback past a migration without it fails.")
    private String down;

    public Migration() {}

    public Migration(long version, String name, String up, String down) {
      this.version = version;
      this.name = name;
      this.up = up;
      this.down = down;
    }

    public long getVersion() {
      return version;
    }

    public void setVersion(long version) {
      this.version = version;
    }

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
    }

    public String getUp() {
      return up;
    }

    public void setUp(String up) {
      this.up = up;
    }

    public String getDown() {
      return down;
    }

    public void setDown(String down) {
      this.down = down;
    }
  }

  /** A ConfigMap holding migration files. */
  public static class ConfigMapSource {
    @Required
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("Name of the ConfigMap, in the same namespace.")
    private String name;

    public ConfigMapSource() {}

    public ConfigMapSource(String name) {
      this.name = name;
    }

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
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

  public List<Migration> getMigrations() {
    return migrations;
  }

  public void setMigrations(List<Migration> migrations) {
    this.migrations = migrations;
  }

  public List<ConfigMapSource> getConfigMaps() {
    return configMaps;
  }

  public void setConfigMaps(List<ConfigMapSource> configMaps) {
    this.configMaps = configMaps;
  }

  public Long getTargetVersion() {
    return targetVersion;
  }

  public void setTargetVersion(Long targetVersion) {
    this.targetVersion = targetVersion;
  }

  public boolean isOnCluster() {
    return onCluster;
  }

  public void setOnCluster(boolean onCluster) {
    this.onCluster = onCluster;
  }

  public boolean isDryRun() {
    return dryRun;
  }

  public void setDryRun(boolean dryRun) {
    this.dryRun = dryRun;
  }

  public String getLedgerTable() {
    return ledgerTable;
  }

  public void setLedgerTable(String ledgerTable) {
    this.ledgerTable = ledgerTable;
  }

  public boolean isAllowDrift() {
    return allowDrift;
  }

  public void setAllowDrift(boolean allowDrift) {
    this.allowDrift = allowDrift;
  }

  public String getLockTimeout() {
    return lockTimeout;
  }

  public void setLockTimeout(String lockTimeout) {
    this.lockTimeout = lockTimeout;
  }

  public String getStatementTimeout() {
    return statementTimeout;
  }

  public void setStatementTimeout(String statementTimeout) {
    this.statementTimeout = statementTimeout;
  }
}
