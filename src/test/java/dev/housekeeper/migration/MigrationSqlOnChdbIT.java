package dev.housekeeper.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.testing.ChdbEngine;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The DDL and DML the operator itself writes for migrations (ledger, lock) run on ClickHouse 26.x. */
class MigrationSqlOnChdbIT {

  @Test
  void ledgerAndLockSqlRunOnAModernEngine() {
    Ledger ledger = new Ledger(null, "default", "housekeeper_migrations", null);
    MigrationLock lock = new MigrationLock(null, "default", "migrations:default", "op-1/ns/m", Duration.ofSeconds(60),
        null);
    ChdbEngine.Result r = ChdbEngine.run(List.of(
        ledger.createTable().text(),
        ledger.createTable().text(), // IF NOT EXISTS: repeating it is harmless
        ledger.appendSql(1, "create", "up", Ledger.STARTED, "abc", -1, 1, "", "", "", 0, "run1", "ns/m", 1).text(),
        ledger.appendSql(1, "create", "up", Ledger.STATEMENT_STARTED, "abc", 0, 1, "s0", "q0", "", 0, "run1", "ns/m", 2)
            .text(),
        ledger.appendSql(1, "create", "up", Ledger.STATEMENT_DONE, "abc", 0, 1, "s0", "q0", "", 5, "run1", "ns/m", 3)
            .text(),
        ledger.appendSql(1, "create", "up", Ledger.APPLIED, "abc", -1, 1, "", "", "it's ok", 5, "run1", "ns/m", 4)
            .text(),
        ledger.readSql().text() + " FORMAT TSV",
        lock.createTable().text(),
        lock.claimSql("token-1").text(),
        lock.claimSql("token-2").text(),
        lock.releaseSql("token-2").text(),
        lock.liveSql().text() + " FORMAT TSV",
        "SELECT engine FROM system.tables WHERE name IN ('housekeeper_migrations', 'housekeeper_locks') ORDER BY name"));
    assertThat(r.version()).startsWith("26.");
    String[] events = r.outputs().get(6).strip().split("\n");
    assertEquals(4, events.length);
    assertThat(events[3]).contains("applied").contains("it\\'s ok");
    String[] live = r.outputs().get(11).strip().split("\n");
    assertEquals(1, live.length, "the released claim is not live");
    assertThat(live[0]).startsWith("token-1\top-1/ns/m");
    assertEquals("MergeTree\nMergeTree", r.outputs().get(12).strip());
  }

  @Test
  void replicatedLedgerDdlOnClusterIsWellFormed() {
    Ledger ledger = new Ledger(null, "analytics", "housekeeper_migrations", "main");
    assertEquals("CREATE TABLE IF NOT EXISTS `analytics`.`housekeeper_migrations` ON CLUSTER `main` (version UInt64,"
        + " name String, direction String, event String, checksum String, statement_index Int32, statement_count"
        + " UInt32, statement_checksum String, query_id String, error String, duration_ms UInt64, run_id String,"
        + " resource String, event_time DateTime DEFAULT now(), seq UInt64) ENGINE ="
        + " ReplicatedMergeTree('/clickhouse/housekeeper/analytics/housekeeper_migrations', '{replica}')"
        + " ORDER BY (version, seq)", ledger.createTable().text());
  }
}
