package dev.housekeeper.common;

import java.time.Duration;

/**
 * What one reconcile pass concluded: the phase, the three standard conditions (Ready, Progressing,
 * Degraded) with one reason and message, and when to look again (null: only on a change). Made by
 * the factory that names the situation, so that a call site reads as what happened.
 *
 * @param <P> the kind's phase type
 */
public final class Pass<P> {

  private final P phase;
  private final boolean ready;
  private final boolean progressing;
  private final boolean degraded;
  private final String reason;
  private final String message;
  private final Duration requeue;

  private Pass(P phase, boolean ready, boolean progressing, boolean degraded, String reason, String message,
      Duration requeue) {
    this.phase = phase;
    this.ready = ready;
    this.progressing = progressing;
    this.degraded = degraded;
    this.reason = reason;
    this.message = message;
    this.requeue = requeue;
  }

  /** Work is under way (Progressing); not Ready unless {@link #stillReady} says an earlier result serves. */
  public static <P> Pass<P> running(P phase, String reason, String message, Duration requeue) {
    return new Pass<>(phase, false, true, false, reason, message, requeue);
  }

  /** All is as it should be (Ready): the last work succeeded, or there was none to do. */
  public static <P> Pass<P> ok(P phase, String reason, String message, Duration requeue) {
    return new Pass<>(phase, true, false, false, reason, message, requeue);
  }

  /** Something failed or cannot be done (Degraded); not Ready unless {@link #stillReady} says otherwise. */
  public static <P> Pass<P> failed(P phase, String reason, String message, Duration requeue) {
    return new Pass<>(phase, false, false, true, reason, message, requeue);
  }

  /** Waiting for something outside (a connection, a lock, the first schedule): neither Ready nor failed. */
  public static <P> Pass<P> waiting(P phase, String reason, String message, Duration requeue) {
    return new Pass<>(phase, false, false, false, reason, message, requeue);
  }

  /** The same pass, Ready when an earlier result still serves (a complete backup, a built mart). */
  public Pass<P> stillReady(boolean serves) {
    return new Pass<>(phase, serves, progressing, degraded, reason, message, requeue);
  }

  /** The same pass, Degraded when the state it waits in is itself a failure. */
  public Pass<P> degradedWhen(boolean failure) {
    return new Pass<>(phase, ready, progressing, failure, reason, message, requeue);
  }

  /**
   * The same pass, its work accepted but waiting for a worker: Progressing (the work will run by itself),
   * Ready (or not) as the pass said, with its own reason and message.
   */
  public Pass<P> queued(String why, String text, Duration after) {
    return new Pass<>(phase, ready, true, false, why, text, after);
  }

  /** The same pass, looked at again after {@code after} (null: only on a change). */
  public Pass<P> requeue(Duration after) {
    return new Pass<>(phase, ready, progressing, degraded, reason, message, after);
  }

  /** The same pass with another message (more said about the same state). */
  public Pass<P> message(String text) {
    return new Pass<>(phase, ready, progressing, degraded, reason, text, requeue);
  }

  public P phase() {
    return phase;
  }

  public boolean ready() {
    return ready;
  }

  public boolean progressing() {
    return progressing;
  }

  public boolean degraded() {
    return degraded;
  }

  public String reason() {
    return reason;
  }

  public String message() {
    return message;
  }

  public Duration requeue() {
    return requeue;
  }

  @Override
  public String toString() {
    return phase + " " + reason + (ready ? " ready" : "") + (progressing ? " progressing" : "")
        + (degraded ? " degraded" : "") + ": " + message + (requeue == null ? "" : " (again in " + requeue + ")");
  }
}
