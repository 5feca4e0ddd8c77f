package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ReplicatedEngine;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * A lock kept in ClickHouse, so that two resources, or two operator replicas, never migrate one
 * database at once. ClickHouse has no compare-and-set, so the lock is a claim protocol:
 *
 * <ol>
 *   <li>insert a claim row (token, server time {@code now()}, expiry {@code now() + ttl});
 *   <li>wait until the server's clock has passed the claim's second, so that every claim made
 *       after this point carries a later time;
 *   <li>read the live claims (not released, not expired); the earliest (time, then token) wins.
 * </ol>
 *
 * Every contender sees every claim made before its read, and no claim made later can be earlier,
 * so exactly one wins. The holder renews its claim while it works; a holder that dies stops
 * renewing and its claim expires after the ttl. Losers withdraw their claim.
 */
public final class MigrationLock {

  public static final String TABLE = "housekeeper_locks";

  private final ClickHouseClient client;
  private final String database;
  private final String name;
  private final String holder;
  private final Duration ttl;
  private final String cluster;
  /** On a cluster: how many replicas must have a claim, renewal or release before it counts (a majority). */
  private int quorum;
  private String token;
  private String claimedAt;
  private long renewedAtNanos;

  public MigrationLock(ClickHouseClient client, String database, String name, String holder, Duration ttl,
      String cluster) {
    this.client = client;
    this.database = database;
    this.name = name;
    this.holder = holder;
    this.ttl = ttl;
    this.cluster = cluster;
  }

  /**
   * On a cluster the lock table is one replicated table on every node: claims, renewals and releases
   * are written to a majority of its replicas ({@code insert_quorum}) and read only from a replica
   * that has every quorum write ({@code select_sequential_consistency}), so that two holders on
   * different nodes see each other's claims and agree on the earliest.
   */
  public MigrationLock withQuorum(int replicas) {
    this.quorum = replicas;
    return this;
  }

  private Sql write(Sql sql) {
    return quorum > 1 ? sql.withSetting("insert_quorum", String.valueOf(quorum))
        .withSetting("insert_quorum_timeout", String.valueOf(ttl.toMillis())) : sql;
  }

  /**
   * Runs a write to the lock table. 18.16 takes one quorum INSERT per table at a time: a write that
   * meets another holder's in flight (code 286) did nothing and is tried again shortly.
   */
  private void execute(Sql sql) {
    Sql statement = write(sql);
    for (int attempt = 1; ; attempt++) {
      try {
        client.execute(statement);
        return;
      } catch (dev.housekeeper.clickhouse.ClickHouseException e) {
        if (e.code() != MigrationRunner.UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE || attempt >= 20) {
          throw e;
        }
        try {
          Thread.sleep(250L + java.util.concurrent.ThreadLocalRandom.current().nextLong(250));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  private Sql read(Sql sql) {
    return quorum > 1 ? sql.withSetting("select_sequential_consistency", "1") : sql;
  }

  /** The lock table's DDL: plain MergeTree, or ReplicatedMergeTree ON CLUSTER. */
  public Sql createTable() {
    return Sql.command("CREATE TABLE IF NOT EXISTS ?? (lock_name String, token String, holder String,"
        + " claimed_at DateTime, expires_at DateTime, released UInt8) ENGINE = ? ORDER BY (lock_name, token)",
        Sql.table(database, TABLE), Sql.onCluster(cluster),
        ReplicatedEngine.mergeTree(cluster != null, "/clickhouse/housekeeper/" + database + "/" + TABLE))
        .idempotent(true);
  }

  /** The holder of the lock now, or null when free. */
  public String currentHolder() {
    List<Row> live = live();
    return live.isEmpty() ? null : live.get(0).string("holder");
  }

  /**
   * Tries once to take the lock.
   *
   * @return null when taken; otherwise the holder that has it
   */
  public String tryAcquire() throws InterruptedException {
    MigrationRunner.ensureTable(client, createTable(), database, TABLE, cluster);
    token = UUID.randomUUID().toString();
    execute(claimSql(token));
    claimedAt = client.query(read(Sql.query("SELECT toString(min(claimed_at)) AS t FROM ? WHERE lock_name = ? AND"
        + " token = ?", Sql.table(database, TABLE), name, token))).get(0).string("t");
    // wait until the server's clock is past the claim's second
    for (int i = 0; i < 40; i++) {
      Row now = client.query(Sql.query("SELECT toString(now()) AS now, now() > toDateTime(?) AS past", claimedAt)).get(0);
      if (now.bool("past")) {
        break;
      }
      Thread.sleep(100);
    }
    List<Row> live = live();
    renewedAtNanos = System.nanoTime();
    if (!live.isEmpty() && (token.equals(live.get(0).string("token")) || holder.equals(live.get(0).string("holder")))) {
      // ours; or an earlier claim of this same holder (a run cut off by a lost connection): take it over
      return null;
    }
    String other = live.isEmpty() ? "(unknown)" : live.get(0).string("holder");
    release();
    return other;
  }

  private List<Row> live() {
    return client.query(read(liveSql()));
  }

  /** A new claim, timed by the server's clock. */
  public Sql claimSql(String claimToken) {
    return Sql.command("INSERT INTO ? (lock_name, token, holder, claimed_at, expires_at, released)"
        + " SELECT ?, ?, ?, now(), now() + ?, 0", Sql.table(database, TABLE), name, claimToken, holder, ttl.toSeconds());
  }

  /** The live claims, winner first. */
  public Sql liveSql() {
    return Sql.query("SELECT token, any(holder) AS holder, min(claimed_at) AS claimed,"
        + " max(expires_at) AS expires, max(released) AS rel FROM ? WHERE lock_name = ?"
        + " GROUP BY token HAVING rel = 0 AND expires > now() ORDER BY claimed, token", Sql.table(database, TABLE), name);
  }

  /** The withdrawal of a claim. */
  public Sql releaseSql(String claimToken) {
    return Sql.command("INSERT INTO ? (lock_name, token, holder, claimed_at, expires_at, released)"
        + " SELECT ?, ?, ?, now(), now(), 1", Sql.table(database, TABLE), name, claimToken, holder);
  }

  /** Extends the claim when a third of the ttl has passed; fails if the lock was lost meanwhile. */
  public synchronized void renewIfDue() {
    if (token == null || System.nanoTime() - renewedAtNanos < ttl.toNanos() / 3) {
      return;
    }
    List<Row> live = live();
    if (live.isEmpty() || !(token.equals(live.get(0).string("token")) || holder.equals(live.get(0).string("holder")))) {
      throw new LockLostException("the migration lock " + name + " expired while held by " + holder
          + "; another holder may be running. Stopped before the next statement.");
    }
    execute(Sql.command("INSERT INTO ? (lock_name, token, holder, claimed_at, expires_at, released)"
        + " SELECT ?, ?, ?, toDateTime(?), now() + ?, 0", Sql.table(database, TABLE), name, token, holder, claimedAt,
        ttl.toSeconds()));
    renewedAtNanos = System.nanoTime();
  }

  /**
   * Renews the claim in the background while one statement runs: a statement may run longer than
   * the ttl (statementTimeout is independent of lockTimeout), and a claim renewed only between
   * statements would expire under it and let a second holder in. Closing stops the renewals and
   * throws {@link LockLostException} if one of them found the lock lost.
   */
  public LockKeepAlive keepAlive() {
    return new LockKeepAlive(this, holder, ttl);
  }

  /** Gives the lock up. */
  public void release() {
    if (token == null) {
      return;
    }
    execute(releaseSql(token));
    token = null;
  }

  /** The lock expired while held. */
  public static final class LockLostException extends RuntimeException {
    public LockLostException(String message) {
      super(message);
    }
  }
}
