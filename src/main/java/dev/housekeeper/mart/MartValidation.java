package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.SqlFragments;
import dev.housekeeper.clickhouse.TypeExpression;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.KubernetesNames;
import dev.housekeeper.common.SpecChecks;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The checks of a ReportMart's spec, before anything reaches ClickHouse or the source. */
final class MartValidation {

  private MartValidation() {}

  /** What is wrong with the spec, for its status; empty when it can be used. */
  static List<String> problems(ReportMartSpec spec) {
    if (spec == null) {
      return List.of("spec is missing");
    }
    List<String> problems = SpecChecks.connectedWork(spec.connectionRef, spec.statementTimeout);
    // any name ClickHouse can hold; the mart's working tables derive names that fit (Identifiers.derived)
    if (spec.database != null && Identifiers.nameProblem(spec.database) != null) {
      problems.add("spec.database: " + Identifiers.describe(spec.database) + " is not a database name: it "
          + Identifiers.nameProblem(spec.database));
    }
    if (Identifiers.nameProblem(spec.table) != null) {
      problems.add("spec.table: " + Identifiers.describe(spec.table) + " is not a table name: it "
          + Identifiers.nameProblem(spec.table));
    }
    columns(spec, problems);
    expressions(spec, problems);
    settings(spec, problems);
    engine(spec.engine, problems);
    source(spec, problems);
    refresh(spec, problems);
    cluster(spec, problems);
    return problems;
  }

  private static void columns(ReportMartSpec spec, List<String> problems) {
    if (spec.columns == null || spec.columns.isEmpty()) {
      problems.add("spec.columns: give at least one column");
      return;
    }
    Set<String> names = new HashSet<>();
    for (var c : spec.columns) {
      if (Identifiers.nameProblem(c.name) != null) {
        problems.add("spec.columns: " + Identifiers.describe(c.name) + " is not a column name: it "
            + Identifiers.nameProblem(c.name));
      } else if (!names.add(c.name)) {
        problems.add("spec.columns: " + c.name + " appears twice");
      }
      String typeProblem = SqlFragments.typeProblem(c.type);
      if (typeProblem != null) {
        problems.add("spec.columns[" + Identifiers.describe(c.name) + "].type " + typeProblem);
      } else if (spec.source != null && spec.source.jdbc != null) {
        try {
          ColumnType.parse(c.type);
        } catch (IllegalArgumentException e) {
          problems.add("spec.columns[" + c.name + "]: " + e.getMessage());
        }
      }
    }
  }

  /**
   * The engine, parsed ({@link TypeExpression#engine}): a MergeTree-family name with arguments that
   * are strings, numbers, column names or tuples of them, and nothing after it.
   */
  private static void engine(String engine, List<String> problems) {
    if (engine == null) {
      return;
    }
    try {
      String name = TypeExpression.engine(engine).name();
      if (!name.endsWith("MergeTree")) {
        problems.add("spec.engine must be of the MergeTree family, not " + name);
      }
    } catch (IllegalArgumentException e) {
      problems.add("spec.engine " + e.getMessage());
    }
  }

  private static void expressions(ReportMartSpec spec, List<String> problems) {
    // the engine is parsed by engine() instead
    String[][] expressions = {{"spec.partitionBy", spec.partitionBy}, {"spec.orderBy", spec.orderBy}};
    for (String[] e : expressions) {
      String problem = e[1] == null || e[1].isBlank() ? null : SqlFragments.expressionProblem(e[1]);
      if (problem != null) {
        problems.add(e[0] + " is an expression and " + problem);
      }
    }
    if (spec.orderBy == null || spec.orderBy.isBlank()) {
      problems.add("spec.orderBy is required (tuple() for none)");
    }
  }

  private static void settings(ReportMartSpec spec, List<String> problems) {
    if (spec.settings == null) {
      return;
    }
    spec.settings.forEach((k, v) -> {
      if (!Identifiers.isPlain(k)) {
        problems.add("spec.settings: " + Identifiers.describe(k) + " is not a setting name");
      } else if (v == null || !v.strip().matches("^[A-Za-z0-9_.:/+-]{1,256}$")) {
        problems.add("spec.settings." + k + ": " + Identifiers.describe(v)
            + " is not a setting value (a number or a word)");
      }
    });
  }

  private static void source(ReportMartSpec spec, List<String> problems) {
    if (spec.source == null || (spec.source.clickhouse == null) == (spec.source.jdbc == null)) {
      problems.add("spec.source: give exactly one of clickhouse and jdbc");
      return;
    }
    if (spec.source.clickhouse != null) {
      String problem = SqlFragments.selectProblem(spec.source.clickhouse.query);
      if (problem != null) {
        problems.add("spec.source.clickhouse.query " + problem);
      }
      return;
    }
    var jdbc = spec.source.jdbc;
    problems.addAll(JdbcUrl.problems(jdbc.url));
    try {
      JdbcLoad.queryTimeout(jdbc);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    if (jdbc.credentialsSecret != null && !KubernetesNames.isObjectName(jdbc.credentialsSecret)) {
      problems.add("spec.source.jdbc.credentialsSecret: " + Identifiers.describe(jdbc.credentialsSecret)
          + " is not the name of a Secret");
    }
    String problem = SqlFragments.selectProblem(jdbc.query);
    if (problem != null) {
      problems.add("spec.source.jdbc.query " + problem);
    }
    if (jdbc.fetchSize < 100 || jdbc.fetchSize > 1_000_000) {
      problems.add("spec.source.jdbc.fetchSize must be between 100 and 1000000");
    }
  }

  private static void refresh(ReportMartSpec spec, List<String> problems) {
    var refresh = spec.refresh;
    if (refresh == null) {
      return;
    }
    if (refresh.schedule != null) {
      try {
        CronSchedule.parse("spec.refresh.schedule", refresh.schedule.cron, refresh.schedule.timeZone);
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
      }
    }
    if (refresh.mode != ReportMartSpec.Mode.incremental) {
      return;
    }
    var incremental = refresh.incremental;
    if (incremental == null || incremental.column == null) {
      problems.add("spec.refresh.incremental.column is required for mode incremental");
    } else if (spec.columns != null && spec.columns.stream().noneMatch(c -> incremental.column.equals(c.name))) {
      problems.add("spec.refresh.incremental.column " + incremental.column + " is not a column");
    }
    if (spec.partitionBy == null || spec.partitionBy.isBlank()) {
      problems.add("mode incremental needs spec.partitionBy");
    }
    if (incremental != null && (incremental.periods < 1 || incremental.periods > 120)) {
      problems.add("spec.refresh.incremental.periods must be between 1 and 120");
    }
  }

  private static void cluster(ReportMartSpec spec, List<String> problems) {
    if (!spec.onCluster) {
      return;
    }
    if (!MartSql.replicatedWithPath(spec)) {
      problems.add("spec.onCluster needs a Replicated*MergeTree engine with its ZooKeeper path and replica, for"
          + " example ReplicatedMergeTree('/clickhouse/tables/all/reports/my_mart', '{replica}')");
    } else if (spec.engine.contains("{shard}")) {
      problems.add("spec.onCluster: the engine's ZooKeeper path must not contain {shard}: every node keeps the"
          + " whole mart (one path, every node a replica)");
    }
    if (spec.refresh != null && spec.refresh.mode == ReportMartSpec.Mode.incremental) {
      problems.add("spec.onCluster supports refresh mode full only (incremental on a cluster is not supported yet)");
    }
  }
}
