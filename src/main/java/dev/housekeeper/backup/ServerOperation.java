package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.Transient;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * One BACKUP or RESTORE that the server runs in the background ({@code ... ASYNC}), as
 * {@code system.backups} shows it by its id. A native backup and each table of a native restore are
 * watched the same way: the row read after 50 ms, then every twentieth of the time it has run so far, up
 * to once a second, or, for a backup whose size is known, at half the time its progress says is left;
 * its end states; its progress (files, bytes) in words; and a read that fails for a passing reason tried
 * again until the statement limit, because the server's work goes on meanwhile.
 */
final class ServerOperation {

  /** How often the server's progress is read, once the operation has run a while. */
  static final Duration POLL = Duration.ofSeconds(1);
  /** The first wait: a short operation (a small table, a backup of hard links) is seen ending at once. */
  static final Duration FIRST_POLL = Duration.ofMillis(50);
  /**
   * The wait between reads as a share of the time run so far: the end is seen at most 5% late (plus the
   * first wait), where waits doubling up to a second saw a 3 s backup end up to 1 s, a third, late.
   */
  static final int POLLS_PER_ELAPSED = 20;

  private long started = System.nanoTime();
  /** The bytes the operation will have written when it ends (0: not known), to read its row near its end. */
  private long expectedBytes;

  /** How long to wait before the next read, after {@code last} (null: none read yet). */
  Duration nextPoll(Row last) {
    Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
    long done = expectedBytes > 0 && last != null && last.has("total_size") ? last.longValue("total_size") : 0;
    return done > 0 ? pollAfter(elapsed, done, expectedBytes) : pollAfter(elapsed);
  }

  /**
   * Reads at its expected end rather than often: each read at half the time its rate so far says is left
   * (a backup of one second was read 2 to 6 times instead of about 20; each read costs the server some CPU
   * that the backup itself would use), within 50 ms and 1 s.
   */
  static Duration pollAfter(Duration elapsed, long doneBytes, long expectedBytes) {
    double left = (double) Math.max(0, expectedBytes - doneBytes) / doneBytes;
    return clamp(Duration.ofNanos((long) (elapsed.toNanos() * left / 2)));
  }

  static Duration pollAfter(Duration elapsed) {
    return clamp(elapsed.dividedBy(POLLS_PER_ELAPSED));
  }

  private static Duration clamp(Duration wait) {
    return wait.compareTo(FIRST_POLL) < 0 ? FIRST_POLL : wait.compareTo(POLL) > 0 ? POLL : wait;
  }

  /**
   * The bytes a full backup writes: its tables' parts on disk (the server copies every file of them);
   * unknown (0) for an incremental backup, which writes only what its base lacks.
   */
  ServerOperation expecting(long bytes) {
    this.expectedBytes = bytes;
    return this;
  }

  /** When the server was asked to run it ({@link System#nanoTime}), where that was before this watch began. */
  ServerOperation since(long startedNanos) {
    this.started = startedNanos;
    return this;
  }

  private final ClickHouseClient client;
  private final String id;
  /** BACKUP or RESTORE. */
  private final String operation;
  /** What it works on, for messages: "" or " of db.table". */
  private final String of;
  /** What a server that no longer lists it means for the user. */
  private final String ifGone;
  private final Duration limit;
  private final long deadline;
  private final Consumer<String> progress;

  ServerOperation(ClickHouseClient client, String id, String operation, String of, String ifGone, Duration limit,
      Consumer<String> progress) {
    this.client = client;
    this.id = id;
    this.operation = operation;
    this.of = of;
    this.ifGone = ifGone;
    this.limit = limit;
    this.deadline = System.nanoTime() + limit.toNanos();
    this.progress = progress;
  }

  /** Its row, or null when the row could not be read for a passing reason (said in the progress). */
  Row read() {
    try {
      List<Row> rows = client.query(Sql.query("SELECT * FROM system.backups WHERE id = ?", id));
      if (rows.isEmpty()) {
        throw new IllegalStateException("the server no longer lists its " + operation + " " + id + of
            + " (it restarted); " + ifGone);
      }
      return rows.get(0);
    } catch (ClickHouseException e) {
      if (!Transient.is(e) || pastDeadline()) {
        throw e;
      }
      progress.accept("server-side " + operation + " " + id + of + ": its progress cannot be read (" + e.getMessage()
          + "); trying again");
      return null;
    }
  }

  /**
   * Whether the row says the server finished it; a failed or cancelled one throws; one still running
   * has its progress said.
   */
  boolean finished(Row row) {
    String state = row.string("status");
    if (state.equals("BACKUP".equals(operation) ? "BACKUP_CREATED" : "RESTORED")) {
      return true;
    }
    if (state.endsWith("_FAILED")) {
      throw new IllegalStateException("the server's " + operation + of + " failed: " + row.string("error"));
    }
    if (state.endsWith("_CANCELLED")) {
      throw new IllegalStateException("the server's " + operation + of + " was cancelled");
    }
    progress.accept("server-side " + operation + " " + id + of + ": " + state + describeProgress(row));
    return false;
  }

  /** Throws once the statement limit has passed. */
  void checkDeadline() {
    if (pastDeadline()) {
      throw new IllegalStateException("the server's " + operation + of + " did not end within spec.statementTimeout ("
          + StatementTimeout.text(limit) + ")");
    }
  }

  private boolean pastDeadline() {
    return System.nanoTime() > deadline;
  }

  /** Files and bytes of a row of system.backups, as far as the server's version reports them. */
  private static String describeProgress(Row row) {
    StringBuilder out = new StringBuilder();
    if (row.has("num_files")) {
      out.append(", ").append(row.longValue("num_files")).append(" files");
    }
    for (String column : List.of("total_size", "uncompressed_size")) {
      if (row.has(column)) {
        out.append(", ").append(row.longValue(column)).append(" bytes");
        break;
      }
    }
    return out.toString();
  }
}
