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
  public String consistency = "each partition is read by one query; partitions and tables are read one after another,"
      + " so writes between them are seen by later partitions only";
  public List<TableEntry> tables = new ArrayList<>();

  /** One backed-up table. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static final class TableEntry {
    public String database;
    public String table;
    /** On a cluster: the shard this entry's data came from (null on a single server). */
    public Integer shard;
    public String schemaKey;
    public String schemaSha256;
    public List<PartitionEntry> partitions = new ArrayList<>();
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
  }

  public long rows() {
    return tables.stream().flatMap(t -> t.partitions.stream()).mapToLong(p -> p.rows).sum();
  }

  public long rawBytes() {
    return tables.stream().flatMap(t -> t.partitions.stream()).mapToLong(p -> p.rawBytes).sum();
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
