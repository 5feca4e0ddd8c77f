package dev.housekeeper.backup;

import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.Transient;
import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Restores a logical backup. Each table is loaded into a staging table first; every object's
 * SHA-256 is checked as it streams and every partition's row count after it is loaded. Only a
 * fully verified staging table becomes the target (an atomic RENAME, or REPLACE PARTITION into an
 * existing table); on any failure the staging table is dropped, so no half-restored table is left.
 */
public final class LogicalRestore {

  /** Tables are loaded into a staging table named so, then swapped in. */
  public static final String STAGING_PREFIX = dev.housekeeper.common.WorkingTables.RESTORE_STAGING_PREFIX;

  /** What to do with a table that exists in the target database. */
  public enum Mode {
    /** Create and load missing tables; leave existing ones alone (reported as skipped). */
    createMissing,
    /** Refuse the restore of a table that exists. */
    failIfExists,
    /** Replace the backed-up partitions of existing tables (missing tables are created). */
    replacePartitions
  }

  /** The outcome for one table. */
  public record TableResult(String source, String target, String outcome, long rows, int partitions, String error,
      boolean retriable) {

    public TableResult(String source, String target, String outcome, long rows, int partitions, String error) {
      this(source, target, outcome, rows, partitions, error, false);
    }
  }

  /** How long one table's data may take to stream in: its size, not the connection's queryTimeout, sets it. */
  private static final Pattern CREATE = Pattern.compile("^CREATE TABLE\\s+(\\S+?)\\.(\\S+?)\\s", Pattern.CASE_INSENSITIVE);

  private final ClickHouseClient client;
  private final ObjectStore store;
  private final Consumer<String> progress;
  private final java.util.Map<String, byte[]> keys;

  public LogicalRestore(ClickHouseClient client, ObjectStore store, Consumer<String> progress) {
    this(client, store, null, progress);
  }

  /** @param keys key id to 32-byte key, for encrypted backups (every key of the key Secret) */
  public LogicalRestore(ClickHouseClient client, ObjectStore store, java.util.Map<String, byte[]> keys,
      Consumer<String> progress) {
    this.client = client;
    this.store = store;
    this.keys = keys;
    this.progress = progress;
  }

  private InputStream unseal(Manifest manifest, InputStream in) throws IOException {
    if (manifest.encryption == null) {
      return in;
    }
    if (!Encryption.ALGORITHM.equals(manifest.encryption)) {
      throw new IOException("the backup uses encryption " + manifest.encryption + ", which this version cannot read");
    }
    if (keys == null || keys.isEmpty()) {
      throw new IOException("the backup is encrypted with key \"" + manifest.keyId + "\"; give the key Secret");
    }
    return Encryption.decrypt(in, keys);
  }

  /** The manifest of a complete backup; a backup without one is refused. */
  public Manifest manifest(String backupId) throws IOException {
    try (InputStream in = store.open(backupId + "/" + Manifest.FILE)) {
      return Manifest.fromJson(in.readAllBytes());
    } catch (FileNotFoundException e) {
      throw new IOException("backup " + backupId + " has no manifest in " + store.describe() + ": it is incomplete"
          + " (or does not exist) and cannot be restored");
    }
  }

  public List<TableResult> run(String backupId, String targetDatabase, Set<String> tables, Mode mode)
      throws IOException {
    Identifiers.quote(targetDatabase);
    return run(manifest(backupId), t -> targetDatabase,
        t -> tables == null || tables.isEmpty() || tables.contains(t.table), mode);
  }

  /**
   * Restores the selected tables of a complete backup, each into the database {@code target}
   * names. Before any table is touched, every selected schema object is read, checked and
   * decrypted, so that a wrong key or a corrupt schema changes nothing.
   */
  public List<TableResult> run(Manifest manifest, java.util.function.Function<Manifest.TableEntry, String> target,
      java.util.function.Predicate<Manifest.TableEntry> selected, Mode mode) throws IOException {
    List<Manifest.TableEntry> chosen = manifest.tables.stream().filter(selected).toList();
    java.util.Map<Manifest.TableEntry, String> ddl = new java.util.LinkedHashMap<>();
    for (Manifest.TableEntry t : chosen) {
      ddl.put(t, schema(manifest, t));
    }
    List<TableResult> results = new ArrayList<>();
    java.util.Set<String> created = new java.util.HashSet<>();
    for (Manifest.TableEntry t : chosen) {
      String db = target.apply(t);
      Identifiers.quote(db);
      if (created.add(db)) {
        client.execute(Sql.command("CREATE DATABASE IF NOT EXISTS ?", Sql.id(db)).idempotent(true));
      }
      results.add(table(manifest, t, ddl.get(t), db, mode));
    }
    return results;
  }

  /**
   * Restores a backup taken on a cluster (entries marked with their shard) into a cluster: each table
   * is created ON CLUSTER in the target database (a replicated table's ZooKeeper path moved from the
   * source database's to the target's, so it does not join the original), then each shard's
   * partitions are loaded through that shard's client into one of its replicas; replication copies
   * them to the others, and every replica's row counts are checked against the manifest. A table that
   * fails is dropped ON CLUSTER again. Modes createMissing and failIfExists.
   *
   * @param shards a client per shard (failing over among its replicas)
   * @param replicas clients for each reachable replica, per shard, for the checks
   */
  public List<TableResult> runOnCluster(Manifest manifest, java.util.function.Function<Manifest.TableEntry, String> target,
      java.util.function.Predicate<Manifest.TableEntry> selected, Mode mode, String cluster,
      java.util.Map<Integer, ClickHouseClient> shards, java.util.Map<Integer, List<ClickHouseClient>> replicas)
      throws IOException {
    if (mode == Mode.replacePartitions) {
      throw new IOException("mode replacePartitions is not supported for a cluster backup yet; restore into a new"
          + " database (targetDatabase) with mode createMissing or failIfExists");
    }
    String on = " ON CLUSTER " + Identifiers.quote(cluster);
    java.util.Map<String, List<Manifest.TableEntry>> byTable = new java.util.LinkedHashMap<>();
    for (Manifest.TableEntry t : manifest.tables) {
      if (selected.test(t)) {
        byTable.computeIfAbsent(t.database + "." + t.table, k -> new ArrayList<>()).add(t);
      }
    }
    for (Manifest.TableEntry t : manifest.tables) {
      if (selected.test(t) && t.shard != null && !shards.containsKey(t.shard)) {
        throw new IOException("the backup has data of shard " + t.shard + ", which the connection has no endpoint"
            + " for; nothing was restored");
      }
    }
    java.util.Map<String, String> ddl = new java.util.LinkedHashMap<>();
    for (var e : byTable.entrySet()) {
      ddl.put(e.getKey(), schema(manifest, e.getValue().get(0)));
    }
    List<TableResult> results = new ArrayList<>();
    java.util.Set<String> created = new java.util.HashSet<>();
    for (var e : byTable.entrySet()) {
      Manifest.TableEntry first = e.getValue().get(0);
      String db = target.apply(first);
      Identifiers.quote(db);
      String source = e.getKey();
      String dest = db + "." + first.table;
      if (created.add(db)) {
        client.execute(Sql.verbatim("CREATE DATABASE IF NOT EXISTS " + Identifiers.quote(db) + on).idempotent(true));
      }
      boolean exists = client.tableExists(db, first.table);
      if (exists) {
        results.add(mode == Mode.failIfExists
            ? new TableResult(source, dest, "Failed", 0, 0, "table " + dest + " exists and mode is failIfExists;"
                + " nothing was changed")
            : new TableResult(source, dest, "Skipped", 0, 0, "table exists (mode createMissing)"));
        continue;
      }
      Matcher m = CREATE.matcher(ddl.get(source));
      if (!m.find()) {
        results.add(new TableResult(source, dest, "Failed", 0, 0, "the schema does not start with CREATE TABLE"));
        continue;
      }
      String body = retargetReplicationPath(ddl.get(source).substring(m.end()), first.database, db);
      try {
        // IF NOT EXISTS (it did not exist a moment ago): a retry after a dropped connection is harmless
        client.execute(Sql.verbatim("CREATE TABLE IF NOT EXISTS " + Identifiers.qualified(db, first.table) + on + " "
            + body).idempotent(true));
        long rows = 0;
        int partitions = 0;
        for (Manifest.TableEntry shardEntry : e.getValue()) {
          ClickHouseClient shard = shards.getOrDefault(shardEntry.shard, client);
          for (Manifest.PartitionEntry p : shardEntry.partitions) {
            progress.accept("loading " + source + " shard " + shardEntry.shard + " partition " + p.partitionId);
            load(shard, manifest, p, db, first.table);
            rows += p.rows;
            partitions++;
          }
        }
        verifyReplicas(e.getValue(), db, first.table, replicas);
        results.add(new TableResult(source, dest, "Restored", rows, partitions, null));
      } catch (IOException | RuntimeException ex) {
        try {
          client.execute(Sql.verbatim("DROP TABLE IF EXISTS " + Identifiers.qualified(db, first.table) + on)
              .idempotent(true));
        } catch (RuntimeException dropFailed) {
          progress.accept("dropping " + dest + " after the failure failed: " + dropFailed.getMessage());
        }
        results.add(new TableResult(source, dest, "Failed", 0, 0, ex.getMessage(), Transient.is(ex)));
      }
    }
    return results;
  }

  /** Each replica of each shard has every partition with the manifest's row count (waits for replication). */
  private void verifyReplicas(List<Manifest.TableEntry> entries, String db, String table,
      java.util.Map<Integer, List<ClickHouseClient>> replicas) throws IOException {
    long deadline = System.nanoTime() + java.time.Duration.ofSeconds(120).toNanos();
    for (Manifest.TableEntry e : entries) {
      java.util.Map<String, Long> expected = new java.util.TreeMap<>();
      e.partitions.forEach(p -> expected.merge(p.partitionId, p.rows, Long::sum));
      for (ClickHouseClient replica : replicas.getOrDefault(e.shard, List.of())) {
        while (true) {
          java.util.Map<String, Long> actual = new java.util.TreeMap<>();
          for (var r : replica.query(Sql.query("SELECT partition_id, sum(rows) AS n FROM system.parts WHERE"
              + " database = ? AND table = ? AND active GROUP BY partition_id", db, table))) {
            actual.put(r.string("partition_id"), r.longValue("n"));
          }
          if (actual.equals(expected)) {
            break;
          }
          if (System.nanoTime() > deadline) {
            throw new IOException("shard " + e.shard + " replica " + replica.config().endpoints() + " has " + actual
                + " rows per partition, the backup " + expected + " (replication did not catch up in 120 s)");
          }
          try {
            Thread.sleep(300);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while checking the replicas", ie);
          }
        }
      }
    }
  }

  private static final Pattern REPLICATED = Pattern.compile("(Replicated\\w*MergeTree\\s*\\(\\s*')([^']*)(')");

  /**
   * A replicated table's ZooKeeper path names where its replicas meet: a restore into another
   * database must not meet the original's. The source database's segment becomes the target's, or,
   * when the path does not name it, the target database is appended.
   */
  static String retargetReplicationPath(String ddlBody, String sourceDb, String targetDb) {
    Matcher m = REPLICATED.matcher(ddlBody);
    if (!m.find() || sourceDb.equals(targetDb)) {
      return ddlBody;
    }
    String path = m.group(2);
    String moved = path.replace("/" + sourceDb + "/", "/" + targetDb + "/");
    if (moved.equals(path)) {
      moved = path + "/" + targetDb;
    }
    return ddlBody.substring(0, m.start(2)) + moved + ddlBody.substring(m.end(2));
  }

  private String schema(Manifest manifest, Manifest.TableEntry t) throws IOException {
    if (manifest.encryption != null && keys != null && manifest.keyId != null && !keys.containsKey(manifest.keyId)) {
      throw new IOException("the backup is encrypted with key \"" + manifest.keyId + "\", which the key Secret does"
          + " not hold (it has " + keys.keySet() + "); nothing was restored");
    }
    try {
      return new String(unseal(manifest, new ByteArrayInputStream(readVerified(t.schemaKey, t.schemaSha256)))
          .readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IOException("the schema of " + t.database + "." + t.table + " cannot be read: " + e.getMessage()
          + "; nothing was restored", e);
    }
  }

  private TableResult table(Manifest manifest, Manifest.TableEntry t, String ddl, String db, Mode mode)
      throws IOException {
    String source = t.database + "." + t.table;
    boolean exists = client.tableExists(db, t.table);
    if (exists && mode == Mode.failIfExists) {
      return new TableResult(source, db + "." + t.table, "Failed", 0, 0, "table " + db + "." + t.table
          + " exists and mode is failIfExists; nothing was changed");
    }
    if (exists && mode == Mode.createMissing) {
      return new TableResult(source, db + "." + t.table, "Skipped", 0, 0, "table exists (mode createMissing)");
    }
    String staging = STAGING_PREFIX + t.table;
    if (!Identifiers.isValid(staging)) {
      staging = STAGING_PREFIX + Integer.toHexString(t.table.hashCode());
    }
    try {
      Matcher m = CREATE.matcher(ddl);
      if (!m.find()) {
        throw new IOException("the schema of " + source + " does not start with CREATE TABLE db.table");
      }
      client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table(db, staging)).idempotent(true));
      client.execute(Sql.verbatim("CREATE TABLE " + Identifiers.qualified(db, staging) + " "
          + ddl.substring(m.end())));
      long rows = 0;
      String stagingTable = staging;
      List<java.util.concurrent.Callable<Long>> loads = new ArrayList<>();
      for (Manifest.PartitionEntry p : t.partitions) {
        loads.add(() -> {
          progress.accept("restoring " + source + " partition " + p.partitionId);
          load(client, manifest, p, db, stagingTable);
          // a fresh staging table has no deleted rows: its parts' row counts are exact
          long loaded = client.query(Sql.query("SELECT sum(rows) AS n FROM system.parts WHERE database = ? AND"
              + " table = ? AND partition_id = ? AND active", db, stagingTable, p.partitionId)).get(0).longValue("n");
          if (loaded != p.rows) {
            throw new IOException("partition " + p.partitionId + " of " + source + ": " + loaded + " rows loaded, the"
                + " manifest says " + p.rows);
          }
          return loaded;
        });
      }
      rows = runAll(loads);
      if (exists) {
        for (Manifest.PartitionEntry p : t.partitions) {
          client.execute(Sql.command("ALTER TABLE ? REPLACE PARTITION ID ? FROM ?", Sql.table(db, t.table),
              p.partitionId, Sql.table(db, staging)));
        }
        client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table(db, staging)).idempotent(true));
      } else {
        client.execute(Sql.command("RENAME TABLE ? TO ?", Sql.table(db, staging), Sql.table(db, t.table)));
      }
      return new TableResult(source, db + "." + t.table, "Restored", rows, t.partitions.size(), null);
    } catch (IOException | ClickHouseException e) {
      try {
        client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table(db, staging)).idempotent(true));
      } catch (ClickHouseException ignored) {
        // reported below; the staging table's name says what it is
      }
      return new TableResult(source, db + "." + t.table, "Failed", 0, 0, e.getMessage(), Transient.is(e));
    }
  }

  /** The limit of each partition's load (spec.statementTimeout). */
  public LogicalRestore statementTimeout(java.time.Duration limit) {
    this.dataTimeout = limit;
    return this;
  }

  private java.time.Duration dataTimeout = dev.housekeeper.common.StatementTimeout.RESTORE;

  /** Partitions loaded at once (default 2): each is one INSERT stream, parsed by its own server thread. */
  public LogicalRestore parallelism(int n) {
    this.parallelism = Math.max(1, n);
    return this;
  }

  private int parallelism = 2;

  /** Runs the loads, {@code parallelism} at a time; every one has ended when this returns or throws. */
  private long runAll(List<java.util.concurrent.Callable<Long>> loads) throws IOException {
    if (parallelism <= 1 || loads.size() <= 1) {
      long sum = 0;
      for (var load : loads) {
        try {
          sum += load.call();
        } catch (IOException | RuntimeException e) {
          throw e;
        } catch (Exception e) {
          throw new IOException(e);
        }
      }
      return sum;
    }
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
        Math.min(parallelism, loads.size()), r -> {
          Thread th = new Thread(r, "restore-load");
          th.setDaemon(true);
          return th;
        });
    java.util.concurrent.atomic.AtomicBoolean failed = new java.util.concurrent.atomic.AtomicBoolean();
    try {
      List<java.util.concurrent.Future<Long>> futures = new ArrayList<>();
      for (var load : loads) {
        futures.add(pool.submit(() -> {
          if (failed.get()) {
            return 0L; // another partition failed: the staging table is dropped anyway
          }
          try {
            return load.call();
          } catch (Exception e) {
            failed.set(true);
            throw e;
          }
        }));
      }
      long sum = 0;
      Exception first = null;
      for (var f : futures) {
        try {
          sum += f.get();
        } catch (java.util.concurrent.ExecutionException e) {
          first = first == null ? (e.getCause() instanceof Exception x ? x : new IOException(e.getCause())) : first;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("the restore was interrupted");
        }
      }
      LogicalBackup.rethrow(first);
      return sum;
    } finally {
      pool.shutdown();
    }
  }

  private void load(ClickHouseClient target, Manifest manifest, Manifest.PartitionEntry p, String db, String staging)
      throws IOException {
    MessageDigest sha = LogicalBackup.sha256();
    try (InputStream stored = new DigestInputStream(store.open(p.key), sha);
        InputStream data = Compression.valueOf(manifest.compression).wrap(unseal(manifest, stored))) {
      target.insert(db, staging, List.of(), "Native", data, null, dataTimeout);
      stored.transferTo(java.io.OutputStream.nullOutputStream()); // whatever the decompressor left unread
    } catch (ClickHouseClient.ReaderFailure e) {
      throw new IOException("loading " + p.key + " failed: " + e.getMessage(), e);
    } catch (ClickHouseException e) {
      throw new IOException("loading " + p.key + " failed (the object may be corrupt or not match the schema): "
          + e.getMessage(), e);
    }
    String actual = LogicalBackup.hex(sha.digest());
    if (!actual.equals(p.sha256)) {
      throw new IOException("object " + p.key + " is corrupt: SHA-256 " + actual + ", the manifest says " + p.sha256
          + "; nothing of this table was kept");
    }
  }

  private byte[] readVerified(String key, String sha256) throws IOException {
    byte[] bytes;
    try (InputStream in = store.open(key)) {
      bytes = in.readAllBytes();
    }
    if (!LogicalBackup.hex(LogicalBackup.sha256().digest(bytes)).equals(sha256)) {
      throw new IOException("object " + key + " is corrupt (SHA-256 differs from the manifest)");
    }
    return bytes;
  }
}
