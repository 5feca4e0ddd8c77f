package dev.housekeeper.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The TTL clause read from system.tables.engine_full, as 26.x writes it. */
class TtlRulesTest {

  static final String ENGINE = "MergeTree PARTITION BY toYYYYMM(d) ORDER BY id TTL d + toIntervalMonth(1) RECOMPRESS"
      + " CODEC(ZSTD(3)), `event date` + toIntervalDay(7) TO VOLUME 'cold, slow', d + toIntervalMonth(6)"
      + " SETTINGS index_granularity = 8192";

  @Test
  void rulesAreSplitAtTopLevelCommasOnly() {
    assertEquals(List.of("d + toIntervalMonth(1) RECOMPRESS CODEC(ZSTD(3))",
        "`event date` + toIntervalDay(7) TO VOLUME 'cold, slow'", "d + toIntervalMonth(6)"), TtlRules.of(ENGINE));
    assertEquals(List.of(), TtlRules.of("MergeTree ORDER BY id SETTINGS index_granularity = 8192"));
    assertEquals(List.of("d + toIntervalYear(1)"), TtlRules.of("MergeTree ORDER BY id TTL d + toIntervalYear(1)"));
  }

  @Test
  void onlyAPlainDeleteOnTheColumnIsTheOperatorsRule() {
    List<String> rules = TtlRules.of(ENGINE);
    assertFalse(TtlRules.deletesBy(rules.get(0), "d"), "a recompression");
    assertFalse(TtlRules.deletesBy(rules.get(1), "event date"), "a move");
    assertTrue(TtlRules.deletesBy(rules.get(2), "d"));
    assertFalse(TtlRules.deletesBy(rules.get(2), "dd"));
    assertTrue(TtlRules.sameDelete(rules.get(2), "d", Keep.parse("keep", "6M")));
    assertFalse(TtlRules.sameDelete(rules.get(2), "d", Keep.parse("keep", "7M")));
    assertTrue(TtlRules.sameDelete("d + toIntervalMonth(6) DELETE", "d", Keep.parse("keep", "6M")));
  }
}
