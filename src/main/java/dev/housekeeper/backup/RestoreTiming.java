package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus.Phase;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.RunTiming;
import java.time.Duration;
import java.time.Instant;

/**
 * When a restore runs: once (a drill, with a schedule: at each cron time instead), again for each new
 * value of the run-now annotation, again by itself after a passing failure ({@link RetryPolicy#BOUNDED}), and on after a restart when the server
 * still runs a native restore that the last process started. A run that a restart cut off otherwise counts as
 * such a failure ({@link #interrupted}).
 */
final class RestoreTiming {

  /** How long a settled restore waits at most before it looks at its retry time again. */
  private static final Duration AT_MOST = Duration.ofMinutes(5);

  /** Whether a restore runs now, and whether it keeps what an earlier attempt restored. */
  enum Run {
    /** Nothing to do: the last run's result stands (a retry may come later). */
    NONE,
    /** A new run (the first, or asked for by the annotation): it starts over. */
    NEW,
    /** A retry after a passing failure: the tables restored are kept, the rest is done. */
    RETRY,
    /** A native restore that a process now gone left running on the server: watched to its end, not started again. */
    TAKE_OVER;

    /** Whether the run keeps the tables an earlier attempt restored. */
    boolean keepsRestored() {
      return this == RETRY || this == TAKE_OVER;
    }
  }

  private RestoreTiming() {}

  static Run decide(ClickHouseRestore resource, ClickHouseRestoreStatus status, Instant now) {
    if (status.runningServerRestoreId != null) {
      return Run.TAKE_OVER;
    }
    if (RunTiming.newRequest(resource, ClickHouseRestore.RUN_NOW_ANNOTATION, status.acknowledgedRunNow) != null) {
      return Run.NEW;
    }
    if (resource.getSpec().schedule != null) {
      // a drill runs at its cron times (not when created), and again after a passing failure
      return RunTiming.reached(next(resource, status, now), now) ? Run.NEW
          : RetryPolicy.due(status, now) ? Run.RETRY : Run.NONE;
    }
    boolean ran = status.phase == Phase.Succeeded || (status.phase == Phase.Failed && status.startTime != null);
    if (!ran) {
      return Run.NEW;
    }
    return RetryPolicy.due(status, now) ? Run.RETRY : Run.NONE;
  }

  /**
   * Whether the status says a run goes on that no process runs any more: asked when this process runs no
   * work for the resource (the one that did is gone) and the server runs no restore of it to take over.
   */
  static boolean interrupted(ClickHouseRestoreStatus status) {
    return status.phase == Phase.Running && status.runningServerRestoreId == null;
  }

  /** The server-side restore to watch instead of starting one, or null. */
  static NativeRestore.Resume resume(ClickHouseRestoreStatus status) {
    return status.runningServerRestoreId == null ? null
        : new NativeRestore.Resume(status.runningServerRestoreId, status.runningServerRestoreTable);
  }

  /** When to look again for the retry or the next drill (null: neither is due). */
  static Duration untilRetry(ClickHouseRestoreStatus status, Instant now) {
    Instant at = RetryPolicy.retryAt(status);
    Instant next = status.nextScheduleTime == null ? null : Instant.parse(status.nextScheduleTime);
    return at == null && next == null ? null : RunTiming.wake(now, AT_MOST, at, next);
  }

  /** A drill's schedule (the spec was validated), or null. */
  static CronSchedule schedule(ClickHouseRestore resource) {
    var schedule = resource.getSpec().schedule;
    return schedule == null ? null : CronSchedule.parse("spec.schedule", schedule.cron, schedule.timeZone);
  }

  /** The next drill's time, kept in status.nextScheduleTime (null without a schedule). */
  static Instant next(ClickHouseRestore resource, ClickHouseRestoreStatus status, Instant now) {
    Instant next = RunTiming.nextScheduled(schedule(resource), false, status.nextScheduleTime, now);
    status.nextScheduleTime = next == null ? null : RunTiming.format(next);
    return next;
  }

  /** A drill starts: a missed time runs once, then the schedule counts from now. */
  static void started(ClickHouseRestore resource, ClickHouseRestoreStatus status, Instant now) {
    CronSchedule schedule = schedule(resource);
    if (schedule != null && RunTiming.reached(next(resource, status, now), now)) {
      status.nextScheduleTime = RunTiming.format(schedule.next(now));
    }
  }
}
