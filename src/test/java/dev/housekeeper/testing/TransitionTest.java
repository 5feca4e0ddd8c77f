package dev.housekeeper.testing;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/**
 * What every transition test starts with: one {@link ReconcilerHarness} per class, and per test a
 * fresh namespace, the clock at {@link ReconcilerHarness#START} and the fake server without rules.
 * A subclass builds its reconciler in a {@code @BeforeEach} of its own (run after this one's).
 */
public abstract class TransitionTest {

  protected static ReconcilerHarness harness;
  protected FakeClickHouseClient clickhouse;
  protected String ns;

  @BeforeAll
  static void startHarness() {
    harness = ReconcilerHarness.start();
  }

  @AfterAll
  static void stopHarness() {
    harness.close();
  }

  @BeforeEach
  void freshNamespace(TestInfo test) {
    ns = harness.freshNamespace(test);
    clickhouse = harness.clickhouse();
  }
}
