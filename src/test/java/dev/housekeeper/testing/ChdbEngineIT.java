package dev.housekeeper.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.housekeeper.clickhouse.Sql;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The modern engine helper runs SQL on ClickHouse 26.x. */
class ChdbEngineIT {

  @Test
  void runsVersionAndAMergeTreeWithTtl() {
    ChdbEngine.Result r = ChdbEngine.run(List.of(
        "SELECT version()",
        // the same quoting and literal rendering the operator uses
        Sql.command("CREATE TABLE ? (d Date, x UInt32) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY d"
            + " TTL d + INTERVAL 90 DAY", Sql.id("events")).text(),
        Sql.command("INSERT INTO ? VALUES (today(), 1), (?, 2)", Sql.id("events"),
            java.time.LocalDate.of(2001, 1, 1)).text(),
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'",
        // a merge applies the TTL for certain (on insert it is left to a background merge in 26.x)
        "OPTIMIZE TABLE events FINAL",
        "SELECT count() FROM events"));
    assertThat(r.version()).startsWith("26.");
    assertThat(r.outputs().get(0).strip()).startsWith("26.");
    assertThat(r.outputs().get(3)).contains("TTL d + toIntervalDay(90)");
    // ClickHouse enforced the TTL: the 2001 row is gone
    assertEquals("1", r.outputs().get(5).strip());
  }

  @Test
  void reportsTheFailingStatement() {
    ChdbEngine.ChdbException e = assertThrows(ChdbEngine.ChdbException.class,
        () -> ChdbEngine.run(List.of("SELECT 1", "SELEC 1")));
    assertEquals(1, e.index());
    assertThat(e.getMessage()).contains("Code: 62");
  }
}
