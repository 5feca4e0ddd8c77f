package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.KubernetesNames;
import dev.housekeeper.common.SpecChecks;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The checks of a ClickHouseRestore's spec, made before anything is read or touched. */
final class RestoreValidation {

  private static final String BACKUP_ID = "^[A-Za-z0-9][-A-Za-z0-9_.]*$";
  /** A partition id as system.parts shows it: digits, letters, '-' and '_'. */
  private static final String PARTITION_ID = "^[A-Za-z0-9_-]{1,256}$";

  private RestoreValidation() {}

  /** What is wrong with the spec, each problem in words; empty when it is valid. */
  static List<String> validate(ClickHouseRestoreSpec spec) {
    if (spec == null) {
      return List.of("spec is missing");
    }
    List<String> problems = SpecChecks.connectedWork(spec.connectionRef, spec.statementTimeout);
    source(spec, problems);
    if (spec.keySecret != null && !KubernetesNames.isObjectName(spec.keySecret)) {
      problems.add("spec.keySecret: " + Identifiers.describe(spec.keySecret) + " is not the name of a Secret");
    }
    if (spec.targetDatabase != null && Identifiers.nameProblem(spec.targetDatabase) != null) {
      problems.add("spec.targetDatabase: " + Identifiers.describe(spec.targetDatabase) + " is not a database name: it "
          + Identifiers.nameProblem(spec.targetDatabase));
    }
    problems.addAll(BackupScope.validate("spec.tables", spec.tables));
    mappings(spec, problems);
    dataAndSchema(spec, problems);
    drill(spec, problems);
    return problems;
  }

  /** Databases a scratch database can never be: it is dropped after each drill. */
  private static final java.util.Set<String> NEVER_SCRATCH = java.util.Set.of("system", "default",
      "information_schema", "INFORMATION_SCHEMA");

  /** A drill: a schedule only with verify, a scratch database that is not a database the user keeps. */
  private static void drill(ClickHouseRestoreSpec spec, List<String> problems) {
    if (spec.schedule != null) {
      if (!spec.verify) {
        problems.add("spec.schedule: a scheduled restore is a restore drill (restored into a scratch database,"
            + " compared, dropped); set verify: true");
      }
      if (spec.targetDatabase != null) {
        problems.add("spec.targetDatabase: a drill restores into its scratch database (spec.scratchDatabase), which"
            + " is dropped after each drill; remove targetDatabase");
      }
      try {
        CronSchedule.parse("spec.schedule", spec.schedule.cron, spec.schedule.timeZone);
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
      }
    }
    if (spec.scratchDatabase != null) {
      if (!spec.verify) {
        problems.add("spec.scratchDatabase: a scratch database is dropped after the restore; it is only used with"
            + " verify: true");
      }
      if (spec.targetDatabase != null) {
        problems.add("spec.scratchDatabase and spec.targetDatabase: give one (the scratch database is dropped after"
            + " the drill, the target is kept)");
      }
      if (Identifiers.nameProblem(spec.scratchDatabase) != null || NEVER_SCRATCH.contains(spec.scratchDatabase)) {
        problems.add("spec.scratchDatabase: " + Identifiers.describe(spec.scratchDatabase) + " cannot be a scratch"
            + " database (it is dropped after each drill)");
      }
    }
  }

  /** Exactly one of a backup resource and a location, and a backup id that names one backup. */
  private static void source(ClickHouseRestoreSpec spec, List<String> problems) {
    var source = spec.source;
    if (source == null || (source.backupName == null) == (source.storage == null)) {
      problems.add("spec.source: give exactly one of backupName and storage");
    } else if (source.storage != null) {
      problems.addAll(BackupSetup.validate("spec.source.storage", source.storage));
      if (source.backupId == null) {
        problems.add("spec.source.backupId is required with spec.source.storage: a backup id, or latest for the"
            + " newest complete backup there");
      }
    }
    if (source != null && source.backupId != null && !source.backupId.matches(BACKUP_ID)) {
      problems.add("spec.source.backupId: " + source.backupId + " is not a backup id");
    }
    if (source != null && source.backupName != null && !KubernetesNames.isObjectName(source.backupName)) {
      problems.add("spec.source.backupName: " + Identifiers.describe(source.backupName)
          + " is not the name of a ClickHouseBackup");
    }
  }

  /**
   * Mapping keys and values are names: {@code databaseMapping} database to database, {@code tableMapping}
   * database.table to database.table or to a table name; two tables are not mapped onto one; and
   * {@code targetDatabase} (every database into one) is not given with {@code databaseMapping}.
   */
  private static void mappings(ClickHouseRestoreSpec spec, List<String> problems) {
    if (spec.databaseMapping != null) {
      if (spec.targetDatabase != null && !spec.databaseMapping.isEmpty()) {
        problems.add("spec.targetDatabase and spec.databaseMapping: give one (targetDatabase moves every database"
            + " into one, databaseMapping moves each database it names)");
      }
      spec.databaseMapping.forEach((from, to) -> {
        if (Identifiers.nameProblem(from) != null || Identifiers.nameProblem(to) != null) {
          problems.add("spec.databaseMapping: " + Identifiers.describe(from) + " to " + Identifiers.describe(to)
              + " is not a database name to a database name");
        }
      });
    }
    if (spec.tableMapping != null) {
      Map<String, String> seen = new HashMap<>();
      spec.tableMapping.forEach((from, to) -> {
        if (!qualified(from) || to == null || !(qualified(to) || parses(to))) {
          problems.add("spec.tableMapping: " + Identifiers.describe(from) + " to " + Identifiers.describe(to)
              + " is not database.table to database.table (or to a table name)");
        } else if (seen.containsKey(to)) {
          problems.add("spec.tableMapping maps both " + seen.get(to) + " and " + from + " to " + to);
        }
        seen.put(to, from);
      });
    }
  }

  /** A name written as {@code database.table} (see {@link Identifiers#parseTableName}). */
  private static boolean qualified(String name) {
    return parses(name) && Identifiers.parseTableName(name).database() != null;
  }

  private static boolean parses(String name) {
    try {
      return name != null && Identifiers.parseTableName(name) != null;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** schemaOnly and dataOnly exclude each other; dataOnly replaces partitions; a partition filter is partition ids. */
  private static void dataAndSchema(ClickHouseRestoreSpec spec, List<String> problems) {
    if (spec.schemaOnly && spec.dataOnly) {
      problems.add("spec.schemaOnly and spec.dataOnly exclude each other: give one, or neither for schema and data");
    }
    if (spec.dataOnly && spec.mode != ClickHouseRestoreSpec.Mode.replacePartitions) {
      problems.add("spec.dataOnly needs mode replacePartitions: it replaces the backed-up partitions of tables that"
          + " exist");
    }
    var p = spec.partitions;
    if (p == null) {
      return;
    }
    if (spec.schemaOnly) {
      problems.add("spec.partitions selects data, which schemaOnly does not restore");
    }
    if ((p.ids == null || p.ids.isEmpty()) && p.from == null && p.to == null) {
      problems.add("spec.partitions: give ids, from or to");
    }
    List<String> all = new ArrayList<>(p.ids == null ? List.of() : p.ids);
    Stream.of(p.from, p.to).filter(id -> id != null).forEach(all::add);
    for (String id : all) {
      if (id == null || !id.matches(PARTITION_ID)) {
        problems.add("spec.partitions: " + Identifiers.describe(id) + " is not a partition id");
      }
    }
    if (p.from != null && p.to != null && p.from.compareTo(p.to) > 0) {
      problems.add("spec.partitions: from " + p.from + " comes after to " + p.to + ", so nothing is selected");
    }
  }
}
