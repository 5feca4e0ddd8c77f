package dev.housekeeper.backup;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.housekeeper.backup.storage.ObjectStore;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Partition data objects shared by the backups of one ClickHouseBackup (its lineage, the resource's
 * name): each is stored once under a key derived from what it holds, and every backup whose partition
 * has that content refers to it from its manifest instead of reading and uploading it again. No
 * backup depends on another: a manifest names every object it needs, and an object stays while any
 * manifest names it.
 *
 * <pre>
 * objects/&lt;lineage&gt;/[shard-N/]&lt;database&gt;/&lt;table&gt;/&lt;partition id&gt;/&lt;fingerprint&gt;.native.zst[.enc]
 * objects/&lt;lineage&gt;/...&lt;fingerprint&gt;.native.zst[.enc].receipt.json
 * </pre>
 *
 * The fingerprint covers the partition's parts ({@link PartitionState}), the table's DDL, the
 * compression and the encryption key's id: so an object is reused only under the same key, and a key
 * rotation uploads everything again under the new one. The receipt is written after its object is
 * complete (rows, sizes, SHA-256, content hash): an object without one (a backup killed between the
 * two) is never reused, and a receipt whose object is missing or of another size is not trusted.
 *
 * <p>Deleting: a backup's manifest goes first, then its own folder, then the shared objects that no
 * manifest left in the store names ({@link #sweep}). A cut anywhere leaves manifests whose objects all
 * exist, and at worst objects no manifest names, which the next sweep deletes.
 */
final class PartitionObjects {

  static final String ROOT = "objects";
  static final String RECEIPT = ".receipt.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private PartitionObjects() {}

  /**
   * What a receipt says of its object: what a manifest's partition entry needs, so that a backup
   * reusing the object records the same figures as the backup that uploaded it.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  static final class Receipt {
    public String partitionId;
    public long rows;
    public long rawBytes;
    public long storedBytes;
    public String sha256;
    public String contentHash;
    /** The backup that uploaded it. */
    public String uploadedBy;

    static Receipt of(Manifest.PartitionEntry e, String backupId) {
      Receipt r = new Receipt();
      r.partitionId = e.partitionId;
      r.rows = e.rows;
      r.rawBytes = e.rawBytes;
      r.storedBytes = e.storedBytes;
      r.sha256 = e.sha256;
      r.contentHash = e.contentHash;
      r.uploadedBy = backupId;
      return r;
    }

    Manifest.PartitionEntry entry(String key, String fingerprint) {
      Manifest.PartitionEntry e = new Manifest.PartitionEntry();
      e.partitionId = partitionId;
      e.key = key;
      e.rows = rows;
      e.rawBytes = rawBytes;
      e.storedBytes = storedBytes;
      e.sha256 = sha256;
      e.contentHash = contentHash;
      e.fingerprint = fingerprint;
      e.reused = true;
      return e;
    }
  }

  /**
   * The lineage of a backup id: the resource's name, which Housekeeper's ids start with ({@code
   * <name>-<yyyyMMdd-HHmmss>}); an id of another form is its own lineage.
   */
  static String lineage(String backupId) {
    return StoredBackups.resourceName(backupId).orElse(backupId);
  }

  /**
   * The fingerprint of a partition object: its parts' lines, its table's DDL, and how it is stored
   * (format, compression, key id), so that equal fingerprints mean equal stored content.
   */
  static String fingerprint(List<String> partLines, String ddl, String compression, String keyId) {
    List<String> lines = new ArrayList<>();
    lines.add("housekeeper partition object 1");
    lines.add("format Native");
    lines.add("compression " + compression);
    lines.add("key " + (keyId == null ? "-" : keyId));
    lines.add("ddl " + PartitionState.digest(List.of(ddl)));
    lines.addAll(partLines);
    return PartitionState.digest(lines).substring(0, 32);
  }

  /** The key of a partition's object; {@code shard} null on a single server. */
  static String key(String lineage, Integer shard, String database, String table, String partitionId,
      String fingerprint, String suffix) {
    return tablePrefix(lineage, shard, database, table) + ObjectKeys.segment(partitionId) + "/" + fingerprint + suffix;
  }

  /** Whether a key is a shared object's (not one backup's own). */
  static boolean shared(String key) {
    return key != null && key.startsWith(ROOT + "/");
  }

  /** The folder of one lineage's shared objects. */
  static String lineagePrefix(String lineage) {
    return ROOT + "/" + ObjectKeys.segment(lineage) + "/";
  }

  /** The folder of one table's shared objects; {@code shard} null on a single server. */
  static String tablePrefix(String lineage, Integer shard, String database, String table) {
    return lineagePrefix(lineage) + (shard == null ? "" : "shard-" + shard + "/") + ObjectKeys.segment(database)
        + "/" + ObjectKeys.segment(table) + "/";
  }

  /**
   * The sizes of the objects (and receipts) whose keys start with {@code prefix}: a table's folder, listed
   * once before its partitions (one request per table instead of one per partition, an S3 LIST each), for
   * {@link #reusable(ObjectStore, String, java.util.Map)}.
   */
  static java.util.Map<String, Long> stored(ObjectStore store, String prefix) throws IOException {
    java.util.Map<String, Long> sizes = new java.util.HashMap<>();
    store.list(prefix).forEach(o -> sizes.put(o.key(), o.size()));
    return sizes;
  }

  /**
   * The object under {@code key}, when it can be reused: its receipt exists and the object has the
   * size the receipt names.
   */
  static Optional<Receipt> reusable(ObjectStore store, String key) throws IOException {
    return reusable(store, key, stored(store, key));
  }

  /**
   * As {@link #reusable(ObjectStore, String)}, with the objects' sizes as a listing found them. The receipt is
   * read from storage, so an object deleted since the listing is not taken.
   */
  static Optional<Receipt> reusable(ObjectStore store, String key, java.util.Map<String, Long> listed)
      throws IOException {
    Long size = listed.get(key);
    if (size == null || !listed.containsKey(key + RECEIPT)) {
      return Optional.empty();
    }
    Receipt r;
    try (InputStream in = store.open(key + RECEIPT)) {
      r = JSON.readValue(in.readAllBytes(), Receipt.class);
    } catch (FileNotFoundException e) {
      return Optional.empty(); // deleted since the listing
    }
    return r.storedBytes == size && r.sha256 != null ? Optional.of(r) : Optional.empty();
  }

  /** Writes an object's receipt, after the object is complete. */
  static void writeReceipt(ObjectStore store, String key, Receipt receipt) throws IOException {
    try (ObjectStore.Upload upload = store.create(key + RECEIPT)) {
      upload.write(JSON.writeValueAsBytes(receipt));
    }
  }

  /**
   * Checks, before a manifest is written, that every shared object it names is in storage with the
   * size it records: a manifest never names an object that is not there (say one a sweep of another
   * resource of the same name, sharing the prefix, deleted while this backup ran).
   */
  static void checkNamed(ObjectStore store, String lineage, Manifest manifest) throws IOException {
    java.util.Map<String, Long> sizes = stored(store, lineagePrefix(lineage));
    for (Manifest.TableEntry t : manifest.tables) {
      for (Manifest.PartitionEntry p : t.partitions) {
        if (shared(p.key) && !Long.valueOf(p.storedBytes).equals(sizes.get(p.key))) {
          throw new IOException("partition object " + p.key + " is not in storage with the " + p.storedBytes
              + " bytes this backup recorded (found: " + sizes.get(p.key) + "); no manifest is written, and the next"
              + " backup uploads it again");
        }
      }
    }
  }

  /** The shared objects a manifest names. */
  static Set<String> named(Manifest m) {
    Set<String> out = new HashSet<>();
    m.tables.forEach(t -> t.partitions.stream().map(p -> p.key).filter(PartitionObjects::shared).forEach(out::add));
    return out;
  }

  /**
   * Every shared object any complete backup in the store names. Throws when a manifest cannot be read:
   * what it names is unknown, so nothing may be deleted.
   */
  static Set<String> namedByAnyManifest(ObjectStore store) throws IOException {
    Set<String> out = new HashSet<>();
    for (String id : store.children("")) {
      if (ROOT.equals(id)) {
        continue;
      }
      Optional<StoredBackups.Read> read;
      try {
        read = StoredBackups.manifest(store, id);
      } catch (IOException | RuntimeException e) {
        throw new IOException("the manifest of " + id + " cannot be read (" + BackupJob.rootMessage(e) + "), so no"
            + " shared object is deleted until it can", e);
      }
      read.ifPresent(r -> out.addAll(named(r.manifest())));
    }
    return out;
  }

  /**
   * Deletes the shared objects of {@code lineage} (and the {@code alsoConsider} keys of other lineages,
   * named by backups just deleted) that no manifest in the store names, with their receipts. Runs only
   * where no backup of the lineage is being taken (a resource runs one task at a time), so an object
   * not named now is not about to be. Returns how many objects it deleted.
   */
  static int sweep(ObjectStore store, String lineage, Set<String> alsoConsider, Consumer<String> progress)
      throws IOException {
    List<String> candidates = new ArrayList<>();
    store.list(lineagePrefix(lineage)).forEach(o -> candidates.add(o.key()));
    for (String key : alsoConsider) {
      candidates.add(key);
      candidates.add(key + RECEIPT);
    }
    if (candidates.isEmpty()) {
      return 0; // a lineage without shared objects (native backups): no manifest needs reading
    }
    Set<String> named = namedByAnyManifest(store);
    List<String> doomed = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    int objects = 0;
    for (String key : candidates) {
      String data = key.endsWith(RECEIPT) ? key.substring(0, key.length() - RECEIPT.length()) : key;
      if (named.contains(data) || !seen.add(key)) {
        continue;
      }
      doomed.add(key);
      if (!key.endsWith(RECEIPT)) {
        objects++;
      }
    }
    if (!doomed.isEmpty()) {
      progress.accept("deleting " + objects + " partition object(s) no backup names");
      store.delete(doomed);
    }
    return objects;
  }
}
