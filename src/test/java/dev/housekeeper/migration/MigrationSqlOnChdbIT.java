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
        lock.markerSql("token-1").text(),
        lock.ticketSql("token-1").text(),
        lock.markerSql("token-2").text(),
        lock.ticketSql("token-2").text(),
        lock.releaseSql("token-2").text(),
        lock.liveSql().text() + " FORMAT TSV",
        "SELECT engine FROM system.tables WHERE name IN ('housekeeper_migrations', 'housekeeper_locks') ORDER BY name",
        lock.contendersSql().text() + " FORMAT TSV",
        "SELECT max(claimed_at) > min(claimed_at) FROM housekeeper_locks WHERE released = 0"));
    assertThat(r.version()).startsWith("26.");
    String[] events = r.outputs().get(6).strip().split("\n");
    assertEquals(4, events.length);
    assertThat(events[3]).contains("applied").contains("it\\'s ok");
    String[] live = r.outputs().get(13).strip().split("\n");
    assertEquals(1, live.length, "the released claim is not live");
    assertThat(live[0]).startsWith("token-1\top-1/ns/m");
    assertEquals("MergeTree\nMergeTree", r.outputs().get(14).strip());
    // token-1's claim, token-2's withdrawn claim and both markers (released 2), winner first
    String[] contenders = r.outputs().get(15).strip().split("\n");
    assertEquals(4, contenders.length);
    assertThat(contenders[0]).startsWith("token-1\t");
    assertThat(contenders[0]).endsWith("\t0");
    assertThat(r.outputs().get(15)).contains("token-1/entering").contains("token-2/entering");
    assertEquals("1", r.outputs().get(16).strip(), "token-2's ticket is later than token-1's live claim");
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
