package dev.housekeeper.common;

/**
 * The names of Housekeeper's own working tables in a user's database: a restore's staging table, a
 * mart's table being built and the one swapped out. Backups leave them out: they come and go while a
 * backup runs (a backup that listed one failed when the mart renamed it a moment later).
 */
public final class WorkingTables {

  /** A restore loads a table into one named so, then swaps it in. */
  public static final String RESTORE_STAGING_PREFIX = "_hk_restore_";
  /** A mart's table while it is built. */
  public static final String MART_STAGING_SUFFIX = "_hk_staging";
  /** A mart's previous table during the swap. */
  public static final String MART_OLD_SUFFIX = "_hk_old";

  private WorkingTables() {}

  public static boolean isWorkingTable(String name) {
    return name.startsWith(RESTORE_STAGING_PREFIX) || name.endsWith(MART_STAGING_SUFFIX)
        || name.endsWith(MART_OLD_SUFFIX);
  }
}
