package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.KubernetesNames;
import dev.housekeeper.common.SpecChecks;
import java.util.ArrayList;
import java.util.List;

/** The checks of a ClickHouseBackup's spec, each problem in words naming its field. */
final class BackupValidation {

  private BackupValidation() {}

  static List<String> problems(ClickHouseBackupSpec spec) {
    if (spec == null) {
      return List.of("spec is missing");
    }
    List<String> problems = SpecChecks.connectedWork(spec.connectionRef, spec.statementTimeout);
    problems.addAll(BackupSetup.validate("spec.storage", spec.storage));
    if (spec.method != null && !List.of("auto", "logical", "native").contains(spec.method)) {
      problems.add("spec.method must be auto, logical or native");
    }
    if (spec.scope != null) {
      scope(spec.scope, problems);
    }
    if (spec.schedule != null) {
      try {
        schedule(spec);
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
      }
    }
    if (spec.retention != null) {
      retention(spec.retention, problems);
    }
    if (spec.parallelism != null && (spec.parallelism < 1 || spec.parallelism > 16)) {
      problems.add("spec.parallelism must be between 1 and 16");
    }
    if (spec.encryption != null) {
      encryption(spec.encryption, problems);
    }
    if (spec.incremental != null) {
      if (ClickHouseBackupSpec.LOGICAL.equals(spec.method)) {
        problems.add("spec.incremental: applies to the native method; logical backups reuse unchanged partitions by"
            + " themselves (remove incremental, or set method: native or auto)");
      }
      Integer every = spec.incremental.fullEvery;
      if (every != null && (every < 2 || every > 100)) {
        problems.add("spec.incremental.fullEvery must be between 2 and 100, not " + every);
      }
    }
    return problems;
  }

  static CronSchedule schedule(ClickHouseBackupSpec spec) {
    return CronSchedule.parse("spec.schedule", spec.schedule.cron, spec.schedule.timeZone);
  }

  private static void scope(ClickHouseBackupSpec.Scope scope, List<String> problems) {
    if (scope.databases != null) {
      scope.databases.stream().filter(d -> Identifiers.nameProblem(d) != null).forEach(d ->
          problems.add("spec.scope.databases: " + Identifiers.describe(d) + " is not a database name: it "
              + Identifiers.nameProblem(d)));
    }
    problems.addAll(BackupScope.validate("spec.scope.tables", scope.tables));
    if (scope.kinds != null) {
      scope.kinds.stream().filter(k -> java.util.Arrays.stream(BackupScope.Kind.values()).noneMatch(v -> v.name()
          .equals(k))).forEach(k -> problems.add("spec.scope.kinds: " + Identifiers.describe(k) + " is not one of "
          + java.util.Arrays.toString(BackupScope.Kind.values())));
    }
    var partitions = scope.partitions;
    if (partitions != null) {
      if (partitions.newest != null && (partitions.newest < 1 || partitions.newest > 100000)) {
        problems.add("spec.scope.partitions.newest must be between 1 and 100000");
      }
      List<String> ids = new ArrayList<>(partitions.ids == null ? List.of() : partitions.ids);
      ids.add(partitions.from);
      ids.add(partitions.to);
      ids.stream().filter(id -> id != null && !id.matches("^[A-Za-z0-9_-]{1,256}$")).forEach(id ->
          problems.add("spec.scope.partitions: " + Identifiers.describe(id) + " is not a partition id"));
    }
  }

  private static void retention(ClickHouseBackupSpec.Retention retention, List<String> problems) {
    if (retention.keepLast != null && (retention.keepLast < 1 || retention.keepLast > 10000)) {
      problems.add("spec.retention.keepLast must be between 1 and 10000");
    }
    if (retention.maxAge != null) {
      try {
        BackupRetention.parseAge("spec.retention.maxAge", retention.maxAge);
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
      }
    }
  }

  private static void encryption(ClickHouseBackupSpec.BackupEncryption encryption, List<String> problems) {
    if (encryption.keySecret == null || !KubernetesNames.isObjectName(encryption.keySecret)) {
      problems.add("spec.encryption.keySecret: " + Identifiers.describe(encryption.keySecret)
          + " is not the name of a Secret");
    }
    if (encryption.keyId != null && !encryption.keyId.matches("^[A-Za-z0-9_.-]{1,128}$")) {
      problems.add("spec.encryption.keyId: " + Identifiers.describe(encryption.keyId) + " is not a key id");
    }
  }
}
