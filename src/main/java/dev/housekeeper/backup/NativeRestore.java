package dev.housekeeper.backup;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.Transient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A native restore, table by table, each one a {@code RESTORE ... ASYNC} that the server runs in the
 * background while {@code system.backups} is polled for its end. The server's id of the table in
 * flight goes to status at once ({@code runningServerRestoreId}), so that an operator that restarts
 * or loses its lease mid-restore leaves the server's restore running, and the next one watches it to
 * its end instead of starting it again (which would find the table half-restored and skip it as
 * existing).
 */
final class NativeRestore {

  /** A server-side restore to watch instead of starting one: a previous process started it. */
  record Resume(String serverRestoreId, String table) {}

  private final ClickHouseClient client;
  private final BackupStorage storage;
  private final BackupSetup.S3Credentials credentials;
  private final Manifest manifest;
  private final Duration limit;
  private final Consumer<String> progress;
  private final Resume resume;
  private volatile String serverRestoreId;
  private volatile String tableInFlight;

  NativeRestore(ClickHouseClient client, BackupStorage storage, BackupSetup.S3Credentials credentials,
      Manifest manifest, Duration limit, Consumer<String> progress, Resume resume) {
    this.client = client;
    this.storage = storage;
    this.credentials = credentials;
    this.manifest = manifest;
    this.limit = limit;
    this.progress = progress;
    this.resume = resume;
  }

  /** The server's id of the restore in flight, or null. */
  String serverRestoreId() {
    return serverRestoreId;
  }

  /** The source table ({@code db.table}) of the restore in flight, or null. */
  String tableInFlight() {
    return tableInFlight;
  }

  List<RestoreTable> run(RestoreTargets targets, LogicalRestore.Mode mode) throws InterruptedException {
    List<RestoreTable> out = new ArrayList<>();
    for (Manifest.TableEntry t : manifest.tables) {
      if (!targets.selected(t)) {
        continue;
      }
      RestoreTargets.Target to = targets.target(t);
      String source = t.database + "." + t.table;
      List<Manifest.PartitionEntry> partitions = targets.partitions(t);
      int skipped = t.partitions.size() - partitions.size();
      boolean takenOver = resume != null && source.equals(resume.table());
      boolean exists = !takenOver && client.tableExists(to.database(), to.table());
      if (targets.dataOnly()) {
        out.add(RestoreTable.failed(source, to.qualified(), "dataOnly: the native method's RESTORE creates the table"
            + " it restores and cannot replace partitions of an existing one; restore a logical backup for that",
            false).found(exists, skipped));
      } else if (exists) {
        String why = "table exists; the native method restores only missing tables";
        out.add((mode == LogicalRestore.Mode.createMissing ? RestoreTable.skipped(source, to.qualified(), why)
            : RestoreTable.failed(source, to.qualified(), why, false)).found(true, skipped));
      } else {
        out.add(table(t, to, targets.filtersPartitions() ? partitions : null, takenOver).found(false, skipped));
      }
    }
    return out;
  }

  /**
   * One table: its server-side restore started (or the one taken over), watched to its end, its rows
   * counted against the manifest's rows of the partitions restored ({@code partitions}; null: all).
   */
  private RestoreTable table(Manifest.TableEntry t, RestoreTargets.Target to, List<Manifest.PartitionEntry> partitions,
      boolean takenOver) throws InterruptedException {
    String source = t.database + "." + t.table;
    String dest = to.qualified();
    List<Manifest.PartitionEntry> restored = partitions == null ? t.partitions : partitions;
    try {
      String id;
      if (takenOver) {
        id = resume.serverRestoreId();
        progress.accept("going on with the server's restore " + id + " of " + source);
      } else {
        client.execute(Sql.command("CREATE DATABASE IF NOT EXISTS ?", Sql.id(to.database())).idempotent(true));
        id = client.query(statement(t, to, partitions == null ? null
            : partitions.stream().map(p -> p.partitionId).toList())).get(0).string("id");
      }
      tableInFlight = source;
      serverRestoreId = id;
      await(id, source);
      serverRestoreId = null;
      tableInFlight = null;
      long rows = client.query(Sql.query("SELECT count() AS n FROM ?", Sql.table(to.database(), to.table()))).get(0)
          .longValue("n");
      long expected = restored.stream().mapToLong(p -> p.rows).sum();
      return rows == expected ? RestoreTable.restored(source, dest, rows, restored.size())
          : new RestoreTable(source, dest, RestoreTable.State.Failed, rows, restored.size(), rows
              + " rows restored, the manifest says " + expected, false);
    } catch (ClickHouseException | IllegalStateException e) {
      if (Thread.currentThread().isInterrupted() && serverRestoreId != null) {
        // this process is stopping: the server's restore goes on, and the next operator watches it
        throw new InterruptedException("stopped watching the server's restore " + serverRestoreId);
      }
      serverRestoreId = null;
      tableInFlight = null;
      return RestoreTable.failed(source, dest, e.getMessage(), Transient.is(e));
    }
  }

  private Sql statement(Manifest.TableEntry t, RestoreTargets.Target to, List<String> partitionIds) {
    var ref = new LogicalBackup.TableRef(t.database, t.table);
    var target = new LogicalBackup.TableRef(to.database(), to.table());
    return storage.s3 != null
        ? NativeBackupSql.restoreFromS3(ref, target, partitionIds, BackupSetup.nativeUrl(storage.s3,
            manifest.backupId), credentials.accessKeyId(), credentials.secretAccessKey(), true)
        : NativeBackupSql.restoreFromDisk(ref, target, partitionIds, storage.volume.clickhouseDisk, manifest.backupId,
            true);
  }

  /**
   * Polls system.backups until the server's restore ends. A poll that fails for a passing reason is
   * tried again (the restore goes on meanwhile); an interrupt (this process is stopping) leaves the
   * server's restore running for the next operator.
   */
  private void await(String id, String source) throws InterruptedException {
    ServerOperation server = new ServerOperation(client, id, "RESTORE", " of " + source,
        "the table may be incomplete: drop it and restore again", limit, progress);
    while (true) {
      Row row = server.read();
      if (row != null && server.finished(row)) {
        return;
      }
      server.checkDeadline();
      Thread.sleep(server.nextPoll(row).toMillis());
    }
  }
}
