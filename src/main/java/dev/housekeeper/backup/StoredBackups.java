package dev.housekeeper.backup;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.backup.storage.ObjectStore;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a storage location holds, read from storage alone (no status): each folder under the prefix is
 * a backup, complete when it has its manifest. This is what is left when the Kubernetes cluster that
 * held the backups' status is lost.
 */
final class StoredBackups {

  /** The backup id that means "the newest complete backup". No backup is named so: ids end in a time. */
  static final String LATEST = "latest";

  /** {@code <resource name>-<yyyyMMdd-HHmmss>}, and {@code -<n>} when that id was taken (see BackupStart). */
  private static final Pattern ID = Pattern.compile("^.+-([0-9]{8}-[0-9]{6})(?:-([0-9]{1,9}))?$");
  private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private StoredBackups() {}

  /** The resource name a Housekeeper backup id starts with, if the id has the form. */
  static Optional<String> resourceName(String id) {
    Matcher m = ID.matcher(id);
    return m.matches() ? Optional.of(id.substring(0, m.start(1) - 1)) : Optional.empty();
  }

  static boolean latest(String backupId) {
    return LATEST.equals(backupId);
  }

  /** The start time that Housekeeper wrote into a backup id (UTC), if the id has one. */
  static Optional<Instant> idTime(String id) {
    Matcher m = ID.matcher(id);
    if (!m.matches()) {
      return Optional.empty();
    }
    try {
      return Optional.of(LocalDateTime.parse(m.group(1), ID_TIME).toInstant(ZoneOffset.UTC));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /**
   * Newest first by the start time in the id (two backups of one second: the one numbered higher
   * first); folders whose name holds no time come last.
   */
  static final Comparator<String> NEWEST_FIRST = Comparator
      .<String, Instant>comparing(id -> idTime(id).orElse(null), Comparator.nullsLast(Comparator.reverseOrder()))
      .thenComparing(StoredBackups::number, Comparator.reverseOrder())
      .thenComparing(Comparator.reverseOrder());

  private static int number(String id) {
    Matcher m = ID.matcher(id);
    return m.matches() && m.group(2) != null ? Integer.parseInt(m.group(2)) : 1;
  }

  /**
   * The newest complete backup in the store, or null when it holds none. Folders are listed, not every
   * object, and manifests are looked for newest first: a few requests however many backups there are.
   */
  static String newestComplete(ObjectStore store) throws IOException {
    List<String> ids = new ArrayList<>(store.children(""));
    ids.sort(NEWEST_FIRST);
    for (String id : ids) {
      if (!PartitionObjects.ROOT.equals(id) && store.exists(id + "/" + Manifest.FILE)) {
        return id;
      }
    }
    return null;
  }

  /** The manifest of backup {@code id}, with its SHA-256; empty when it has none (the backup is incomplete). */
  static Optional<Read> manifest(ObjectStore store, String id) throws IOException {
    byte[] bytes;
    try (InputStream in = store.open(id + "/" + Manifest.FILE)) {
      bytes = in.readAllBytes();
    } catch (FileNotFoundException e) {
      return Optional.empty();
    }
    return Optional.of(new Read(Manifest.fromJson(bytes), LogicalBackup.hex(LogicalBackup.sha256().digest(bytes))));
  }

  /** A manifest as read, and the SHA-256 of its bytes. */
  record Read(Manifest manifest, String sha256) {}

  /**
   * The status record of a complete backup found in storage, its figures from its manifest, as
   * BackupJob records a backup it took; marked adopted.
   */
  static BackupRecord record(String id, Read read, BackupStorage storage) throws IOException {
    Manifest m = read.manifest();
    if (m.backupId != null && !m.backupId.equals(id)) {
      // a native restore finds the server's backup by the manifest's id: a moved folder cannot be restored
      throw new IOException("its manifest names backup " + m.backupId + ", not " + id + " (a moved or copied folder)");
    }
    BackupRecord r = new BackupRecord();
    r.id = id;
    r.outcome = "Complete";
    r.adopted = true;
    r.method = m.method;
    r.startTime = m.startTime;
    r.endTime = m.endTime;
    r.tables = (int) m.tables.stream().filter(t -> t.innerOf == null).count();
    r.objects = m.kinds();
    r.partitions = m.tables.stream().mapToInt(t -> t.partitions.size()).sum();
    r.rows = m.rows();
    r.rawBytes = m.rawBytes();
    r.storedBytes = m.storedBytes();
    m.sharing(r);
    r.base = m.base;
    r.location = BackupSetup.location(storage, id);
    r.manifestSha256 = read.sha256();
    r.keyId = m.keyId;
    return r;
  }

  /** When a record's backup ended (else started, else the time in its id): the order of status.backups. */
  static Instant time(BackupRecord r) {
    for (String t : new String[] {r.endTime, r.startTime}) {
      if (t != null) {
        try {
          return Instant.parse(t);
        } catch (DateTimeParseException e) {
          // written by hand into a manifest: the id's time below
        }
      }
    }
    return r.id == null ? null : idTime(r.id).orElse(null);
  }
}
