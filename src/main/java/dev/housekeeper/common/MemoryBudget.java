package dev.housekeeper.common;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bytes of large buffers (S3 part buffers) that all running work may hold at once. A buffer is
 * taken before it is allocated and given back when it is dropped, so that the sum over every backup
 * and every stream stays under one limit sized for the heap: parallelism beyond what the budget
 * allows makes streams wait for memory instead of running the operator out of it.
 *
 * <p>Waiting is first come, first served (a large request is not overtaken by small ones forever)
 * and interruptible (cancelling a backup wakes its waiting streams). A caller that already holds a
 * buffer must not wait for another ({@link #tryTake}), or two streams each holding one could wait on
 * each other; {@code S3ObjectStore} sends a part synchronously instead.
 */
public final class MemoryBudget {

  /** The default budget for upload buffers: eight 8 MiB parts, a fifth of the chart's default heap. */
  public static final long DEFAULT_UPLOAD_BYTES = 64L * 1024 * 1024;

  private static final AtomicReference<MemoryBudget> UPLOADS =
      new AtomicReference<>(new MemoryBudget(DEFAULT_UPLOAD_BYTES));

  private final long limit;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  /** Threads waiting, in arrival order; only the first may take. Guarded by {@link #lock}. */
  private final Deque<Thread> waiting = new ArrayDeque<>();
  private long used;
  private long peak;

  public MemoryBudget(long limit) {
    if (limit <= 0) {
      throw new IllegalArgumentException("a memory budget must be positive, not " + limit);
    }
    this.limit = limit;
  }

  /**
   * The process's budget for upload buffers. One per process, because memory is one per process: the
   * operator sets it once at start from {@code HOUSEKEEPER_UPLOAD_BUFFER_BUDGET}.
   */
  public static MemoryBudget uploads() {
    return UPLOADS.get();
  }

  /** Installs the process's upload budget (at operator start). Buffers taken earlier go back to the old one. */
  public static void useForUploads(MemoryBudget budget) {
    UPLOADS.set(budget);
  }

  /** Bytes held, by every taker. */
  public long used() {
    lock.lock();
    try {
      return used;
    } finally {
      lock.unlock();
    }
  }

  /** The most bytes held at once since this budget was made (or {@link #resetPeak}). */
  public long peak() {
    lock.lock();
    try {
      return peak;
    } finally {
      lock.unlock();
    }
  }

  /** Starts measuring the peak again from what is held now. */
  public void resetPeak() {
    lock.lock();
    try {
      peak = used;
    } finally {
      lock.unlock();
    }
  }

  public long limit() {
    return limit;
  }

  /** Threads waiting for memory now. */
  public int waiting() {
    lock.lock();
    try {
      return waiting.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes {@code bytes}, waiting in turn until they fit. Interrupted while waiting: nothing is taken and
   * the interrupt is thrown, so that a cancelled backup stops here.
   *
   * @throws IllegalArgumentException when {@code bytes} exceeds the whole budget (it would never fit)
   */
  public void take(long bytes) throws InterruptedException {
    check(bytes);
    Thread me = Thread.currentThread();
    lock.lockInterruptibly();
    try {
      waiting.addLast(me);
      try {
        while (waiting.peekFirst() != me || used + bytes > limit) {
          changed.await();
        }
      } finally {
        // taken or interrupted: either way this thread no longer waits, and the next one may look
        waiting.remove(me);
        changed.signalAll();
      }
      add(bytes);
    } finally {
      lock.unlock();
    }
  }

  /** Takes {@code bytes} if they fit now and nobody waits before this caller; never waits. */
  public boolean tryTake(long bytes) {
    check(bytes);
    lock.lock();
    try {
      if (!waiting.isEmpty() || used + bytes > limit) {
        return false;
      }
      add(bytes);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Gives back bytes taken earlier. */
  public void give(long bytes) {
    if (bytes <= 0) {
      return;
    }
    lock.lock();
    try {
      used = Math.max(0, used - bytes);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void add(long bytes) {
    used += bytes;
    peak = Math.max(peak, used);
  }

  private void check(long bytes) {
    if (bytes <= 0 || bytes > limit) {
      throw new IllegalArgumentException("a buffer of " + bytes + " bytes does not fit a budget of " + limit
          + " bytes");
    }
  }
}
