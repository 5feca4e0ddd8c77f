package dev.housekeeper.migration;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Renews a held {@link MigrationLock} in the background while one statement runs (see
 * {@link MigrationLock#keepAlive()}). Closing stops the renewals and throws
 * {@link MigrationLock.LockLostException} if one of them found the lock lost.
 */
public final class LockKeepAlive implements AutoCloseable {

  private final MigrationLock lock;
  private final Duration ttl;
  private final Thread renewer;
  private volatile RuntimeException failure;
  private volatile boolean done;

  LockKeepAlive(MigrationLock lock, String holder, Duration ttl) {
    this.lock = lock;
    this.ttl = ttl;
    renewer = new Thread(this::renewUntilDone, "housekeeper-lock-" + holder);
    renewer.setDaemon(true);
    renewer.start();
  }

  private void renewUntilDone() {
    long period = Math.max(200, ttl.toMillis() / 3);
    while (!done) {
      try {
        Thread.sleep(period);
      } catch (InterruptedException e) {
        return;
      }
      if (done) {
        return;
      }
      try {
        lock.renewIfDue();
      } catch (RuntimeException e) {
        // a lost lock cannot be taken back; a passing failure is tried again at the next period, while the claim
        // (renewed within the last third) still has time
        if (e instanceof MigrationLock.LockLostException) {
          failure = e;
          return;
        }
      }
    }
  }

  @Override
  public void close() {
    done = true;
    renewer.interrupt();
    try {
      renewer.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (failure != null) {
      throw failure;
    }
  }
}
