package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.common.AfterWrite;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.common.WorkExecutor;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Folds what happened to a backup run into status: a finished run's record (and the retry after a
 * passing failure), or a run that an operator restart interrupted. Its Events and counters go to
 * {@link AfterWrite}, so that they are said once the status recording them is written.
 */
final class BackupOutcome {

  static final int MAX_COMPLETE_LISTED = 30;
  static final int MAX_FAILED_LISTED = 5;

  private final AfterWrite afterWrite;
  private final HousekeeperMetrics metrics;

  BackupOutcome(AfterWrite afterWrite, HousekeeperMetrics metrics) {
    this.afterWrite = afterWrite;
    this.metrics = metrics;
  }

  /** The process that ran the backup is gone (and it was not a native one the server goes on with). */
  void interrupted(ClickHouseBackup resource, ClickHouseBackupStatus status, Instant now) {
    BackupRecord r = new BackupRecord();
    r.id = status.running;
    r.outcome = "Failed";
    r.endTime = RunTiming.format(now);
    r.message = "interrupted: the operator restarted while the backup ran; its objects are deleted before the next"
        + " backup";
    status.backups.add(0, r);
    status.pendingCleanup.add(r.id);
    status.running = null;
    status.runningServerBackupId = null;
    afterWrite.warning(key(resource), resource, "BackupInterrupted", "Backup " + r.id + " was interrupted by an"
        + " operator restart" + RetryPolicy.BOUNDED.failed(status, true, now).words("retrying") + ".");
  }

  /** A finished task: its result, or the exception it ended with. */
  void finished(ClickHouseBackup resource, ClickHouseBackupStatus status, WorkExecutor.Task<BackupRun.Result> task,
      Instant now) {
    BackupRun.Result result;
    try {
      result = task.future().get();
    } catch (Exception e) {
      crashed(resource, status, e.getCause() != null ? e.getCause() : e, now);
      return;
    }
    if (result instanceof BackupRun.Ended ended) {
      status.running = null;
      status.runningServerBackupId = null;
      ended(resource, status, ended, Duration.between(task.started(), Instant.now()), now);
    }
  }

  /** The run threw instead of returning a result: the backup failed, and its objects wait for deletion. */
  private void crashed(ClickHouseBackup resource, ClickHouseBackupStatus status, Throwable cause, Instant now) {
    String ns = resource.getMetadata().getNamespace();
    BackupRecord r = new BackupRecord();
    r.id = status.running;
    r.outcome = "Failed";
    r.message = BackupJob.rootMessage(cause) + RetryPolicy.BOUNDED.failed(status, false, now).words("retrying");
    status.backups.add(0, r);
    if (r.id != null) {
      status.pendingCleanup.add(r.id);
    }
    status.running = null;
    status.runningServerBackupId = null;
    afterWrite.then(key(resource), () -> metrics.action(ClickHouseBackupReconciler.KIND, ns, "backup", "failure"));
    afterWrite.warning(key(resource), resource, "BackupFailed", "Backup failed: " + r.message);
  }

  private void ended(ClickHouseBackup resource, ClickHouseBackupStatus status, BackupRun.Ended result,
      Duration took, Instant now) {
    String key = key(resource);
    String ns = resource.getMetadata().getNamespace();
    BackupRecord r = result.record();
    r.startTime = r.startTime != null ? r.startTime : RunTiming.format(now.minus(took));
    r.endTime = r.endTime != null ? r.endTime : RunTiming.format(now);
    status.backups.add(0, r);
    status.pendingCleanup.removeAll(result.cleaned());
    if (!result.objectsDeleted()) {
      status.pendingCleanup.add(r.id);
    }
    housekeeping(resource, status, result);
    afterWrite.then(key, () -> metrics.duration(ClickHouseBackupReconciler.KIND, ns, "backup", took));
    switch (r.outcome) {
      case "Complete" -> {
        RetryPolicy.succeeded(status);
        afterWrite.then(key, () -> {
          metrics.action(ClickHouseBackupReconciler.KIND, ns, "backup", "success");
          metrics.backupVolume(ns, orZero(r.rows), orZero(r.rawBytes), orZero(r.storedBytes));
          if (r.objectsUploaded != null) {
            metrics.backupSharing(ns, r.objectsUploaded, r.objectsReused == null ? 0 : r.objectsReused,
                orZero(r.bytesUploaded), orZero(r.bytesReused));
          }
        });
        afterWrite.normal(key, resource, "BackupCompleted", "Backup " + r.id + " complete: " + r.tables + " table(s), "
            + r.partitions + " partition(s), " + r.rows + " rows, " + r.storedBytes + " bytes stored in "
            + took.toSeconds() + "s at " + r.location);
      }
      case "Cancelled" -> {
        afterWrite.then(key, () -> metrics.action(ClickHouseBackupReconciler.KIND, ns, "backup", "cancelled"));
        afterWrite.warning(key, resource, "BackupCancelled", "Backup " + r.id + ": " + r.message);
      }
      default -> {
        afterWrite.then(key, () -> metrics.action(ClickHouseBackupReconciler.KIND, ns, "backup", "failure"));
        r.message += RetryPolicy.BOUNDED.failed(status, result.retriable(), now).words("retrying");
        afterWrite.warning(key, resource, "BackupFailed", "Backup " + r.id + " failed: " + r.message
            + (result.objectsDeleted() ? "" : " Its objects could not be deleted yet; that is retried before the next"
            + " backup."));
      }
    }
  }

  /** What the run did to storage besides the backup: pruned, left out, failed to delete. */
  private void housekeeping(ClickHouseBackup resource, ClickHouseBackupStatus status, BackupRun.Ended result) {
    String key = key(resource);
    if (!result.pruned().isEmpty()) {
      status.backups.removeIf(b -> result.pruned().contains(b.id));
      afterWrite.normal(key, resource, "BackupPruned", "Deleted expired backup(s) " + result.pruned()
          + " from storage.");
    }
    if (!result.skipped().isEmpty()) {
      afterWrite.normal(key, resource, "TablesSkipped", "Not backed up (no data to back up with this method): "
          + result.skipped());
    }
    if (result.housekeepingError() != null) {
      afterWrite.warning(key, resource, "StorageHousekeepingFailed", result.housekeepingError());
    }
  }

  /** Keeps the list bounded: complete backups (newest 30), failed and cancelled ones (newest 5). */
  static void trim(ClickHouseBackupStatus status) {
    List<BackupRecord> kept = new ArrayList<>();
    int complete = 0;
    int other = 0;
    for (BackupRecord b : status.backups) {
      if ("Complete".equals(b.outcome)) {
        if (complete++ < MAX_COMPLETE_LISTED) {
          kept.add(b);
        }
      } else if (other++ < MAX_FAILED_LISTED) {
        kept.add(b);
      }
    }
    status.backups = kept;
    status.completeBackups = (int) kept.stream().filter(b -> "Complete".equals(b.outcome)).count();
    status.lastSuccessful = kept.stream().filter(b -> "Complete".equals(b.outcome)).findFirst().orElse(null);
    status.lastSuccessfulTime = status.lastSuccessful == null ? null : status.lastSuccessful.endTime;
  }

  private static long orZero(Long value) {
    return value == null ? 0 : value;
  }

  private static String key(ClickHouseBackup resource) {
    return WorkExecutor.keyOf(resource);
  }
}
