package dev.housekeeper.backup;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.Adoption;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.common.AfterWrite;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.common.WorkExecutor;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Adoption: the status is the record of a resource's backups, and it is lost with the Kubernetes
 * cluster that held it. So a ClickHouseBackup looks through its storage once per storage location,
 * on its first pass (and when the location changes), and lists the complete backups it finds there
 * that its status does not (marked adopted), in time order with its own, so that retention and
 * restores see them. Incomplete folders (no manifest) are counted and left alone: another resource
 * may be writing them. Backups that another ClickHouseBackup of the namespace with the same storage
 * lists stay that resource's: adopting them would let two resources' retention delete each other's
 * backups.
 *
 * <p>The look runs on the work pool, as the first step of a backup that is due, or alone when none
 * is; it never deletes anything.
 */
final class BackupAdoption {

  /** After a failed look (storage unreachable, a Secret missing), the next one. */
  static final Duration RETRY = Duration.ofMinutes(5);

  /** What the look needs: the storage, the ids the status already knows, and the ids other resources list. */
  record Request(BackupStorage storage, String location, Set<String> known, Map<String, String> listedBy) {

    /** The same look, with {@code id} (a run's own backup, being written while the look runs) known too. */
    Request alsoKnown(String id) {
      Set<String> all = new java.util.HashSet<>(known);
      all.add(id);
      return new Request(storage, location, all, listedBy);
    }
  }

  /**
   * What the look found at {@code location}: the records to adopt (newest first), the incomplete folders,
   * the backups left to other resources, the manifests that could not be read; or, instead, an error.
   */
  record Found(String location, List<BackupRecord> adopted, List<String> incomplete, List<String> listedElsewhere,
      List<String> unreadable, String error) {

    static Found failed(String location, String error) {
      return new Found(location, List.of(), List.of(), List.of(), List.of(), error);
    }
  }

  private final AfterWrite afterWrite;

  BackupAdoption(AfterWrite afterWrite) {
    this.afterWrite = afterWrite;
  }

  /**
   * Opens the storage and hands the look to {@code submit} (to run on the work pool). A storage that
   * cannot be opened (a Secret missing) is recorded instead, and tried again at the retry time.
   */
  void start(ClickHouseBackup resource, ClickHouseBackupStatus status, KubernetesClient k8s,
      StorageSettings settings, Instant now, Consumer<WorkExecutor.Work<BackupRun.Result>> submit) {
    Request request = request(resource, status, k8s);
    ObjectStore store;
    try {
      store = BackupSetup.open(k8s, resource.getMetadata().getNamespace(), resource.getSpec().storage, settings);
    } catch (BackupSetup.Problem e) {
      fold(resource, status, Found.failed(request.location(), e.getMessage()), now);
      return;
    }
    submit.accept(progress -> {
      try (store) {
        return new BackupRun.Scanned(scan(store, request, progress));
      }
    });
  }

  /** Whether the storage at {@code location} is still to be looked through (never yet, moved, or retry due). */
  static boolean due(ClickHouseBackupStatus status, String location, Instant now) {
    Adoption a = status.adoption;
    if (a == null || !location.equals(a.location)) {
      return true;
    }
    return a.error != null && (a.retryTime == null || !Instant.parse(a.retryTime).isAfter(now));
  }

  /** When a failed look is tried again (null: none is waiting). */
  static Instant retryAt(ClickHouseBackupStatus status) {
    Adoption a = status.adoption;
    return a == null || a.error == null || a.retryTime == null ? null : Instant.parse(a.retryTime);
  }

  /**
   * The request for this resource: its own ids, and those listed by the other ClickHouseBackups of the
   * namespace whose storage is the same location (a shared prefix).
   */
  static Request request(ClickHouseBackup resource, ClickHouseBackupStatus status, KubernetesClient k8s) {
    BackupStorage storage = resource.getSpec().storage;
    String location = BackupSetup.describe(storage);
    Set<String> known = new HashSet<>(ids(status));
    Map<String, String> listedBy = new LinkedHashMap<>();
    String name = resource.getMetadata().getName();
    for (ClickHouseBackup other : k8s.resources(ClickHouseBackup.class)
        .inNamespace(resource.getMetadata().getNamespace()).list().getItems()) {
      if (!name.equals(other.getMetadata().getName()) && other.getStatus() != null
          && location.equals(other.getStatus().location)) {
        ids(other.getStatus()).forEach(id -> listedBy.putIfAbsent(id, other.getMetadata().getName()));
      }
    }
    return new Request(storage, location, known, listedBy);
  }

  /** Every backup id a status lists: its records, the one running, those waiting for deletion. */
  private static List<String> ids(ClickHouseBackupStatus status) {
    List<String> ids = new ArrayList<>();
    status.backups.forEach(b -> ids.add(b.id));
    ids.addAll(status.pendingCleanup);
    if (status.running != null) {
      ids.add(status.running);
    }
    return ids;
  }

  /** Looks through the store; never throws: a failure is the Found's error, and the look is retried later. */
  static Found scan(ObjectStore store, Request request, Consumer<String> progress) {
    List<BackupRecord> adopted = new ArrayList<>();
    List<String> incomplete = new ArrayList<>();
    List<String> elsewhere = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    try {
      List<String> folders = store.children("");
      progress.accept("looking through " + folders.size() + " folder(s) in " + request.location());
      for (String id : folders) {
        if (request.known().contains(id) || PartitionObjects.ROOT.equals(id)) {
          continue; // known, or the partition objects backups share (PartitionObjects)
        }
        if (request.listedBy().containsKey(id)) {
          elsewhere.add(id + " (ClickHouseBackup " + request.listedBy().get(id) + ")");
          continue;
        }
        try {
          var read = StoredBackups.manifest(store, id);
          if (read.isEmpty()) {
            incomplete.add(id);
          } else {
            adopted.add(StoredBackups.record(id, read.get(), request.storage()));
          }
        } catch (IOException | RuntimeException e) {
          unreadable.add(id + ": " + BackupJob.rootMessage(e));
        }
      }
    } catch (IOException | RuntimeException e) {
      return Found.failed(request.location(), "looking through " + request.location() + " failed: "
          + BackupJob.rootMessage(e));
    }
    // two backups ending in one second (ids and times have seconds): the one whose id says it started later first
    adopted.sort(Comparator.comparing(StoredBackups::time, Comparator.nullsLast(Comparator.<Instant>reverseOrder()))
        .thenComparing(r -> r.id, StoredBackups.NEWEST_FIRST));
    return new Found(request.location(), adopted, incomplete, elsewhere, unreadable, null);
  }

  /** The complete backups a run's retention counts: the status's and those just found, newest first. */
  static List<BackupRecord> withAdopted(List<BackupRecord> complete, Found found) {
    List<BackupRecord> all = new ArrayList<>(complete);
    if (found != null) {
      found.adopted().forEach(r -> insert(all, r));
    }
    return all;
  }

  /** Before the first record that ended earlier: the list stays newest first. */
  static void insert(List<BackupRecord> newestFirst, BackupRecord r) {
    Instant t = StoredBackups.time(r);
    int at = newestFirst.size();
    for (int i = 0; i < newestFirst.size(); i++) {
      Instant other = StoredBackups.time(newestFirst.get(i));
      if (t != null && other != null && other.isBefore(t)) {
        at = i;
        break;
      }
    }
    newestFirst.add(at, r);
  }

  /** The result of a finished task, if it looked through the storage (a look alone, or a backup run's first step). */
  void folded(ClickHouseBackup resource, ClickHouseBackupStatus status, WorkExecutor.Task<BackupRun.Result> task,
      Instant now) {
    BackupRun.Result result;
    try {
      result = task.future().get();
    } catch (Exception e) {
      return; // a run that threw is BackupOutcome's to report; a look never throws
    }
    Found found = result instanceof BackupRun.Scanned s ? s.found()
        : result instanceof BackupRun.Ended e ? e.adopted() : null;
    if (found != null) {
      fold(resource, status, found, now);
    }
  }

  /** Lists the backups found in status and says what was found; a failure waits for its retry time. */
  void fold(ClickHouseBackup resource, ClickHouseBackupStatus status, Found found, Instant now) {
    String key = WorkExecutor.keyOf(resource);
    Adoption a = new Adoption();
    a.location = found.location();
    a.time = RunTiming.format(now);
    if (found.error() != null) {
      a.error = found.error();
      a.retryTime = RunTiming.format(now.plus(RETRY));
      if (status.adoption == null || !found.error().equals(status.adoption.error)) {
        afterWrite.warning(key, resource, "StorageScanFailed", "Looking for backups this resource did not take"
            + " failed: " + found.error() + "; tried again at " + a.retryTime + ".");
      }
      status.adoption = a;
      return;
    }
    Set<String> listed = new HashSet<>(ids(status));
    List<BackupRecord> fresh = found.adopted().stream().filter(r -> !listed.contains(r.id)).toList();
    fresh.forEach(r -> insert(status.backups, r));
    a.adopted = fresh.size();
    a.incomplete = found.incomplete().size();
    a.listedElsewhere = found.listedElsewhere().size();
    a.unreadable = found.unreadable().size();
    status.adoption = a;
    if (!fresh.isEmpty() || !found.incomplete().isEmpty() || !found.listedElsewhere().isEmpty()
        || !found.unreadable().isEmpty()) {
      afterWrite.normal(key, resource, "BackupsAdopted", said(found, fresh));
    }
  }

  private static String said(Found found, List<BackupRecord> fresh) {
    StringBuilder s = new StringBuilder("Adopted " + fresh.size() + " complete backup(s) found in "
        + found.location() + " that this resource's status did not list");
    if (!fresh.isEmpty()) {
      s.append(" (").append(fresh.get(fresh.size() - 1).id).append(" to ").append(fresh.get(0).id).append(")");
    }
    s.append(". Left alone: ").append(found.incomplete().size()).append(" incomplete (no manifest)");
    if (!found.listedElsewhere().isEmpty()) {
      s.append(", ").append(found.listedElsewhere().size()).append(" listed by another resource ")
          .append(first(found.listedElsewhere()));
    }
    if (!found.unreadable().isEmpty()) {
      s.append(", ").append(found.unreadable().size()).append(" with an unreadable manifest ")
          .append(first(found.unreadable()));
    }
    return s.append(".").toString();
  }

  /** At most three, so that an Event stays short. */
  private static String first(List<String> items) {
    return items.size() <= 3 ? items.toString() : items.subList(0, 3) + " ...";
  }
}
