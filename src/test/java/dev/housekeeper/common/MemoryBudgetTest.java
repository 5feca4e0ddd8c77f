package dev.housekeeper.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The process's budget for large buffers: never exceeded, waiting in turn, interruptible, no deadlock. */
class MemoryBudgetTest {

  private static final int PART = 1024;

  /**
   * Streams as S3ObjectStore takes buffers: wait for the first, only try for the second (else send
   * the part itself). 48 streams on 5 parts' worth: all finish, the held bytes never exceed the budget.
   */
  @Test
  void manyStreamsUnderASmallBudgetNeverExceedItAndAllFinish() throws Exception {
    MemoryBudget budget = new MemoryBudget(5L * PART);
    AtomicLong seenMax = new AtomicLong();
    AtomicLong synchronousParts = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(48);
    List<Future<?>> streams = new ArrayList<>();
    for (int i = 0; i < 48; i++) {
      streams.add(pool.submit(() -> {
        budget.take(PART);
        long held = PART;
        seenMax.accumulateAndGet(budget.used(), Math::max);
        for (int part = 0; part < 6; part++) {
          if (held < 2 * PART && budget.tryTake(PART)) {
            held += PART;
          } else if (held == PART) {
            synchronousParts.incrementAndGet();
          }
          seenMax.accumulateAndGet(budget.used(), Math::max);
          Thread.sleep(1);
        }
        budget.give(held);
        return null;
      }));
    }
    for (Future<?> f : streams) {
      f.get(30, TimeUnit.SECONDS);
    }
    pool.shutdown();
    assertThat(budget.used()).isZero();
    assertThat(budget.peak()).isLessThanOrEqualTo(budget.limit()).isEqualTo(seenMax.get());
    assertThat(budget.waiting()).isZero();
    // the budget was the bottleneck: some streams went without a second buffer
    assertThat(synchronousParts.get()).isPositive();
    System.out.printf("MemoryBudgetTest: 48 streams, budget %d B, peak %d B, %d parts sent without a spare%n",
        budget.limit(), budget.peak(), synchronousParts.get());
  }

  @Test
  void aStreamWaitingForMemoryIsCancelledByItsInterrupt() throws Exception {
    MemoryBudget budget = new MemoryBudget(2L * PART);
    budget.take(2L * PART);
    CountDownLatch interrupted = new CountDownLatch(1);
    Thread waiter = new Thread(() -> {
      try {
        budget.take(PART);
      } catch (InterruptedException e) {
        interrupted.countDown();
      }
    });
    waiter.start();
    awaitWaiting(budget, 1);
    long before = System.nanoTime();
    waiter.interrupt();
    assertTrue(interrupted.await(5, TimeUnit.SECONDS), "the waiting stream ends on its interrupt");
    System.out.printf("MemoryBudgetTest: interrupt to end of wait %.1f ms%n", (System.nanoTime() - before) / 1e6);
    assertThat(budget.waiting()).isZero();
    assertThat(budget.used()).isEqualTo(2L * PART); // it took nothing
    budget.give(2L * PART);
    assertTrue(budget.tryTake(2L * PART), "the cancelled waiter does not block the next one");
  }

  @Test
  void aWaitingStreamIsNotOvertakenByOneThatOnlyTries() throws Exception {
    MemoryBudget budget = new MemoryBudget(4L * PART);
    budget.take(3L * PART);
    Thread big = new Thread(() -> {
      try {
        budget.take(3L * PART);
        budget.give(3L * PART);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    big.start();
    awaitWaiting(budget, 1);
    // one part fits, but the stream in line comes first
    assertFalse(budget.tryTake(PART));
    budget.give(3L * PART);
    big.join(5000);
    assertFalse(big.isAlive());
    assertTrue(budget.tryTake(PART));
  }

  @Test
  void aBufferLargerThanTheWholeBudgetIsRefusedAtOnce() {
    MemoryBudget budget = new MemoryBudget(PART);
    assertThrows(IllegalArgumentException.class, () -> budget.take(2L * PART));
    assertThrows(IllegalArgumentException.class, () -> budget.tryTake(2L * PART));
  }

  private static void awaitWaiting(MemoryBudget budget, int n) throws InterruptedException {
    long end = System.currentTimeMillis() + 5000;
    while (budget.waiting() < n && System.currentTimeMillis() < end) {
      Thread.sleep(5);
    }
    assertThat(budget.waiting()).isEqualTo(n);
  }
}
