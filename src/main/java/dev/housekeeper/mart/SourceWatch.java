package dev.housekeeper.mart;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.postgresql.core.BaseConnection;

/**
 * Watches one jdbc load from beside it, and stops its source query when the load's time is up or
 * its work is cancelled (the mart deleted, the operator stopping). A thread blocked in a socket read
 * of the driver does not notice {@link Thread#interrupt}, and the PostgreSQL backend would go on
 * running the query (or waiting for a lock) after the client gave up; so the watch sends the
 * server's cancel request for the connection, then aborts the connection, which ends the backend.
 */
final class SourceWatch implements AutoCloseable {

  /** Why the watch stopped the load. */
  enum Stop { TIMED_OUT, TOO_LONG, CANCELLED }

  /** One daemon thread looks at every running load: a look is a few reads, and cancelling is rare. */
  private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "housekeeper-jdbc-watch");
    t.setDaemon(true);
    return t;
  });
  static final Duration LOOK = Duration.ofMillis(200);

  private final Thread worker = Thread.currentThread();
  private final long idleLimit;
  private final long deadline;
  private volatile Connection connection;
  /** When the load began to wait for the source (System.nanoTime), 0 while it is not waiting. */
  private volatile long waitingSince;
  private volatile Stop stop;
  private final ScheduledFuture<?> looks;

  /**
   * @param idle how long the source may take to answer one call (spec.source.jdbc.queryTimeout)
   * @param total how long the whole load may take (spec.statementTimeout)
   */
  SourceWatch(Duration idle, Duration total) {
    long now = System.nanoTime();
    this.idleLimit = idle.toNanos();
    this.deadline = now + total.toNanos();
    this.looks = TIMER.scheduleWithFixedDelay(this::look, LOOK.toMillis(), LOOK.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The connection to stop, once it is open. */
  void watch(Connection c) {
    this.connection = c;
    if (stop != null) {
      cancel(); // stopped while connecting
    }
  }

  /** The load now waits for the source (a query, a fetch of the next rows). */
  void waiting() {
    waitingSince = System.nanoTime();
  }

  /** The source answered. */
  void answered() {
    waitingSince = 0;
  }

  /** Why the load was stopped, or null. */
  Stop stopped() {
    return stop;
  }

  private void look() {
    if (stop != null) {
      return;
    }
    long now = System.nanoTime();
    long since = waitingSince;
    Stop why = worker.isInterrupted() ? Stop.CANCELLED : now - deadline > 0 ? Stop.TOO_LONG
        : since != 0 && now - since > idleLimit ? Stop.TIMED_OUT : null;
    if (why != null) {
      stop = why;
      // on its own thread: a cancel request to an unreachable server waits, and the timer serves every load
      Thread t = new Thread(this::cancel, "housekeeper-jdbc-cancel");
      t.setDaemon(true);
      t.start();
    }
  }

  private void cancel() {
    Connection c = connection;
    if (c == null) {
      return;
    }
    try {
      // the server's cancel request, whatever the statement's state (a fetch of a cursor's next rows too)
      c.unwrap(BaseConnection.class).cancelQuery();
    } catch (SQLException | RuntimeException e) {
      // the abort below still ends the session
    }
    try {
      c.abort(Runnable::run);
    } catch (SQLException | RuntimeException e) {
      // already closed
    }
  }

  @Override
  public void close() {
    looks.cancel(false);
  }
}
