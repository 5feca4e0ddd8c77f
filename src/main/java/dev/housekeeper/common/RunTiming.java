package dev.housekeeper.common;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * When work is due and when to look again, the same for backups, restores, retention runs and marts:
 * a request by annotation that was not acted upon yet, the next time of a schedule, a retry time.
 */
public final class RunTiming {

  /** How soon to look again when a time has already passed. */
  public static final Duration POLL = Duration.ofSeconds(1);

  private RunTiming() {}

  /**
   * The value of a request annotation ({@code housekeeper.dev/run-now} and the like) when it differs
   * from the one last acted upon (kept in status); null when there is no new request.
   */
  public static String newRequest(HasMetadata resource, String annotation, String acknowledged) {
    String value = annotation(resource, annotation);
    return value != null && !value.equals(acknowledged) ? value : null;
  }

  /** The value of an annotation, or null. */
  public static String annotation(HasMetadata resource, String name) {
    var annotations = resource.getMetadata().getAnnotations();
    return annotations == null ? null : annotations.get(name);
  }

  /**
   * The next scheduled time: the one the status remembers (RFC 3339), else the schedule's first after
   * {@code now}; null without a schedule or while suspended.
   */
  public static Instant nextScheduled(CronSchedule schedule, boolean suspended, String remembered, Instant now) {
    if (schedule == null || suspended) {
      return null;
    }
    return remembered != null ? Instant.parse(remembered) : schedule.next(now);
  }

  /** Whether a time is set and has come. */
  public static boolean reached(Instant time, Instant now) {
    return time != null && !time.isAfter(now);
  }

  /**
   * When to look again: half a second after the earliest of {@code times} (null ones ignored), at most
   * after {@code atMost}; {@link #POLL} when that time has passed.
   */
  public static Duration wake(Instant now, Duration atMost, Instant... times) {
    Instant earliest = null;
    for (Instant t : times) {
      if (t != null && (earliest == null || t.isBefore(earliest))) {
        earliest = t;
      }
    }
    if (earliest == null) {
      return atMost;
    }
    Duration until = Duration.between(now, earliest);
    if (until.isNegative()) {
      return POLL;
    }
    return until.compareTo(atMost) < 0 ? until.plusMillis(500) : atMost;
  }

  /** An instant as status shows it: RFC 3339, whole seconds. */
  public static String format(Instant instant) {
    return instant.truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
