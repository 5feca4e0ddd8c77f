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
