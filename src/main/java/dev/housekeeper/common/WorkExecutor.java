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
 * <p>Each {@link Lane} has its own threads, and takes turns between namespaces ({@link LaneTurns}):
 * one namespace runs at most {@code perNamespace} tasks of a lane at once while another namespace's
 * task of that lane waits, so that one tenant with many backups cannot take every worker while other
 * namespaces' work starts at once. The schema lane lends idle threads to a namespace beyond that
 * while no other namespace waits; the data lane does not. A waiting task says so in
 * {@link Task#queued()} and its progress.
 */
public final class WorkExecutor implements AutoCloseable {

  /**
   * Work of two lanes runs on two pools, each taking its own turns, so that a migration or a mart
   * refresh never waits behind backups that may take hours, nor they behind it; and so that the short
   * work of one namespace may borrow idle threads: 500 migrations and marts of one namespace waited
   * 9.5 s each on average when they ran 2 at a time beside idle workers (docs/performance.md).
   */
  public enum Lane {
    /** Backups, restores, retention and OPTIMIZE runs: data moved or removed, for minutes or hours. */
    DATA("long tasks", "housekeeper-work-", false),
    /**
     * Migrations and mart refreshes: statements and loads of a schema's or a report's size. Their
     * threads are lent to one namespace while no other waits: a borrowed thread is back soon.
     */
    SCHEMA("migrations and mart refreshes", "housekeeper-schema-work-", true);

    private final String words;
    private final String threadPrefix;
    private final boolean lends;

    Lane(String words, String threadPrefix, boolean lends) {
      this.words = words;
      this.threadPrefix = threadPrefix;
      this.lends = lends;
    }
  }

  /** Long work, reporting progress in words. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Consumer<String> progress) throws Exception;
  }

  /** A task in flight or finished. */
  public static final class Task<T> implements LaneTurns.Waiting {
    private final Future<T> future;
    private final AtomicReference<String> progress;
    private final AtomicReference<Instant> started;
    private final Lane lane;
    private final String namespace;
    private volatile boolean queued;

    Task(Future<T> future, AtomicReference<String> progress, AtomicReference<Instant> started, Lane lane,
        String namespace) {
      this.future = future;
      this.progress = progress;
      this.started = started;
      this.lane = lane;
      this.namespace = namespace;
    }

    @Override
    public boolean gone() {
      return future.isDone();
    }

    @Override
    public void waits(String why) {
      queued = true;
      progress.set(why);
    }

    @Override
    public void starts() {
      queued = false;
      progress.set("queued");
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

  private final Map<Lane, ExecutorService> pools = new java.util.EnumMap<>(Lane.class);
  private final Map<Lane, LaneTurns> turns = new java.util.EnumMap<>(Lane.class);
  private final int perNamespace;
  private final StepTimes steps;
  private final Map<String, Task<?>> tasks = new ConcurrentHashMap<>();
  private final Map<String, Task<?>> taken = new ConcurrentHashMap<>();

  /** A pool without a limit per namespace (every namespace may use every thread). */
  public WorkExecutor(int threads) {
    this(threads, threads);
  }

  /**
   * A pool of {@code threads} per lane, of which one namespace runs at most {@code perNamespace} tasks
   * of that lane at once.
   */
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
    for (Lane lane : Lane.values()) {
      AtomicInteger n = new AtomicInteger();
      // a fixed pool makes its threads as tasks come: a lane never used holds none
      ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
        Thread t = new Thread(r, lane.threadPrefix + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      pools.put(lane, pool);
      turns.put(lane, new LaneTurns(pool, threads, perNamespace, lane.lends, lane.words));
    }
  }

  /** Starts work for a key in the data lane; the caller checks first that none is running. */
  public <T> Task<T> submit(String key, Work<T> work) {
    return submit(key, Lane.DATA, work, null);
  }

  /** Starts work for a key in the data lane, then {@code onDone} (see the next). */
  public <T> Task<T> submit(String key, Work<T> work, Runnable onDone) {
    return submit(key, Lane.DATA, work, onDone);
  }

  /**
   * Starts work for a key in a lane; {@code onDone} runs once the task's future is done (so that the
   * caller can look at once, rather than at its next poll).
   */
  public <T> Task<T> submit(String key, Lane lane, Work<T> work, Runnable onDone) {
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
    String namespace = namespace(key);
    Task<T> task = new Task<>(future, progress, started, lane, namespace);
    tasks.put(key, task);
    LaneTurns laneTurns = turns.get(lane);
    laneTurns.submit(namespace, task, () -> {
      try {
        future.run();
      } finally {
        laneTurns.ended(namespace);
      }
    });
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

  /** The most tasks of one namespace that run at once in one lane. */
  public int perNamespace() {
    return perNamespace;
  }

  /** Tasks of a namespace running now, in both lanes. */
  public int admitted(String namespace) {
    return turns.values().stream().mapToInt(t -> t.running(namespace)).sum();
  }

  /** Tasks of a namespace waiting for their turn now, in both lanes. */
  public int queuedIn(String namespace) {
    return turns.values().stream().mapToInt(t -> t.waiting(namespace)).sum();
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
      turns.get(task.lane).withdraw(task.namespace, task);
    }
  }

  /**
   * Drops a key's task if it still waits for its namespace's turn (it never started, so nothing of it
   * needs cleaning up); a running task is left alone. Returns whether one was dropped.
   */
  public boolean cancelQueued(String key) {
    Task<?> task = tasks.get(key);
    // taken out of its lane's queue under the lane's lock: it cannot start in between
    if (task == null || !turns.get(task.lane).withdraw(task.namespace, task)) {
      return false;
    }
    tasks.remove(key, task);
    task.future().cancel(true);
    return true;
  }

  /** Interrupts every piece of work and takes no more, without waiting for them to end. */
  public void interruptAll() {
    pools.values().forEach(ExecutorService::shutdownNow);
  }

  @Override
  public void close() {
    interruptAll();
    try {
      for (ExecutorService pool : pools.values()) {
        pool.awaitTermination(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
