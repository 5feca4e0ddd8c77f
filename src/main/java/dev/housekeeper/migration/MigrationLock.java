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
 * database at once. ClickHouse has no compare-and-set, so the lock is Lamport's bakery algorithm on
 * rows of one table:
 *
 * <ol>
 *   <li>insert an "entering" marker (the token with {@link #ENTERING}), visible to every contender
 *       that reads after it;
 *   <li>insert the claim, whose ticket (column {@code claimed_at}) is later than every live claim
 *       that statement reads, and not earlier than the server's clock;
 *   <li>read the markers and claims: while another contender is entering, read again; then the live
 *       claim with the lowest (ticket, token) wins.
 * </ol>
 *
 * Why exactly one wins: a contender whose marker this read did not see had not finished writing
 * it, so its ticket is read afterwards, sees this claim, and is later; a contender whose marker it
 * did see is waited for until its claim is visible. The bakery needs no clock and no atomic read of
 * a write in flight (Lamport proved it with registers that may return anything while written), so
 * no claim has to wait for the server's clock to pass a second, which the earlier protocol of this
 * class did (a second per migration). The holder renews its claim while it works; a holder that dies
 * stops renewing and its claim and marker expire after the ttl. Losers withdraw their claim.
 *
 * <p>Claims keep their meaning for an operator of the earlier protocol (the earliest live claim
 * wins; markers are written as released), so both see each other's claims; but one contender of each
 * protocol at the same moment can both win (a ticket may be later than the clock), which is why
 * docs/clickhousemigration.md asks to upgrade every operator that migrates one database before
 * migrating it again.
 */
public final class MigrationLock {

  /**
   * The server's time as a column of the INSERT ... SELECT's rows, not a constant: 18.16 computes a
   * constant once for the statement's header and again for its rows, and refuses the INSERT (code
   * 171, "values of constants are different in source and result") when a second boundary falls
   * between the two; seen in bench/run convergence, one migration in 300.
   */
  static final String NOW = "materialize(now())";


  public static final String TABLE = "housekeeper_locks";
  /** The marker's token: the claim's token with this suffix (a UUID has no slash). */
  static final String ENTERING = "/entering";
  /** The {@code released} value of a marker: not 0, so that a reader of the earlier protocol skips it. */
  static final int MARKER = 2;
  /** How long a read waits for another contender still entering before it reports that one as holder. */
  private static final long ENTERING_WAIT_MILLIS = 2_000;

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
  private java.util.function.LongConsumer waits = nanos -> { };

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

  /** Tells {@code told} how long each acquisition waited for another contender to finish entering. */
  public MigrationLock withWaits(java.util.function.LongConsumer told) {
    this.waits = told;
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
    execute(markerSql(token));
    try {
      execute(ticketSql(token));
    } catch (RuntimeException e) {
      withdrawQuietly(); // else the marker says "entering" to every contender until it expires
      throw e;
    }
    renewedAtNanos = System.nanoTime();
    Contenders seen = contenders();
    long waitStart = System.nanoTime();
    for (long waited = 0, pause = 10; seen.entering() != null && waited < ENTERING_WAIT_MILLIS; pause *= 2) {
      Thread.sleep(pause);
      waited += pause;
      seen = contenders();
    }
    waits.accept(System.nanoTime() - waitStart);
    Row winner = seen.claims().isEmpty() ? null : seen.claims().get(0);
    claimedAt = seen.ticketOf(token);
    if (seen.entering() == null && winner != null
        && (token.equals(winner.string("token")) || holder.equals(winner.string("holder")))) {
      // ours; or an earlier claim of this same holder (a run cut off by a lost connection): take it over
      return null;
    }
    String other = seen.entering() != null ? seen.entering() : winner == null ? "(unknown)" : winner.string("holder");
    release();
    return other;
  }

  /** What one read of the lock table shows: the live claims, winner first, and a contender still entering. */
  private record Contenders(List<Row> claims, String entering, List<Row> all) {

    String ticketOf(String claimToken) {
      return all.stream().filter(r -> claimToken.equals(r.string("token"))).map(r -> r.string("claimed")).findFirst()
          .orElse(null);
    }
  }

  private Contenders contenders() {
    List<Row> all = client.query(read(contendersSql()));
    java.util.Set<String> tokens = new java.util.HashSet<>();
    all.forEach(r -> tokens.add(r.string("token")));
    String entering = null;
    List<Row> claims = new java.util.ArrayList<>();
    for (Row r : all) {
      String t = r.string("token");
      if (!t.endsWith(ENTERING)) {
        if (r.longValue("rel") == 0) {
          claims.add(r);
        }
      } else if (entering == null && !holder.equals(r.string("holder"))
          && !tokens.contains(t.substring(0, t.length() - ENTERING.length()))) {
        // entering until its claim or withdrawal is visible; a marker of this holder is an earlier run's, which ended
        entering = r.string("holder");
      }
    }
    return new Contenders(claims, entering, all);
  }

  /** Every unexpired token (markers, claims, withdrawn claims), earliest ticket first. */
  public Sql contendersSql() {
    return Sql.query("SELECT token, any(holder) AS holder, toString(min(claimed_at)) AS claimed, max(expires_at) AS"
        + " expires, max(released) AS rel FROM ? WHERE lock_name = ? GROUP BY token HAVING expires > now()"
        + " ORDER BY min(claimed_at), token", Sql.table(database, TABLE), name);
  }

  /** The marker that says a contender is choosing its ticket. */
  public Sql markerSql(String claimToken) {
    return Sql.command("INSERT INTO ? (lock_name, token, holder, claimed_at, expires_at, released)"
        + " SELECT ?, ?, ?, " + NOW + ", " + NOW + " + ?, ?", Sql.table(database, TABLE), name, claimToken + ENTERING, holder,
        ttl.toSeconds(), MARKER);
  }

  /** A claim whose ticket is later than every live claim the statement reads, and not earlier than now. */
  public Sql ticketSql(String claimToken) {
    return read(Sql.command("INSERT INTO ? (lock_name, token, holder, claimed_at, expires_at, released)"
        + " SELECT ?, ?, ?, materialize(greatest(now(), (SELECT max(claimed) + 1 FROM (SELECT min(claimed_at) AS claimed,"
        + " max(expires_at) AS expires, max(released) AS rel FROM ? WHERE lock_name = ? GROUP BY token"
        + " HAVING rel = 0 AND expires > now())))), " + NOW + " + ?, 0", Sql.table(database, TABLE), name, claimToken,
        holder,
        Sql.table(database, TABLE), name, ttl.toSeconds()));
  }

  private List<Row> live() {
    return client.query(read(liveSql()));
  }

  /** The live claims, winner first. */
  public Sql liveSql() {
    return Sql.query("SELECT token, any(holder) AS holder, min(claimed_at) AS claimed,"
        + " max(expires_at) AS expires, max(released) AS rel FROM ? WHERE lock_name = ?"
        + " GROUP BY token HAVING rel = 0 AND expires > now() ORDER BY claimed, token", Sql.table(database, TABLE), name);
  }

  /**
   * The withdrawal of a claim. It stays readable for the ttl, as long as the claim's marker: a marker
   * whose claim is neither live nor withdrawn is a contender still entering.
   */
  public Sql releaseSql(String claimToken) {
    return Sql.command("INSERT INTO ? (lock_name, token, holder, claimed_at, expires_at, released)"
        + " SELECT ?, ?, ?, " + NOW + ", " + NOW + " + ?, 1", Sql.table(database, TABLE), name, claimToken, holder,
        ttl.toSeconds());
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
        + " SELECT ?, ?, ?, toDateTime(?), " + NOW + " + ?, 0", Sql.table(database, TABLE), name, token, holder, claimedAt,
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

  private void withdrawQuietly() {
    try {
      release();
    } catch (RuntimeException e) {
      token = null; // the marker and claim expire after the ttl
    }
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
