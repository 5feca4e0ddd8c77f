package dev.housekeeper.backup;

/**
 * One table's outcome in a restore: restored (loaded and verified), skipped (it exists and the mode
 * leaves it alone) or failed (left untouched; {@code retriable} when the failure was a passing one).
 *
 * @param source {@code db.table} in the backup
 * @param target {@code db.table} restored into
 * @param targetExisted whether the target existed before the restore touched it (null: not looked at)
 * @param partitionsSkipped partitions of the backup's table that the partition filter or schemaOnly left out
 */
public record RestoreTable(String source, String target, State state, long rows, int partitions, String error,
    boolean retriable, Boolean targetExisted, int partitionsSkipped) {

  /** How a table's restore ended. */
  public enum State {
    Restored,
    Skipped,
    Failed
  }

  RestoreTable(String source, String target, State state, long rows, int partitions, String error,
      boolean retriable) {
    this(source, target, state, rows, partitions, error, retriable, null, 0);
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

  /** The same outcome, with whether its target existed and how many of its partitions were left out. */
  RestoreTable found(boolean existed, int skipped) {
    return new RestoreTable(source, target, state, rows, partitions, error, retriable, existed, skipped);
  }

  /** The state as status shows it: Restored, Skipped or Failed. */
  public String outcome() {
    return state.name();
  }

  boolean isFailed() {
    return state == State.Failed;
  }
}
