package dev.housekeeper.retention;

import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.api.retention.RetentionPolicyStatus;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.RunTiming;
import java.time.Duration;
import java.time.Instant;

/**
 * When a policy's two kinds of work are due: a retention run (its schedule, a new run-now
 * annotation, or a retry time) and an OPTIMIZE run (its schedule or a new optimize-now annotation).
 * A missed scheduled time runs once; the next time then counts from now.
 *
 * @param nextRun the next scheduled retention run (null: none)
 * @param nextOptimize the next scheduled OPTIMIZE run (null: none)
 */
record RetentionTiming(RetentionPolicy resource, Instant now, Instant nextRun, Instant nextOptimize, boolean runDue,
    boolean optimizeDue) {

  /** How long a settled policy goes without a fresh preview. */
  static final Duration REFRESH = Duration.ofMinutes(5);

  static RetentionTiming of(RetentionPolicy resource, RetentionPolicyStatus status, Instant now) {
    RetentionPolicySpec spec = resource.getSpec();
    Instant nextRun = RunTiming.nextScheduled(runSchedule(spec), spec.isSuspend(), status.nextRunTime, now);
    Instant nextOptimize = RunTiming.nextScheduled(RetentionValidation.optimizeSchedule(spec), spec.isSuspend(),
        status.nextOptimizeTime, now);
    boolean runDue = RunTiming.newRequest(resource, RetentionPolicy.RUN_NOW_ANNOTATION, status.acknowledgedRunNow) != null
        || RunTiming.reached(nextRun, now) || (!spec.isSuspend() && RetryPolicy.due(status, now));
    boolean optimizeDue = RunTiming.newRequest(resource, RetentionPolicy.OPTIMIZE_NOW_ANNOTATION,
        status.acknowledgedOptimizeNow) != null || RunTiming.reached(nextOptimize, now);
    return new RetentionTiming(resource, now, nextRun, nextOptimize, runDue, optimizeDue);
  }

  /** A retention run starts: the request is acted upon, a due retry taken, the schedule counts on from now. */
  void runStarted(RetentionPolicyStatus status) {
    status.acknowledgedRunNow = RunTiming.annotation(resource, RetentionPolicy.RUN_NOW_ANNOTATION);
    status.retryTime = null;
    status.nextRunTime = following(runSchedule(resource.getSpec()));
  }

  /** An OPTIMIZE run starts: the request is acted upon, the schedule counts on from now. */
  void optimizeStarted(RetentionPolicyStatus status) {
    status.acknowledgedOptimizeNow = RunTiming.annotation(resource, RetentionPolicy.OPTIMIZE_NOW_ANNOTATION);
    status.nextOptimizeTime = following(RetentionValidation.optimizeSchedule(resource.getSpec()));
  }

  /** Nothing starts: status shows the next scheduled times. */
  void settled(RetentionPolicyStatus status) {
    status.nextRunTime = nextRun == null ? null : RunTiming.format(nextRun);
    status.nextOptimizeTime = nextOptimize == null ? null : RunTiming.format(nextOptimize);
  }

  /** When to look again: at the next scheduled time or retry, at most after {@link #REFRESH}. */
  Duration wake(RetentionPolicyStatus status) {
    return RunTiming.wake(now, REFRESH, nextRun, nextOptimize, RetryPolicy.retryAt(status));
  }

  private String following(CronSchedule schedule) {
    return schedule == null || resource.getSpec().isSuspend() ? null : RunTiming.format(schedule.next(now));
  }

  private static CronSchedule runSchedule(RetentionPolicySpec spec) {
    return spec.getSchedule() == null ? null : RetentionValidation.schedule(spec.getSchedule());
  }
}
