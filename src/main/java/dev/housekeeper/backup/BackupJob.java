package dev.housekeeper.backup;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Takes one backup of a ClickHouseBackup's scope, logical or native, and describes it as a status
 * record. On failure nothing of it is left in storage but what could not be deleted (the caller
 * retries that deletion), and no manifest ever.
 */
public final class BackupJob {

  /** Everything a run needs, resolved by the reconciler before it starts. */
  public record Plan(String backupId, String method, List<String> databases, ClickHouseBackupSpec spec,
      BackupStorage storage, BackupSetup.S3Credentials s3Credentials, Encryption encryption,
      boolean partCountsExact, Duration statementTimeout, String base) {}

  /** A run that failed; {@code cleanedUp} says whether its objects are gone. */
  public static final class Failed extends Exception {
    private final boolean cleanedUp;
    private final boolean cancelled;
    private final boolean stopping;

    Failed(String message, Throwable cause, boolean cleanedUp, boolean cancelled) {
      this(message, cause, cleanedUp, cancelled, false);
    }

    private Failed(String message, Throwable cause, boolean cleanedUp, boolean cancelled, boolean stopping) {
      super(message, cause);
      this.cleanedUp = cleanedUp;
      this.cancelled = cancelled;
      this.stopping = stopping;
    }

    /**
     * This process stopped watching a backup the server goes on with: the run is not over, and the
     * next operator takes it over from status.running.
     */
    static Failed stopping(String serverBackupId, Throwable cause) {
      return new Failed("the operator stopped while the server's backup " + serverBackupId + " ran; it is taken over"
          + " on restart", cause, true, false, true);
    }

    public boolean stopping() {
      return stopping;
    }

    public boolean cleanedUp() {
      return cleanedUp;
    }

    public boolean cancelled() {
      return cancelled;
    }
  }


  private final ClickHouseClient client;
  private final ObjectStore store;
  private final Plan plan;
  private final Consumer<String> progress;
  private final List<String> skipped = new ArrayList<>();
  private volatile LogicalBackup logical;
  private volatile boolean cancelled;
  private volatile String nativeQuery;
  /** The server's id of the native backup (system.backups.id), once it is started or found. */
  private volatile String serverBackupId;
  /** This run takes over a backup a previous process started: it never starts a second one. */
  private boolean resuming;

  private final java.time.Clock clock;

  public BackupJob(ClickHouseClient client, ObjectStore store, Plan plan, Consumer<String> progress,
      java.time.Clock clock) {
    this.clock = clock;
    this.client = client;
    this.store = store;
    this.plan = plan;
    this.progress = progress;
  }

  private java.util.Map<Integer, ClickHouseClient> shards = java.util.Map.of();

  /** The limit of the server's BACKUP and of each table's data read (spec.statementTimeout, default 12h). */
  private Duration statementLimit() {
    return plan.statementTimeout();
  }

  /** On a cluster: one client per shard; each shard is backed up through its own. */
  public BackupJob shards(java.util.Map<Integer, ClickHouseClient> clients) {
    this.shards = clients;
    return this;
  }

  /** Makes this run take over the backup a previous process started (status.running), never start another. */
  public BackupJob resuming() {
    this.resuming = true;
    return this;
  }

  /** The server's id of the native backup in progress, once known. */
  public String serverBackupId() {
    return serverBackupId;
  }

  /** Tables left out of the scope (views, other engines), for an Event. */
  public List<String> skipped() {
    return skipped;
  }

  /** Cancels from another thread: kills the running query and stops the upload. */
  public void cancel() {
    cancelled = true;
    LogicalBackup l = logical;
    if (l != null) {
      l.cancel();
    }
    String q = nativeQuery;
    // once the server runs the backup in the background, the loop that watches it kills it
    if (q != null && serverBackupId == null) {
      try {
        client.cancel(q);
      } catch (RuntimeException e) {
        progress.accept("could not kill " + q + ": " + e.getMessage());
      }
    }
  }

  public BackupRecord run() throws Failed {
    Instant start = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    var scope = plan.spec().scope;
    BackupScope.Found found;
    try {
      found = BackupScope.resolve(client, plan.databases(), scope == null ? List.of() : scope.tables,
          scope == null ? List.of() : scope.kinds, skipped);
    } catch (BackupScope.UnknownTable e) {
      throw new Failed(e.getMessage(), e, true, false);
    } catch (RuntimeException e) {
      throw new Failed("listing the tables failed: " + e.getMessage(), e, true, false);
    }
    if (cancelled) {
      throw new Failed("the backup was cancelled before it started", null, true, true);
    }
    Manifest manifest;
    if (ClickHouseBackupSpec.NATIVE.equals(plan.method())) {
      manifest = runNative(nativeTables(found), found); // reads the server's objects while its BACKUP runs
    } else {
      try {
        readServerObjects(serverVersion());
      } catch (IOException e) {
        throw new Failed(e.getMessage(), e, true, false);
      }
      manifest = runLogical(found, serverObjects);
    }
    BackupRecord r = new BackupRecord();
    r.id = plan.backupId();
    r.outcome = "Complete";
    r.method = plan.method();
    r.startTime = start.toString();
    r.endTime = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
    r.tables = (int) manifest.tables.stream().filter(t -> t.innerOf == null).count();
    r.objects = manifest.kinds();
    List<String> notBackedUp = new ArrayList<>(skipped);
    notBackedUp.addAll(serverObjects.notHeld());
    r.notBackedUp = notBackedUp.isEmpty() ? null : notBackedUp;
    r.partitions = manifest.tables.stream().mapToInt(t -> t.partitions.size()).sum();
    r.rows = manifest.rows();
    r.rawBytes = manifest.rawBytes();
    r.storedBytes = manifest.storedBytes();
    manifest.sharing(r);
    r.base = manifest.base;
    r.location = BackupSetup.location(store, plan.storage(), plan.backupId());
    r.keyId = manifest.keyId;
    try {
      r.manifestSha256 = sha256(plan.backupId() + "/" + Manifest.FILE);
    } catch (IOException e) {
      r.message = "the manifest's checksum could not be read back: " + e.getMessage();
    }
    return r;
  }

  private String serverVersion() {
    return client.query(Sql.query("SELECT version() AS v")).get(0).string("v");
  }

  /**
   * The server's own objects (functions, access entities) in the scope's kinds, as a server of {@code version}
   * lists them; sets {@link #serverObjects}.
   */
  private ServerObjects.Found readServerObjects(String version) throws IOException {
    var scope = plan.spec().scope;
    try {
      serverObjects = new ServerObjects(client).read(scope == null ? List.of() : scope.kinds, version);
      return serverObjects;
    } catch (RuntimeException e) {
      throw new IOException("reading the server's functions and access entities failed: " + e.getMessage(), e);
    }
  }

  /** What the run backs up of the server's own objects: read by the run, before or beside its data. */
  private ServerObjects.Found serverObjects;

  /**
   * The tables the server backs up itself (the MergeTree tables, by name). The definitions of views,
   * dictionaries and data-less tables and the server's objects are written beside them by
   * Housekeeper; the data of materialized views' inner tables and of Log tables is not held, and is
   * named in the skipped list, so that the status says what this backup does not hold.
   */
  private List<LogicalBackup.TableRef> nativeTables(BackupScope.Found found) {
    List<LogicalBackup.TableRef> tables = new ArrayList<>();
    for (LogicalBackup.TableRef t : found.tables()) {
      if (found.innerOf().containsKey(t)) {
        skipped.add(t.database() + "." + t.table() + " (the data of materialized view " + found.innerOf().get(t)
            + ": the native method here holds the view's definition only; use the logical method for its data)");
      } else if (found.whole().contains(t)) {
        skipped.add(t.database() + "." + t.table() + " (a table without partitions: the native method here backs up"
            + " MergeTree tables only; use the logical method for its data)");
      } else {
        tables.add(t);
      }
    }
    return tables;
  }

  private Manifest runLogical(BackupScope.Found found, ServerObjects.Found server) throws Failed {
    var scope = plan.spec().scope;
    var compression = Compression.valueOf(plan.spec().compression == null ? "zstd" : plan.spec().compression.name());
    LogicalBackup backup = new LogicalBackup(client, store, compression, plan.encryption(), progress)
        .parallelism(plan.spec().parallelism == null ? 3 : plan.spec().parallelism)
        .statementTimeout(statementLimit())
        .partCountsExact(plan.partCountsExact())
        .serverObjects(server)
        .shards(shards);
    var filter = scope == null ? null : scope.partitions;
    if (filter != null) {
      backup.partitions(BackupScope.partitions(filter.ids, filter.from, filter.to, filter.newest));
    }
    logical = backup;
    if (cancelled) {
      backup.cancel();
    }
    try {
      return backup.run(plan.backupId(), found, scope != null && scope.schemaOnly);
    } catch (LogicalBackup.Cancelled e) {
      throw new Failed("the backup was cancelled; its query was killed and its upload aborted", e,
          !exists(), true);
    } catch (IOException | RuntimeException e) {
      throw new Failed(rootMessage(e), e, !exists(), false);
    }
  }

  private Manifest runNative(List<LogicalBackup.TableRef> tables, BackupScope.Found found) throws Failed {
    NativeTarget target = nativeTarget(tables);
    Manifest manifest = new Manifest();
    manifest.backupId = plan.backupId();
    manifest.method = ClickHouseBackupSpec.NATIVE;
    manifest.base = plan.base();
    manifest.startTime = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
    manifest.consistency = "the server's BACKUP: each table as of the moment it was backed up";
    String qid = LogicalBackup.queryIdPrefix(plan.backupId()) + "native";
    nativeQuery = qid;
    try {
      long sentAt = System.nanoTime();
      startServerBackup(target, tables.size(), qid);
      // the rest of the backup is written while the server's BACKUP runs, so that it adds no time of its own; a
      // failure of it stops the server's backup, and waits for its end before anything is deleted
      Exception beside = besideTheServersBackup(manifest, tables, found);
      if (beside != null && !cancelled && Thread.currentThread().isInterrupted()) {
        throw Failed.stopping(serverBackupId, beside); // this process stops: the server's backup goes on, taken over
      }
      try {
        // a full backup copies every file of its tables' parts, whose size the entries hold: its row is read near its
        // end rather than often (an incremental one writes only what its base lacks, a size not known here)
        awaitServerBackup(sentAt, plan.base() == null ? manifest.storedBytes() : 0);
      } catch (RuntimeException e) {
        if (beside == null) {
          throw e;
        } // else the server's backup ended because of that failure, which is the one to report
      }
      if (beside instanceof IOException io) {
        throw io;
      } else if (beside != null) {
        throw (RuntimeException) beside;
      }
      manifest.endTime = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
      try (ObjectStore.Upload upload = store.create(plan.backupId() + "/" + Manifest.FILE)) {
        upload.write(manifest.toJson());
      }
      return manifest;
    } catch (Interrupted e) {
      // this process is stopping (a restart, a lost lease): the server's backup goes on and the next
      // operator takes it over from status.running; nothing of it may be deleted here
      throw Failed.stopping(serverBackupId, e);
    } catch (IOException | RuntimeException e) {
      if (serverBackupId != null && !cancelled && Thread.currentThread().isInterrupted()) {
        throw Failed.stopping(serverBackupId, e);
      }
      boolean cleaned = clean();
      throw new Failed((cancelled ? "the backup was cancelled: " : "") + rootMessage(e), e, cleaned, cancelled);
    } finally {
      nativeQuery = null;
    }
  }

  /** Starts the server's BACKUP, or goes on with the one a run taken over from another process started. */
  private void startServerBackup(NativeTarget target, int tables, String qid) throws Failed {
    // one server backup per run
    List<Row> earlier = client.query(NativeBackupSql.serverBackups(plan.backupId()));
    if (!earlier.isEmpty()) {
      serverBackupId = earlier.get(0).string("id");
      progress.accept("going on with the server's backup " + serverBackupId + " of " + plan.backupId() + " ("
          + earlier.get(0).string("status") + ")");
    } else if (resuming) {
      throw new Failed("interrupted: the operator restarted while the backup ran, and the server no longer lists it"
          + " (it restarted too); its objects are deleted before the next backup", null, clean(), false);
    } else {
      progress.accept("server-side BACKUP of " + tables + " table(s) to " + target.destination().replaceAll("\\?.*",
          "") + (plan.base() == null ? "" : ", incremental on " + plan.base()));
      serverBackupId = client.query(target.statement().withQueryId(qid)).get(0).string("id");
    }
  }

  /**
   * What a native backup holds beside the server's files: the server's version, each table's parts, the
   * definitions of the scope's other objects and the server's objects. Returns its failure (and stops the
   * server's backup) instead of throwing it, so that the caller waits for the server's backup to end first.
   */
  private Exception besideTheServersBackup(Manifest manifest, List<LogicalBackup.TableRef> tables,
      BackupScope.Found found) {
    try {
      manifest.serverVersion = serverVersion();
      for (LogicalBackup.TableRef t : tables) {
        manifest.tables.add(nativeEntry(t));
      }
      definitions(manifest, found, readServerObjects(manifest.serverVersion));
      return null;
    } catch (IOException | RuntimeException e) {
      abandoned = !Thread.currentThread().isInterrupted(); // a process that stops leaves the server's backup running
      return e;
    }
  }

  /** Set when the work beside the server's backup failed: the server's backup is stopped as on a cancellation. */
  private volatile boolean abandoned;

  /** The server's BACKUP statement, incremental on the plan's base when it has one, and where it writes. */
  private record NativeTarget(Sql statement, String destination) {}

  private NativeTarget nativeTarget(List<LogicalBackup.TableRef> tables) {
    if (plan.storage().s3 != null) {
      String destination = BackupSetup.nativeUrl(plan.storage().s3, plan.backupId());
      return new NativeTarget(NativeBackupSql.backupToS3(tables, destination, plan.s3Credentials().accessKeyId(),
          plan.s3Credentials().secretAccessKey(), plan.base() == null ? null
              : BackupSetup.nativeUrl(plan.storage().s3, plan.base()), true), destination);
    }
    String disk = plan.storage().volume.clickhouseDisk;
    return new NativeTarget(NativeBackupSql.backupToDisk(tables, disk, plan.backupId(), plan.base(), true),
        "Disk('" + disk + "', '" + plan.backupId() + "')");
  }

  /** Beside the server's files: the definitions of the scope's other objects and the server's objects. */
  private void definitions(Manifest manifest, BackupScope.Found found, ServerObjects.Found server) throws IOException {
    if (plan.encryption() != null) { // the server's files are its own; the definitions written here are sealed
      manifest.encryption = Encryption.ALGORITHM;
      manifest.keyId = plan.encryption().keyId();
    }
    new LogicalBackup(client, store, Compression.none, plan.encryption(), progress).definitions(plan.backupId(), found,
        server, manifest);
  }

  private Manifest.TableEntry nativeEntry(LogicalBackup.TableRef t) {
    Manifest.TableEntry entry = new Manifest.TableEntry();
    entry.database = t.database();
    entry.table = t.table();
    List<Row> parts = client.query(Sql.query("SELECT partition_id, sum(rows) AS rows, sum(bytes_on_disk) AS bytes"
        + " FROM system.parts WHERE database = ? AND table = ? AND active GROUP BY partition_id"
        + " ORDER BY partition_id", t.database(), t.table()));
    for (Row p : parts) {
      Manifest.PartitionEntry pe = new Manifest.PartitionEntry();
      pe.partitionId = p.string("partition_id");
      pe.rows = p.longValue("rows");
      pe.storedBytes = p.longValue("bytes");
      entry.partitions.add(pe);
    }
    return entry;
  }

  /** This process was interrupted while the server's backup ran (not a cancellation of the backup). */
  private static final class Interrupted extends Exception {
    Interrupted(InterruptedException cause) {
      super("interrupted", cause);
    }
  }

  /**
   * Polls system.backups until the server's backup ends, its progress (files, bytes) going to the
   * status. A cancellation kills it (KILL QUERY cancels a BACKUP from 24.1: then its objects are
   * deleted; an older server finishes it, and the backup is kept as complete). A poll that fails for
   * a passing reason is tried again: the backup goes on meanwhile, and its objects must not be
   * deleted under it.
   */
  private void awaitServerBackup(long sentAt, long expectedBytes) throws Interrupted {
    ServerOperation server = new ServerOperation(client, serverBackupId, "BACKUP", "", "the backup is incomplete",
        statementLimit(), progress).since(sentAt).expecting(expectedBytes);
    boolean killed = false;
    Row backup = null;
    while (true) {
      if ((cancelled || abandoned) && !killed && backup != null) {
        // the backup's own query id, from system.backups: the statement's id on a real server (24.1 and
        // later run both under one id), the engine's own where the backup runs apart from the statement
        client.cancel(backup.has("query_id") && !backup.string("query_id").isEmpty() ? backup.string("query_id")
            : nativeQuery);
        killed = true;
      }
      backup = server.read();
      if (backup != null && server.finished(backup)) {
        return;
      }
      server.checkDeadline();
      try {
        Thread.sleep(server.nextPoll(backup).toMillis());
      } catch (InterruptedException e) {
        if (cancelled) {
          continue;
        }
        Thread.currentThread().interrupt();
        throw new Interrupted(e);
      }
    }
  }

  private boolean exists() {
    try {
      return !store.list(plan.backupId() + "/").isEmpty();
    } catch (IOException e) {
      return true;
    }
  }

  private boolean clean() {
    try {
      store.delete(store.list(plan.backupId() + "/").stream().map(ObjectStore.ObjectInfo::key).toList());
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private String sha256(String key) throws IOException {
    try (InputStream in = store.open(key)) {
      return LogicalBackup.hex(LogicalBackup.sha256().digest(in.readAllBytes()));
    }
  }

  static String rootMessage(Throwable e) {
    String message = e.getMessage();
    Throwable t = e;
    while ((message == null || message.isBlank()) && t.getCause() != null) {
      t = t.getCause();
      message = t.getMessage();
    }
    return message == null ? e.getClass().getSimpleName() : message;
  }
}
