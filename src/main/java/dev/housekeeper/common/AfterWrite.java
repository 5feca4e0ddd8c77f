package dev.housekeeper.common;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a pass says about a finished job (its Events, its counters) once the status that records
 * the job is written, and not before. When the write is refused, the job's result is kept (see
 * {@link WorkExecutor#settle}) and folded again by the next pass, which says it again: sent at
 * once, it would be said twice.
 *
 * <p>One per reconciler; keyed by resource. A resource is never reconciled twice at once, so one
 * key's list is used by one thread at a time.
 */
public final class AfterWrite {

  private final EventRecorder events;
  private final Map<String, List<Runnable>> pending = new ConcurrentHashMap<>();

  public AfterWrite(EventRecorder events) {
    this.events = events;
  }

  /** A Normal Event, sent once the status is written. */
  public void normal(String key, HasMetadata resource, String reason, String message) {
    then(key, () -> events.normal(resource, reason, message));
  }

  /** A Warning Event, sent once the status is written. */
  public void warning(String key, HasMetadata resource, String reason, String message) {
    then(key, () -> events.warning(resource, reason, message));
  }

  /** Anything else that must happen once per job (a counter): done once the status is written. */
  public void then(String key, Runnable effect) {
    pending.computeIfAbsent(key, k -> new ArrayList<>()).add(effect);
  }

  /** The status was written: does what was waiting. */
  public void written(String key) {
    List<Runnable> effects = pending.remove(key);
    if (effects != null) {
      effects.forEach(Runnable::run);
    }
  }

  /** The pass ended without writing its status: forgets what was waiting; the next pass says it again. */
  public void dropped(String key) {
    pending.remove(key);
  }
}
