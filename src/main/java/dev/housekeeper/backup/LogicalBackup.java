package dev.housekeeper.backup;

import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.HttpClickHouseClient.ReaderIo;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * A logical backup, which works on every server version: per table its DDL (SHOW CREATE TABLE),
 * and per partition its rows streamed from ClickHouse in Native format, compressed on the fly into
 * one object with a SHA-256 and a row count; the manifest last. Nothing is held whole in memory.
 */
public final class LogicalBackup {

  /** A table to back up. */
  public record TableRef(String database, String table) {}

  private static final Duration DATA_TIMEOUT = Duration.ofHours(6);
  private static final int ATTEMPTS_PER_PARTITION = 3;

  private final ClickHouseClient client;
  private final ObjectStore store;
  private final Compression compression;
  private final Consumer<String> progress;
  private final Encryption encryption;
  private java.util.function.UnaryOperator<List<String>> partitionSelector = ids -> ids;
  private volatile boolean cancelled;
  private volatile String currentQuery;
  private volatile Thread worker;
  private int queries;

  public LogicalBackup(ClickHouseClient client, ObjectStore store, Compression compression, Consumer<String> progress) {
    this(client, store, compression, null, progress);
  }

  /** With {@code encryption} non-null, every object (schema and data) is encrypted client-side. */
  public LogicalBackup(ClickHouseClient client, ObjectStore store, Compression compression, Encryption encryption,
      Consumer<String> progress) {
    this.client = client;
    this.store = store;
    this.compression = compression;
    this.encryption = encryption;
    this.progress = progress;
  }

  /** Which partition ids of a table to back up, given all of them in ascending order. */
  public LogicalBackup partitions(java.util.function.UnaryOperator<List<String>> selector) {
    this.partitionSelector = selector;
    return this;
  }

  /**
   * Cancels a running backup from another thread: the data query is killed on the server (by its
   * query id) and the worker stops at its next block, aborts the upload and deletes what it wrote.
   */
  public void cancel() {
    cancelled = true;
    Thread w = worker;
    if (w != null) {
      w.interrupt(); // wakes a worker waiting for a part upload
    }
    String qid = currentQuery;
    if (qid != null) {
      // KILL QUERY ... SYNC waits for the query to stop: not on the caller's thread
      Thread killer = new Thread(() -> {
        try {
          client.cancel(qid);
        } catch (RuntimeException e) {
          progress.accept("could not kill query " + qid + ": " + e.getMessage());
        }
      }, "kill-" + qid);
      killer.setDaemon(true);
      killer.start();
    }
  }

  public boolean cancelled() {
    return cancelled;
  }

  /** Query ids of a backup's data queries start with this, so that they can be found in system.processes. */
  public static String queryIdPrefix(String backupId) {
    return "hk-backup-" + backupId + "-";
  }

  /** Thrown when the backup was cancelled. */
  public static final class Cancelled extends IOException {
    public Cancelled() {
      super("the backup was cancelled");
    }
  }

  private void checkCancelled() throws Cancelled {
    if (cancelled) {
      throw new Cancelled();
    }
  }

  private OutputStream seal(OutputStream out) throws IOException {
    return encryption == null ? out : encryption.encrypt(out);
  }

  private String suffix() {
    return encryption == null ? "" : ".enc";
  }

  /**
   * Backs up the tables. On any failure the objects written so far are deleted and no manifest
   * exists, so the backup is never offered for restore.
   */
  public Manifest run(String backupId, List<TableRef> tables, boolean schemaOnly) throws IOException {
    Manifest manifest = new Manifest();
    manifest.backupId = backupId;
    manifest.method = "logical";
    manifest.startTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    manifest.compression = compression.name();
    if (encryption != null) {
      manifest.encryption = Encryption.ALGORITHM;
      manifest.keyId = encryption.keyId();
    }
    manifest.serverVersion = client.query(Sql.query("SELECT version() AS v")).get(0).string("v");
    worker = Thread.currentThread();
    try {
      for (TableRef ref : tables) {
        checkCancelled();
        manifest.tables.add(table(backupId, ref, schemaOnly));
      }
      checkCancelled();
      manifest.endTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
      try (ObjectStore.Upload upload = store.create(backupId + "/" + Manifest.FILE)) {
        upload.write(manifest.toJson());
      }
      return manifest;
    } catch (IOException | RuntimeException e) {
      if (cancelled) {
        Thread.interrupted(); // the storage calls of the clean-up must not see the cancellation's interrupt
      }
      cleanUp(backupId);
      if (cancelled) {
        throw new Cancelled();
      }
      throw e;
    } finally {
      worker = null;
      if (cancelled) {
        Thread.interrupted();
      }
    }
  }

  /** Deletes every object of an incomplete backup. */
  public void cleanUp(String backupId) {
    try {
      List<String> keys = store.list(backupId + "/").stream().map(ObjectStore.ObjectInfo::key).toList();
      store.delete(keys);
    } catch (IOException e) {
      progress.accept("could not clean up incomplete backup " + backupId + ": " + e.getMessage());
    }
  }

  private Manifest.TableEntry table(String backupId, TableRef ref, boolean schemaOnly) throws IOException {
    Manifest.TableEntry entry = new Manifest.TableEntry();
    entry.database = ref.database();
    entry.table = ref.table();
    String ddl = client.query(Sql.query("SHOW CREATE TABLE ?", Sql.table(ref.database(), ref.table()))).get(0)
        .string("statement");
    entry.schemaKey = backupId + "/schema/" + ref.database() + "/" + ref.table() + ".sql" + suffix();
    MessageDigest schemaSha = sha256();
    ObjectStore.Upload schemaUpload = store.create(entry.schemaKey);
    try (OutputStream out = seal(new DigestOutputStream(keepOpen(schemaUpload), schemaSha))) {
      out.write(ddl.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      schemaUpload.abort();
      throw e;
    }
    schemaUpload.close();
    entry.schemaSha256 = hex(schemaSha.digest());
    if (schemaOnly) {
      return entry;
    }
    List<Row> partitions = client.query(Sql.query("SELECT DISTINCT partition_id FROM system.parts WHERE database = ?"
        + " AND table = ? AND active ORDER BY partition_id", ref.database(), ref.table()));
    List<String> ids = partitionSelector.apply(partitions.stream().map(p -> p.string("partition_id")).toList());
    for (String id : ids) {
      checkCancelled();
      entry.partitions.add(partition(backupId, ref, id));
    }
    return entry;
  }

  private Manifest.PartitionEntry partition(String backupId, TableRef ref, String partitionId) throws IOException {
    String key = backupId + "/data/" + ref.database() + "/" + ref.table() + "/" + partitionId + ".native"
        + compression.suffix() + suffix();
    for (int attempt = 1; ; attempt++) {
      progress.accept("backing up " + ref.database() + "." + ref.table() + " partition " + partitionId);
      long before = count(ref, partitionId);
      Manifest.PartitionEntry entry = stream(backupId, ref, partitionId, key);
      long after = count(ref, partitionId);
      if (before == after) {
        entry.rows = after;
        return entry;
      }
      if (attempt == ATTEMPTS_PER_PARTITION) {
        throw new IOException("partition " + partitionId + " of " + ref.table() + " kept changing while it was read ("
            + ATTEMPTS_PER_PARTITION + " attempts); back it up when writes to it pause");
      }
    }
  }

  private long count(TableRef ref, String partitionId) {
    return client.query(Sql.query("SELECT count() AS n FROM ? WHERE _partition_id = ?",
        Sql.table(ref.database(), ref.table()), partitionId)).get(0).longValue("n");
  }

  private Manifest.PartitionEntry stream(String backupId, TableRef ref, String partitionId, String key) {
    String qid = queryIdPrefix(backupId) + (++queries);
    Sql select = Sql.query("SELECT * FROM ? WHERE _partition_id = ?", Sql.table(ref.database(), ref.table()),
        partitionId).idempotent(false).withTimeout(DATA_TIMEOUT).withQueryId(qid);
    currentQuery = qid;
    try {
      return streamAs(select, partitionId, key);
    } finally {
      currentQuery = null;
    }
  }

  private Manifest.PartitionEntry streamAs(Sql select, String partitionId, String key) {
    return client.stream(select, "Native", in -> {
      ObjectStore.Upload upload = store.create(key);
      try {
        MessageDigest sha = sha256();
        CountingOutputStream stored = new CountingOutputStream(new DigestOutputStream(keepOpen(upload), sha));
        CountingOutputStream raw;
        try {
          try (OutputStream compressed = compression.wrap(seal(stored))) {
            raw = new CountingOutputStream(compressed);
            byte[] buf = new byte[1 << 16];
            for (int n; (n = read(in, buf)) > 0; ) {
              if (cancelled) {
                throw new Cancelled();
              }
              raw.write(buf, 0, n);
            }
          }
          upload.close();
        } catch (SourceIo e) {
          throw e.getCause(); // ClickHouse's stream broke: the client classifies it
        } catch (IOException e) {
          throw new ReaderIo(e); // the storage side failed
        }
        Manifest.PartitionEntry entry = new Manifest.PartitionEntry();
        entry.partitionId = partitionId;
        entry.key = key;
        entry.rawBytes = raw.count();
        entry.storedBytes = stored.count();
        entry.sha256 = hex(sha.digest());
        return entry;
      } catch (Exception e) {
        if (cancelled) {
          Thread.interrupted();
        }
        upload.abort();
        throw e;
      }
    });
  }

  /** An I/O error of the ClickHouse result stream (not of the storage). */
  private static final class SourceIo extends IOException {
    SourceIo(IOException cause) {
      super(cause);
    }

    @Override
    public synchronized IOException getCause() {
      return (IOException) super.getCause();
    }
  }

  private static int read(java.io.InputStream in, byte[] buf) throws SourceIo {
    try {
      return in.read(buf);
    } catch (IOException e) {
      throw new SourceIo(e);
    }
  }

  static OutputStream keepOpen(OutputStream out) {
    return new FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        out.flush();
      }
    };
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
