package dev.housekeeper.backup;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What a logical backup holds, written last as {@code <backupId>/manifest.json}. A backup without
 * a manifest is incomplete: it is never offered for restore. Checksums are SHA-256 of the stored
 * bytes of each object (after compression), so a restore checks an object before using it.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public final class Manifest {

  public static final int FORMAT = 1;
  public static final String FILE = "manifest.json";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public int format = FORMAT;
  public String backupId;
  /** logical or native. */
  public String method = "logical";
  public String startTime;
  public String endTime;
  public String serverVersion;
  public String compression;
  /** Encryption.ALGORITHM when objects are encrypted, else null. */
  public String encryption;
  /** Id of the key the objects were encrypted with (the key itself is never stored). */
  public String keyId;
  /** A native incremental backup: the id of the backup it is based on (the server's base_backup); null: full. */
  public String base;
  public String consistency = "each partition is read by one query; partitions and tables are read one after another,"
      + " so writes between them are seen by later partitions only";
  /**
   * How each partition's {@link PartitionEntry#contentHash} was computed ({@link ContentHash#FUNCTION});
   * null in backups taken before hashes were recorded, whose partitions a drill compares by rows only.
   */
  public String contentHash;
  public List<TableEntry> tables = new ArrayList<>();
  /**
   * The database's objects besides its tables with data: views, materialized views, dictionaries,
   * and tables whose engine holds no data Housekeeper can read (Distributed, Null, Set ...), each
   * with its DDL. Restored after the tables, in the order listed.
   */
  public List<ObjectEntry> objects = new ArrayList<>();
  /**
   * Objects of the server rather than of a database (database null): user-defined functions (kind
   * {@code function}), restored before the tables, and access entities (kinds {@code settingsProfile},
   * {@code role}, {@code user}, {@code quota}, {@code rowPolicy}), restored after everything else.
   * Each one's object holds a JSON array of the statements that make it (CREATE, then GRANTs).
   */
  public List<ObjectEntry> server = new ArrayList<>();

  /** One backed-up table. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class TableEntry {
    public String database;
    public String table;
    /** On a cluster: the shard this entry's data came from (null on a single server). */
    public Integer shard;
    public String schemaKey;
    public String schemaSha256;
    /** The table's engine (MergeTree, SummingMergeTree, Log ...); null in backups taken before it was recorded. */
    public String engine;
    /** Its data was read whole, as one object with partition id {@code all} (Log, TinyLog, StripeLog, Memory). */
    public boolean whole;
    /** The materialized view this is the inner table of (its data is restored into the new view's inner table). */
    public String innerOf;
    public List<PartitionEntry> partitions = new ArrayList<>();
  }

  /** One object restored by its DDL alone. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static final class ObjectEntry {
    /** {@link BackupScope.Kind}'s name: view, materializedView, dictionary, table. */
    public String kind;
    public String database;
    public String name;
    public String engine;
    public String schemaKey;
    public String schemaSha256;
    /**
     * The backed-up tables and objects ({@code database.name}) its DDL names: it is restored after
     * them. Null in backups taken before dependencies were recorded (restored by retrying instead).
     */
    public List<String> dependsOn;
  }

  /** How many objects of each kind the backup holds (tables with data count as table). */
  public java.util.Map<String, Integer> kinds() {
    java.util.Map<String, Integer> out = new java.util.TreeMap<>();
    tables.stream().filter(t -> t.innerOf == null).forEach(t -> out.merge("table", 1, Integer::sum));
    objects.forEach(o -> out.merge(o.kind, 1, Integer::sum));
    server.forEach(o -> out.merge(o.kind, 1, Integer::sum));
    return out;
  }

  /** One partition's data object. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static final class PartitionEntry {
    public String partitionId;
    public String key;
    public long rows;
    public long rawBytes;
    public long storedBytes;
    public String sha256;
    /**
     * The server's order-independent hash of the partition's rows at backup time (see
     * {@link ContentHash}); null when not recorded (an older backup, a native one, or column types the
     * server cannot hash).
     */
    public String contentHash;
    /**
     * The fingerprint of what the server held for the partition ({@link PartitionObjects#fingerprint}):
     * equal fingerprints are one shared object. Null in backups taken before objects were shared.
     */
    public String fingerprint;
    /** This backup found the object in storage and named it instead of uploading it. */
    public boolean reused;
  }

  public long rows() {
    return tables.stream().flatMap(t -> t.partitions.stream()).mapToLong(p -> p.rows).sum();
  }

  public long rawBytes() {
    return tables.stream().flatMap(t -> t.partitions.stream()).mapToLong(p -> p.rawBytes).sum();
  }

  /** The partition entries this backup uploaded ({@code reused} false) or reused ({@code reused} true). */
  public java.util.stream.Stream<PartitionEntry> partitions(boolean reused) {
    return tables.stream().flatMap(t -> t.partitions.stream()).filter(p -> p.reused == reused);
  }

  /** Writes into a status record how many partition objects this backup uploaded and reused, and their bytes. */
  void sharing(dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord r) {
    if (!"logical".equals(method)) {
      return;
    }
    r.objectsUploaded = (int) partitions(false).count();
    r.objectsReused = (int) partitions(true).count();
    r.bytesUploaded = partitions(false).mapToLong(p -> p.storedBytes).sum();
    r.bytesReused = partitions(true).mapToLong(p -> p.storedBytes).sum();
  }

  public long storedBytes() {
    return tables.stream().flatMap(t -> t.partitions.stream()).mapToLong(p -> p.storedBytes).sum();
  }

  public byte[] toJson() throws IOException {
    return JSON.writeValueAsBytes(this);
  }

  public static Manifest fromJson(byte[] json) throws IOException {
    return JSON.readValue(json, Manifest.class);
  }
}
