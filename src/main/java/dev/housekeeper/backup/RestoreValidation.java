package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.KubernetesNames;
import dev.housekeeper.common.SpecChecks;
import java.util.ArrayList;
import java.util.List;

/** The checks of a ClickHouseRestore's spec, made before anything is read or touched. */
final class RestoreValidation {

  private static final String BACKUP_ID = "^[A-Za-z0-9][-A-Za-z0-9_.]*$";

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
    if (spec.targetDatabase != null && !Identifiers.isValid(spec.targetDatabase)) {
      problems.add("spec.targetDatabase is not a database name");
    }
    problems.addAll(BackupScope.validate("spec.tables", spec.tables));
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
      if (!Identifiers.isValid(spec.scratchDatabase) || NEVER_SCRATCH.contains(spec.scratchDatabase)) {
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
        problems.add("spec.source.backupId is required with spec.source.storage");
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
}
