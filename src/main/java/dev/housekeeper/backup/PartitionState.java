package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * What the server holds for one partition, read from {@code system.parts} without reading a row: one
 * line per active part. Data parts are immutable, so the lines change whenever what {@code SELECT *}
 * returns for the partition can change:
 * <ul>
 *   <li>an INSERT adds a part, a merge replaces parts by one with a new name and level, and ATTACH or
 *       REPLACE PARTITION bring parts in under new block numbers;
 *   <li>a mutation (ALTER UPDATE/DELETE, MODIFY or DROP COLUMN) and a lightweight DELETE rewrite parts
 *       under a new name (the mutation version is its last number), on every part of the table;
 *   <li>a lightweight UPDATE (25.7 and later) adds a patch part, whose partition id is
 *       {@code patch-<hash>-<partition id>}: it belongs to the partition it patches;
 *   <li>ALTER ADD COLUMN and a changed DEFAULT change no part but the table's DDL, which the object's
 *       fingerprint covers beside these lines ({@link PartitionObjects#fingerprint}).
 * </ul>
 * Where the server reports {@code hash_of_all_files} (20.x and later), a part's line is that hash and
 * its rows: equal files are equal data, so a part renamed by a mutation that did not change it (the
 * mutation touched other partitions) keeps its line. 18.16 has no such column: a line is the part's
 * name, rows, bytes on disk and modification time. The name alone could come back with other rows (a
 * plain MergeTree takes its next block number from the parts it finds at start-up, so a partition
 * dropped before a restart can be written again under the same names); its modification time cannot.
 * A mutation then changes every line of the table: the next backup uploads it whole, never less.
 */
final class PartitionState {

  private PartitionState() {}

  /** The prefix of a patch part's partition id. */
  private static final String PATCH = "patch-";

  /**
   * The lines of every partition of a table, by partition id (patch parts under the partition they
   * patch), each partition's lines sorted.
   */
  static java.util.Map<String, List<String>> read(ClickHouseClient client, String database, String table,
      boolean partHashes) {
    List<Row> parts = client.query(Sql.query(select(partHashes) + " ORDER BY name", database, table));
    java.util.Map<String, List<String>> out = new java.util.TreeMap<>();
    for (Row p : parts) {
      out.computeIfAbsent(partitionOf(p.string("partition_id")), k -> new ArrayList<>()).add(line(p));
    }
    out.values().forEach(java.util.Collections::sort);
    return out;
  }

  /** The lines of one partition. */
  static List<String> read(ClickHouseClient client, String database, String table, boolean partHashes,
      String partitionId) {
    List<Row> parts = client.query(Sql.query(select(partHashes) + " AND (partition_id = ? OR partition_id LIKE ?)"
        + " ORDER BY name", database, table, partitionId, PATCH + "%-" + likeEscaped(partitionId)));
    List<String> out = new ArrayList<>();
    for (Row p : parts) {
      if (partitionOf(p.string("partition_id")).equals(partitionId)) {
        out.add(line(p));
      }
    }
    java.util.Collections.sort(out);
    return out;
  }

  /** The active parts of one table, as a line needs them (the hash where the server has it). */
  private static String select(boolean partHashes) {
    return "SELECT partition_id, name, rows, bytes_on_disk AS bytes, toString(modification_time) AS mtime"
        + (partHashes ? ", hash_of_all_files AS hash" : "") + " FROM system.parts WHERE database = ? AND table = ?"
        + " AND active";
  }

  /** Whether the server's system.parts has {@code hash_of_all_files}. */
  static boolean serverHashesParts(ClickHouseClient client) {
    return !client.query(Sql.query("SELECT name FROM system.columns WHERE database = 'system' AND table = 'parts'"
        + " AND name = 'hash_of_all_files'")).isEmpty();
  }

  /** Whether a partition id is a patch part's (listed under the partition it patches, never backed up alone). */
  static boolean patch(String partitionId) {
    return partitionId.startsWith(PATCH);
  }

  /** The partition a part belongs to: its own, or for a patch part the one it patches. */
  static String partitionOf(String partitionId) {
    if (!patch(partitionId)) {
      return partitionId;
    }
    int dash = partitionId.indexOf('-', PATCH.length());
    return dash < 0 ? partitionId : partitionId.substring(dash + 1);
  }

  private static String line(Row p) {
    String hash = p.has("hash") ? p.string("hash") : "";
    if (!hash.isEmpty()) {
      return "files " + hash + " rows " + p.string("rows") + (patch(p.string("partition_id")) ? " patch" : "");
    }
    return "part " + p.string("name") + " rows " + p.string("rows") + " bytes " + p.string("bytes") + " modified "
        + p.string("mtime");
  }

  private static String likeEscaped(String s) {
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
  }

  /** SHA-256 of lines, one per line. */
  static String digest(List<String> lines) {
    MessageDigest sha = LogicalBackup.sha256();
    for (String l : lines) {
      sha.update(l.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) '\n');
    }
    return LogicalBackup.hex(sha.digest());
  }
}
