package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartSpec.Mode;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.RunTiming;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;

/**
 * When a mart is refreshed, and how: on request (run-now, full-refresh-now), on its schedule, when a
 * retry after a passing failure is due, when it was never built, or fully when its schema changed.
 */
final class MartTiming {

  private MartTiming() {}

  /** The request annotations: their values (kept in status once acted upon) and whether each is new. */
  record Requests(String runNow, String fullNow, boolean run, boolean full) {

    static Requests of(ReportMart resource, ReportMartStatus status) {
      String runNow = RunTiming.annotation(resource, ReportMart.RUN_NOW_ANNOTATION);
      String fullNow = RunTiming.annotation(resource, ReportMart.FULL_NOW_ANNOTATION);
      return new Requests(runNow, fullNow,
          RunTiming.newRequest(resource, ReportMart.RUN_NOW_ANNOTATION, status.acknowledgedRunNow) != null,
          RunTiming.newRequest(resource, ReportMart.FULL_NOW_ANNOTATION, status.acknowledgedFullNow) != null);
    }
  }

  /** A refresh to start now: its mode, why (for status), the window it rebuilds, and whether the schedule asked. */
  record Plan(Mode mode, String why, Window window, boolean scheduled) {}

  /** The spec's refresh settings, the defaults when it has none. */
  static ReportMartSpec.Refresh refresh(ReportMartSpec spec) {
    return spec.refresh == null ? new ReportMartSpec.Refresh() : spec.refresh;
  }

  /** The refresh schedule, or null. */
  static CronSchedule schedule(ReportMartSpec.Refresh refresh) {
    return refresh.schedule == null ? null
        : CronSchedule.parse("spec.refresh.schedule", refresh.schedule.cron, refresh.schedule.timeZone);
  }

  /** The next scheduled refresh: the one status remembers, else the schedule's next; null without one. */
  static Instant next(ReportMartSpec.Refresh refresh, ReportMartStatus status, Instant now) {
    return RunTiming.nextScheduled(schedule(refresh), refresh.suspend, status.nextRefreshTime, now);
  }

  /** The refresh due now, or null when none is. */
  static Plan plan(ReportMartSpec spec, ReportMartStatus status, Requests asked, Instant next, boolean exists,
      Instant now) {
    boolean schemaChanged = exists && status.schemaHash != null && !MartSql.schemaHash(spec).equals(status.schemaHash);
    boolean retryDue = RetryPolicy.due(status, now);
    boolean neverBuilt = !exists || status.schemaHash == null;
    boolean scheduleDue = RunTiming.reached(next, now);
    boolean lastFailed = status.lastRefresh != null && "Failed".equals(status.lastRefresh.outcome);
    // a mart never built is built at once, unless its last attempt failed: then it waits for a retry or a request
    boolean firstBuild = neverBuilt && status.retryTime == null && !lastFailed;
    if (!(asked.run() || asked.full() || scheduleDue || retryDue || schemaChanged || firstBuild)) {
      return null;
    }
    var refresh = refresh(spec);
    boolean full = refresh.mode == Mode.full || asked.full() || neverBuilt || schemaChanged;
    String why = schemaChanged ? "SchemaChanged: the columns, engine, keys or settings changed; rebuilt fully"
        : !exists ? "MartMissing: the table did not exist"
        : asked.full() ? "Requested (full-refresh-now)"
        : asked.run() ? "Requested (run-now)"
        : retryDue ? "Retry after the source was unreachable"
        : "Scheduled";
    Window window = full ? Window.ALL
        : Window.last(refresh.incremental.period, refresh.incremental.periods, LocalDate.ofInstant(now, zone(refresh)));
    return new Plan(full ? Mode.full : Mode.incremental, why, window, scheduleDue);
  }

  private static ZoneId zone(ReportMartSpec.Refresh refresh) {
    CronSchedule schedule = schedule(refresh);
    return schedule == null ? ZoneId.of("UTC") : schedule.zone();
  }
}
