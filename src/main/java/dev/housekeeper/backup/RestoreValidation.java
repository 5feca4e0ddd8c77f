package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.clickhouse.Identifiers;
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
    return problems;
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
}
