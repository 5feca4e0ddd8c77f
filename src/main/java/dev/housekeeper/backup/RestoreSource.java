package dev.housekeeper.backup;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.common.Pass;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;

/**
 * What a restore reads: a backup resource's storage (its newest complete backup unless the spec
 * names one, its encryption key Secret unless the spec gives one), or a storage location and id.
 */
record RestoreSource(BackupStorage storage, String backupId, String keySecret) {

  private static final Duration AGAIN = Duration.ofSeconds(15);

  /** The source found, or why the restore cannot start yet (or at all). */
  sealed interface Lookup permits Found, Blocked {}

  /** The source to restore from. */
  record Found(RestoreSource source) implements Lookup {}

  /** The pass that says why the restore does not start. */
  record Blocked(Pass<Phase> pass) implements Lookup {}

  /** The store opened, with the backup's keys and the S3 credentials for a native restore (either may be null). */
  record Opened(ObjectStore store, Map<String, byte[]> keys, BackupSetup.S3Credentials credentials) {}

  /**
   * @param continuing the backup an earlier attempt of this run restored from (a retry, a take-over), or
   *     null: a run that goes on keeps its backup, even when {@code latest} now means a newer one
   */
  static Lookup find(KubernetesClient k8s, String namespace, ClickHouseRestoreSpec spec,
      StorageSettings settings, String continuing) {
    var named = spec.source;
    if (named.backupName == null) {
      if (StoredBackups.latest(named.backupId)) {
        return newestIn(k8s, namespace, spec, settings, continuing);
      }
      return new Found(new RestoreSource(named.storage, named.backupId, spec.keySecret));
    }
    ClickHouseBackup backup = k8s.resources(ClickHouseBackup.class).inNamespace(namespace)
        .withName(named.backupName).get();
    if (backup == null) {
      return new Blocked(Pass.waiting(Phase.Pending, "BackupNotFound", "ClickHouseBackup " + named.backupName
          + " does not exist in namespace " + namespace + ".", AGAIN));
    }
    String keySecret = spec.keySecret;
    if (keySecret == null && backup.getSpec().encryption != null) {
      keySecret = backup.getSpec().encryption.keySecret;
    }
    // latest is what no id means: the resource's newest complete backup (adopted ones included)
    String backupId = StoredBackups.latest(named.backupId) ? null : named.backupId;
    var status = backup.getStatus();
    if (backupId == null && continuing != null) {
      backupId = continuing;
    } else if (backupId == null) {
      if (status == null || status.lastSuccessful == null) {
        return new Blocked(Pass.waiting(Phase.Pending, "NoCompleteBackup", "ClickHouseBackup " + named.backupName
            + " has no complete backup yet; the restore starts when it has one.", AGAIN));
      }
      backupId = status.lastSuccessful.id;
    } else if (status != null && status.backups.stream()
        .anyMatch(b -> named.backupId.equals(b.id) && !"Complete".equals(b.outcome))) {
      return new Blocked(Pass.failed(Phase.Failed, "BackupIncomplete", "Backup " + backupId + " of "
          + named.backupName + " is not complete and cannot be restored.", null));
    }
    return new Found(new RestoreSource(backup.getSpec().storage, backupId, keySecret));
  }

  /**
   * {@code latest} from a storage location: the newest complete backup found there (by the time in its
   * id), for example one of a resource lost with its cluster; a run that goes on keeps the one it chose.
   */
  private static Lookup newestIn(KubernetesClient k8s, String namespace, ClickHouseRestoreSpec spec,
      StorageSettings settings, String continuing) {
    BackupStorage storage = spec.source.storage;
    if (continuing != null) {
      return new Found(new RestoreSource(storage, continuing, spec.keySecret));
    }
    try (ObjectStore store = BackupSetup.open(k8s, namespace, storage, settings)) {
      String id = StoredBackups.newestComplete(store);
      if (id == null) {
        return new Blocked(Pass.waiting(Phase.Pending, "NoCompleteBackup", BackupSetup.describe(storage)
            + " holds no complete backup (a folder with " + Manifest.FILE + ") yet; the restore of latest starts"
            + " when it does.", AGAIN));
      }
      return new Found(new RestoreSource(storage, id, spec.keySecret));
    } catch (BackupSetup.Problem e) {
      return new Blocked(Pass.failed(Phase.Pending, e.reason(), e.getMessage() + ". The restore starts once this is"
          + " fixed.", AGAIN));
    } catch (IOException | RuntimeException e) {
      return new Blocked(Pass.failed(Phase.Pending, "StorageUnavailable", "Looking for the newest complete backup in "
          + BackupSetup.describe(storage) + " failed: " + BackupJob.rootMessage(e) + "; tried again in "
          + AGAIN.toSeconds() + "s.", AGAIN));
    }
  }

  /** Reads the key Secret and S3 credentials, opens the store; a missing one is a {@link BackupSetup.Problem}. */
  Opened open(KubernetesClient k8s, String namespace, StorageSettings settings) throws BackupSetup.Problem {
    Map<String, byte[]> keys = keySecret == null ? null : BackupSetup.keys(k8s, namespace, keySecret);
    BackupSetup.S3Credentials credentials = storage.s3 == null ? null
        : BackupSetup.credentials(k8s, namespace, storage.s3);
    return new Opened(BackupSetup.open(k8s, namespace, storage, settings), keys, credentials);
  }
}
