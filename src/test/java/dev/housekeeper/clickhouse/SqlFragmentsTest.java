package dev.housekeeper.clickhouse;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SqlFragmentsTest {

  @Test
  void expressionsMayQuoteWhatTheyMayNotSayOutsideQuotes() {
    assertThat(SqlFragments.expressionProblem("toYYYYMM(d)")).isNull();
    assertThat(SqlFragments.expressionProblem("(k, intHash32(id))")).isNull();
    assertThat(SqlFragments.expressionProblem("replaceAll(s, ';', '--')")).isNull();
    assertThat(SqlFragments.expressionProblem("k; DROP TABLE t")).contains("';'");
    assertThat(SqlFragments.expressionProblem("k -- x")).contains("comment");
    assertThat(SqlFragments.expressionProblem("k /* x */")).contains("comment");
    assertThat(SqlFragments.expressionProblem("k)")).contains("without its '('");
    assertThat(SqlFragments.expressionProblem("(k")).contains("without its ')'");
    assertThat(SqlFragments.expressionProblem("k'")).contains("unclosed");
    assertThat(SqlFragments.expressionProblem("a\u0000b")).contains("control");
  }

  @Test
  void typesAreANameWithOptionalArguments() {
    assertThat(SqlFragments.typeProblem("Decimal(18, 2)")).isNull();
    assertThat(SqlFragments.typeProblem("Nullable(String)")).isNull();
    assertThat(SqlFragments.typeProblem("DateTime('Europe/Berlin')")).isNull();
    assertThat(SqlFragments.typeProblem("String DEFAULT (SELECT 1)")).isNotNull();
    assertThat(SqlFragments.typeProblem("UInt64) ENGINE = Log AS SELECT 1 (")).isNotNull();
    assertThat(SqlFragments.typeProblem("Nullable(String")).isNotNull();
  }

  @Test
  void aSourceQueryIsOneSelect() {
    assertThat(SqlFragments.selectProblem("SELECT 1")).isNull();
    assertThat(SqlFragments.selectProblem("-- daily\nWITH x AS (SELECT 1) SELECT * FROM x;")).isNull();
    assertThat(SqlFragments.selectProblem("(SELECT 1) UNION ALL (SELECT 2)")).isNull();
    assertThat(SqlFragments.selectProblem("SELECT ';' AS semicolon")).isNull();
    assertThat(SqlFragments.selectProblem("SELECT 1; DROP TABLE t")).contains("found 2");
    assertThat(SqlFragments.selectProblem("DROP TABLE t")).contains("not DROP");
    assertThat(SqlFragments.selectProblem("-- nothing")).contains("found 0");
  }
}
