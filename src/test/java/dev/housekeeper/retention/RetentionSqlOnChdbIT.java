package dev.housekeeper.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.testing.ChdbEngine;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ttl action's SQL, and the DROP PARTITION ID / OPTIMIZE forms, run on ClickHouse 26.x. */
class RetentionSqlOnChdbIT {

  @Test
  void ttlActionSetsTheTableTtl() {
    ChdbEngine.Result r = ChdbEngine.run(List.of(
        "CREATE TABLE events (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id",
        RetentionSql.ttl("default", "events", "d", Keep.parse("keep", "18M")).text(),
        "SELECT engine_full FROM system.tables WHERE database = 'default' AND name = 'events'",
        "INSERT INTO events VALUES (today(), 1), ('2001-01-01', 2)",
        "OPTIMIZE TABLE events FINAL",
        "SELECT count() FROM events"));
    assertEquals("ALTER TABLE `default`.`events` MODIFY TTL `d` + INTERVAL 18 MONTH",
        RetentionSql.ttl("default", "events", "d", Keep.parse("keep", "18M")).text());
    assertThat(r.outputs().get(2)).contains("TTL d + toIntervalMonth(18)");
    assertEquals("1", r.outputs().get(5).strip(), "ClickHouse enforced the TTL: the 2001 row is gone");
  }

  @Test
  void dropPartitionByIdAndOptimizePartitionRunThere() {
    ChdbEngine.Result r = ChdbEngine.run(List.of(
        "CREATE TABLE t (d Date, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id",
        "INSERT INTO t VALUES ('2024-01-05', 1)", "INSERT INTO t VALUES ('2024-01-06', 2)",
        "INSERT INTO t VALUES ('2024-02-05', 3)",
        dev.housekeeper.clickhouse.Sql.command("OPTIMIZE TABLE ? PARTITION ID ? FINAL",
            dev.housekeeper.clickhouse.Sql.table("default", "t"), "202401").text(),
        dev.housekeeper.clickhouse.Sql.command("ALTER TABLE ? DROP PARTITION ID ?",
            dev.housekeeper.clickhouse.Sql.table("default", "t"), "202402").text(),
        "SELECT partition_id, count() FROM system.parts WHERE table = 't' AND active GROUP BY partition_id"));
    assertEquals("202401\t1", r.outputs().get(6).strip());
  }
}
