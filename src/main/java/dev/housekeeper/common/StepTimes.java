package dev.housekeeper.common;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Where the operator's time goes, one timer per step ({@code housekeeper_step_duration_seconds}),
 * so that a slow convergence can be explained from {@code /metrics} without a profiler: the
 * benchmark prints these beside the server's own account of its statements (docs/performance.md).
 * The steps overlap (a reconcile contains its status write; ClickHouse requests run inside work);
 * each timer's sum is thread-seconds spent in that step.
 */
public final class StepTimes {

  /** The steps timed. */
  public enum Step {
    /** A resource's reconcile waiting for a reconcile thread, from its event to its start. */
    RECONCILE_QUEUE,
    /** A reconcile running (JOSDK's controller execution). */
    RECONCILE,
    /** Long work (a migration run, a mart build, a backup) waiting for a worker or its namespace's turn. */
    WORK_QUEUE,
    /** One ClickHouse request, sent until its answer was read (retries included). */
    CLICKHOUSE_REQUEST,
    /** One status write to the Kubernetes API. */
    STATUS_WRITE,
    /** One Event posted (on the Event thread, not in the reconcile). */
    EVENT_POST,
    /** A migration lock contender waiting for another one to finish entering. */
    LOCK_WAIT
  }

  private final Map<Step, Timer> timers = new EnumMap<>(Step.class);

  public StepTimes(MeterRegistry registry) {
    for (Step step : Step.values()) {
      timers.put(step, Timer.builder("housekeeper_step_duration")
          .description("Time spent per step of the operator's work (thread-seconds; steps overlap)")
          .tag("step", step.name().toLowerCase(Locale.ROOT)).register(registry));
    }
  }

  /** Timers nobody reads: for the parts built without an operator (tests, tools). */
  public static StepTimes unread() {
    return new StepTimes(new SimpleMeterRegistry());
  }

  public void record(Step step, long nanos) {
    timers.get(step).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Runs {@code body} and records how long it took, also when it throws. */
  public <T> T time(Step step, java.util.function.Supplier<T> body) {
    long t0 = System.nanoTime();
    try {
      return body.get();
    } finally {
      record(step, System.nanoTime() - t0);
    }
  }
}
