package dev.housekeeper.common;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.MDC;

/**
 * A bounded pool for long work (migration runs, backups, refreshes), one task per resource key.
 * Reconcilers start work here and poll it; they never wait on it. The resource's log context goes
 * with the task, so that its log lines name the resource too.
 */
public final class WorkExecutor implements AutoCloseable {

  /** Long work, reporting progress in words. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Consumer<String> progress) throws Exception;
  }

  /** A task in flight or finished. */
  public static final class Task<T> {
    private final Future<T> future;
    private final AtomicReference<String> progress;
    private final Instant started;

    Task(Future<T> future, AtomicReference<String> progress, Instant started) {
      this.future = future;
      this.progress = progress;
      this.started = started;
    }

    public Future<T> future() {
      return future;
    }

    public String progress() {
      return progress.get();
    }

    public Instant started() {
      return started;
    }

    public boolean done() {
      return future.isDone();
    }
  }

  private final ExecutorService pool;
  private final Map<String, Task<?>> tasks = new ConcurrentHashMap<>();
  private final Map<String, Task<?>> taken = new ConcurrentHashMap<>();

  public WorkExecutor(int threads) {
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "housekeeper-work-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts work for a key; the caller checks first that none is running. */
  public <T> Task<T> submit(String key, Work<T> work) {
    return submit(key, work, null);
  }

  /**
   * Starts work for a key; {@code onDone} runs once the task's future is done (so that the caller
   * can look at once, rather than at its next poll).
   */
  public <T> Task<T> submit(String key, Work<T> work, Runnable onDone) {
    AtomicReference<String> progress = new AtomicReference<>("queued");
    Map<String, String> context = MDC.getCopyOfContextMap();
    java.util.concurrent.FutureTask<T> future = new java.util.concurrent.FutureTask<>(() -> {
      Map<String, String> previous = MDC.getCopyOfContextMap();
      if (context != null) {
        MDC.setContextMap(context);
      }
      try {
        return work.run(progress::set);
      } finally {
        if (previous != null) {
          MDC.setContextMap(previous);
        } else {
          MDC.clear();
        }
      }
    }) {
      @Override
      protected void done() {
        if (onDone != null) {
          onDone.run();
        }
      }
    };
    Task<T> task = new Task<>(future, progress, Instant.now());
    tasks.put(key, task);
    pool.execute(future);
    return task;
  }

  @SuppressWarnings("unchecked")
  public <T> Optional<Task<T>> get(String key) {
    return Optional.ofNullable((Task<T>) tasks.get(key));
  }

  public void remove(String key) {
    tasks.remove(key);
    taken.remove(key);
  }

  /**
   * Marks a finished task as folded into a status that is about to be written. It stays until
   * {@link #settle} says the write succeeded: when the write fails, the next pass finds the same
   * result again instead of losing it (and, say, taking a second backup).
   */
  public void take(String key) {
    Task<?> task = tasks.get(key);
    if (task != null) {
      taken.put(key, task);
    }
  }

  /** The status that folded the key's taken task was written: forget that task (not a newer one). */
  public void settle(String key) {
    Task<?> task = taken.remove(key);
    if (task != null) {
      tasks.remove(key, task);
    }
  }

  /** Interrupts a key's work, if any. */
  public void cancel(String key) {
    Task<?> task = tasks.remove(key);
    if (task != null) {
      task.future().cancel(true);
    }
  }

  /** Interrupts every piece of work and takes no more, without waiting for them to end. */
  public void interruptAll() {
    pool.shutdownNow();
  }

  @Override
  public void close() {
    pool.shutdownNow();
    try {
      pool.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
