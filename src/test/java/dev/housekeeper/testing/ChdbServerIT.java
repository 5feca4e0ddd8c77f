package dev.housekeeper.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.HttpClickHouseClient;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.ServerCapabilities;
import dev.housekeeper.clickhouse.Sql;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The operator's own client ({@link HttpClickHouseClient}, built as the operator builds it) against
 * ClickHouse 26.7 behind {@link ChdbServer}: the cases of the 18.16 ClickHouseClientIT, and what the
 * server emulates (query ids, KILL QUERY, backups, concurrency).
 */
class ChdbServerIT {

  /** A query of about 60 s that sleeps instead of burning the test machine's CPU; one row at its end. */
  private static final String LONG_QUERY =
      "SELECT sum(sleepEachRow(0.5)) AS c FROM numbers(120) SETTINGS max_block_size = 1";

  static ChdbServer server;
  static ClickHouseClient client;

  @BeforeAll
  static void start() {
    server = ChdbServer.shared();
    client = new HttpClickHouseClient(config(server.httpUrl()));
    server.sql("CREATE DATABASE IF NOT EXISTS chdb_it");
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

  @Test
  void readsRowsOfSeveralTypesAndWritesDataOn267() {
    List<Row> rows = client.query(Sql.query("SELECT version() AS v, toUInt64(18446744073709551615) AS big,"
        + " ? AS s, toDate('2024-02-29') AS d, toDateTime('2024-02-29 23:59:58', 'UTC') AS t, toFloat64(1.5) AS f,"
        + " toDecimal64(12.345, 3) AS dec, [1, 2, 3] AS arr, CAST(NULL AS Nullable(String)) AS n,"
        + " toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS u, -7 AS neg", "it's \\ \"quoted\"\n"));
    assertThat(rows).hasSize(1);
    Row r = rows.get(0);
    assertThat(r.string("v")).startsWith("26.7.");
    assertEquals("18446744073709551615", r.string("big"));
    assertEquals("it's \\ \"quoted\"\n", r.string("s"));
    assertEquals("2024-02-29", r.string("d"));
    assertEquals("2024-02-29 23:59:58", r.string("t"));
    assertEquals(1.5, r.doubleValue("f"));
    assertEquals("12.345", r.json().get("dec").asText());
    assertEquals("[1,2,3]", r.json().get("arr").toString());
    assertTrue(r.json().get("n").isNull());
    assertEquals("61f0c404-5cb3-11e7-907b-a6006ad3dba0", r.string("u"));
    assertEquals(-7, r.longValue("neg"));

    client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table("chdb_it", "t")));
    client.execute(Sql.command("CREATE TABLE ? (d Date, id UInt64, s String) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id", Sql.table("chdb_it", "t")));
    String tsv = "2024-01-05\t1\ta\n2024-02-06\t2\tb\n2024-02-07\t3\tc\n";
    client.insert("chdb_it", "t", List.of("d", "id", "s"), "TabSeparated",
        new ByteArrayInputStream(tsv.getBytes(StandardCharsets.UTF_8)), null);
    assertEquals(3, server.sqlLong("SELECT count() FROM chdb_it.t"));
    List<Row> parts = client.query(Sql.query(
        "SELECT partition, sum(rows) AS rows FROM system.parts WHERE database = ? AND table = ? AND active"
            + " GROUP BY partition ORDER BY partition", "chdb_it", "t"));
    assertEquals(List.of("202401", "202402"), parts.stream().map(p -> p.string("partition")).toList());
    assertEquals(2, parts.get(1).longValue("rows"));
  }

  @Test
  void typedErrorsFromServerAnswers() {
    ClickHouseException unknownTable = assertThrows(ClickHouseException.class,
        () -> client.query(Sql.query("SELECT * FROM ?", Sql.table("chdb_it", "no_such_table"))));
    assertEquals(Kind.UNKNOWN_TABLE, unknownTable.kind());
    assertEquals(60, unknownTable.code());
    assertThat(unknownTable.getMessage()).contains("UNKNOWN_TABLE").contains("no_such_table");

    ClickHouseException unknownDb = assertThrows(ClickHouseException.class,
        () -> client.query(Sql.query("SELECT * FROM ?", Sql.table("no_such_db", "t"))));
    assertEquals(Kind.UNKNOWN_DATABASE, unknownDb.kind());
    assertEquals(81, unknownDb.code());

    ClickHouseException syntax = assertThrows(ClickHouseException.class, () -> client.execute(Sql.verbatim("SELEC 1")));
    assertEquals(Kind.SYNTAX, syntax.kind());
    assertEquals(62, syntax.code());
    assertThat(syntax.getMessage()).contains("Syntax error").doesNotContain("hk_qid");

    ClickHouseException timeout = assertThrows(ClickHouseException.class, () -> client.query(
        Sql.query(LONG_QUERY).withTimeout(Duration.ofSeconds(1))));
    assertEquals(Kind.TIMEOUT, timeout.kind());
    assertEquals(159, timeout.code());

    try (ClickHouseClient wrong = new HttpClickHouseClient(
        ClientConfig.of(List.of(server.httpUrl()), ClickHouseServer.USER, "not-the-password"))) {
      ClickHouseException e = assertThrows(ClickHouseException.class, () -> wrong.query(Sql.query("SELECT 1")));
      assertEquals(Kind.AUTHENTICATION, e.kind());
      assertEquals(516, e.code(), e::toString);
      assertThat(e.getMessage()).contains("Authentication failed");
    }
  }

  @Test
  void errorsAreAnsweredWithTheRealServersStatusHeaderAndBody() {
    HttpResponse<String> table = server.post("SELECT * FROM chdb_it.no_such_table", Map.of(), Map.of());
    assertEquals(404, table.statusCode());
    assertEquals("60", table.headers().firstValue("X-ClickHouse-Exception-Code").orElse(""));
    assertThat(table.body()).matches("(?s)Code: 60\\. DB::Exception: .*\\(UNKNOWN_TABLE\\) \\(version 26\\.7\\.[0-9.]+\\)\n");

    assertEquals(400, server.post("SELEC 1", Map.of(), Map.of()).statusCode());
    assertEquals(404, server.post("SELECT 1", Map.of("no_such_setting", "1"), Map.of()).statusCode());

    HttpResponse<String> password = server.post("SELECT 1", Map.of(),
        Map.of("X-ClickHouse-User", ClickHouseServer.USER, "X-ClickHouse-Key", "wrong"));
    assertEquals(403, password.statusCode(), "AUTHENTICATION_FAILED is 403 Forbidden in exceptionCodeToHTTPStatus");
    assertEquals("516", password.headers().firstValue("X-ClickHouse-Exception-Code").orElse(""));
    assertThat(password.body()).startsWith("Code: 516. DB::Exception: housekeeper: Authentication failed");
    // the other ways to authenticate
    assertEquals("1", server.post("SELECT 1", Map.of(),
        Map.of("X-ClickHouse-User", ClickHouseServer.USER, "X-ClickHouse-Key", ClickHouseServer.PASSWORD)).body().strip());
    assertEquals("1", server.post("SELECT 1", Map.of("user", ClickHouseServer.USER, "password", ClickHouseServer.PASSWORD),
        Map.of("Authorization", "")).body().strip());
  }

  @Test
  void answersWithTheHeadersOfARealServer() {
    HttpResponse<String> r = server.post("SELECT number FROM numbers(3) FORMAT JSONEachRow",
        Map.of("query_id", "headers-1", "wait_end_of_query", "1", "send_progress_in_http_headers", "1"), Map.of());
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("headers-1", r.headers().firstValue("X-ClickHouse-Query-Id").orElse(""));
    assertEquals("JSONEachRow", r.headers().firstValue("X-ClickHouse-Format").orElse(""));
    assertEquals("UTC", r.headers().firstValue("X-ClickHouse-Timezone").orElse(""));
    assertThat(r.headers().firstValue("X-ClickHouse-Server-Display-Name")).isPresent();
    assertThat(r.headers().firstValue("X-ClickHouse-Summary").orElse("")).contains("\"result_rows\":\"3\"");
    // 26.7 writes 64-bit integers as JSON numbers (output_format_json_quote_64bit_integers=0; 18.16 quoted them)
    assertEquals("{\"number\":0}\n{\"number\":1}\n{\"number\":2}\n", r.body());
    // query parameters, and settings as URL parameters
    assertEquals("8\t3", server.post("SELECT {x:UInt8} + 1, getSetting('max_threads')",
        Map.of("param_x", "7", "max_threads", "3"), Map.of()).body().strip());
  }

  @Test
  void insertsAHundredThousandRowsInNativeAndRowBinary() throws Exception {
    client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table("chdb_it", "big")));
    client.execute(Sql.command("CREATE TABLE ? (id UInt64, s String) ENGINE = MergeTree ORDER BY id",
        Sql.table("chdb_it", "big")));
    byte[] nativeBlock = client.stream(Sql.query(
        "SELECT number AS id, concat('n', toString(number)) AS s FROM numbers(100000)"), "Native", InputStream::readAllBytes);
    assertThat(nativeBlock.length).as("well past chDB's ~2,570-row inline limit").isGreaterThan(1_000_000);
    client.insert("chdb_it", "big", List.of("id", "s"), "Native", new ByteArrayInputStream(nativeBlock), null);
    assertEquals("100000\t4999950000\t588890", server.sql("SELECT count(), sum(id), sum(length(s)) FROM chdb_it.big"));

    ByteArrayOutputStream rowBinary = new ByteArrayOutputStream();
    for (long id = 100_000; id < 250_000; id++) {
      for (int b = 0; b < 8; b++) {
        rowBinary.write((int) (id >>> (8 * b)));
      }
      byte[] s = ("r" + id).getBytes(StandardCharsets.UTF_8);
      rowBinary.write(s.length); // a LEB128 length under 128 is one byte
      rowBinary.write(s);
    }
    client.insert("chdb_it", "big", List.of(), "RowBinary", new ByteArrayInputStream(rowBinary.toByteArray()), null);
    assertEquals(250_000, server.sqlLong("SELECT count() FROM chdb_it.big"));
    assertEquals("r249999", server.sql("SELECT s FROM chdb_it.big WHERE id = 249999"));
    assertThat(Files.list(server.dir().resolve("spool")).count()).as("spooled bodies are removed").isZero();
  }

  @Test
  void streamsResultsLargerThanItsHoldBackBuffer() {
    long[] bytes = {0};
    long read = client.stream(Sql.query("SELECT number FROM numbers(1000000)"), "RowBinary", in -> {
      byte[] buf = new byte[65536];
      for (int n; (n = in.read(buf)) > 0; ) {
        bytes[0] += n;
      }
      return bytes[0];
    });
    assertEquals(8_000_000, read);
  }

  @Test
  void anErrorAfterTheFirstMegabyteBreaksTheResponse() {
    // the real server's cancelWithException: an "__exception__" chunk and no final chunk
    ClickHouseException e = assertThrows(ClickHouseException.class, () -> client.stream(
        Sql.query("SELECT number, throwIf(number = 400000) FROM numbers(1000000)").idempotent(false), "Native",
        InputStream::readAllBytes));
    assertEquals(Kind.CONNECTION, e.kind(), e::toString);
    assertFalse(e.retriable());
  }

  @Test
  void getIsReadOnly() throws Exception {
    java.net.http.HttpRequest get = java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.httpUrl()
        + "/?query=" + java.net.URLEncoder.encode("CREATE TABLE chdb_it.by_get (x UInt8) ENGINE = Memory",
        StandardCharsets.UTF_8))).header("Authorization", server.basicAuth()).GET().build();
    HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(get, HttpResponse.BodyHandlers.ofString());
    assertEquals("164", r.headers().firstValue("X-ClickHouse-Exception-Code").orElse(""), r.body());
    assertThat(r.body()).contains("(READONLY)");
  }

  @Test
  void queriesRunConcurrently() throws Exception {
    long start = System.nanoTime();
    CompletableFuture<List<Row>> a = CompletableFuture.supplyAsync(
        () -> client.query(Sql.query("SELECT sum(sleepEachRow(1)) AS c FROM numbers(3)")));
    CompletableFuture<List<Row>> b = CompletableFuture.supplyAsync(
        () -> client.query(Sql.query("SELECT sum(sleepEachRow(1)) AS c FROM numbers(3)")));
    assertEquals(0, a.get(30, TimeUnit.SECONDS).get(0).longValue("c"));
    assertEquals(0, b.get(30, TimeUnit.SECONDS).get(0).longValue("c"));
    Duration wall = Duration.ofNanos(System.nanoTime() - start);
    assertThat(wall).as("two 3 s queries side by side").isBetween(Duration.ofMillis(2900), Duration.ofMillis(5500));
  }

  @Test
  void killQueryByTheClientsQueryIdCancelsIt() throws Exception {
    String qid = ClickHouseClient.newQueryId("kill-test");
    CompletableFuture<List<Row>> victim = CompletableFuture.supplyAsync(
        () -> client.query(Sql.query(LONG_QUERY).withQueryId(qid)));
    awaitProcess(qid, true);
    List<Row> killed = client.query(Sql.command("KILL QUERY WHERE query_id = ? SYNC", qid));
    assertThat(killed).hasSize(1);
    assertEquals(qid, killed.get(0).string("query_id"));
    assertEquals("finished", killed.get(0).string("kill_status"));
    assertEquals(ClickHouseServer.USER, killed.get(0).string("user"));
    ClickHouseException e = failure(victim);
    assertEquals(Kind.CANCELLED, e.kind(), e::toString);
    assertEquals(394, e.code());
    assertEquals(0, countProcesses(qid), "SYNC returned once the query was gone");
    assertThat(client.query(Sql.command("KILL QUERY WHERE query_id = ? SYNC", qid))).isEmpty();
  }

  @Test
  void clientCancelStopsALongQuery() throws Exception {
    String qid = ClickHouseClient.newQueryId("cancel-test");
    CompletableFuture<List<Row>> running = CompletableFuture.supplyAsync(
        () -> client.query(Sql.query(LONG_QUERY).withQueryId(qid)));
    awaitProcess(qid, true);
    assertTrue(client.cancel(qid), "KILL QUERY found the query");
    ClickHouseException e = failure(running);
    assertThat(e.kind()).as(() -> e + " / cause " + e.getCause()).isEqualTo(Kind.CANCELLED);
    awaitProcess(qid, false);
  }

  @Test
  void aClientThatDisconnectsCancelsItsQuery() throws Exception {
    String qid = "disconnect-" + UUID.randomUUID();
    byte[] body = LONG_QUERY.getBytes(StandardCharsets.UTF_8);
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.httpPort())) {
      OutputStream out = s.getOutputStream();
      out.write(("POST /?query_id=" + qid + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + server.basicAuth()
          + "\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      awaitProcess(qid, true);
    }
    awaitProcess(qid, false);
  }

  @Test
  void databaseComesFromTheHeaderElseTheParameter() {
    client.execute(Sql.command("CREATE TABLE IF NOT EXISTS ? (x UInt8) ENGINE = Memory", Sql.table("chdb_it", "here")));
    assertEquals("chdb_it", server.post("SELECT currentDatabase()", Map.of("database", "chdb_it"), Map.of())
        .body().strip());
    // HTTPHandler: request.get("X-ClickHouse-Database", params.get("database", "")): the header wins
    assertEquals("default", server.post("SELECT currentDatabase()", Map.of("database", "chdb_it"),
        Map.of("X-ClickHouse-Database", "default")).body().strip());
    // a statement in another database than the client's (Sql.inDatabase, as a migration's statements):
    // the client names it in the header too, or the header's default database would win on 26.x
    assertEquals("chdb_it", client.query(Sql.query("SELECT currentDatabase() AS d").inDatabase("chdb_it")).get(0)
        .string("d"));
    // the client sends its configured database as that header
    try (ClickHouseClient inDb = new HttpClickHouseClient(config(server.httpUrl()).withDatabase("chdb_it"))) {
      assertEquals("chdb_it", inDb.query(Sql.query("SELECT currentDatabase() AS d")).get(0).string("d"));
      assertEquals(1, inDb.query(Sql.query("EXISTS TABLE here")).get(0).longValue("result"));
      assertTrue(inDb.capabilities().exchangeTables(), "a database made by CREATE DATABASE is Atomic");
    }
    HttpResponse<String> missing = server.post("SELECT 1", Map.of("database", "no_such_db"), Map.of());
    assertEquals(404, missing.statusCode());
    assertEquals("81", missing.headers().firstValue("X-ClickHouse-Exception-Code").orElse(""));
  }

  @Test
  void detectsCapabilitiesOf267() {
    ServerCapabilities caps = client.capabilities();
    assertEquals(26, caps.version().major());
    assertEquals(7, caps.version().minor());
    assertTrue(caps.nativeBackup());
    assertTrue(caps.tableTtl());
    assertTrue(caps.lightweightDelete());
    assertTrue(caps.postgresqlTableFunction());
    assertTrue(caps.queryParameters(), "param_ URL parameters reach the query");
    assertFalse(caps.exchangeTables(), "chDB's default database is its Overlay engine, not Atomic");
  }

  @Test
  void backupToDiskRestoresAsAnotherTable() {
    client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table("chdb_it", "src")));
    client.execute(Sql.command("DROP TABLE IF EXISTS ?", Sql.table("chdb_it", "restored")));
    client.execute(Sql.command("CREATE TABLE ? (id UInt64) ENGINE = MergeTree ORDER BY id", Sql.table("chdb_it", "src")));
    client.execute(Sql.command("INSERT INTO ? SELECT number FROM numbers(12345)", Sql.table("chdb_it", "src")));
    String name = "it-" + UUID.randomUUID() + "/";
    List<Row> backup = client.query(Sql.command("BACKUP TABLE ? TO Disk(?, ?)", Sql.table("chdb_it", "src"),
        server.backupsDisk(), name));
    assertEquals("BACKUP_CREATED", backup.get(0).string("status"));
    assertTrue(Files.isDirectory(server.backupsDiskPath().resolve(name)), "the backup is on the disk's folder");
    List<Row> restore = client.query(Sql.command("RESTORE TABLE ? AS ? FROM Disk(?, ?)", Sql.table("chdb_it", "src"),
        Sql.table("chdb_it", "restored"), server.backupsDisk(), name));
    assertEquals("RESTORED", restore.get(0).string("status"));
    assertEquals(12345, server.sqlLong("SELECT count() FROM chdb_it.restored"));
    assertEquals(server.sqlLong("SELECT sum(id) FROM chdb_it.src"), server.sqlLong("SELECT sum(id) FROM chdb_it.restored"));
  }

  @Test
  void backupToFileAndS3() throws Exception {
    client.execute(Sql.command("CREATE TABLE IF NOT EXISTS ? (id UInt64) ENGINE = MergeTree ORDER BY id",
        Sql.table("chdb_it", "dest")));
    client.execute(Sql.command("TRUNCATE TABLE ?", Sql.table("chdb_it", "dest")));
    client.execute(Sql.command("INSERT INTO ? SELECT number FROM numbers(777)", Sql.table("chdb_it", "dest")));
    String file = "f-" + UUID.randomUUID() + "/";
    client.execute(Sql.command("BACKUP TABLE ? TO File(?)", Sql.table("chdb_it", "dest"), file));
    assertTrue(Files.isDirectory(server.backupFilesPath().resolve(file)));
    client.execute(Sql.command("RESTORE TABLE ? AS ? FROM File(?)", Sql.table("chdb_it", "dest"),
        Sql.table("chdb_it", "dest_from_file"), file));
    assertEquals(777, server.sqlLong("SELECT count() FROM chdb_it.dest_from_file"));

    try (S3Server s3 = new S3Server("chdb-it").start()) {
      String url = s3.endpoint() + "/" + s3.bucket() + "/b-" + UUID.randomUUID() + "/";
      List<Row> backup = client.query(Sql.command("BACKUP TABLE ? TO S3(?, ?, ?)", Sql.table("chdb_it", "dest"),
          url, S3Server.ACCESS_KEY, S3Server.SECRET_KEY));
      assertEquals("BACKUP_CREATED", backup.get(0).string("status"));
      client.execute(Sql.command("RESTORE TABLE ? AS ? FROM S3(?, ?, ?)", Sql.table("chdb_it", "dest"),
          Sql.table("chdb_it", "dest_from_s3"), url, S3Server.ACCESS_KEY, S3Server.SECRET_KEY));
      assertEquals(777, server.sqlLong("SELECT count() FROM chdb_it.dest_from_s3"));
    }
  }

  @Test
  void restartsOnTheSamePortAndData() throws Exception {
    Path dir = Files.createTempDirectory("hk-chdb-restart-");
    try (ChdbServer own = new ChdbServer(dir)) {
      own.start();
      own.sql("CREATE TABLE kept (x UInt8) ENGINE = MergeTree ORDER BY x");
      own.sql("INSERT INTO kept VALUES (1), (2)");
      int port = own.httpPort();
      own.stop(false);
      assertFalse(own.ping());
      own.start();
      assertEquals(port, own.httpPort());
      assertEquals(2, own.sqlLong("SELECT count() FROM kept"));
    } finally {
      TempDirs.delete(dir);
    }
  }

  private static ClickHouseException failure(CompletableFuture<?> future) throws Exception {
    try {
      future.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ClickHouseException ce) {
        return ce;
      }
      throw e;
    }
    throw new AssertionError("the query did not fail");
  }

  /** Through the operator's client: a lookup by its query id, which the server answers with its own ids. */
  private static long countProcesses(String qid) {
    return client.query(Sql.query("SELECT count() AS n FROM system.processes WHERE query_id = ?", qid))
        .get(0).longValue("n");
  }

  private static void awaitProcess(String qid, boolean present) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      if ((countProcesses(qid) > 0) == present) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("query " + qid + (present ? " never appeared in" : " is still in") + " system.processes");
  }
}
