package dev.housekeeper.mart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.housekeeper.api.mart.ReportMartSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A mart's column types and engine are parsed (TypeExpression), not matched by a pattern. */
class MartTypeRulesTest {

  static List<String> problemsWithType(String type) {
    ReportMartSpec spec = MartRulesTest.spec();
    spec.columns.set(1, new ReportMartSpec.Column("v", type));
    return MartValidation.problems(spec);
  }

  static List<String> problemsWithEngine(String engine) {
    ReportMartSpec spec = MartRulesTest.spec();
    spec.engine = engine;
    return MartValidation.problems(spec);
  }

  @Test
  void aTypeWithAColumnAfterItIsAValidationProblem() {
    assertThat(problemsWithType("Nullable(String), x UInt8 DEFAULT (SELECT 1)")).singleElement().asString()
        .startsWith("spec.columns[\"v\"].type has ',' at position 17 after the type's end");
    assertThat(problemsWithType("String DEFAULT (SELECT 1)")).singleElement().asString()
        .startsWith("spec.columns[\"v\"].type has 'D'");
    for (String t : List.of("Array(Tuple(a String, b UInt8))", "LowCardinality(Nullable(String))", "Enum8('a' = 1)",
        "DateTime64(3, 'UTC')", "Decimal(18, 4)")) {
      assertThat(problemsWithType(t)).as(t).isEmpty();
    }
  }

  @Test
  void enginesAreParsedAndOfTheMergeTreeFamily() {
    assertThat(problemsWithEngine("ReplacingMergeTree(version)")).isEmpty();
    assertThat(problemsWithEngine("ReplicatedMergeTree('/clickhouse/tables/{shard}/t', '{replica}')")).isEmpty();
    assertThat(problemsWithEngine("Log")).singleElement().asString().isEqualTo(
        "spec.engine must be of the MergeTree family, not Log");
    assertThat(problemsWithEngine("File(TSV, '/etc/passwd')")).singleElement().asString().contains("not File");
    assertThat(problemsWithEngine("MergeTree() SETTINGS x=1) ; --")).singleElement().asString()
        .startsWith("spec.engine has 'S'");
    assertThat(problemsWithEngine("MergeTree; DROP TABLE x")).singleElement().asString()
        .startsWith("spec.engine has ';'");
  }

  @Test
  void jdbcTypesComeFromTheParsedTree() {
    assertEquals("LowCardinality(Nullable(String))", ColumnType.parse("LowCardinality(Nullable(String))").text());
    ColumnType.parse("Decimal128(10)");
    ColumnType.parse("Decimal(9)");
    for (String t : List.of("Nullable(Array(String))", "Decimal(18, -1)", "Decimal(18, 4, 2)", "Decimal32(1, 2)",
        "DateTime64(3)", "Nullable(String), x UInt8", "Decimal(1000, 2)")) {
      assertThrows(IllegalArgumentException.class, () -> ColumnType.parse(t), t);
    }
  }
}
