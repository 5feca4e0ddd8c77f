package dev.housekeeper.backup;

import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Compares what a restore produced with what the backup recorded: per restored partition its row count
 * and, where the manifest has one, its content hash ({@link ContentHash}), both computed by the server
 * on the restored table. A table that failed to restore is a mismatch, and its stored objects are read
 * again and checked against their SHA-256, so that a corrupt object is named.
 */
final class RestoreVerification {

  /** One difference; null fields do not apply. */
  record Mismatch(String table, String partition, String object, Long expectedRows, Long actualRows,
      String expectedHash, String actualHash, String message) {}

  /** What was compared and what differed. */
  record Report(int tables, int partitions, int hashes, long rows, List<Mismatch> mismatches, List<String> notes) {
    boolean passed() {
      return mismatches.isEmpty();
    }

    /** The result in words. */
    String words() {
      String compared = "compared " + partitions + " partition(s) of " + tables + " table(s), " + rows + " rows, "
          + hashes + " by content hash" + (hashes < partitions ? " and " + (partitions - hashes) + " by rows only"
          + " (the backup recorded no hash for them: taken before hashes were recorded, native, or of column types"
          + " the server cannot hash)" : "");
      String found = mismatches.isEmpty() ? "no difference" : mismatches.size() + " difference(s): "
          + String.join("; ", mismatches.stream().limit(3).map(Mismatch::message).toList())
          + (mismatches.size() > 3 ? "; ..." : "");
      return compared + "; " + found + (notes.isEmpty() ? "" : " (" + String.join("; ", notes) + ")");
    }
  }

  private final ClickHouseClient client;
  private final ObjectStore store;
  /** The restore's limit of long statements: a table's hash reads every row of it. */
  private final java.time.Duration limit;

  RestoreVerification(ClickHouseClient client, ObjectStore store, java.time.Duration limit) {
    this.client = client;
    this.store = store;
    this.limit = limit;
  }

  /**
   * @param results each table's outcome in the restore
   * @param targetDatabase the database each manifest table was restored into
   */
  Report compare(Manifest manifest, List<RestoreTable> results, Function<Manifest.TableEntry, String> targetDatabase)
      throws IOException {
    List<Mismatch> mismatches = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    int tables = 0;
    int partitions = 0;
    int hashes = 0;
    long rows = 0;
    if (manifest.tables.stream().anyMatch(t -> t.shard != null)) {
      notes.add("a backup taken on a cluster is not compared yet");
      return new Report(0, 0, 0, 0, mismatches, notes);
    }
    Map<String, Manifest.TableEntry> bySource = new java.util.HashMap<>();
    manifest.tables.forEach(t -> bySource.put(t.database + "." + t.table, t));
    int skipped = 0;
    for (RestoreTable result : results) {
      Manifest.TableEntry entry = bySource.get(result.source());
      if (entry == null) {
        continue; // a view or other object restored by its DDL alone: it has no data to compare
      }
      if (result.state() == RestoreTable.State.Skipped) {
        skipped++;
        continue;
      }
      if (result.isFailed()) {
        mismatches.add(new Mismatch(result.source(), null, null, null, null, null, null, "table " + result.source()
            + " was not restored: " + result.error()));
        mismatches.addAll(corruptObjects(entry));
        continue;
      }
      tables++;
      String db = targetDatabase.apply(entry);
      String table = result.target().startsWith(db + ".") ? result.target().substring(db.length() + 1) : entry.table;
      Map<String, ContentHash.Fingerprint> restored = ContentHash.byPartition(client, db, table, entry.whole,
          sql -> sql.withTimeout(limit));
      for (Manifest.PartitionEntry p : entry.partitions) {
        partitions++;
        rows += p.rows;
        ContentHash.Fingerprint got = restored.getOrDefault(p.partitionId, new ContentHash.Fingerprint(0, null));
        boolean hashed = p.contentHash != null && got.hash() != null;
        hashes += hashed ? 1 : 0;
        if (got.rows() != p.rows || (hashed && !p.contentHash.equals(got.hash()))) {
          mismatches.add(new Mismatch(result.source(), p.partitionId, p.key, p.rows, got.rows(), p.contentHash,
              got.hash(), "partition " + p.partitionId + " of " + result.source() + (p.key == null ? "" : " (object " + p.key + ")") + ": "
              + (got.rows() != p.rows ? got.rows() + " rows restored, the manifest says " + p.rows
              : "content hash " + got.hash() + ", the manifest says " + p.contentHash)));
        }
      }
    }
    if (skipped > 0) {
      notes.add(skipped + " table(s) skipped by the restore's mode were not compared");
    }
    return new Report(tables, partitions, hashes, rows, mismatches, notes);
  }

  /** The table's stored objects that do not match their SHA-256 in the manifest, or are missing. */
  private List<Mismatch> corruptObjects(Manifest.TableEntry entry) throws IOException {
    List<Mismatch> out = new ArrayList<>();
    String source = entry.database + "." + entry.table;
    for (Manifest.PartitionEntry p : entry.partitions) {
      if (p.key == null || p.sha256 == null) {
        continue; // a native backup's data is the server's, not objects of ours
      }
      String actual;
      try {
        actual = sha256(p.key);
      } catch (FileNotFoundException | java.nio.file.NoSuchFileException e) {
        out.add(new Mismatch(source, p.partitionId, p.key, p.rows, null, null, null, "object " + p.key
            + " is missing from the storage"));
        continue;
      }
      if (!Objects.equals(actual, p.sha256)) {
        out.add(new Mismatch(source, p.partitionId, p.key, p.rows, null, null, null, "object " + p.key
            + " is corrupt in the storage: SHA-256 " + actual + ", the manifest says " + p.sha256));
      }
    }
    return out;
  }

  private String sha256(String key) throws IOException {
    MessageDigest sha = LogicalBackup.sha256();
    try (InputStream in = new DigestInputStream(store.open(key), sha)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return LogicalBackup.hex(sha.digest());
  }
}
