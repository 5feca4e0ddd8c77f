package dev.housekeeper.common;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Builds the standard conditions. {@code lastTransitionTime} is kept when a condition's status did
 * not change, so that it tells when the state really changed.
 */
public final class Conditions {

  public static final String READY = "Ready";
  public static final String PROGRESSING = "Progressing";
  public static final String DEGRADED = "Degraded";
  /** The longest message a condition keeps; a longer one is cut. */
  public static final int MAX_MESSAGE = 2048;

  private Conditions() {}

  /**
   * Sets one condition in {@code conditions} (replacing one of the same type), keeping its
   * transition time when its status is unchanged.
   */
  public static List<Condition> set(List<Condition> conditions, String type, boolean status, String reason,
      String message, Long generation, Clock clock) {
    List<Condition> out = new ArrayList<>(conditions == null ? List.of() : conditions);
    String statusText = status ? "True" : "False";
    Optional<Condition> previous = find(out, type);
    String transition = previous.filter(c -> statusText.equals(c.getStatus()))
        .map(Condition::getLastTransitionTime)
        .orElse(Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString());
    Condition next = new ConditionBuilder()
        .withType(type)
        .withStatus(statusText)
        .withReason(reason)
        .withMessage(message == null ? "" : truncate(message, MAX_MESSAGE))
        .withObservedGeneration(generation)
        .withLastTransitionTime(transition)
        .build();
    out.removeIf(c -> type.equals(c.getType()));
    out.add(next);
    out.sort(java.util.Comparator.comparingInt(c -> order(c.getType())));
    return out;
  }

  /**
   * The three standard conditions of one pass: Ready with the pass's reason; Progressing and
   * Degraded True with the same reason when they hold, else False ("Idle", "None").
   */
  public static List<Condition> standard(List<Condition> conditions, boolean ready, boolean progressing,
      boolean degraded, String reason, String message, Long generation, Clock clock) {
    List<Condition> out = set(conditions, READY, ready, reason, message, generation, clock);
    out = set(out, PROGRESSING, progressing, progressing ? reason : "Idle", progressing ? message : "", generation,
        clock);
    return set(out, DEGRADED, degraded, degraded ? reason : "None", degraded ? message : "", generation, clock);
  }

  public static Optional<Condition> find(List<Condition> conditions, String type) {
    if (conditions == null) {
      return Optional.empty();
    }
    return conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  public static boolean isTrue(List<Condition> conditions, String type) {
    return find(conditions, type).map(c -> "True".equals(c.getStatus())).orElse(false);
  }

  /** A message cut to {@code max} characters, so that status stays small. */
  public static String truncate(String message, int max) {
    return message.length() <= max ? message : message.substring(0, max - 3) + "...";
  }

  private static int order(String type) {
    return switch (type) {
      case READY -> 0;
      case PROGRESSING -> 1;
      case DEGRADED -> 2;
      default -> 3;
    };
  }
}
