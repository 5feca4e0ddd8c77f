package dev.housekeeper.common;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;

/**
 * A five-field cron expression in a time zone. Missed runs follow one policy everywhere: when the
 * due time has passed (the operator was down), the work runs once, and the next time is computed
 * from now, not from the missed time.
 */
public final class CronSchedule {

  private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

  private final ExecutionTime execution;
  private final ZoneId zone;

  private CronSchedule(ExecutionTime execution, ZoneId zone) {
    this.execution = execution;
    this.zone = zone;
  }

  /**
   * @throws IllegalArgumentException with a message fit for a condition
   */
  public static CronSchedule parse(String field, String cron, String timeZone) {
    ZoneId zone;
    try {
      zone = ZoneId.of(timeZone == null || timeZone.isBlank() ? "UTC" : timeZone);
    } catch (DateTimeException e) {
      throw new IllegalArgumentException(field + ".timeZone: \"" + timeZone + "\" is not a time zone (for example UTC"
          + " or Europe/Berlin)");
    }
    try {
      Cron parsed = PARSER.parse(cron == null ? "" : cron.trim());
      parsed.validate();
      return new CronSchedule(ExecutionTime.forCron(parsed), zone);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + ".cron: \"" + cron + "\" is not a five-field cron expression ("
          + e.getMessage() + ")");
    }
  }

  public ZoneId zone() {
    return zone;
  }

  /** The first due time strictly after {@code after}. */
  public Instant next(Instant after) {
    return execution.nextExecution(ZonedDateTime.ofInstant(after, zone))
        .map(ZonedDateTime::toInstant)
        .orElseThrow(() -> new IllegalArgumentException("the cron expression never fires"));
  }
}
