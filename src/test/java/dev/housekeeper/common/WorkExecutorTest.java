package dev.housekeeper.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The work pool's limit per namespace, scripted with work that waits on latches. */
class WorkExecutorTest {

  /** Work that says it started and runs until released. */
  private static final class Scripted implements WorkExecutor.Work<String> {
    final CountDownLatch started = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public String run(java.util.function.Consumer<String> progress) throws Exception {
      progress.accept("working");
      started.countDown();
      release.await();
      return "done";
    }
  }

  @Test
  void aNamespaceAtItsLimitQueuesWhileOthersStartAtOnce() throws Exception {
    try (WorkExecutor work = new WorkExecutor(4, 1)) {
      Scripted a1 = new Scripted();
      Scripted a2 = new Scripted();
      Scripted b1 = new Scripted();
      work.submit("team-a/first", a1);
      assertTrue(a1.started.await(5, TimeUnit.SECONDS));
      WorkExecutor.Task<String> second = work.submit("team-a/second", a2);
      work.submit("team-b/only", b1);

      assertTrue(b1.started.await(5, TimeUnit.SECONDS), "another namespace's work starts at once");
      assertThat(second.queued()).isTrue();
      assertThat(second.progress()).isEqualTo("queued: namespace team-a runs 1 of 1 allowed long tasks");
      assertThat(a2.started.await(300, TimeUnit.MILLISECONDS)).isFalse();
      assertThat(work.admitted("team-a")).isEqualTo(1);
      assertThat(work.queuedIn("team-a")).isEqualTo(1);

      a1.release.countDown();
      assertTrue(a2.started.await(5, TimeUnit.SECONDS), "the queued task runs when its namespace's task ends");
      assertThat(second.queued()).isFalse();
      a2.release.countDown();
      b1.release.countDown();
      assertThat(second.future().get(5, TimeUnit.SECONDS)).isEqualTo("done");
      awaitAdmitted(work, "team-a", 0);
      assertThat(work.queuedIn("team-a")).isZero();
    }
  }

  @Test
  void schemaWorkRunsBesideANamespacesLongTasksInItsOwnLaneAndQueuesOnlyBehindItsOwn() throws Exception {
    try (WorkExecutor work = new WorkExecutor(1, 1)) {
      Scripted backup = new Scripted();
      Scripted migration = new Scripted();
      Scripted nextMigration = new Scripted();
      work.submit("team-a/backup", backup);
      assertTrue(backup.started.await(5, TimeUnit.SECONDS));
      work.submit("team-a/migration", WorkExecutor.Lane.SCHEMA, migration, null);
      assertTrue(migration.started.await(5, TimeUnit.SECONDS), "a migration does not wait behind a backup");
      assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
          .contains("housekeeper-work-1", "housekeeper-schema-work-1");
      WorkExecutor.Task<String> queued = work.submit("team-a/next", WorkExecutor.Lane.SCHEMA, nextMigration, null);
      assertThat(queued.queued()).isTrue();
      assertThat(queued.progress()).isEqualTo("queued: all 1 workers for migrations and mart refreshes are busy"
          + " (namespace team-a runs 1 of them)");
      assertThat(work.admitted("team-a")).isEqualTo(2);
      assertThat(work.queuedIn("team-a")).isEqualTo(1);

      migration.release.countDown();
      assertTrue(nextMigration.started.await(5, TimeUnit.SECONDS), "its own lane's slot frees it, the backup runs on");
      assertThat(backup.release.getCount()).isEqualTo(1);
      nextMigration.release.countDown();
      backup.release.countDown();
      awaitAdmitted(work, "team-a", 0);
      assertThat(work.queuedIn("team-a")).isZero();
    }
  }

  /**
   * The schema lane lends: one namespace's migrations take every idle thread while no other namespace
   * waits; a namespace that comes later takes the next thread that frees up, before the first
   * namespace's next task, and then the first namespace's waiting task runs.
   */
  @Test
  void theSchemaLaneLendsIdleThreadsAndALaterNamespaceTakesTheNextFreeOne() throws Exception {
    try (WorkExecutor work = new WorkExecutor(3, 1)) {
      Scripted[] a = {new Scripted(), new Scripted(), new Scripted(), new Scripted()};
      for (int i = 0; i < 3; i++) {
        work.submit("team-a/m" + i, WorkExecutor.Lane.SCHEMA, a[i], null);
        assertTrue(a[i].started.await(5, TimeUnit.SECONDS), "no other namespace waits: team-a borrows thread " + i);
      }
      WorkExecutor.Task<String> fourth = work.submit("team-a/m3", WorkExecutor.Lane.SCHEMA, a[3], null);
      assertThat(fourth.progress()).isEqualTo("queued: all 3 workers for migrations and mart refreshes are busy"
          + " (namespace team-a runs 3 of them)");
      Scripted b = new Scripted();
      WorkExecutor.Task<String> other = work.submit("team-b/m", WorkExecutor.Lane.SCHEMA, b, null);
      assertThat(other.queued()).isTrue();
      assertThat(other.progress()).isEqualTo("queued: all 3 workers for migrations and mart refreshes are busy"
          + " (namespace team-b runs 0 of them)");
      assertThat(work.admitted("team-a")).isEqualTo(3);
      assertThat(work.queuedIn("team-a") + work.queuedIn("team-b")).isEqualTo(2);

      a[0].release.countDown();
      assertTrue(b.started.await(5, TimeUnit.SECONDS), "the freed thread goes to the namespace under its share");
      assertThat(a[3].started.await(300, TimeUnit.MILLISECONDS)).isFalse();
      a[1].release.countDown();
      assertTrue(a[3].started.await(5, TimeUnit.SECONDS), "then team-a borrows again, as nobody else waits");
      for (Scripted s : new Scripted[] {a[2], a[3], b}) {
        s.release.countDown();
      }
      awaitAdmitted(work, "team-a", 0);
      awaitAdmitted(work, "team-b", 0);
    }
  }

  /** The data lane does not lend: its tasks may run for hours, and a borrowed thread would be held that long. */
  @Test
  void theDataLaneKeepsItsShareWithIdleThreads() throws Exception {
    try (WorkExecutor work = new WorkExecutor(4, 1)) {
      Scripted first = new Scripted();
      Scripted second = new Scripted();
      work.submit("team-a/backup", first);
      assertTrue(first.started.await(5, TimeUnit.SECONDS));
      WorkExecutor.Task<String> queued = work.submit("team-a/restore", second);
      assertThat(second.started.await(300, TimeUnit.MILLISECONDS)).isFalse();
      assertThat(queued.progress()).isEqualTo("queued: namespace team-a runs 1 of 1 allowed long tasks");
      first.release.countDown();
      assertTrue(second.started.await(5, TimeUnit.SECONDS));
      second.release.countDown();
      awaitAdmitted(work, "team-a", 0);
    }
  }

  @Test
  void aQueuedTaskCancelledNeverRunsAndHoldsNoPlace() throws Exception {
    try (WorkExecutor work = new WorkExecutor(4, 1)) {
      Scripted first = new Scripted();
      work.submit("team-a/first", first);
      assertTrue(first.started.await(5, TimeUnit.SECONDS));
      AtomicBoolean ran = new AtomicBoolean();
      CountDownLatch doneCalled = new CountDownLatch(1);
      work.submit("team-a/cancelled", p -> {
        ran.set(true);
        return "ran";
      }, doneCalled::countDown);
      work.cancel("team-a/cancelled");
      assertTrue(doneCalled.await(5, TimeUnit.SECONDS), "a cancelled queued task is reported done at once");
      assertThat(work.queuedIn("team-a")).isZero();

      Scripted third = new Scripted();
      work.submit("team-a/third", third);
      first.release.countDown();
      assertTrue(third.started.await(5, TimeUnit.SECONDS), "the next task takes the place");
      third.release.countDown();
      awaitAdmitted(work, "team-a", 0);
      assertThat(ran).isFalse();
    }
  }

  @Test
  void cancelQueuedDropsOnlyATaskThatHasNotStarted() throws Exception {
    try (WorkExecutor work = new WorkExecutor(4, 1)) {
      Scripted first = new Scripted();
      work.submit("team-a/first", first);
      assertTrue(first.started.await(5, TimeUnit.SECONDS));
      AtomicBoolean ran = new AtomicBoolean();
      work.submit("team-a/waiting", p -> {
        ran.set(true);
        return "ran";
      });
      assertThat(work.cancelQueued("team-a/first")).as("a running task is left alone").isFalse();
      assertThat(work.cancelQueued("team-a/waiting")).isTrue();
      assertThat(work.get("team-a/waiting")).isEmpty();
      assertThat(work.queuedIn("team-a")).isZero();
      first.release.countDown();
      awaitAdmitted(work, "team-a", 0);
      assertThat(ran).isFalse();
    }
  }

  @Test
  void aQueuedTasksDurationStartsWhenItRuns() throws Exception {
    try (WorkExecutor work = new WorkExecutor(4, 1)) {
      Scripted first = new Scripted();
      work.submit("team-a/first", first);
      assertTrue(first.started.await(5, TimeUnit.SECONDS));
      Scripted second = new Scripted();
      WorkExecutor.Task<String> task = work.submit("team-a/second", second);
      java.time.Instant submitted = task.started();
      Thread.sleep(200);
      first.release.countDown();
      assertTrue(second.started.await(5, TimeUnit.SECONDS));
      assertThat(java.time.Duration.between(submitted, task.started())).isGreaterThanOrEqualTo(
          java.time.Duration.ofMillis(150));
      second.release.countDown();
    }
  }

  @Test
  void withoutALimitEveryThreadServesOneNamespace() throws Exception {
    try (WorkExecutor work = new WorkExecutor(3)) {
      Scripted[] tasks = {new Scripted(), new Scripted(), new Scripted()};
      for (int i = 0; i < tasks.length; i++) {
        work.submit("team-a/" + i, tasks[i]);
      }
      for (Scripted t : tasks) {
        assertTrue(t.started.await(5, TimeUnit.SECONDS));
        t.release.countDown();
      }
    }
  }

  private static void awaitAdmitted(WorkExecutor work, String namespace, int n) throws InterruptedException {
    long end = System.currentTimeMillis() + 5000;
    while (work.admitted(namespace) != n && System.currentTimeMillis() < end) {
      Thread.sleep(5);
    }
    assertThat(work.admitted(namespace)).isEqualTo(n);
  }
}
