package dev.housekeeper.common;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;

/**
 * Whose task runs next in one lane of the {@link WorkExecutor}: at most {@code threads} tasks run
 * at once, and one namespace runs at most {@code perNamespace} of them while another namespace's
 * task waits. A lane that {@code lends} lets a namespace borrow threads beyond its share while no
 * other namespace waits (500 migrations of one namespace need not run 2 at a time beside 2 idle
 * threads); a thread that frees up goes first to a waiting namespace under its share, so that a
 * namespace arriving later waits at most for one task to end. A lane that does not lend keeps the
 * share strictly: its tasks may run for hours, and a borrowed thread would be held that long.
 *
 * <p>Tasks wait here, never in the pool's own queue: a task is handed to the pool only when one of
 * the lane's threads is free for it.
 */
final class LaneTurns {

  /** A task that waits for its turn: {@code start} hands it to the pool. */
  interface Waiting {
    /** Cancelled while it waited: it never runs and holds no place. */
    boolean gone();

    /** Says why it waits, in words for its status. */
    void waits(String why);

    /** Its turn came: it is handed to the pool. */
    void starts();
  }

  private record Entry(Waiting task, Runnable run) {}

  private final ExecutorService pool;
  private final int threads;
  private final int perNamespace;
  private final boolean lends;
  private final String words;
  private int running;
  private final Map<String, Integer> runningIn = new HashMap<>();
  /** Namespaces with waiting tasks, in the order their first one began to wait; each in order. */
  private final Map<String, Deque<Entry>> waiting = new LinkedHashMap<>();

  LaneTurns(ExecutorService pool, int threads, int perNamespace, boolean lends, String words) {
    this.pool = pool;
    this.threads = threads;
    this.perNamespace = perNamespace;
    this.lends = lends;
    this.words = words;
  }

  /** A task of {@code namespace} asks for a turn: it runs now if it may, else waits, saying why. */
  synchronized void submit(String namespace, Waiting task, Runnable run) {
    waiting.computeIfAbsent(namespace, k -> new ArrayDeque<>()).addLast(new Entry(task, run));
    fill();
    if (waiting.containsKey(namespace) && waiting.get(namespace).peekLast().task() == task) {
      int mine = runningIn.getOrDefault(namespace, 0);
      task.waits(running < threads
          ? "queued: namespace " + namespace + " runs " + mine + " of " + perNamespace + " allowed " + words
          : "queued: all " + threads + " workers for " + words + " are busy (namespace " + namespace + " runs "
              + mine + " of them)");
    }
  }

  /** A task of {@code namespace} ended: its thread goes to the next turn. */
  synchronized void ended(String namespace) {
    running--;
    int mine = runningIn.getOrDefault(namespace, 1) - 1;
    if (mine <= 0) {
      runningIn.remove(namespace);
    } else {
      runningIn.put(namespace, mine);
    }
    fill();
  }

  /** Takes a waiting task out of its queue; false if it is not waiting (it started, or never waited). */
  synchronized boolean withdraw(String namespace, Waiting task) {
    Deque<Entry> queue = waiting.get(namespace);
    boolean removed = queue != null && queue.removeIf(e -> e.task() == task);
    if (removed && queue.isEmpty()) {
      waiting.remove(namespace);
    }
    return removed;
  }

  synchronized int running(String namespace) {
    return runningIn.getOrDefault(namespace, 0);
  }

  synchronized int waiting(String namespace) {
    Deque<Entry> queue = waiting.get(namespace);
    return queue == null ? 0 : (int) queue.stream().filter(e -> !e.task().gone()).count();
  }

  /** Hands free threads to waiting tasks, as long as there are both. */
  private void fill() {
    while (running < threads && !pool.isShutdown()) {
      String next = nextNamespace();
      if (next == null) {
        return;
      }
      Deque<Entry> queue = waiting.get(next);
      Entry entry = queue.pollFirst();
      if (queue.isEmpty()) {
        waiting.remove(next);
      }
      if (entry.task().gone()) {
        continue;
      }
      running++;
      runningIn.merge(next, 1, Integer::sum);
      entry.task().starts();
      pool.execute(entry.run());
    }
  }

  /**
   * The namespace whose task runs next: of those under their share, the one running fewest (the one
   * that began to wait first among equals); else, where the lane lends, the one running fewest.
   */
  private String nextNamespace() {
    String under = null;
    String fewest = null;
    for (String namespace : waiting.keySet()) {
      int mine = runningIn.getOrDefault(namespace, 0);
      if (mine < perNamespace && (under == null || mine < runningIn.getOrDefault(under, 0))) {
        under = namespace;
      }
      if (fewest == null || mine < runningIn.getOrDefault(fewest, 0)) {
        fewest = namespace;
      }
    }
    return under != null ? under : lends ? fewest : null;
  }
}
