package dev.housekeeper.mart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.testing.ChdbEngine;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The mart's DDL and its atomic swap (EXCHANGE TABLES) run on ClickHouse 26.x (chDB). */
class MartSqlOnChdbIT {

  static ReportMartSpec spec() {
    ReportMartSpec spec = new ReportMartSpec();
    spec.table = "report";
    spec.columns = List.of(new ReportMartSpec.Column("report_date", "Date"),
        new ReportMartSpec.Column("user_id", "UInt32"), new ReportMartSpec.Column("total", "Decimal(12, 2)"));
    spec.partitionBy = "toYYYYMM(report_date)";
    spec.orderBy = "(user_id, report_date)";
    spec.settings = Map.of("index_granularity", "8192");
    return spec;
  }

  @Test
  void exchangeTablesSwapsTheStagingTableInAtOnce() {
    ChdbEngine.Result r = ChdbEngine.run(List.of(
        "CREATE DATABASE reports ENGINE = Atomic",
        MartSql.createTable(spec(), "reports", "report").text(),
        MartSql.createTable(spec(), "reports", MartRefresh.staging("reports", "report")).text(),
        "INSERT INTO reports.report VALUES ('2024-01-01', 1, 10.5)",
        "INSERT INTO reports.report_hk_staging VALUES ('2024-01-01', 1, 11.5), ('2024-02-01', 2, 3)",
        MartRefresh.exchangeSql("reports", MartRefresh.staging("reports", "report"), "report").text(),
        "SELECT count(), sum(total) FROM reports.report",
        "SELECT count(), sum(total) FROM reports.report_hk_staging",
        "SELECT engine_full FROM system.tables WHERE database = 'reports' AND name = 'report'"));
    assertEquals("EXCHANGE TABLES `reports`.`report_hk_staging` AND `reports`.`report`",
        MartRefresh.exchangeSql("reports", "report_hk_staging", "report").text());
    assertEquals("2\t14.5", r.outputs().get(6).strip(), "the mart now has the staging table's rows");
    assertEquals("1\t10.5", r.outputs().get(7).strip(), "and the staging table the old ones, to be dropped");
    assertThat(r.outputs().get(8)).contains("PARTITION BY toYYYYMM(report_date)")
        .contains("ORDER BY (user_id, report_date)").contains("index_granularity = 8192");
  }

  @Test
  void theRenameSwapAndReplacePartitionRunThereToo() {
    ChdbEngine.Result r = ChdbEngine.run(List.of(
        "CREATE DATABASE reports",
        MartSql.createTable(spec(), "reports", "report").text(),
        MartSql.createTable(spec(), "reports", MartRefresh.staging("reports", "report")).text(),
        "INSERT INTO reports.report VALUES ('2024-01-01', 1, 1), ('2024-02-01', 1, 2)",
        "INSERT INTO reports.report_hk_staging VALUES ('2024-02-01', 1, 20)",
        Sql.command("ALTER TABLE ? REPLACE PARTITION ID ? FROM ?", Sql.table("reports", "report"), "202402",
            Sql.table("reports", "report_hk_staging")).text(),
        "SELECT sum(total) FROM reports.report",
        MartRefresh.renameSwapSql("reports", MartRefresh.staging("reports", "report"), "report").text(),
        "SELECT sum(total) FROM reports.report",
        "SELECT sum(total) FROM reports.report_hk_old"));
    assertEquals("21", r.outputs().get(6).strip());
    assertEquals("20", r.outputs().get(8).strip());
    assertEquals("21", r.outputs().get(9).strip());
  }
}
