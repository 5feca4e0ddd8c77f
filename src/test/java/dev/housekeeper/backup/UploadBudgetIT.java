package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.backup.storage.S3ObjectStore;
import dev.housekeeper.common.MemoryBudget;
import dev.housekeeper.testing.S3Server;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** S3 part buffers taken from one budget, against a real S3-compatible server (s3rver). */
class UploadBudgetIT {

  static S3Server server;

  @BeforeAll
  static void start() throws java.io.IOException {
    server = new S3Server("budget").start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static S3ObjectStore store(MemoryBudget budget) {
    return new S3ObjectStore(server.endpoint(), "us-east-1", "budget", "", S3Server.ACCESS_KEY,
        S3Server.SECRET_KEY, true, S3ObjectStore.MIN_PART, budget);
  }

  /**
   * Twelve streams of three parts each want 24 buffers; the budget has three. Every object arrives
   * whole, the bytes held never exceed the budget, and all are given back.
   */
  @Test
  void twelveStreamsOnThreeBuffersAllArriveWholeWithinTheBudget() throws Exception {
    MemoryBudget budget = new MemoryBudget(3L * S3ObjectStore.MIN_PART);
    twelveStreams(budget, "many/");
    assertThat(budget.peak()).isLessThanOrEqualTo(budget.limit());
    assertThat(budget.used()).isZero();
    // the same streams on a budget that never binds: what they would hold without one
    MemoryBudget unbound = new MemoryBudget(1L << 40);
    twelveStreams(unbound, "unbound/");
    assertThat(unbound.peak()).isGreaterThan(budget.limit());
  }

  private static void twelveStreams(MemoryBudget budget, String prefix) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(12);
    long size = 2L * S3ObjectStore.MIN_PART + 777;
    long started = System.nanoTime();
    try (S3ObjectStore s3 = store(budget)) {
      List<Future<byte[]>> streams = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        int n = i;
        streams.add(pool.submit(() -> {
          ObjectStore.Upload upload = s3.create(prefix + n);
          byte[] sha = ObjectStoreIT.write(upload, size, n);
          upload.close();
          return sha;
        }));
      }
      for (int i = 0; i < 12; i++) {
        byte[] sha = streams.get(i).get(120, TimeUnit.SECONDS);
        try (InputStream in = s3.open(prefix + i)) {
          assertArrayEquals(sha, ObjectStoreIT.sha256(in), "object " + i);
        }
      }
    } finally {
      pool.shutdownNow();
    }
    System.out.printf("UploadBudgetIT: 12 streams x %d B, budget %d B, peak %d B, %.1f s%n", size,
        budget.limit(), budget.peak(), (System.nanoTime() - started) / 1e9);
  }

  /** A stream waiting for its first buffer ends on the interrupt that cancels its backup, having taken nothing. */
  @Test
  void aStreamWaitingForMemoryIsCancelled() throws Exception {
    MemoryBudget budget = new MemoryBudget(S3ObjectStore.MIN_PART);
    budget.take(S3ObjectStore.MIN_PART); // another backup holds the whole budget
    try (S3ObjectStore s3 = store(budget)) {
      AtomicReference<Exception> failure = new AtomicReference<>();
      Thread stream = new Thread(() -> {
        ObjectStore.Upload upload = s3.create("waiting/object");
        try {
          upload.write(new byte[1024], 0, 1024);
        } catch (Exception e) {
          failure.set(e);
          upload.abort();
        }
      });
      stream.start();
      long end = System.currentTimeMillis() + 5000;
      while (budget.waiting() == 0 && System.currentTimeMillis() < end) {
        Thread.sleep(5);
      }
      assertThat(budget.waiting()).isEqualTo(1);
      stream.interrupt();
      stream.join(5000);
      assertThat(stream.isAlive()).isFalse();
      assertThat(failure.get()).isInstanceOf(java.io.InterruptedIOException.class)
          .hasMessageContaining("waiting for buffer memory");
      assertThat(budget.used()).isEqualTo(S3ObjectStore.MIN_PART);
      assertThat(budget.waiting()).isZero();
      assertTrue(!s3.exists("waiting/object"));
    }
  }
}
