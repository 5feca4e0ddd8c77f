package dev.housekeeper.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.HttpClickHouseClient;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.ClickHouseServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The migration lock on real servers (18.16 and the 26.x chDB server): contenders in threads, each
 * with its own client as two operators would have, never hold it at once; the protocol's edge
 * cases (a contender that died while entering, a claim of the earlier protocol) keep it held.
 */
class MigrationLockIT {

  private static final Duration TTL = Duration.ofSeconds(30);

  private static String url(String server) {
    return "18.16".equals(server) ? ClickHouseServer.shared().httpUrl() : ChdbServer.shared().httpUrl();
  }

  private static ClickHouseClient client(String server) {
    return new HttpClickHouseClient(ClientConfig.of(List.of(url(server)), ClickHouseServer.USER,
        ClickHouseServer.PASSWORD).withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(30)));
  }

  private static String database(ClickHouseClient client, String name) {
    client.execute(Sql.command("DROP DATABASE IF EXISTS ?",
        Sql.id(name)));
    client.execute(Sql.command("CREATE DATABASE ?",
        Sql.id(name)));
    return name;
  }

  @ParameterizedTest
  @ValueSource(strings = {"18.16", "26.x"})
  void contendersNeverHoldTheLockAtOnce(String server) throws Exception {
    int contenders = 4;
    int winsEach = 5;
    String db;
    try (ClickHouseClient setup = client(server)) {
      db = database(setup, "lock_it_race");
    }
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger mostInside = new AtomicInteger();
    AtomicInteger lost = new AtomicInteger();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < contenders; c++) {
      String holder = "operator-" + c + "/ns/m";
      Thread thread = new Thread(() -> {
        try (ClickHouseClient client = client(server)) {
          for (int won = 0; won < winsEach; ) {
            MigrationLock lock = new MigrationLock(client, db, "migrations:" + db, holder, TTL, null);
            if (lock.tryAcquire() != null) {
              lost.incrementAndGet();
              Thread.sleep(ThreadLocalRandom.current().nextLong(5, 40));
              continue;
            }
            mostInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
            Thread.sleep(15);
            inside.decrementAndGet();
            lock.release();
            won++;
          }
        } catch (Throwable t) {
          failures.add(t);
        }
      });
      thread.start();
      threads.add(thread);
    }
    for (Thread t : threads) {
      t.join(180_000);
    }
    assertThat(failures).isEmpty();
    assertEquals(1, mostInside.get(), "two contenders held the lock at once");
    assertThat(lost.get()).as("the contenders met (some attempts found the lock held)").isPositive();
    try (ClickHouseClient check = client(server)) {
      // every won claim was withdrawn: nothing is live, and each of the 20 wins left its claim and withdrawal
      MigrationLock lock = new MigrationLock(check, db, "migrations:" + db, "checker", TTL, null);
      assertNull(lock.currentHolder());
      assertEquals(String.valueOf(contenders * winsEach + lost.get()), check.query(Sql.query(
          "SELECT toString(uniqExact(token)) AS n FROM ? WHERE released = 1 AND NOT endsWith(token, '/entering')",
          Sql.table(db, MigrationLock.TABLE))).get(0).string("n"));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"18.16", "26.x"})
  void aContenderThatDiedWhileEnteringHoldsOffOthersUntilItsMarkerExpires(String server) throws Exception {
    try (ClickHouseClient client = client(server)) {
      String db = database(client, "lock_it_entering");
      Function<String, MigrationLock> lock = holder -> new MigrationLock(client, db, "migrations:" + db, holder, TTL,
          null);
      MigrationLock b = lock.apply("operator-b/ns/m");
      client.execute(b.createTable());
      // it died before its claim; its marker expires 6 s after it was written (its ttl)
      client.execute(Sql.command("INSERT INTO ? (lock_name, token, holder, claimed_at, expires_at, released)"
          + " SELECT ?, 'dead-token/entering', 'operator-dead/ns/m', now(), now() + 6, 2",
          Sql.table(db, MigrationLock.TABLE), "migrations:" + db));
      assertEquals("operator-dead/ns/m", b.tryAcquire());
      Thread.sleep(7_000);
      assertNull(b.tryAcquire());
      assertEquals("operator-b/ns/m", lock.apply("operator-c/ns/m").currentHolder());
      b.release();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"18.16", "26.x"})
  void aClaimOfTheEarlierProtocolHoldsTheLock(String server) throws Exception {
    try (ClickHouseClient client = client(server)) {
      String db = database(client, "lock_it_earlier");
      MigrationLock b = new MigrationLock(client, db, "migrations:" + db, "operator-new/ns/m", TTL, null);
      client.execute(b.createTable());
      // the earlier protocol's claim: the server's time, no marker
      client.execute(Sql.command("INSERT INTO ? (lock_name, token, holder, claimed_at,"
          + " expires_at, released) SELECT ?, 'earlier-token', 'operator-old/ns/m', now(), now() + 60, 0",
          Sql.table(db, MigrationLock.TABLE), "migrations:" + db));
      assertEquals("operator-old/ns/m", b.tryAcquire());
      // and the new claim it withdrew is not live: the earlier claim is still the holder for both protocols
      assertEquals("operator-old/ns/m", b.currentHolder());
    }
  }
}
