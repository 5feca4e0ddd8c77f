package dev.housekeeper.backup;

/**
 * One table's outcome in a restore: restored (loaded and verified), skipped (it exists and the mode
 * leaves it alone) or failed (left untouched; {@code retriable} when the failure was a passing one).
 *
 * @param source {@code db.table} in the backup
 * @param target {@code db.table} restored into
 */
public record RestoreTable(String source, String target, State state, long rows, int partitions, String error,
    boolean retriable) {

  /** How a table's restore ended. */
  public enum State {
    Restored,
    Skipped,
    Failed
  }

  static RestoreTable restored(String source, String target, long rows, int partitions) {
    return new RestoreTable(source, target, State.Restored, rows, partitions, null, false);
  }

  static RestoreTable skipped(String source, String target, String why) {
    return new RestoreTable(source, target, State.Skipped, 0, 0, why, false);
  }

  static RestoreTable failed(String source, String target, String why, boolean retriable) {
    return new RestoreTable(source, target, State.Failed, 0, 0, why, retriable);
  }

  /** The state as status shows it: Restored, Skipped or Failed. */
  public String outcome() {
    return state.name();
  }

  boolean isFailed() {
    return state == State.Failed;
  }
}
