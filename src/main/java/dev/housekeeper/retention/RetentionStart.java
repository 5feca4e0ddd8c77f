package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus.OptimizeReport;
import dev.housekeeper.api.retention.RetentionPolicyStatus.RunReport;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectionResolver;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.function.Consumer;

/**
 * The work a policy runs on the work pool, and what it comes back with: a retention run (on one
 * server, or shard by shard on a cluster) or an OPTIMIZE run. A run that throws comes back as
 * {@link Failed}, naming which of the two failed.
 */
final class RetentionStart {

  private RetentionStart() {}

  /** Which work a policy ran. */
  enum RunKind {
    RETENTION("retention"), OPTIMIZE("optimize");

    private final String word;

    RunKind(String word) {
      this.word = word;
    }

    /** As messages and the action metric name it. */
    String word() {
      return word;
    }
  }

  /** What a finished piece of work left. */
  sealed interface Finished permits Ran, Optimized, Failed {}

  /** A retention run ended; its tables may have failed one by one. */
  record Ran(RunReport report) implements Finished {}

  /** An OPTIMIZE run ended. */
  record Optimized(OptimizeReport report) implements Finished {}

  /** A run stopped with an exception (kind null: not known, the task failed outside the run). */
  record Failed(RunKind kind, Throwable cause) implements Finished {}

  /**
   * Where a policy works: the connection, the database (the spec's, else the connection's, else
   * {@code default}), what the server offers, and the time zone the keep counts days in.
   */
  record Target(ConnectionResolver.Resolved conn, String database, RetentionPlanner.ServerFeatures server,
      ZoneId zone) {

    static Target of(RetentionPolicySpec spec, ConnectionResolver.Resolved conn) {
      String configured = spec.getDatabase() != null ? spec.getDatabase() : conn.connection().getSpec().getDatabase();
      return new Target(conn, configured == null ? "default" : configured,
          RetentionPlanner.ServerFeatures.of(conn.connection().getStatus().getCapabilities()),
          RetentionValidation.zone(spec));
    }
  }

  /** A retention run as of {@code today}. */
  static WorkExecutor.Work<Finished> retention(Target target, RetentionPolicySpec spec, LocalDate today,
      Consumer<RetentionRunner.Notice> notices) {
    return progress -> {
      try {
        return new Ran(ClusterRetention.applies(target.conn())
            ? ClusterRetention.run(target.conn(), target.database(), spec, target.server(), target.zone(), today,
                notices, progress)
            : new RetentionRunner(target.conn().forJob(), target.database(), notices, progress)
                .run(spec, target.server(), target.zone(), today));
      } catch (Exception e) {
        return failed(RunKind.RETENTION, e);
      }
    };
  }

  /** An OPTIMIZE run. */
  static WorkExecutor.Work<Finished> optimize(Target target, RetentionPolicySpec spec,
      Consumer<RetentionRunner.Notice> notices) {
    return progress -> {
      try {
        return new Optimized(new RetentionRunner(target.conn().forJob(), target.database(), notices, progress)
            .optimize(spec));
      } catch (Exception e) {
        return failed(RunKind.OPTIMIZE, e);
      }
    };
  }

  /** The failure as a result; an interrupted run keeps its thread's interrupt. */
  private static Failed failed(RunKind kind, Exception e) {
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    return new Failed(kind, e);
  }
}
