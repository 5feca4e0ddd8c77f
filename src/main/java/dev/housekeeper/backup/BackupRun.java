package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.common.Transient;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.Consumer;

/**
 * What one backup run does on the work pool: deletes what earlier incomplete backups left, takes the
 * backup ({@link BackupJob}), and prunes the backups that the new one makes expire. Its result is
 * folded into status by {@link BackupOutcome}.
 */
final class BackupRun {

  /** What a run produced. */
  sealed interface Result {}

  /**
   * The run ended: its record (Complete, Failed or Cancelled), whether its own objects are gone after
   * a failure, the tables it left out, the backups pruned and the incomplete ones cleaned, a storage
   * housekeeping problem, and whether a failure is worth retrying.
   */
  record Ended(BackupRecord record, boolean objectsDeleted, List<String> skipped, List<String> pruned,
      List<String> cleaned, String housekeepingError, boolean retriable, BackupAdoption.Found adopted)
      implements Result {}

  /**
   * Not a backup: a look through the storage alone ({@link BackupAdoption}), when no backup is due. It
   * runs on the pool under the resource's key like a run, so that a resource has one task at a time.
   */
  record Scanned(BackupAdoption.Found found) implements Result {}

  /** This process stopped watching a native backup the server goes on with: status.running stays for the take-over. */
  record StoppedWatching() implements Result {}

  /** What the run needs besides its job. */
  record Inputs(BackupJob.Plan plan, ClickHouseClient client, Map<Integer, ClickHouseClient> shards,
      ObjectStore store, List<String> pendingCleanup, List<BackupRecord> complete, boolean takeOver) {}

  private final Inputs in;
  private final Clock clock;
  private final Consumer<BackupJob> started;
  /** The look through the storage that comes first (null: none is due). */
  private final BackupAdoption.Request adopt;

  /**
   * @param started told the job once it exists, so that a suspend or delete can cancel it
   * @param adopt the look through the storage for backups this resource did not take, or null
   */
  BackupRun(Inputs in, Clock clock, Consumer<BackupJob> started, BackupAdoption.Request adopt) {
    this.in = in;
    this.clock = clock;
    this.started = started;
    this.adopt = adopt;
  }

  Result run(Consumer<String> progress) {
    try (ObjectStore store = in.store()) {
      // beside the backup rather than before it (it reads the location's folders, and the backup's server work
      // would wait for that); joined before the pruning, so that this run's retention counts what it found
      FutureTask<BackupAdoption.Found> look = lookBeside(store, progress);
      List<String> cleaned = new ArrayList<>();
      String housekeepingError = null;
      for (String old : in.pendingCleanup()) {
        try {
          deleteBackup(store, old);
          cleaned.add(old);
        } catch (IOException e) {
          housekeepingError = "deleting incomplete backup " + old + " failed: " + e.getMessage();
        }
      }
      BackupJob job = new BackupJob(in.client(), store, in.plan(), progress, clock).shards(in.shards());
      if (in.takeOver()) {
        job.resuming();
      }
      started.accept(job);
      BackupRecord record;
      try {
        record = job.run();
      } catch (BackupJob.Failed f) {
        if (f.stopping()) {
          if (look != null) {
            look.cancel(true); // a process that stops reads no more of the storage either
          }
          return new StoppedWatching();
        }
        return failed(f, job, cleaned, housekeepingError, found(look));
      }
      BackupAdoption.Found adopted = found(look);
      List<String> pruned = new ArrayList<>();
      List<BackupRecord> complete = BackupAdoption.withAdopted(in.complete(), adopted);
      Set<String> namedByPruned = new HashSet<>();
      housekeepingError = prune(store, record, complete, pruned, namedByPruned, progress, housekeepingError);
      try {
        // after every backup, not only when one expired: also what failed attempts uploaded and this one did not reuse
        PartitionObjects.sweep(store, PartitionObjects.lineage(record.id), namedByPruned, progress);
      } catch (IOException e) {
        housekeepingError = "deleting partition objects no backup names failed (retried after the next backup): "
            + e.getMessage();
      }
      return new Ended(record, true, job.skipped(), pruned, cleaned, housekeepingError, false, adopted);
    }
  }

  /** Starts the look through the storage on a thread of its own; null when none is due. */
  private FutureTask<BackupAdoption.Found> lookBeside(ObjectStore store, Consumer<String> progress) {
    if (adopt == null) {
      return null;
    }
    BackupAdoption.Request request = adopt.alsoKnown(in.plan().backupId()); // the run's own folder is not found
    FutureTask<BackupAdoption.Found> look = new FutureTask<>(() -> BackupAdoption.scan(store, request, progress));
    Thread thread = new Thread(look, "housekeeper-storage-look");
    thread.setDaemon(true);
    thread.start();
    return look;
  }

  /** What the look found, once it has ended (it fails into its result, never by throwing). */
  private BackupAdoption.Found found(FutureTask<BackupAdoption.Found> look) {
    if (look == null) {
      return null;
    }
    try {
      return look.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return BackupAdoption.Found.failed(adopt.location(), "looking through " + adopt.location()
          + " was interrupted");
    } catch (ExecutionException e) {
      return BackupAdoption.Found.failed(adopt.location(), "looking through " + adopt.location() + " failed: "
          + BackupJob.rootMessage(e.getCause()));
    }
  }

  private Ended failed(BackupJob.Failed f, BackupJob job, List<String> cleaned, String housekeepingError,
      BackupAdoption.Found adopted) {
    BackupRecord record = new BackupRecord();
    record.id = in.plan().backupId();
    record.method = in.plan().method();
    record.outcome = f.cancelled() ? "Cancelled" : "Failed";
    record.message = f.getMessage();
    return new Ended(record, f.cleanedUp(), job.skipped(), List.of(), cleaned, housekeepingError,
        !f.cancelled() && Transient.is(f), adopted);
  }

  /** Deletes the backups that expire now that {@code record} is the newest complete one; returns a problem, if any. */
  private String prune(ObjectStore store, BackupRecord record, List<BackupRecord> complete, List<String> pruned,
      Set<String> named, Consumer<String> progress, String housekeepingError) {
    ClickHouseBackupSpec spec = in.plan().spec();
    List<BackupRecord> all = new ArrayList<>();
    all.add(record);
    all.addAll(complete);
    Duration maxAge = spec.retention == null || spec.retention.maxAge == null ? null
        : BackupRetention.parseAge("maxAge", spec.retention.maxAge);
    for (String expired : BackupRetention.expired(all, spec.retention == null ? null : spec.retention.keepLast,
        maxAge, clock.instant())) {
      try {
        progress.accept("pruning " + expired);
        named.addAll(deleteBackup(store, expired));
        pruned.add(expired);
      } catch (IOException e) {
        housekeepingError = "pruning backup " + expired + " failed (retried after the next backup): "
            + e.getMessage();
      }
    }
    return housekeepingError;
  }

  /** Deletes these backups, then the partition objects of {@code lineage} that no manifest left names. */
  static void deleteAll(ObjectStore store, List<String> ids, String lineage) throws IOException {
    Set<String> named = new HashSet<>();
    for (String id : ids) {
      named.addAll(deleteBackup(store, id));
    }
    PartitionObjects.sweep(store, lineage, named, progress -> { });
  }

  /**
   * Deletes a backup's own folder, the manifest first, so that a half-deleted backup is never taken for
   * a complete one. The shared partition objects it named stay: they go in {@link PartitionObjects#sweep}
   * once no manifest names them. Returns those objects' keys.
   */
  static Set<String> deleteBackup(ObjectStore store, String id) throws IOException {
    Set<String> named;
    try {
      named = StoredBackups.manifest(store, id).map(r -> PartitionObjects.named(r.manifest())).orElse(Set.of());
    } catch (IOException | RuntimeException e) {
      named = Set.of(); // an unreadable manifest: its lineage's sweep still finds the objects no other manifest names
    }
    store.delete(List.of(id + "/" + Manifest.FILE));
    List<String> keys = store.list(id + "/").stream().map(ObjectStore.ObjectInfo::key).toList();
    store.delete(keys);
    return named;
  }
}
