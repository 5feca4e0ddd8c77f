package dev.housekeeper.testing;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.common.SecretKeyRef;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec.Migration;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The resources tests and benchmarks create, as a user would write them: every one names the
 * ClickHouseConnection "ch" and, for storage keys, the Secret "s3" (keys "id" and "secret").
 */
public final class Specs {

  /** The ClickHouseConnection the specs name. */
  public static final String CONNECTION = "ch";

  private Specs() {}

  public static ObjectMeta meta(String namespace, String name) {
    return new ObjectMetaBuilder().withName(name).withNamespace(namespace).build();
  }

  /** Backups in a folder (a mounted volume). */
  public static BackupStorage volume(Path path) {
    BackupStorage storage = new BackupStorage();
    storage.volume = new BackupStorage.Volume();
    storage.volume.path = path.toString();
    return storage;
  }

  /**
   * The storage settings of a reconciler built by a test: no host aliases, and the volume roots of
   * {@link dev.housekeeper.operator.OperatorSettings#forTests()} (the temporary folder, shared).
   */
  public static dev.housekeeper.backup.StorageSettings storageSettings() {
    return new dev.housekeeper.backup.StorageSettings(java.util.Map.of(),
        dev.housekeeper.operator.OperatorSettings.forTests().volumeRoots());
  }

  /** Backups in an S3 bucket, keys from Secret "s3"; prefix may be null. */
  public static BackupStorage s3(String endpoint, String bucket, String prefix) {
    BackupStorage storage = new BackupStorage();
    storage.s3 = new BackupStorage.S3();
    storage.s3.endpoint = endpoint;
    storage.s3.bucket = bucket;
    storage.s3.prefix = prefix;
    storage.s3.accessKeyId = new SecretKeyRef("s3", "id");
    storage.s3.secretAccessKey = new SecretKeyRef("s3", "secret");
    return storage;
  }

  /** A backup spec of whole databases, with the default method. */
  public static ClickHouseBackupSpec backupSpec(BackupStorage storage, String... databases) {
    ClickHouseBackupSpec spec = new ClickHouseBackupSpec();
    spec.connectionRef = new ConnectionRef(CONNECTION);
    spec.storage = storage;
    spec.scope = new ClickHouseBackupSpec.Scope();
    spec.scope.databases = new ArrayList<>(List.of(databases));
    return spec;
  }

  public static ClickHouseBackup backup(String namespace, String name, ClickHouseBackupSpec spec) {
    ClickHouseBackup b = new ClickHouseBackup();
    b.setMetadata(meta(namespace, name));
    b.setSpec(spec);
    return b;
  }

  /** A restore of the named backup into {@code target}. */
  public static ClickHouseRestore restore(String namespace, String name, String backupName, String target) {
    var spec = new ClickHouseRestoreSpec();
    spec.connectionRef = new ConnectionRef(CONNECTION);
    spec.source = new ClickHouseRestoreSpec.Source();
    spec.source.backupName = backupName;
    spec.targetDatabase = target;
    var r = new ClickHouseRestore();
    r.setMetadata(meta(namespace, name));
    r.setSpec(spec);
    return r;
  }

  /** Migrations of database {@code db}, lock timeout 10 s. */
  public static ClickHouseMigration migration(String namespace, String name, String db, Migration... migrations) {
    var spec = new ClickHouseMigrationSpec();
    spec.setConnectionRef(new ConnectionRef(CONNECTION));
    spec.setDatabase(db);
    spec.setMigrations(new ArrayList<>(List.of(migrations)));
    spec.setLockTimeout("10s");
    var m = new ClickHouseMigration();
    m.setMetadata(meta(namespace, name));
    m.setSpec(spec);
    return m;
  }
}
