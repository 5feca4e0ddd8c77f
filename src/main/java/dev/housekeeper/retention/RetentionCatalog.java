package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicyStatus.TableStats;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the server says about a database's tables: their engines (system.tables) and their active
 * partitions (system.parts, one query for the whole database), and the statistics made of them.
 */
final class RetentionCatalog {

  private static final LocalDate EPOCH = LocalDate.of(1970, 1, 1);

  /** One partition, from system.parts; {@code newest} null when the partition has no date. */
  record Partition(String id, long rows, long bytes, long uncompressed, long compressed, long parts, LocalDate newest) {}

  /**
   * The database's tables with their engines, and their active partitions, read one after the other;
   * unmodifiable, since the previews of several policies plan from one snapshot at once.
   */
  record Snapshot(Map<String, String> tables, Map<String, List<Partition>> partitions) {
    static Snapshot read(ClickHouseClient client, String database) {
      Map<String, List<Partition>> partitions = new TreeMap<>();
      RetentionCatalog.partitions(client, database).forEach((table, list) -> partitions.put(table, List.copyOf(list)));
      return new Snapshot(java.util.Collections.unmodifiableMap(RetentionCatalog.tables(client, database)),
          java.util.Collections.unmodifiableMap(partitions));
    }
  }

  private RetentionCatalog() {}

  /** The database's tables and their engines, by name. */
  static Map<String, String> tables(ClickHouseClient client, String database) {
    Map<String, String> existing = new TreeMap<>();
    for (Row r : client.query(Sql.query("SELECT name, engine FROM system.tables WHERE database = ?", database))) {
      existing.put(r.string("name"), r.string("engine"));
    }
    return existing;
  }

  /** Active partitions of every table of the database, in one query. */
  static Map<String, List<Partition>> partitions(ClickHouseClient client, String database) {
    Map<String, List<Partition>> out = new TreeMap<>();
    for (Row r : client.query(Sql.query("SELECT table, partition_id, sum(rows) AS rows, sum(bytes_on_disk) AS bytes,"
        + " sum(data_uncompressed_bytes) AS uncompressed, sum(data_compressed_bytes) AS compressed, count() AS parts,"
        + " toString(greatest(max(max_date), toDate(max(max_time)))) AS newest"
        + " FROM system.parts WHERE database = ? AND active GROUP BY table, partition_id ORDER BY table, partition_id",
        database))) {
      LocalDate newest = LocalDate.parse(r.string("newest").startsWith("0000") ? "1970-01-01" : r.string("newest"));
      out.computeIfAbsent(r.string("table"), t -> new ArrayList<>()).add(new Partition(r.string("partition_id"),
          r.longValue("rows"), r.longValue("bytes"), r.longValue("uncompressed"), r.longValue("compressed"),
          r.longValue("parts"), newest.isAfter(EPOCH) ? newest : null));
    }
    return out;
  }

  /** A table's storage statistics from its partitions. */
  static TableStats stats(String table, List<Partition> partitions) {
    TableStats s = new TableStats();
    s.table = table;
    long compressed = 0;
    for (Partition p : partitions) {
      s.rows += p.rows();
      s.bytesOnDisk += p.bytes();
      s.uncompressedBytes += p.uncompressed();
      s.activeParts += p.parts();
      compressed += p.compressed();
    }
    s.compressionRatio = compressed == 0 ? null : String.format("%.2f", (double) s.uncompressedBytes / compressed);
    if (!partitions.isEmpty()) {
      s.oldestPartition = partitions.get(0).id();
      s.newestPartition = partitions.get(partitions.size() - 1).id();
    }
    return s;
  }
}
