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
import java.util.ArrayList;
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

  private static final int ATTEMPTS_PER_PARTITION = 3;
  /** The partition id of a table read whole (Log, TinyLog, StripeLog, Memory: they have no partitions). */
  static final String WHOLE = "all";

  /** The client of the shard being backed up (the only one on a single server). */
  private volatile ClickHouseClient client;
  private java.util.Map<Integer, ClickHouseClient> shards = java.util.Map.of();
  private volatile Integer shard;
  private final ObjectStore store;
  private final Compression compression;
  private final Consumer<String> progress;
  private final Encryption encryption;
  private java.util.function.UnaryOperator<List<String>> partitionSelector = ids -> ids;
  private volatile boolean cancelled;
  /** Set when one partition failed: the others stop as on a cancellation, but the error is theirs. */
  private volatile boolean failing;
  /** The failure of the partition that stopped the others: the one to report, not their cancellation. */
  private final java.util.concurrent.atomic.AtomicReference<Exception> failure =
      new java.util.concurrent.atomic.AtomicReference<>();
  private final java.util.Set<String> runningQueries = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.Set<Thread> workers = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.atomic.AtomicInteger queries = new java.util.concurrent.atomic.AtomicInteger();
  private int parallelism = 1;
  private boolean partCountsExact;
  /** What the current run backs up (which tables are read whole, which are a view's inner table). */
  private BackupScope.Found found = new BackupScope.Found(List.of(), java.util.Set.of(), java.util.Map.of(),
      List.of());

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

  /** How many partitions are read and uploaded at once (default 1). */
  /**
   * On a cluster: back up each shard through its own client (one replica of it answers, failing
   * over to another replica of the same shard), its objects under shard-N/ and its manifest entries
   * marked with the shard. Distributed tables hold no data and are backed up as schema only.
   */
  public LogicalBackup shards(java.util.Map<Integer, ClickHouseClient> clients) {
    this.shards = new java.util.TreeMap<>(clients);
    return this;
  }

  private String prefix(String backupId) {
    Integer n = shard;
    return n == null ? backupId : backupId + "/shard-" + n;
  }

  /** The limit of each table's data read (spec.statementTimeout). */
  public LogicalBackup statementTimeout(Duration limit) {
    this.dataTimeout = limit;
    return this;
  }

  private Duration dataTimeout = dev.housekeeper.common.StatementTimeout.BACKUP;

  /** The server's own objects (functions, access entities) to back up beside the databases' objects. */
  LogicalBackup serverObjects(ServerObjects.Found server) {
    this.server = server;
    return this;
  }

  private ServerObjects.Found server;

  public LogicalBackup parallelism(int n) {
    this.parallelism = Math.max(1, n);
    return this;
  }

  /**
   * Whether system.parts row counts equal what a SELECT returns (true unless the server has
   * lightweight deletes, whose masked rows parts still count): then a partition's row count is read
   * from metadata instead of counted by a query.
   */
  public LogicalBackup partCountsExact(boolean exact) {
    this.partCountsExact = exact;
    return this;
  }

  /**
   * Cancels a running backup from another thread: its data queries are killed on the server (by
   * query id) and the workers stop at their next block, abort their uploads and delete what was
   * written.
   */
  public void cancel() {
    if (cancelled) {
      return; // asked again while it stops: the workers were told once
    }
    cancelled = true;
    stopAll();
  }

  private void stopAll() {
    for (Thread w : workers) {
      w.interrupt(); // wakes a worker waiting for a part upload
    }
    for (String qid : runningQueries) {
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

  private boolean stopping() {
    return cancelled || failing;
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
    if (stopping()) {
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
    return run(backupId, new BackupScope.Found(tables, java.util.Set.of(), java.util.Map.of(), List.of()), schemaOnly);
  }

  /**
   * Backs up what a scope found: its tables with their data, then every other object by its DDL.
   * On any failure the objects written so far are deleted and no manifest exists.
   */
  public Manifest run(String backupId, BackupScope.Found found, boolean schemaOnly) throws IOException {
    this.found = found;
    List<TableRef> tables = found.tables();
    Manifest manifest = new Manifest();
    manifest.backupId = backupId;
    manifest.method = "logical";
    manifest.startTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    manifest.compression = compression.name();
    manifest.contentHash = ContentHash.FUNCTION;
    if (encryption != null) {
      manifest.encryption = Encryption.ALGORITHM;
      manifest.keyId = encryption.keyId();
    }
    manifest.serverVersion = client.query(Sql.query("SELECT version() AS v")).get(0).string("v");
    workers.add(Thread.currentThread());
    java.util.concurrent.ExecutorService pool = parallelism <= 1 ? null
        : java.util.concurrent.Executors.newFixedThreadPool(parallelism, r -> {
          Thread t = new Thread(r, "backup-" + backupId + "-partition");
          t.setDaemon(true);
          return t;
        });
    try {
      tables(backupId, tables, schemaOnly, pool, manifest);
      for (BackupScope.ObjectRef o : found.objects()) {
        checkCancelled();
        manifest.objects.add(object(backupId, o));
      }
      serverObjects(backupId, server, manifest);
      checkCancelled();
      PartitionObjects.checkNamed(store, PartitionObjects.lineage(backupId), manifest);
      manifest.endTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
      try (ObjectStore.Upload upload = store.create(backupId + "/" + Manifest.FILE)) {
        upload.write(manifest.toJson());
      }
      return manifest;
    } catch (IOException | RuntimeException e) {
      // the storage calls of the clean-up must not see the cancellation's interrupt, nor a later one: the operator
      // asks again on every pass until the backup has ended
      workers.remove(Thread.currentThread());
      if (stopping()) {
        Thread.interrupted();
      }
      cleanUp(backupId);
      if (cancelled) {
        throw new Cancelled();
      }
      throw e;
    } finally {
      workers.remove(Thread.currentThread());
      if (pool != null) {
        pool.shutdownNow();
      }
      if (cancelled) {
        Thread.interrupted();
      }
    }
  }

  /** Every table, on the one server or on one replica of each shard. */
  private void tables(String backupId, List<TableRef> tables, boolean schemaOnly,
      java.util.concurrent.ExecutorService pool, Manifest manifest) throws IOException {
    if (shards.isEmpty()) {
      for (TableRef ref : tables) {
        checkCancelled();
        manifest.tables.add(table(backupId, ref, schemaOnly, pool));
      }
      return;
    }
    for (var s : shards.entrySet()) {
      client = s.getValue();
      shard = s.getKey();
      for (TableRef ref : tables) {
        checkCancelled();
        Manifest.TableEntry entry = table(backupId, ref, schemaOnly, pool);
        entry.shard = s.getKey();
        manifest.tables.add(entry);
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

  private Manifest.TableEntry table(String backupId, TableRef ref, boolean schemaOnly,
      java.util.concurrent.ExecutorService pool) throws IOException {
    Manifest.TableEntry entry = new Manifest.TableEntry();
    entry.database = ref.database();
    entry.table = ref.table();
    entry.innerOf = found.innerOf().get(ref);
    entry.whole = found.whole().contains(ref);
    String ddl = schema(backupId, ref, entry);
    if (schemaOnly) {
      return entry;
    }
    if (entry.whole) {
      entry.partitions.add(partition(backupId, ref, WHOLE, "", null));
      return entry;
    }
    // a patch part (a lightweight UPDATE's) is read with the partition it patches, never as one of its own
    List<Row> partitions = client.query(Sql.query("SELECT partition_id, any(partition) AS value FROM system.parts"
        + " WHERE database = ? AND table = ? AND active AND partition_id NOT LIKE 'patch-%' GROUP BY partition_id"
        + " ORDER BY partition_id", ref.database(), ref.table()));
    java.util.Map<String, String> values = new java.util.HashMap<>();
    partitions.forEach(p -> values.put(p.string("partition_id"), p.string("value")));
    List<Row> keyRows = client.query(Sql.query("SELECT partition_key FROM system.tables WHERE database = ? AND name = ?",
        ref.database(), ref.table()));
    String partitionKey = keyRows.isEmpty() ? "" : keyRows.get(0).string("partition_key").strip();
    List<String> ids = partitionSelector.apply(partitions.stream().map(p -> p.string("partition_id")).toList());
    boolean partHashes = partHashes();
    Shared shared = new Shared(ddl, partHashes, PartitionState.read(client, ref.database(), ref.table(), partHashes),
        PartitionObjects.stored(store, PartitionObjects.tablePrefix(PartitionObjects.lineage(backupId), shard,
            ref.database(), ref.table())));
    if (pool == null) {
      for (String id : ids) {
        checkCancelled();
        entry.partitions.add(partition(backupId, ref, id, partitionKey, values.get(id), shared));
      }
    } else {
      entry.partitions.addAll(inParallel(pool, ids,
          id -> partition(backupId, ref, id, partitionKey, values.get(id), shared)));
    }
    return entry;
  }

  /** Whether this shard's server reports part hashes, asked once per shard. */
  private boolean partHashes() {
    return partHashes.computeIfAbsent(String.valueOf(shard), k -> PartitionState.serverHashesParts(client));
  }

  private final java.util.Map<String, Boolean> partHashes = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * What decides a partition's shared object ({@link PartitionObjects}): the table's DDL and, read
   * once per table before its partitions, what the server holds for each partition and what storage
   * holds of the table's objects.
   */
  private record Shared(String ddl, boolean partHashes, java.util.Map<String, List<String>> states,
      java.util.Map<String, Long> stored) {}

  /** The table's DDL as the server shows it, written (sealed) to its own object; returns the DDL. */
  private String schema(String backupId, TableRef ref, Manifest.TableEntry entry) throws IOException {
    entry.schemaKey = schemaKey(backupId, ref.database(), ref.table());
    String ddl = showCreate("TABLE", ref.database(), ref.table());
    entry.schemaSha256 = upload(entry.schemaKey, ddl);
    return ddl;
  }

  /** A view, materialized view, dictionary or data-less table: its DDL alone. */
  private Manifest.ObjectEntry object(String backupId, BackupScope.ObjectRef o) throws IOException {
    progress.accept("backing up the definition of " + o.kind() + " " + o.database() + "." + o.name());
    Manifest.ObjectEntry entry = new Manifest.ObjectEntry();
    entry.kind = o.kind().name();
    entry.database = o.database();
    entry.name = o.name();
    entry.engine = o.engine();
    entry.schemaKey = schemaKey(backupId, o.database(), o.name());
    String ddl = showCreate(o.kind() == BackupScope.Kind.dictionary ? "DICTIONARY" : "TABLE", o.database(), o.name());
    entry.schemaSha256 = upload(entry.schemaKey, ddl);
    entry.dependsOn = ObjectDependencies.of(ddl, o.database(), o.name(), dependencyCandidates());
    return entry;
  }

  /** What an object can depend on: the backed-up tables (not inner tables: they go with their view) and objects. */
  private List<TableRef> dependencyCandidates() {
    List<TableRef> out = new ArrayList<>(found.tables().stream().filter(t -> !found.innerOf().containsKey(t))
        .toList());
    found.objects().forEach(o -> out.add(new TableRef(o.database(), o.name())));
    return out;
  }

  /**
   * The definitions alone, for a backup whose data the server writes itself (the native method):
   * the objects of the scope (views, dictionaries, data-less tables) and the server's objects, each
   * to its own object, listed in the manifest.
   */
  void definitions(String backupId, BackupScope.Found scope, ServerObjects.Found server, Manifest manifest)
      throws IOException {
    this.found = scope;
    for (BackupScope.ObjectRef o : scope.objects()) {
      manifest.objects.add(object(backupId, o));
    }
    serverObjects(backupId, server, manifest);
  }

  /** User-defined functions and access entities: each one's statements, as a JSON array, in its own object. */
  private void serverObjects(String backupId, ServerObjects.Found server, Manifest manifest) throws IOException {
    if (server == null) {
      return;
    }
    List<ServerObjects.Entity> all = new ArrayList<>(server.functions());
    all.addAll(server.access());
    for (ServerObjects.Entity e : all) {
      checkCancelled();
      Manifest.ObjectEntry entry = new Manifest.ObjectEntry();
      entry.kind = e.kind();
      entry.name = e.name();
      entry.schemaKey = prefix(backupId) + "/server/" + e.kind() + "/" + ObjectKeys.segment(e.name()) + ".json"
          + suffix();
      entry.schemaSha256 = upload(entry.schemaKey, STATEMENTS.writeValueAsString(e.statements()));
      manifest.server.add(entry);
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper STATEMENTS =
      new com.fasterxml.jackson.databind.ObjectMapper();

  private String showCreate(String what, String database, String name) {
    return client.query(Sql.query("SHOW CREATE " + ("DICTIONARY".equals(what) ? "DICTIONARY" : "TABLE") + " ?",
        Sql.table(database, name))).get(0).string("statement");
  }

  private String schemaKey(String backupId, String database, String name) {
    return prefix(backupId) + "/schema/" + ObjectKeys.segment(database) + "/" + ObjectKeys.segment(name) + ".sql"
        + suffix();
  }

  /** Writes text, sealed, to an object; returns its checksum. */
  private String upload(String key, String text) throws IOException {
    MessageDigest sha = sha256();
    ObjectStore.Upload upload = store.create(key);
    try (OutputStream out = seal(new DigestOutputStream(keepOpen(upload), sha))) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      upload.abort();
      throw e;
    }
    upload.close();
    return hex(sha.digest());
  }

  /** Backs up one partition. */
  private interface PartitionWork {
    Manifest.PartitionEntry run(String partitionId) throws IOException;
  }

  /**
   * The partitions on the pool, in their order; the first one that fails stops the others, and this
   * returns only when every one has ended (a worker left running could write after the clean-up).
   */
  private List<Manifest.PartitionEntry> inParallel(java.util.concurrent.ExecutorService pool, List<String> ids,
      PartitionWork work) throws IOException {
    List<java.util.concurrent.Future<Manifest.PartitionEntry>> futures = new java.util.ArrayList<>();
    for (String id : ids) {
      futures.add(pool.submit(() -> {
        workers.add(Thread.currentThread());
        try {
          checkCancelled();
          return work.run(id);
        } catch (Exception e) {
          if (!(e instanceof Cancelled) && !stopping()) {
            failure.compareAndSet(null, e);
            failing = true; // the other partitions stop now; the clean-up waits for every one of them
            stopAll();
          }
          throw e;
        } finally {
          workers.remove(Thread.currentThread());
          Thread.interrupted();
        }
      }));
    }
    List<Manifest.PartitionEntry> done = new java.util.ArrayList<>();
    Exception first = null;
    for (var f : futures) {
      first = awaitPartition(f, done, first);
    }
    if (failure.get() != null && !cancelled) {
      first = failure.get(); // the waiting thread may have been woken before it saw the failing partition's future
    }
    rethrow(first);
    return done;
  }

  /**
   * Waits until this partition's worker has ended, however often this thread is woken: every failing
   * worker stops the others (and wakes this thread). Returns the first failure seen so far.
   */
  private Exception awaitPartition(java.util.concurrent.Future<Manifest.PartitionEntry> f,
      List<Manifest.PartitionEntry> done, Exception first) {
    while (true) {
      try {
        Manifest.PartitionEntry p = f.get();
        if (first == null) {
          done.add(p);
        }
        return first;
      } catch (java.util.concurrent.ExecutionException e) {
        Exception cause = e.getCause() instanceof Exception x ? x : new IOException(e.getCause());
        boolean moreTelling = first == null || (first instanceof Cancelled && !(cause instanceof Cancelled));
        return moreTelling ? cause : first; // the partition that failed, not the ones it stopped
      } catch (InterruptedException e) {
        // woken by a cancellation (or by a failing partition, which stopped the others already)
        if (!stopping()) {
          cancelled = true;
          stopAll();
        }
        if (first == null) {
          first = new Cancelled();
        }
      }
    }
  }

  /** The condition that selects one partition, and the content hash of the rows it selects. */
  private record Located(Sql.Fragment where, ContentHash.Fingerprint fingerprint) {}

  /**
   * The condition that selects one partition, with its rows' content hash. {@code _partition_id = '...'}
   * alone is exact but makes older servers (18.16) scan every part of the table; the partition key
   * compared with the partition's value (both as the server reports them in system.tables and
   * system.parts) lets the server skip the other parts. The key condition is used only where it selects
   * exactly the partition's rows: the hash query counts them, so no count of its own is needed.
   */
  private Located locate(String backupId, TableRef ref, String partitionId, String partitionKey, String value,
      long rows) {
    Sql.Fragment exact = Sql.fragment("_partition_id = ?", partitionId);
    if (WHOLE.equals(partitionId)) {
      exact = Sql.fragment("1");
    } else if (!partitionKey.isEmpty() && value != null && !value.isBlank() && !"tuple()".equals(value)) {
      // the value as the server shows it (202403, '2024-03-05' on 26.x), then as a string literal: 18.16 shows a Date
      // key's value unquoted (2024-03-05), which as an expression is a subtraction
      for (Object shown : List.of(Sql.serverExpression(value), value)) {
        Sql.Fragment pruned = Sql.fragment("(?) = ? AND ?", Sql.serverExpression(partitionKey), shown, exact);
        try {
          ContentHash.Fingerprint fingerprint = fingerprint(backupId, ref, pruned);
          if (fingerprint.rows() == rows) {
            return new Located(pruned, fingerprint);
          }
        } catch (RuntimeException e) {
          if (stopping()) {
            throw e;
          } // else a key the server cannot compare this way: the next form, else the exact condition alone
        }
      }
    }
    return new Located(exact, fingerprint(backupId, ref, exact));
  }

  /** A table read whole (no parts): its object is the backup's own, under its folder. */
  private Manifest.PartitionEntry partition(String backupId, TableRef ref, String partitionId, String partitionKey,
      String value) throws IOException {
    String key = prefix(backupId) + "/data/" + ObjectKeys.segment(ref.database()) + "/"
        + ObjectKeys.segment(ref.table()) + "/" + partitionId + ".native" + compression.suffix() + suffix();
    return read(backupId, ref, partitionId, partitionKey, value, key);
  }

  /**
   * A partition of a table with parts: the shared object its content names, reused when a backup
   * uploaded it already (same parts, DDL, compression and key), else read and uploaded, then its receipt.
   */
  private Manifest.PartitionEntry partition(String backupId, TableRef ref, String partitionId, String partitionKey,
      String value, Shared shared) throws IOException {
    List<String> state = shared.states().getOrDefault(partitionId, List.of());
    for (int attempt = 1; ; attempt++) {
      String fingerprint = PartitionObjects.fingerprint(state, shared.ddl(), compression.name(),
          encryption == null ? null : encryption.keyId());
      String key = PartitionObjects.key(PartitionObjects.lineage(backupId), shard, ref.database(), ref.table(),
          partitionId, fingerprint, ".native" + compression.suffix() + suffix());
      // the table's folder as listed before its partitions; a later attempt's own key is looked up again
      var receipt = attempt == 1 ? PartitionObjects.reusable(store, key, shared.stored())
          : PartitionObjects.reusable(store, key);
      if (receipt.isPresent()) {
        progress.accept("reusing " + ref.database() + "." + ref.table() + " partition " + partitionId + " (unchanged)");
        return receipt.get().entry(key, fingerprint);
      }
      Manifest.PartitionEntry entry = read(backupId, ref, partitionId, partitionKey, value, key);
      List<String> now = PartitionState.read(client, ref.database(), ref.table(), shared.partHashes(), partitionId);
      if (now.equals(state)) {
        entry.fingerprint = fingerprint;
        PartitionObjects.writeReceipt(store, key, PartitionObjects.Receipt.of(entry, backupId));
        return entry;
      }
      // its parts changed while it was read: the object does not hold what its key names
      store.delete(List.of(key));
      state = now;
      if (attempt == ATTEMPTS_PER_PARTITION) {
        throw changing(ref, partitionId);
      }
    }
  }

  private static IOException changing(TableRef ref, String partitionId) {
    return new IOException("partition " + partitionId + " of " + ref.table() + " kept changing while it was read ("
        + ATTEMPTS_PER_PARTITION + " attempts); back it up when writes to it pause");
  }

  /** Reads one partition into the object {@code key}, until its row count stayed the same while it was read. */
  private Manifest.PartitionEntry read(String backupId, TableRef ref, String partitionId, String partitionKey,
      String value, String key) throws IOException {
    for (int attempt = 1; ; attempt++) {
      progress.accept("backing up " + ref.database() + "." + ref.table() + " partition " + partitionId);
      long before = count(ref, partitionId);
      // the rows' fingerprint, read with the condition that then reads them: a restore drill compares it
      Located located = locate(backupId, ref, partitionId, partitionKey, value, before);
      ContentHash.Fingerprint fingerprint = located.fingerprint();
      Manifest.PartitionEntry entry = stream(backupId, ref, partitionId, located.where(), key);
      long after = count(ref, partitionId);
      if (before == after && fingerprint.rows() == after) {
        entry.rows = after;
        entry.contentHash = fingerprint.hash();
        return entry;
      }
      if (attempt == ATTEMPTS_PER_PARTITION) {
        throw changing(ref, partitionId);
      }
    }
  }

  /**
   * The partition's content hash: under the data's limit (it reads every row), with a query id of this
   * backup listed as running, so that a cancellation kills it too.
   */
  private ContentHash.Fingerprint fingerprint(String backupId, TableRef ref, Sql.Fragment where) {
    String qid = queryIdPrefix(backupId) + queries.incrementAndGet();
    runningQueries.add(qid);
    try {
      return ContentHash.of(client, ref.database(), ref.table(), hashColumns(ref), where,
          sql -> sql.withTimeout(dataTimeout).withQueryId(qid));
    } finally {
      runningQueries.remove(qid);
    }
  }

  /** The columns a table's content hash covers, read once per table and shard. */
  private List<String> hashColumns(TableRef ref) {
    return hashColumns.computeIfAbsent(shard + "/" + ref.database() + "." + ref.table(),
        k -> ContentHash.columns(client, ref.database(), ref.table()));
  }

  private final java.util.Map<String, List<String>> hashColumns = new java.util.concurrent.ConcurrentHashMap<>();

  private long count(TableRef ref, String partitionId) {
    if (WHOLE.equals(partitionId)) {
      return client.query(Sql.query("SELECT count() AS n FROM ?", Sql.table(ref.database(), ref.table()))).get(0)
          .longValue("n");
    }
    if (partCountsExact) {
      return client.query(Sql.query("SELECT sum(rows) AS n FROM system.parts WHERE database = ? AND table = ?"
          + " AND partition_id = ? AND active", ref.database(), ref.table(), partitionId)).get(0).longValue("n");
    }
    return client.query(Sql.query("SELECT count() AS n FROM ? WHERE _partition_id = ?",
        Sql.table(ref.database(), ref.table()), partitionId)).get(0).longValue("n");
  }

  private Manifest.PartitionEntry stream(String backupId, TableRef ref, String partitionId, Sql.Fragment where,
      String key) {
    String qid = queryIdPrefix(backupId) + queries.incrementAndGet();
    // not re-sent by the client after a dropped connection: the stream is half written to storage by then, and the
    // partition's own attempts (count before and after) decide what is tried again
    Sql select = Sql.query("SELECT * FROM ? WHERE ?", Sql.table(ref.database(), ref.table()), where)
        .idempotent(false).withTimeout(dataTimeout).withQueryId(qid);
    runningQueries.add(qid);
    try {
      return streamAs(select, partitionId, key);
    } finally {
      runningQueries.remove(qid);
    }
  }

  private Manifest.PartitionEntry streamAs(Sql select, String partitionId, String key) {
    return client.stream(select, "Native", in -> {
      if (stopping()) {
        throw new Cancelled(); // a retry of the query after the backup was stopped: write nothing more
      }
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
              if (stopping()) {
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
        if (stopping()) {
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

  /** Throws the first failure of parallel work as it was (I/O or runtime), else as an IOException; null: none. */
  static void rethrow(Exception first) throws IOException {
    if (first instanceof IOException io) {
      throw io;
    }
    if (first instanceof RuntimeException re) {
      throw re;
    }
    if (first != null) {
      throw new IOException(first);
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
