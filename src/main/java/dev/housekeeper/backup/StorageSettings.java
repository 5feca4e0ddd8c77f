package dev.housekeeper.backup;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.backup.storage.VolumeRoots;
import java.util.List;
import java.util.Map;

/**
 * What the operator's configuration says about reaching backup storage: the HOST_ALIASES applied to S3
 * endpoints, and the volume roots a volume path must be in (one folder per namespace).
 */
public record StorageSettings(Map<String, String> hostAliases, VolumeRoots volumeRoots) {

  public StorageSettings {
    hostAliases = Map.copyOf(hostAliases);
  }

  /**
   * The problems of a storage spec's volume path for {@code namespace}: none for S3, or when the spec is
   * invalid otherwise ({@link BackupSetup#validate} says so).
   */
  public List<String> problems(String field, String namespace, BackupStorage storage) {
    if (storage == null || storage.volume == null || storage.s3 != null) {
      return List.of();
    }
    String problem = volumeRoots.problem(field + ".volume.path", namespace, storage.volume.path);
    return problem == null ? List.of() : List.of(problem);
  }
}
