package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.SpecPattern;
import dev.housekeeper.common.StatementTimeout;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

/**
 * The checks of a RetentionPolicy's spec, made before anything is sent to ClickHouse: names that
 * ClickHouse can hold (each is then quoted by {@code Identifiers}), a keep the planner understands, a table pattern made only of characters a table name
 * can have, schedules that parse and limits in range. Each problem is one sentence naming its field.
 */
final class RetentionValidation {

  /** What a table pattern may hold besides letters and digits: {@code _} and regular-expression operators. */
  private static final String PATTERN_OPERATORS = "_.*+?^$|()[]{},\\-";

  private RetentionValidation() {}

  /** The spec's problems; empty when it is valid. */
  static List<String> problems(RetentionPolicySpec spec) {
    if (spec == null) {
      return List.of("spec is missing");
    }
    List<String> problems = new ArrayList<>();
    StatementTimeout.check(spec.getStatementTimeout(), problems);
    if (spec.getConnectionRef() == null || spec.getConnectionRef().getName() == null) {
      problems.add("spec.connectionRef.name is required");
    }
    name(problems, "spec.database", spec.getDatabase(), "database");
    name(problems, "spec.column", spec.getColumn(), "column");
    tryRun(problems, () -> Keep.parse("spec.keep", spec.getKeep()));
    tables(problems, spec.getTables());
    overrides(problems, spec.getOverrides());
    schedules(problems, spec);
    limits(problems, spec);
    return problems;
  }

  private static void tables(List<String> problems, RetentionPolicySpec.TableSelector tables) {
    if (tables == null || ((tables.getNames() == null || tables.getNames().isEmpty())
        && (tables.getPattern() == null || tables.getPattern().isBlank()))) {
      problems.add("spec.tables: give names and/or a pattern");
      return;
    }
    if (tables.getNames() != null) {
      tables.getNames().forEach(n -> listed(problems, "spec.tables.names", n));
    }
    if (tables.getPattern() != null && !tables.getPattern().isBlank()) {
      pattern(problems, tables.getPattern());
    }
    if (tables.getExclude() != null) {
      tables.getExclude().forEach(n -> listed(problems, "spec.tables.exclude", n));
    }
  }

  /**
   * The table pattern: letters and digits of any script, {@code _} and regular-expression operators
   * (no quote, space or {@code ;}: nothing a table name cannot also hold; the pattern never reaches
   * SQL, this keeps it readable in status), then RE2's own check ({@link SpecPattern}).
   */
  private static void pattern(List<String> problems, String pattern) {
    if (pattern.length() > SpecPattern.MAX_LENGTH || !pattern.codePoints().allMatch(c -> Character.isLetterOrDigit(c)
        || PATTERN_OPERATORS.indexOf(c) >= 0)) {
      problems.add("spec.tables.pattern: " + Identifiers.describe(pattern) + " has characters no table"
          + " name has: use letters, digits, _ and regular-expression operators");
      return;
    }
    String problem = SpecPattern.problem("spec.tables.pattern", pattern);
    if (problem != null) {
      problems.add(problem);
    }
  }

  private static void overrides(List<String> problems, List<RetentionPolicySpec.TableRule> overrides) {
    if (overrides == null) {
      return;
    }
    for (var o : overrides) {
      listed(problems, "spec.overrides.table", o.getTable());
      name(problems, "spec.overrides.column", o.getColumn(), "column");
      if (o.getKeep() != null) {
        tryRun(problems, () -> Keep.parse("spec.overrides[" + o.getTable() + "].keep", o.getKeep()));
      }
    }
  }

  private static void schedules(List<String> problems, RetentionPolicySpec spec) {
    if (spec.getSchedule() != null) {
      tryRun(problems, () -> schedule(spec.getSchedule()));
    }
    if (spec.getOptimize() != null && spec.getOptimize().getSchedule() != null) {
      tryRun(problems, () -> CronSchedule.parse("spec.optimize.schedule", spec.getOptimize().getSchedule().getCron(),
          spec.getOptimize().getSchedule().getTimeZone()));
    }
  }

  private static void limits(List<String> problems, RetentionPolicySpec spec) {
    var optimize = spec.getOptimize();
    if (optimize != null && (outside(optimize.getLastPartitions(), 0) || outside(optimize.getMinParts(), 1))) {
      problems.add("spec.optimize: lastPartitions must be between 0 and 100000, minParts between 1 and 100000");
    }
    if (outside(spec.getMaxPartitionsPerRun(), 1)) {
      problems.add("spec.maxPartitionsPerRun must be between 1 and 100000");
    }
    if (spec.getMaxRowsPerRun() < 1) {
      problems.add("spec.maxRowsPerRun must be at least 1");
    }
  }

  private static boolean outside(long value, long min) {
    return value < min || value > 100_000;
  }

  /** A problem when an optional name is given and is not a name ClickHouse can hold. */
  private static void name(List<String> problems, String field, String value, String what) {
    String problem = value == null ? null : Identifiers.nameProblem(value);
    if (problem != null) {
      problems.add(field + ": " + Identifiers.describe(value) + " is not a valid " + what + " name: it " + problem);
    }
  }

  /** A table name in a list: required there, unlike an optional field. */
  private static void listed(List<String> problems, String field, String value) {
    String problem = Identifiers.nameProblem(value);
    if (problem != null) {
      problems.add(field + ": " + Identifiers.describe(value) + " is not a valid table name: it " + problem);
    }
  }

  private static void tryRun(List<String> problems, Runnable check) {
    try {
      check.run();
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
  }

  /** The retention schedule (valid: checked above). */
  static CronSchedule schedule(RetentionPolicySpec.Schedule s) {
    return CronSchedule.parse("spec.schedule", s.getCron(), s.getTimeZone());
  }

  /** The optimize schedule, or null when there is none. */
  static CronSchedule optimizeSchedule(RetentionPolicySpec spec) {
    var s = spec.getOptimize() == null ? null : spec.getOptimize().getSchedule();
    return s == null ? null : CronSchedule.parse("spec.optimize.schedule", s.getCron(), s.getTimeZone());
  }

  /** The time zone of the days a keep counts: the schedule's, else UTC. */
  static ZoneId zone(RetentionPolicySpec spec) {
    return spec.getSchedule() != null ? schedule(spec.getSchedule()).zone() : ZoneId.of("UTC");
  }
}
