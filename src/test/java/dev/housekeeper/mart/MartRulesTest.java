package dev.housekeeper.mart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.mart.ReportMartSpec;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pure rules of marts: windows, placeholder binding, the schema hash, types, validation. */
class MartRulesTest {

  @Test
  void jdbcUrlsFollowHostAliasesAsClickHouseEndpointsDo() {
    var aliases = java.util.Map.of("postgres:5432", "127.0.0.1:40001");
    assertEquals("jdbc:postgresql://127.0.0.1:40001/bionicpro?ssl=false",
        dev.housekeeper.connection.ConnectionSettings.aliasJdbc("jdbc:postgresql://postgres:5432/bionicpro?ssl=false",
            aliases));
    assertEquals("jdbc:postgresql://127.0.0.1:40001/db", dev.housekeeper.connection.ConnectionSettings.aliasJdbc(
        "jdbc:postgresql://postgres/db", aliases), "the default port 5432");
    assertEquals("jdbc:postgresql://pg:5432/db", dev.housekeeper.connection.ConnectionSettings.aliasJdbc(
        "jdbc:postgresql://pg:5432/db", aliases));
    assertEquals("jdbc:postgresql://postgres:5433/db", dev.housekeeper.connection.ConnectionSettings.aliasJdbc(
        "jdbc:postgresql://postgres:5433/db", aliases));
  }

  @Test
  void windowsCoverTheLastPeriodsUpToToday() {
    LocalDate today = LocalDate.of(2026, 6, 20);
    assertEquals(new Window(LocalDate.of(2026, 5, 1), LocalDate.of(2026, 7, 1)),
        Window.last(ReportMartSpec.Period.month, 2, today));
    assertEquals(new Window(LocalDate.of(2026, 6, 18), LocalDate.of(2026, 6, 21)),
        Window.last(ReportMartSpec.Period.day, 3, today));
  }

  @Test
  void placeholdersBecomeTypedLiteralsOfTheWindowsOwnDates() {
    Window w = new Window(LocalDate.of(2026, 5, 1), LocalDate.of(2026, 7, 1));
    assertEquals("SELECT * FROM t WHERE d >= toDate('2026-05-01') AND d < toDate('2026-07-01')",
        w.bindClickHouse("SELECT * FROM t WHERE d >= {window_start} AND d < {window_end}"));
    assertEquals("SELECT 1 WHERE a >= DATE '2026-05-01' AND b < DATE '2026-07-01' AND c >= DATE '2026-05-01'",
        w.bindPostgres("SELECT 1 WHERE a >= {window_start} AND b < {window_end} AND c >= {window_start}"));
  }

  static ReportMartSpec spec() {
    ReportMartSpec spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef("ch");
    spec.table = "t";
    spec.columns = new java.util.ArrayList<>(List.of(new ReportMartSpec.Column("d", "Date"),
        new ReportMartSpec.Column("v", "Decimal(12, 2)")));
    spec.orderBy = "d";
    spec.partitionBy = "toYYYYMM(d)";
    spec.source = new ReportMartSpec.Source();
    spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
    spec.source.clickhouse.query = "SELECT 1";
    return spec;
  }

  @Test
  void theSchemaHashChangesWithColumnsKeysAndSettingsOnly() {
    String h = MartSql.schemaHash(spec());
    assertEquals(h, MartSql.schemaHash(spec()));
    ReportMartSpec source = spec();
    source.source.clickhouse.query = "SELECT 2";
    assertEquals(h, MartSql.schemaHash(source), "the query is not the schema");
    ReportMartSpec col = spec();
    col.columns.add(new ReportMartSpec.Column("x", "UInt8"));
    assertNotEquals(h, MartSql.schemaHash(col));
    ReportMartSpec key = spec();
    key.orderBy = "(d, v)";
    assertNotEquals(h, MartSql.schemaHash(key));
    assertEquals("CREATE TABLE `db`.`t` (`d` Date, `v` Decimal(12, 2)) ENGINE = MergeTree() PARTITION BY"
        + " toYYYYMM(d) ORDER BY d", MartSql.createTable(spec(), "db", "t").text());
  }

  @Test
  void jdbcTypesAreCheckedUpFront() {
    assertEquals("Nullable(Decimal(38, 10))", ColumnType.parse("Nullable(Decimal(38, 10))").text());
    ColumnType.parse("LowCardinality(String)");
    ColumnType.parse("Decimal64(4)");
    assertThrows(IllegalArgumentException.class, () -> ColumnType.parse("Array(String)"));
    assertThrows(IllegalArgumentException.class, () -> ColumnType.parse("Decimal(40, 2)"));
    ReportMartSpec bad = spec();
    bad.source.clickhouse = null;
    bad.source.jdbc = new ReportMartSpec.JdbcSource();
    bad.source.jdbc.url = "jdbc:mysql://x/y";
    bad.columns.add(new ReportMartSpec.Column("tags", "Array(String)"));
    bad.refresh = new ReportMartSpec.Refresh();
    bad.refresh.mode = ReportMartSpec.Mode.incremental;
    assertThat(MartValidation.problems(bad)).anyMatch(p -> p.contains("jdbc:postgresql"))
        .anyMatch(p -> p.contains("tags")).anyMatch(p -> p.contains("incremental.column"));
  }
}
