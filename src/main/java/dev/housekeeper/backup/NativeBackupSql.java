package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Sql;
import java.util.ArrayList;
import java.util.List;

/**
 * SQL of the native path, for servers with BACKUP/RESTORE (22.8 and later): the server writes the
 * backup itself, straight to S3 or to a configured backup disk, so no data passes through the
 * operator. Names are quoted, strings rendered as literals.
 *
 * <p>The S3 form carries the access key and secret in the statement; ClickHouse masks them in its
 * logs and system tables from 23.x on.
 */
public final class NativeBackupSql {

  private NativeBackupSql() {}

  private static String tables(List<LogicalBackup.TableRef> tables) {
    StringBuilder out = new StringBuilder();
    for (LogicalBackup.TableRef t : tables) {
      out.append(out.isEmpty() ? "" : ", ").append("TABLE ").append(Identifiers.qualified(t.database(), t.table()));
    }
    return out.toString();
  }

  /**
   * {@code BACKUP TABLE a.b, TABLE a.c TO S3('url', 'key', 'secret')}; with {@code async} the server
   * runs it in the background ({@code ... ASYNC}): the statement returns the backup's id at once and
   * {@code system.backups} shows its progress; a restarted operator finds it there by its destination,
   * which names the backup id.
   */
  public static Sql backupToS3(List<LogicalBackup.TableRef> tables, String url, String accessKey, String secretKey,
      boolean async) {
    return backupToS3(tables, url, accessKey, secretKey, null, async);
  }

  /**
   * As {@link #backupToS3(List, String, String, String, boolean)}, incremental on the backup at
   * {@code baseUrl} ({@code SETTINGS base_backup = S3(...)}; null: a full backup): the server stores
   * only the files the base does not hold, and the new backup needs the base to be restored.
   */
  public static Sql backupToS3(List<LogicalBackup.TableRef> tables, String url, String accessKey, String secretKey,
      String baseUrl, boolean async) {
    if (baseUrl == null) {
      return Sql.command("BACKUP " + tables(tables) + " TO S3(?, ?, ?)" + (async ? " ASYNC" : ""), url, accessKey,
          secretKey);
    }
    return Sql.command("BACKUP " + tables(tables) + " TO S3(?, ?, ?) SETTINGS base_backup = S3(?, ?, ?)"
        + (async ? " ASYNC" : ""), url, accessKey, secretKey, baseUrl, accessKey, secretKey);
  }

  /** {@code BACKUP TABLE a.b TO Disk('disk', 'path')}, {@code async} as in {@link #backupToS3}. */
  public static Sql backupToDisk(List<LogicalBackup.TableRef> tables, String disk, String path, boolean async) {
    return backupToDisk(tables, disk, path, null, async);
  }

  /** As {@link #backupToDisk(List, String, String, boolean)}, incremental on the backup at {@code basePath} of the disk. */
  public static Sql backupToDisk(List<LogicalBackup.TableRef> tables, String disk, String path, String basePath,
      boolean async) {
    if (basePath == null) {
      return Sql.command("BACKUP " + tables(tables) + " TO Disk(?, ?)" + (async ? " ASYNC" : ""), disk, path);
    }
    return Sql.command("BACKUP " + tables(tables) + " TO Disk(?, ?) SETTINGS base_backup = Disk(?, ?)"
        + (async ? " ASYNC" : ""), disk, path, disk, basePath);
  }

  /** The server's backups whose destination names {@code backupId}, newest first (every column: they vary by version). */
  public static Sql serverBackups(String backupId) {
    return Sql.query("SELECT * FROM system.backups WHERE position(name, ?) > 0 ORDER BY start_time DESC", backupId);
  }

  /**
   * {@code RESTORE TABLE a.b AS c.b FROM S3(...)}: into another database, beside the original; with
   * {@code async} the server runs it in the background and answers with its id at once.
   */
  public static Sql restoreFromS3(LogicalBackup.TableRef table, String targetDatabase, String url, String accessKey,
      String secretKey, boolean async) {
    return restoreFromS3(table, new LogicalBackup.TableRef(targetDatabase, table.table()), null, url, accessKey,
        secretKey, async);
  }

  /** {@code RESTORE TABLE a.b AS c.b FROM Disk('disk', 'path')}, {@code async} as in {@link #restoreFromS3}. */
  public static Sql restoreFromDisk(LogicalBackup.TableRef table, String targetDatabase, String disk, String path,
      boolean async) {
    return restoreFromDisk(table, new LogicalBackup.TableRef(targetDatabase, table.table()), null, disk, path, async);
  }

  /**
   * {@code RESTORE TABLE a.b AS c.d [PARTITIONS ID 'p1', ID 'p2'] FROM S3(...)}: under another name, of
   * some partitions ({@code partitionIds}; null: all; empty: none, the table alone, with
   * {@code SETTINGS structure_only = 1}).
   */
  public static Sql restoreFromS3(LogicalBackup.TableRef table, LogicalBackup.TableRef target,
      List<String> partitionIds, String url, String accessKey, String secretKey, boolean async) {
    List<Object> args = new ArrayList<>(List.of(Sql.table(table.database(), table.table()),
        Sql.table(target.database(), target.table())));
    String partitions = partitions(partitionIds, args);
    args.addAll(List.of(url, accessKey, secretKey));
    return Sql.command("RESTORE TABLE ? AS ?" + partitions + " FROM S3(?, ?, ?)" + settings(partitionIds)
        + (async ? " ASYNC" : ""), args.toArray());
  }

  /** {@code RESTORE TABLE a.b AS c.d [PARTITIONS ...] FROM Disk('disk', 'path')}, as {@link #restoreFromS3}. */
  public static Sql restoreFromDisk(LogicalBackup.TableRef table, LogicalBackup.TableRef target,
      List<String> partitionIds, String disk, String path, boolean async) {
    List<Object> args = new ArrayList<>(List.of(Sql.table(table.database(), table.table()),
        Sql.table(target.database(), target.table())));
    String partitions = partitions(partitionIds, args);
    args.addAll(List.of(disk, path));
    return Sql.command("RESTORE TABLE ? AS ?" + partitions + " FROM Disk(?, ?)" + settings(partitionIds)
        + (async ? " ASYNC" : ""), args.toArray());
  }

  /** {@code PARTITIONS ID ?, ID ?} with the ids added to {@code args}; nothing for all or none. */
  private static String partitions(List<String> ids, List<Object> args) {
    if (ids == null || ids.isEmpty()) {
      return "";
    }
    args.addAll(ids);
    return " PARTITIONS " + String.join(", ", java.util.Collections.nCopies(ids.size(), "ID ?"));
  }

  /** No partition at all: the table's structure alone. */
  private static String settings(List<String> ids) {
    return ids != null && ids.isEmpty() ? " SETTINGS structure_only = 1" : "";
  }
}
