package dev.housekeeper.common;

import io.fabric8.kubernetes.api.model.HasMetadata;
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
 *
 * <p>One namespace runs at most {@code perNamespace} tasks at once (the key's part before the
 * {@code /}): a further task of that namespace is queued here, in order, and handed to the pool when
 * one of its namespace's tasks ends, so that one tenant with many backups cannot take every worker
 * while other namespaces' work starts at once. A queued task says so in {@link Task#queued()} and
 * its progress.
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
    private final AtomicReference<Instant> started;
    private volatile boolean queued;

    Task(Future<T> future, AtomicReference<String> progress, AtomicReference<Instant> started) {
      this.future = future;
      this.progress = progress;
      this.started = started;
    }

    /** Waiting for its namespace's turn: not yet handed to the pool. */
    public boolean queued() {
      return queued && !future.isDone();
    }

    public Future<T> future() {
      return future;
    }

    public String progress() {
      return progress.get();
    }

    /** When the work began to run (time spent queued is not the work's): until then, when it was submitted. */
    public Instant started() {
      return started.get();
    }

    public boolean done() {
      return future.isDone();
    }
  }

  private final ExecutorService pool;
  private final int perNamespace;
  private final StepTimes steps;
  private final Map<String, Task<?>> tasks = new ConcurrentHashMap<>();
  private final Map<String, Task<?>> taken = new ConcurrentHashMap<>();
  /** Tasks handed to the pool, per namespace. Guarded by {@code this}. */
  private final Map<String, Integer> admitted = new java.util.HashMap<>();
  /** Tasks waiting for their namespace's turn, in order. Guarded by {@code this}. */
  private final Map<String, java.util.Deque<Queued>> queues = new java.util.HashMap<>();

  private record Queued(Task<?> task, Runnable run) {}

  /** A pool without a limit per namespace (every namespace may use every thread). */
  public WorkExecutor(int threads) {
    this(threads, threads);
  }

  /** A pool of {@code threads}, of which one namespace runs at most {@code perNamespace} tasks at once. */
  public WorkExecutor(int threads, int perNamespace) {
    this(threads, perNamespace, StepTimes.unread());
  }

  /** The same, timing how long each task waited for its turn. */
  public WorkExecutor(int threads, int perNamespace, StepTimes steps) {
    this.steps = steps;
    if (perNamespace < 1) {
      throw new IllegalArgumentException("at least one task per namespace, not " + perNamespace);
    }
    this.perNamespace = perNamespace;
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
    AtomicReference<Instant> started = new AtomicReference<>(Instant.now());
    long submittedNanos = System.nanoTime();
    Map<String, String> context = MDC.getCopyOfContextMap();
    java.util.concurrent.FutureTask<T> future = new java.util.concurrent.FutureTask<>(() -> {
      Map<String, String> previous = MDC.getCopyOfContextMap();
      if (context != null) {
        MDC.setContextMap(context);
      }
      try {
        started.set(Instant.now());
        steps.record(StepTimes.Step.WORK_QUEUE, System.nanoTime() - submittedNanos);
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
    Task<T> task = new Task<>(future, progress, started);
    tasks.put(key, task);
    String namespace = namespace(key);
    admit(namespace, new Queued(task, () -> {
      try {
        future.run();
      } finally {
        ended(namespace);
      }
    }));
    return task;
  }

  /** The reason of a pass whose work waits for a worker. */
  public static final String QUEUED = "Queued";
  private static final java.time.Duration QUEUED_POLL = java.time.Duration.ofSeconds(5);

  /**
   * The pass of a resource whose work waits for its namespace's turn says so, the same for every kind
   * (the reconcilers' template applies it): reason {@link #QUEUED}, these words ("namespace X runs N of
   * N allowed long tasks"), and a look again soon, as the task starts once one of its namespace's ends.
   */
  public <P> Pass<P> queuedInstead(String key, Pass<P> pass) {
    if (!pass.progressing()) {
      return pass;
    }
    return this.<Object>get(key).filter(Task::queued)
        .map(task -> pass.queued(QUEUED, task.progress(), QUEUED_POLL)).orElse(pass);
  }

  /** The most tasks of one namespace that run at once. */
  public int perNamespace() {
    return perNamespace;
  }

  /** Tasks of a namespace handed to the pool now (running, or waiting for a thread). */
  public synchronized int admitted(String namespace) {
    return admitted.getOrDefault(namespace, 0);
  }

  /** Tasks of a namespace waiting for its turn now. */
  public synchronized int queuedIn(String namespace) {
    java.util.Deque<Queued> queue = queues.get(namespace);
    return queue == null ? 0 : (int) queue.stream().filter(q -> !q.task().future().isDone()).count();
  }

  private synchronized void admit(String namespace, Queued q) {
    int running = admitted.getOrDefault(namespace, 0);
    if (running < perNamespace) {
      admitted.put(namespace, running + 1);
      pool.execute(q.run());
      return;
    }
    q.task().queued = true;
    ((Task<?>) q.task()).progress.set("queued: namespace " + namespace + " runs " + running + " of "
        + perNamespace + " allowed long tasks");
    queues.computeIfAbsent(namespace, k -> new java.util.ArrayDeque<>()).addLast(q);
  }

  /** A task of the namespace ended: its place goes to the namespace's next queued task that is not cancelled. */
  private synchronized void ended(String namespace) {
    java.util.Deque<Queued> queue = queues.get(namespace);
    while (queue != null && !queue.isEmpty()) {
      Queued next = queue.pollFirst();
      if (next.task().future().isDone()) {
        continue; // cancelled while it waited
      }
      next.task().queued = false;
      next.task().progress.set("queued");
      if (queue.isEmpty()) {
        queues.remove(namespace);
      }
      if (!pool.isShutdown()) {
        pool.execute(next.run());
      }
      return;
    }
    queues.remove(namespace);
    int running = admitted.getOrDefault(namespace, 1) - 1;
    if (running <= 0) {
      admitted.remove(namespace);
    } else {
      admitted.put(namespace, running);
    }
  }

  /**
   * The key of a resource's work, its results waiting for a status write and its announcements:
   * namespace, kind, name. The kind is part of it because every reconciler shares this pool and
   * resources of different kinds may share a name (a backup and a retention policy both called
   * "nightly"): under namespace/name alone one took the other's finished work. The namespace comes
   * first, as the per-namespace limit reads it from there.
   */
  public static String keyOf(HasMetadata resource) {
    return resource.getMetadata().getNamespace() + "/" + resource.getKind() + "/" + resource.getMetadata().getName();
  }

  private static String namespace(String key) {
    int slash = key.indexOf('/');
    return slash < 0 ? "" : key.substring(0, slash);
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
      dequeue(namespace(key), task);
    }
  }

  /**
   * Drops a key's task if it still waits for its namespace's turn (it never started, so nothing of it
   * needs cleaning up); a running task is left alone. Returns whether one was dropped.
   */
  public synchronized boolean cancelQueued(String key) {
    Task<?> task = tasks.get(key);
    if (task == null || !task.queued()) {
      return false;
    }
    tasks.remove(key, task);
    task.future().cancel(true);
    dequeue(namespace(key), task);
    return true;
  }

  /** A cancelled task that still waited for its turn leaves the queue (it holds no place in the pool). */
  private synchronized void dequeue(String namespace, Task<?> task) {
    java.util.Deque<Queued> queue = queues.get(namespace);
    if (queue != null && queue.removeIf(q -> q.task() == task) && queue.isEmpty()) {
      queues.remove(namespace);
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
