package dev.housekeeper.clickhouse;

import dev.housekeeper.testing.TestPorts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.TcpProxy;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The client layer against a real clickhouse-server 18.16. */
class ClickHouseClientIT {

  static ClickHouseServer server;
  static ClickHouseClient client;

  @BeforeAll
  static void start() {
    server = ClickHouseServer.shared();
    client = new HttpClickHouseClient(config(server.httpUrl()));
    server.sql("CREATE DATABASE IF NOT EXISTS client_it");
  }

  @AfterAll
  static void stop() {
    client.close();
  }

  static ClientConfig config(String... endpoints) {
    return ClientConfig.of(List.of(endpoints), ClickHouseServer.USER, ClickHouseServer.PASSWORD)
        .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30))
        .withRetry(3, Duration.ofMillis(50), Duration.ofMillis(200));
  }

  static int deadPort() throws Exception {
    return TestPorts.take(); // nothing listens there
  }

  /**
   * The socket waits as long as the statement's own limit, not the connection's queryTimeout: with a
   * queryTimeout of 2 s (socket 12 s before), a statement allowed 60 s that sends nothing for about
   * 15 s (five blocks of one row, each sleeping 3 s, counted into one row at the end) completes.
   */
  @Test
  void aStatementRunsUnderItsOwnLimitNotTheConnectionsQueryTimeout() {
    try (ClickHouseClient shortTimeout = new HttpClickHouseClient(config(server.httpUrl())
        .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2)))) {
      long start = System.nanoTime();
      List<Row> rows = shortTimeout.query(Sql.query("SELECT count() AS c FROM (SELECT sleep(3) FROM numbers(5))"
          + " SETTINGS max_block_size = 1").withTimeout(Duration.ofSeconds(60)));
      assertEquals(5, rows.get(0).longValue("c"));
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofSeconds(12));
      // the connection's own limit still holds for a statement without one
      ClickHouseException cut = assertThrows(ClickHouseException.class, () -> shortTimeout.query(
          Sql.query("SELECT count() AS c FROM (SELECT sleep(3) FROM numbers(5)) SETTINGS max_block_size = 1")));
      assertEquals(Kind.TIMEOUT, cut.kind());
    }
  }

  /**
   * An insert that streams longer than the connection's queryTimeout and the socket's read timeout
   * (a restore's or a mart's load: its data sets its length) completes: the socket waits for the
   * answer only once the body is sent, under the insert's own limit. (On 18.16 the same insert
   * without a limit of its own completes too: max_execution_time does not stop an insert reading its
   * body.)
   */
  @Test
  void anInsertStreamsLongerThanTheQueryTimeout() {
    server.sql("DROP TABLE IF EXISTS client_it.slow; CREATE TABLE client_it.slow (n UInt64) ENGINE = MergeTree ORDER BY n");
    java.io.InputStream slowRows = new java.io.InputStream() {
      private int row;
      private byte[] line = new byte[0];
      private int at;

      @Override
      public int read() {
        if (at == line.length) {
          if (row == 15) {
            return -1;
          }
          try {
            Thread.sleep(1000); // one row a second: 15 s in all, longer than queryTimeout + the socket's slack
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
          }
          line = (row++ + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
          at = 0;
        }
        return line[at++];
      }
    };
    try (ClickHouseClient shortTimeout = new HttpClickHouseClient(config(server.httpUrl())
        .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2)))) {
      shortTimeout.insert("client_it", "slow", List.of("n"), "TabSeparated", slowRows, null, Duration.ofSeconds(60));
    }
    assertEquals(15, server.sqlLong("SELECT count() FROM client_it.slow"));
  }

  @Test
  void readsRowsAndWritesDataOn1816() {
    List<Row> rows = client.query(Sql.query("SELECT version() AS v, toUInt64(18446744073709551615) AS big, ? AS s",
        "it's \\ \"quoted\"\n"));
    assertThat(rows).hasSize(1);
    assertThat(rows.get(0).string("v")).startsWith("18.16");
    assertEquals("18446744073709551615", rows.get(0).string("big"));
    assertEquals("it's \\ \"quoted\"\n", rows.get(0).string("s"));

    client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table("client_it", "t")));
    client.execute(Sql.command("CREATE TABLE ? (d Date, id UInt64, s String) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id", Sql.table("client_it", "t")));
    String tsv = "2024-01-05\t1\ta\n2024-02-06\t2\tb\n2024-02-07\t3\tc\n";
    client.insert("client_it", "t", List.of("d", "id", "s"), "TabSeparated",
        new ByteArrayInputStream(tsv.getBytes(StandardCharsets.UTF_8)), null);
    assertEquals(3, server.sqlLong("SELECT count() FROM client_it.t"));
    List<Row> parts = client.query(Sql.query(
        "SELECT partition, sum(rows) AS rows FROM system.parts WHERE database = ? AND table = ? AND active"
            + " GROUP BY partition ORDER BY partition", "client_it", "t"));
    assertEquals(List.of("202401", "202402"), parts.stream().map(r -> r.string("partition")).toList());
    assertEquals(2, parts.get(1).longValue("rows"));
    assertEquals("client_it", client.query(Sql.query("SELECT currentDatabase() AS d").inDatabase("client_it"))
        .get(0).string("d"));
  }

  @Test
  void failsOverToSecondEndpointWhenFirstIsDown() throws Exception {
    String dead = "http://127.0.0.1:" + deadPort();
    try (ClickHouseClient c = new HttpClickHouseClient(
        config(dead, server.httpUrl()).withBalancing(ClientConfig.Balancing.FIRST_HEALTHY))) {
      for (int i = 0; i < 3; i++) {
        assertEquals(1, c.query(Sql.query("SELECT 1 AS one")).get(0).longValue("one"));
      }
      List<ClickHouseClient.EndpointProbe> probes = c.probe();
      assertFalse(probes.get(0).healthy());
      assertEquals(Kind.CONNECTION, probes.get(0).error().kind());
      assertTrue(probes.get(1).healthy());
    }
  }

  @Test
  void roundRobinSpreadsQueriesOverEndpoints() throws Exception {
    try (TcpProxy a = new TcpProxy(server.httpPort()).start();
        TcpProxy b = new TcpProxy(server.httpPort()).start();
        ClickHouseClient c = new HttpClickHouseClient(config(a.url(), b.url()))) {
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (int i = 0; i < 6; i++) {
        String qid = ClickHouseClient.newQueryId("rr");
        c.query(Sql.query("SELECT 1 AS one").withQueryId(qid));
        seen.add(qid);
      }
      assertEquals(6, seen.size());
      assertThat(a.connections()).as("first endpoint used").isGreaterThan(0);
      assertThat(b.connections()).as("second endpoint used").isGreaterThan(0);
    }
  }

  @Test
  void retriesAReadAfterADroppedConnectionButNotAWrite() throws Exception {
    try (TcpProxy proxy = new TcpProxy(server.httpPort()).start();
        ClickHouseClient c = new HttpClickHouseClient(config(proxy.url()))) {
      proxy.dropNext(1);
      int before = proxy.connections();
      assertEquals(42, c.query(Sql.query("SELECT 42 AS v")).get(0).longValue("v"));
      assertThat(proxy.connections() - before).as("dropped, then retried on a new connection").isGreaterThanOrEqualTo(2);

    }
    // A fresh client, so that the write opens a new connection (pooled ones are not dropped).
    try (TcpProxy proxy = new TcpProxy(server.httpPort()).start();
        ClickHouseClient c = new HttpClickHouseClient(config(proxy.url()))) {
      server.sql("DROP TABLE IF EXISTS client_it.w; CREATE TABLE client_it.w (x UInt8) ENGINE = Memory");
      proxy.dropNext(1);
      ClickHouseException e = assertThrows(ClickHouseException.class,
          () -> c.execute(Sql.command("INSERT INTO ? VALUES (1)", Sql.table("client_it", "w"))));
      assertEquals(1, proxy.connections(), "not retried");
      assertEquals(Kind.CONNECTION, e.kind());
      assertFalse(e.retriable());
      assertEquals(0, server.sqlLong("SELECT count() FROM client_it.w"), "a write is never sent twice");
    }
  }

  @Test
  void circuitOpensAfterFailuresAndClosesAgain() throws Exception {
    int port = deadPort();
    TcpProxy proxy = new TcpProxy(server.httpPort(), port);
    try (ClickHouseClient c = new HttpClickHouseClient(config("http://127.0.0.1:" + port)
        .withRetry(1, Duration.ofMillis(10), Duration.ofMillis(10))
        .withBreaker(2, Duration.ofMillis(800), 1))) {
      for (int i = 0; i < 2; i++) {
        assertEquals(Kind.CONNECTION, assertThrows(ClickHouseException.class,
            () -> c.query(Sql.query("SELECT 1 AS one"))).kind());
      }
      assertEquals(List.of("OPEN"), c.breakerStates());
      assertEquals(Kind.CIRCUIT_OPEN, assertThrows(ClickHouseException.class,
          () -> c.query(Sql.query("SELECT 1 AS one"))).kind());

      proxy.start(); // the endpoint comes back
      Thread.sleep(900); // open duration passes: the next request is the half-open trial
      assertEquals(1, c.query(Sql.query("SELECT 1 AS one")).get(0).longValue("one"));
      assertEquals(List.of("CLOSED"), c.breakerStates());
    } finally {
      proxy.close();
    }
  }

  @Test
  void openCircuitSaysHowLongItBlocksAndAnAnsweringProbeClosesIt() throws Exception {
    int port = deadPort();
    TcpProxy proxy = new TcpProxy(server.httpPort(), port);
    try (ClickHouseClient c = new HttpClickHouseClient(config("http://127.0.0.1:" + port)
        .withRetry(1, Duration.ofMillis(10), Duration.ofMillis(10))
        .withBreaker(2, Duration.ofSeconds(60), 1))) {
      assertEquals(Duration.ZERO, c.blockedFor(), "a closed breaker blocks nothing");
      for (int i = 0; i < 2; i++) {
        assertThrows(ClickHouseException.class, () -> c.query(Sql.query("SELECT 1 AS one")));
      }
      assertEquals(List.of("OPEN"), c.breakerStates());
      assertThat(c.blockedFor()).isGreaterThan(Duration.ofSeconds(50)).isLessThanOrEqualTo(Duration.ofSeconds(60));

      proxy.start(); // the server is back long before the minute is over
      assertTrue(c.probe().get(0).healthy(), "the probe bypasses the breaker");
      assertEquals(List.of("CLOSED"), c.breakerStates(), "an answering probe closes the breaker");
      assertEquals(Duration.ZERO, c.blockedFor());
      assertEquals(1, c.query(Sql.query("SELECT 1 AS one")).get(0).longValue("one"));
    } finally {
      proxy.close();
    }
  }

  @Test
  void typedErrorsFromRealServerAnswers() throws Exception {
    try (ClickHouseClient wrong = new HttpClickHouseClient(
        ClientConfig.of(List.of(server.httpUrl()), ClickHouseServer.USER, "not-the-password"))) {
      ClickHouseException e = assertThrows(ClickHouseException.class, () -> wrong.query(Sql.query("SELECT 1")));
      assertEquals(Kind.AUTHENTICATION, e.kind());
      assertEquals(193, e.code(), e::toString);
      assertThat(e.getMessage()).contains("Wrong password");
    }
    try (ClickHouseClient reader = new HttpClickHouseClient(
        ClientConfig.of(List.of(server.httpUrl()), ClickHouseServer.READONLY_USER, ClickHouseServer.PASSWORD))) {
      ClickHouseException e = assertThrows(ClickHouseException.class,
          () -> reader.execute(Sql.command("CREATE DATABASE IF NOT EXISTS ?", Sql.id("nope"))));
      assertEquals(Kind.PERMISSION_DENIED, e.kind());
    }
    ClickHouseException syntax = assertThrows(ClickHouseException.class, () -> client.execute(Sql.verbatim("SELEC 1")));
    assertEquals(Kind.SYNTAX, syntax.kind());
    assertEquals(62, syntax.code());
    assertThat(syntax.getMessage()).contains("Syntax error").doesNotContain("e.what()");

    assertEquals(Kind.UNKNOWN_DATABASE, assertThrows(ClickHouseException.class,
        () -> client.query(Sql.query("SELECT * FROM ?", Sql.table("no_such_db", "t")))).kind());
    assertEquals(Kind.UNKNOWN_TABLE, assertThrows(ClickHouseException.class,
        () -> client.query(Sql.query("SELECT * FROM ?", Sql.table("client_it", "no_such_table")))).kind());

    ClickHouseException timeout = assertThrows(ClickHouseException.class, () -> client.query(
        Sql.query("SELECT count() AS c FROM system.numbers").withTimeout(Duration.ofSeconds(1))));
    assertEquals(Kind.TIMEOUT, timeout.kind());
    assertEquals(159, timeout.code());

    try (ClickHouseClient down = new HttpClickHouseClient(config("http://127.0.0.1:" + deadPort())
        .withRetry(2, Duration.ofMillis(10), Duration.ofMillis(20)))) {
      ClickHouseException e = assertThrows(ClickHouseException.class, () -> down.query(Sql.query("SELECT 1")));
      assertEquals(Kind.RETRIES_EXHAUSTED, e.kind());
      assertEquals(Kind.CONNECTION, ((ClickHouseException) e.getCause()).kind());
    }
    try (ClickHouseClient down = new HttpClickHouseClient(config("http://127.0.0.1:" + deadPort())
        .withRetry(1, Duration.ofMillis(10), Duration.ofMillis(20)))) {
      assertEquals(Kind.CONNECTION,
          assertThrows(ClickHouseException.class, () -> down.query(Sql.query("SELECT 1"))).kind());
    }
    // a hostile name stays one name: escaped by the one quoting function, the server looks for that database
    ClickHouseException hostile = assertThrows(ClickHouseException.class,
        () -> client.query(Sql.query("SELECT * FROM ?", Sql.table("db`; DROP TABLE x; --", "t"))));
    assertEquals(Kind.UNKNOWN_DATABASE, hostile.kind(), hostile::toString);
    assertEquals(Kind.INVALID_INPUT, assertThrows(ClickHouseException.class,
        () -> client.query(Sql.query("SELECT * FROM ?", Sql.table("db\n", "t")))).kind(), "a control character");
  }

  @Test
  void longQueryIsCancelledByItsQueryId() throws Exception {
    String qid = ClickHouseClient.newQueryId("cancel-test");
    CompletableFuture<List<Row>> running = CompletableFuture.supplyAsync(() -> client.query(
        Sql.query("SELECT count() AS c FROM system.numbers").withQueryId(qid)));
    awaitProcess(qid, true);
    assertTrue(client.cancel(qid), "KILL QUERY found the query");
    ClickHouseException e = assertThrows(ClickHouseException.class, () -> {
      try {
        running.get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException ex) {
        throw ex.getCause();
      }
    });
    assertThat(e.kind()).as(() -> e + " / cause " + e.getCause()).isEqualTo(Kind.CANCELLED);
    awaitProcess(qid, false);
  }

  @Test
  void detectsCapabilitiesOf1816() {
    ServerCapabilities caps = client.capabilities();
    assertEquals(18, caps.version().major());
    assertEquals(16, caps.version().minor());
    assertFalse(caps.nativeBackup());
    assertFalse(caps.tableTtl());
    assertFalse(caps.exchangeTables());
    assertFalse(caps.lightweightDelete());
    assertFalse(caps.postgresqlTableFunction());
    assertFalse(caps.queryParameters());
  }

  private static void awaitProcess(String qid, boolean present) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      long n = server.sqlLong("SELECT count() FROM system.processes WHERE query_id = '" + qid + "'");
      if ((n > 0) == present) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("query " + qid + (present ? " never appeared in" : " is still in") + " system.processes");
  }
}
