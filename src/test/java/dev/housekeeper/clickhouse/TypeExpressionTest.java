package dev.housekeeper.clickhouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The parser of ClickHouse type expressions and engines: what it takes, what it refuses and why. */
class TypeExpressionTest {

  static final List<String> ACCEPTED = List.of("UInt8", "String", "Nullable(String)", "LowCardinality(Nullable(String))",
      "Array(Tuple(a String, b UInt8))", "Array(Tuple(String, UInt8))", "Decimal(18, 4)", "Decimal(38,10)",
      "Decimal64(4)", "DateTime64(3, 'UTC')", "DateTime('Europe/Berlin')", "Enum8('a' = 1)",
      "Enum8('a' = 1, 'b' = -2, 'it''s' = 3, 'x\\'y' = 4)", "FixedString(16)", "Map(String, Array(UInt64))",
      "Nested(id UInt64, name String)", "Tuple(`my col` String, `x.y` UInt8)", "AggregateFunction(uniq, UInt64)",
      "AggregateFunction(quantiles(0.5, 0.9), UInt64)", "SimpleAggregateFunction(sum, Float64)",
      "  Nullable( String )  ", "Array(\n  String\n)", "Enum16('таблица' = 1)");

  static final List<String> REFUSED = List.of("Nullable(String), x UInt8 DEFAULT (SELECT 1)",
      "String DEFAULT (SELECT 1)", "UInt64; DROP TABLE t", "UInt64 -- x", "UInt64 /* */", "UInt64) ENGINE = Log AS SELECT 1 (",
      "Nullable(String", "Nullable(String))", "", "   ", "Nullable()", "Decimal(18,)", "Enum8('a' = )", "Enum8('a)",
      "DateTime64(3, 'UTC' || 'x')", "Array(String) CODEC(ZSTD)", "1abc", "Tuple(a String b)", "String(", "таблица",
      "Array(Array(" .repeat(40) + "String" + "))".repeat(40), "(String)", "Nullable(String)\u0000", "Enum8('a' = 1e9)",
      "Tuple((a, b))", "x" .repeat(4097));

  @Test
  void acceptsTypes() {
    for (String t : ACCEPTED) {
      assertThat(TypeExpression.typeProblem(t)).as(t).isNull();
      assertThat(SqlFragments.typeProblem(t)).as(t).isNull();
    }
  }

  @Test
  void refusesWhatIsNotOneType() {
    for (String t : REFUSED) {
      assertThat(TypeExpression.typeProblem(t)).as(t).isNotNull();
      assertThrows(ClickHouseException.class, () -> Sql.type("spec.columns[x].type", t), t);
    }
  }

  @Test
  void theInjectionIsRefusedWhereItStarts() {
    assertThat(TypeExpression.typeProblem("Nullable(String), x UInt8 DEFAULT (SELECT 1)"))
        .startsWith("has ',' at position 17 after the type's end");
    assertThat(TypeExpression.typeProblem("Nullable(String")).startsWith("ends where ',' or ')' was expected");
  }

  @Test
  void parsesTheTree() {
    TypeExpression.Type t = TypeExpression.parse("Array(Tuple(a String, b Nullable(Decimal(18, 4))))");
    assertEquals("Array", t.name());
    TypeExpression.Type tuple = (TypeExpression.Type) t.args().get(0);
    assertEquals(new TypeExpression.Named("a", new TypeExpression.Type("String", List.of())), tuple.args().get(0));
    TypeExpression.Named b = (TypeExpression.Named) tuple.args().get(1);
    assertEquals(List.of(new TypeExpression.Number("18"), new TypeExpression.Number("4")),
        ((TypeExpression.Type) b.type().args().get(0)).args());
    assertEquals(List.of(new TypeExpression.EnumEntry("it's", "-3")), TypeExpression.parse("Enum8('it''s' = -3)").args());
    assertEquals(List.of(new TypeExpression.Number("3"), new TypeExpression.Text("UTC")),
        TypeExpression.parse("DateTime64(3, 'UTC')").args());
  }

  @Test
  void enginesTakeColumnsAndTuples() {
    for (String e : List.of("MergeTree", "MergeTree()", "ReplacingMergeTree(version)", "SummingMergeTree((a, b))",
        "ReplicatedMergeTree('/clickhouse/tables/{shard}/t', '{replica}')",
        "ReplicatedReplacingMergeTree('/p', '{replica}', `ver col`)", "CollapsingMergeTree(sign)",
        "GraphiteMergeTree('graphite_rollup')")) {
      assertThat(TypeExpression.engine(e).name()).as(e).endsWith("MergeTree");
    }
    for (String e : List.of("MergeTree; DROP TABLE x", "MergeTree() -- x", "MergeTree() SETTINGS x=1) ; --",
        "MergeTree() ORDER BY x", "ReplacingMergeTree(version) PARTITION BY (SELECT 1)", "MergeTree(", "")) {
      assertThrows(IllegalArgumentException.class, () -> TypeExpression.engine(e), e);
    }
    assertThat(TypeExpression.engine("File(TSV, '/etc/passwd')").name()).isEqualTo("File");
  }
}
