package dev.housekeeper.migration;

import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.Durations;
import dev.housekeeper.connection.ConnectionResolver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What makes a ClickHouseMigration unusable before anything runs: the spec's own fields, its
 * migrations (inline and from ConfigMaps, see {@link MigrationSource}), and an ON CLUSTER run on a
 * connection that names no cluster. A problem is a ValidationError; nothing is sent to ClickHouse.
 */
final class MigrationValidation {

  static final String REASON = "ValidationError";

  private MigrationValidation() {}

  /** The spec's field problems, in words (empty: none). */
  static List<String> problems(ClickHouseMigrationSpec spec) {
    if (spec == null) {
      return List.of("spec is missing");
    }
    List<String> problems = new ArrayList<>();
    if (spec.getConnectionRef() == null || spec.getConnectionRef().getName() == null
        || spec.getConnectionRef().getName().isBlank()) {
      problems.add("spec.connectionRef.name is required");
    }
    if (spec.getDatabase() != null && Identifiers.nameProblem(spec.getDatabase()) != null) {
      problems.add("spec.database: " + Identifiers.describe(spec.getDatabase()) + " is not a valid database name: it "
          + Identifiers.nameProblem(spec.getDatabase()));
    }
    if (Identifiers.nameProblem(spec.getLedgerTable()) != null) {
      problems.add("spec.ledgerTable: " + Identifiers.describe(spec.getLedgerTable()) + " is not a valid table name: it "
          + Identifiers.nameProblem(spec.getLedgerTable()));
    }
    if (spec.getTargetVersion() != null && spec.getTargetVersion() < 0) {
      problems.add("spec.targetVersion must be 0 or more");
    }
    try {
      if (Durations.parse("spec.lockTimeout", spec.getLockTimeout(), Duration.ofSeconds(60)).toSeconds() < 5) {
        problems.add("spec.lockTimeout must be at least 5s");
      }
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    try {
      Durations.parse("spec.statementTimeout", spec.getStatementTimeout(), Duration.ofSeconds(300));
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    return problems;
  }

  /** Why the run cannot start with these migrations on this connection, in words; null: it can. */
  static String beforeRun(ClickHouseMigrationSpec spec, MigrationSource.Collected collected,
      ConnectionResolver.Resolved conn) {
    if (!collected.problems().isEmpty()) {
      return "The migrations are invalid: " + String.join("; ", collected.problems()) + ". Nothing ran.";
    }
    String cluster = conn.connection().getSpec().getCluster();
    if (spec.isOnCluster() && (cluster == null || cluster.isBlank())) {
      return "spec.onCluster is true but ClickHouseConnection \"" + spec.getConnectionRef().getName()
          + "\" names no cluster (spec.cluster).";
    }
    return null;
  }
}
