package dev.housekeeper.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A clock a test moves forward, to reach scheduled times at once: the system clock plus an offset,
 * or ({@link #fixedAt}) a time that stands still until the test moves it.
 */
public final class TestClock extends Clock {

  private final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);
  private final AtomicReference<Instant> fixed;

  public TestClock() {
    this(null);
  }

  private TestClock(Instant fixedAt) {
    this.fixed = new AtomicReference<>(fixedAt);
  }

  /** A clock that stands at {@code start} until {@link #advance} or {@link #set} moves it. */
  public static TestClock fixedAt(Instant start) {
    return new TestClock(start);
  }

  public void advance(Duration by) {
    offset.updateAndGet(o -> o.plus(by));
  }

  /** Sets a fixed clock to {@code time}. */
  public void set(Instant time) {
    if (fixed.get() == null) {
      throw new IllegalStateException("only a fixed clock is set");
    }
    fixed.set(time);
    offset.set(Duration.ZERO);
  }

  @Override
  public Instant instant() {
    Instant base = fixed.get();
    return (base == null ? Instant.now() : base).plus(offset.get());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
