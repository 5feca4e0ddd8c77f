package dev.housekeeper.clickhouse;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.ClientFaultCause;
import com.clickhouse.client.api.enums.SSLMode;
import com.clickhouse.client.api.insert.InsertResponse;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.client.api.query.QueryResponse;
import com.clickhouse.client.api.query.QuerySettings;
import com.clickhouse.data.ClickHouseFormat;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.failsafe.CircuitBreaker;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ClickHouseClient} over ClickHouse's HTTP interface, one {@code client-v2} {@link Client}
 * per endpoint. Results are always requested in an explicit format and read from the raw stream,
 * which 18.16 and current servers answer alike. No HTTP compression: 18.16 answers the client's
 * LZ4 framing with an empty body.
 */
public final class HttpClickHouseClient implements ClickHouseClient {

  private static final Logger LOG = LoggerFactory.getLogger(HttpClickHouseClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Slack between the server's max_execution_time and the client's own wait. */
  private static final Duration CLIENT_SLACK = Duration.ofSeconds(10);

  private final ClientConfig config;
  private final java.util.function.LongConsumer requestTimes;
  private final List<Endpoint> endpoints;
  private final RetryPolicy<Object> retryPolicy;
  private final AtomicInteger roundRobin = new AtomicInteger();
  private final Map<String, Running> running = new ConcurrentHashMap<>();
  private final Path caFile;
  private final String clientName;
  /** Closed clients send nothing (a replica that lost its lease closes every client). */
  private volatile boolean closed;

  /** One endpoint: its HTTP client and its circuit breaker. */
  private record Endpoint(String url, Client client, CircuitBreaker<Object> breaker) {}

  /** A query in flight: where it runs, and the request to abort. */
  private record Running(Endpoint endpoint, Future<?> request) {}

  public HttpClickHouseClient(ClientConfig config) {
    this(config, "housekeeper");
  }

  /** @param clientName the start of every request's User-Agent ({@code system.query_log.http_user_agent}) */
  public HttpClickHouseClient(ClientConfig config, String clientName) {
    this(config, clientName, nanos -> { });
  }

  /** @param requestTimes told how long each request took, sent until answered (retries included) */
  public HttpClickHouseClient(ClientConfig config, String clientName, java.util.function.LongConsumer requestTimes) {
    this.requestTimes = requestTimes;
    this.config = config;
    this.clientName = clientName;
    this.caFile = writeCaFile(config.caCertificatePem());
    List<Endpoint> list = new ArrayList<>();
    for (String url : config.endpoints()) {
      CircuitBreaker<Object> breaker = CircuitBreaker.builder()
          .withFailureThreshold(config.breakerFailureThreshold())
          .withSuccessThreshold(config.breakerSuccessThreshold())
          .withDelay(config.breakerOpenDuration())
          .onOpen(e -> LOG.warn("circuit opened for {}", url))
          .onClose(e -> LOG.info("circuit closed for {}", url))
          .build();
      list.add(new Endpoint(url, buildClient(url, clientName), breaker));
    }
    this.endpoints = List.copyOf(list);
    this.retryPolicy = RetryPolicy.builder()
        .handleIf(e -> e instanceof ClickHouseException ce && ce.retriable())
        .withMaxAttempts(Math.max(1, config.maxAttempts()))
        .withBackoff(config.initialBackoff(), max(config.initialBackoff(), config.maxBackoff()))
        .withJitter(0.1)
        .onRetry(e -> LOG.info("retrying after: {}", e.getLastException().getMessage()))
        .build();
  }

  /** A header value client-v2 sends as it is (its own test); any other is sent RFC 5987-encoded. */
  private static final java.util.regex.Pattern PLAIN_HEADER = java.util.regex.Pattern.compile("\\p{Graph}+(?:[ ]\\p{Graph}+)*");

  /** Bytes of each HTTP connection's input and output buffer. */
  static final int NETWORK_BUFFER = 64 * 1024;

  private Client buildClient(String url, String clientName) {
    Duration socket = config.queryTimeout().plus(CLIENT_SLACK);
    Client.Builder b = new Client.Builder()
        .addEndpoint(url)
        .setUsername(config.username())
        .setPassword(config.password())
        .setDefaultDatabase(config.database())
        .setConnectTimeout(config.connectTimeout().toMillis(), ChronoUnit.MILLIS)
        .setConnectionRequestTimeout(config.connectTimeout().toMillis(), ChronoUnit.MILLIS)
        .setSocketTimeout(socket.toMillis(), ChronoUnit.MILLIS)
        .compressServerResponse(false)
        .compressClientRequest(false)
        .useHttpCompression(false)
        .setMaxRetries(0)
        .retryOnFailures(ClientFaultCause.None)
        // the driver's default (300,000 bytes) is the size of each pooled HTTP connection's input and its output
        // buffer: with 100 ClickHouseConnections the pools held 222 connections and 133 MB, and a 256 MB heap ran
        // out. 64 KiB streams a backup as fast (the backup reads 64 KiB at a time).
        .setClientNetworkBufferSize(NETWORK_BUFFER)
        .useServerTimeZone(false)
        .useTimeZone("UTC")
        .setClientName(clientName);
    if (url.startsWith("https://")) {
      if (config.insecureSkipVerify()) {
        b.setSSLMode(SSLMode.TRUST);
      } else if (caFile != null) {
        b.setRootCertificate(caFile.toString());
      }
    }
    return b.build();
  }

  private static Path writeCaFile(String pem) {
    if (pem == null || pem.isBlank()) {
      return null;
    }
    try {
      Path file = Files.createTempFile("housekeeper-ca-", ".pem");
      Files.writeString(file, pem, StandardCharsets.US_ASCII);
      file.toFile().deleteOnExit();
      return file;
    } catch (IOException e) {
      throw new IllegalStateException("cannot write the CA certificate to a temporary file", e);
    }
  }

  @Override
  public ClientConfig config() {
    return config;
  }

  @Override
  public List<Row> query(Sql sql) {
    String text = sql.text().strip() + "\nFORMAT JSONEachRow";
    return run(sql, text, "JSONEachRow", HttpClickHouseClient::readJsonRows);
  }

  @Override
  public void execute(Sql sql) {
    run(sql, sql.text(), "TabSeparated", in -> {
      in.transferTo(java.io.OutputStream.nullOutputStream());
      return null;
    });
  }

  @Override
  public <T> T stream(Sql sql, String format, StreamReader<T> reader) {
    String text = sql.text().strip() + "\nFORMAT " + format(format).name();
    return run(sql, text, format, reader);
  }

  @Override
  public void insert(String database, String table, List<String> columns, String format, InputStream data,
      String queryId, Duration limit) {
    String target = Identifiers.qualified(database, table);
    List<String> quotedColumns = columns == null ? List.of() : columns.stream().map(Identifiers::quote).toList();
    String qid = queryId != null ? queryId : ClickHouseClient.newQueryId("insert");
    // An insert's body cannot be replayed: it is retried only when it never reached a server.
    Sql marker = Sql.command("INSERT INTO ?", Sql.table(database, table)).withQueryId(qid);
    if (limit != null) {
      marker = marker.withTimeout(limit);
    }
    execute(marker, (endpoint, timeout) -> {
      InsertSettings settings = new InsertSettings().setQueryId(qid);
      settings.serverSetting("max_execution_time", String.valueOf(Math.max(1, timeout.toSeconds())));
      settings.setNetworkTimeout(timeout.plus(CLIENT_SLACK).toMillis(), ChronoUnit.MILLIS);
      var future = quotedColumns.isEmpty()
          ? endpoint.client().insert(target, data, format(format), settings)
          : endpoint.client().insert(target, quotedColumns, data, format(format), settings);
      running.put(qid, new Running(endpoint, future));
      try (InsertResponse ignored = future.get(timeout.plus(CLIENT_SLACK).toMillis(), TimeUnit.MILLISECONDS)) {
        return null;
      }
    });
  }

  private static ClickHouseFormat format(String name) {
    try {
      return ClickHouseFormat.valueOf(name);
    } catch (IllegalArgumentException e) {
      throw ClickHouseException.invalidInput("unknown ClickHouse format " + Identifiers.describe(name));
    }
  }

  private <T> T run(Sql sql, String text, String format, StreamReader<T> reader) {
    String qid = sql.queryId() != null ? sql.queryId() : ClickHouseClient.newQueryId("q");
    return execute(sql.withQueryId(qid), (endpoint, timeout) -> {
      QuerySettings settings = new QuerySettings().setQueryId(qid).setFormat(format(format));
      settings.serverSetting("max_execution_time", String.valueOf(Math.max(1, timeout.toSeconds())));
      // the socket waits as long as this statement may run: a statement that sends nothing until it
      // ends (OPTIMIZE FINAL, INSERT ... SELECT, BACKUP) is not cut at the connection's queryTimeout
      settings.setNetworkTimeout(timeout.plus(CLIENT_SLACK).toMillis(), ChronoUnit.MILLIS);
      // "database" goes as the HTTP interface's own URL parameter, which every server version reads;
      // the client also sends it as the X-ClickHouse-Database header, which newer servers (26.x) prefer
      // to the parameter. client-v2 sends a header value that is not printable ASCII with single spaces
      // (Cyrillic, a leading space) as "X-ClickHouse-Database*: UTF-8''..." instead, which the server
      // does not read: it then takes the parameter, so the parameter is sent too, also with the
      // connection's database when the statement names none and that name cannot be a plain header
      sql.settings().forEach(settings::serverSetting);
      if (sql.settings().containsKey("database")) {
        settings.setDatabase(sql.settings().get("database"));
      } else if (config.database() != null && !PLAIN_HEADER.matcher(config.database()).matches()) {
        settings.serverSetting("database", config.database());
      }
      var future = endpoint.client().query(text, settings);
      running.put(qid, new Running(endpoint, future));
      try (QueryResponse response = future.get(timeout.plus(CLIENT_SLACK).toMillis(), TimeUnit.MILLISECONDS)) {
        InputStream in = response.getInputStream();
        try {
          return reader.read(in);
        } catch (ClickHouseException | ReaderFailure e) {
          throw e;
        } catch (IOException e) {
          // an I/O error of the response stream is ClickHouse's; anything else is the reader's own
          if (e instanceof ReaderIo) {
            throw new ReaderFailure(e.getCause());
          }
          throw e;
        } catch (Exception e) {
          throw new ReaderFailure(e);
        }
      }
    });
  }

  /** Marks an I/O error of a reader's own sink, so that it is not taken for a ClickHouse one. */
  public static final class ReaderIo extends IOException {
    public ReaderIo(IOException cause) {
      super(cause.getMessage(), cause);
    }
  }

  /** One try on one endpoint. */
  @FunctionalInterface
  private interface Attempt<T> {
    T on(Endpoint endpoint, Duration timeout) throws Exception;
  }

  /**
   * Retries with backoff around {@link #attempt}; turns a retriable failure that outlived its
   * attempts into RETRIES_EXHAUSTED.
   */
  private <T> T execute(Sql sql, Attempt<T> attempt) {
    Duration timeout = sql.timeout() != null ? sql.timeout() : config.queryTimeout();
    int[] attempts = {0};
    long t0 = System.nanoTime();
    try {
      return Failsafe.with(retryPolicy).get(ctx -> {
        attempts[0] = ctx.getAttemptCount() + 1;
        return attempt(sql, timeout, attempt);
      });
    } catch (ClickHouseException e) {
      if (e.retriable() && attempts[0] >= config.maxAttempts() && config.maxAttempts() > 1) {
        throw new ClickHouseException(Kind.RETRIES_EXHAUSTED, e.code(), false, e.endpoint(), e.queryId(),
            "gave up after " + attempts[0] + " attempts: " + e.getMessage(), e);
      }
      throw e;
    } catch (ReaderFailure e) {
      throw e;
    } catch (FailsafeException e) {
      if (e.getCause() instanceof ReaderFailure f) {
        throw f;
      }
      throw redacted(ErrorClassifier.classify(e.getCause() != null ? e.getCause() : e, null, sql.queryId(),
          sql.idempotent()));
    } finally {
      running.remove(sql.queryId());
      requestTimes.accept(System.nanoTime() - t0);
    }
  }

  /**
   * Tries endpoints in balancing order. A connection that could not even be opened fails over to
   * the next endpoint at once (nothing was sent); any other failure ends the attempt.
   */
  private <T> T attempt(Sql sql, Duration timeout, Attempt<T> attempt) {
    if (closed) {
      throw new ClickHouseException(Kind.CANCELLED, 0, false, null, sql.queryId(), "the client is closed", null);
    }
    ClickHouseException lastRefused = null;
    boolean anyPermitted = false;
    for (Endpoint endpoint : order()) {
      if (!endpoint.breaker().tryAcquirePermit()) {
        continue;
      }
      anyPermitted = true;
      // listed before the request is sent: the client may run it in this thread until the answer
      // comes, and cancel() must find it meanwhile to kill it on its server
      running.put(sql.queryId(), new Running(endpoint, null));
      try {
        T result = attempt.on(endpoint, timeout);
        endpoint.breaker().recordSuccess();
        return result;
      } catch (ReaderFailure f) {
        endpoint.breaker().recordSuccess();
        throw f;
      } catch (Throwable t) {
        if (t instanceof InterruptedException) {
          // the caller was stopped (cancelled work, a lost lease): the server would go on running the
          // statement, so it is killed there before the interrupt is passed on
          killQuietly(endpoint, sql.queryId());
          Thread.currentThread().interrupt();
        }
        ClickHouseException e = redacted(ErrorClassifier.classify(t, endpoint.url(), sql.queryId(), sql.idempotent()));
        if (e.kind() == Kind.CONNECTION) {
          endpoint.breaker().recordFailure();
        } else {
          endpoint.breaker().recordSuccess(); // the server answered: the endpoint is alive
        }
        if (e.kind() == Kind.TIMEOUT && e.code() == 0) {
          killQuietly(endpoint, sql.queryId());
        }
        if (e.kind() == Kind.CONNECTION && ErrorClassifier.notSent(t)) {
          LOG.warn("endpoint {} refused the connection, failing over: {}", endpoint.url(), e.getMessage());
          lastRefused = e;
          continue;
        }
        throw e;
      }
    }
    if (!anyPermitted) {
      throw new ClickHouseException(Kind.CIRCUIT_OPEN, 0, false, null, sql.queryId(),
          "every endpoint's circuit breaker is open after repeated connection failures (" + config.endpoints()
              + "); requests resume after " + config.breakerOpenDuration().toSeconds() + "s", null);
    }
    throw lastRefused;
  }

  /** Stands for the user name in messages: the value came from a Secret's key, which may hold anything. */
  public static final String USER_PLACEHOLDER = "[the connection's user]";

  /**
   * The failure without the credentials' values: ClickHouse names the user in its answers ("Wrong
   * password for user X", "X: Authentication failed", "Unknown user X"), and the message goes to
   * status, Events and logs; the password is replaced wherever it appears.
   */
  ClickHouseException redacted(ClickHouseException e) {
    String message = redact(e.getMessage(), config.username(), config.password());
    if (message == null || message.equals(e.getMessage())) {
      return e;
    }
    return new ClickHouseException(e.kind(), e.code(), e.retriable(), e.endpoint(), e.queryId(), message, e.getCause());
  }

  /** From this length on, a user name is replaced everywhere, not only where an answer names a user. */
  private static final int LONG_USER = 8;

  static String redact(String message, String username, String password) {
    if (message == null) {
      return null;
    }
    String out = message;
    if (password != null && password.length() >= 4) {
      out = out.replace(password, "[password]");
    }
    if (username != null && username.length() >= LONG_USER) {
      // long enough to be a token or a password read through a usernameKey: taken out wherever it appears
      out = out.replace(username, USER_PLACEHOLDER);
    } else if (username != null && !username.isBlank()) {
      String user = java.util.regex.Pattern.quote(username);
      String placeholder = java.util.regex.Matcher.quoteReplacement(USER_PLACEHOLDER);
      out = out.replaceAll("(?<=Exception: )" + user + "(?=:)", placeholder)
          .replaceAll("(?<=[Uu]ser )" + user + "(?![\\w-])", placeholder)
          .replaceAll("(?<=[Uu]ser [\"'`])" + user + "(?=[\"'`])", placeholder);
    }
    return out;
  }

  private List<Endpoint> order() {
    if (endpoints.size() == 1 || config.balancing() == ClientConfig.Balancing.FIRST_HEALTHY) {
      return endpoints;
    }
    int start = Math.floorMod(roundRobin.getAndIncrement(), endpoints.size());
    List<Endpoint> rotated = new ArrayList<>(endpoints.size());
    for (int i = 0; i < endpoints.size(); i++) {
      rotated.add(endpoints.get((start + i) % endpoints.size()));
    }
    return rotated;
  }

  @Override
  public boolean cancel(String queryId) {
    Running r = running.get(queryId);
    List<Endpoint> targets = r != null ? List.of(r.endpoint()) : endpoints;
    boolean found = false;
    for (Endpoint endpoint : targets) {
      found |= kill(endpoint, queryId);
    }
    if (r != null && r.request() != null) {
      r.request().cancel(true);
    }
    return found;
  }

  @Override
  public int cancelAll() {
    int found = 0;
    for (String queryId : List.copyOf(running.keySet())) {
      found += cancel(queryId) ? 1 : 0;
    }
    return found;
  }

  private boolean kill(Endpoint endpoint, String queryId) {
    String text = Sql.command("KILL QUERY WHERE query_id = ? SYNC", queryId).text() + "\nFORMAT JSONEachRow";
    QuerySettings settings = new QuerySettings()
        .setQueryId(ClickHouseClient.newQueryId("kill"))
        .setFormat(ClickHouseFormat.JSONEachRow);
    try (QueryResponse response = endpoint.client().query(text, settings).get(30, TimeUnit.SECONDS)) {
      List<Row> rows = readJsonRows(response.getInputStream());
      // the result rows hold the killed query's text, which can carry credentials (a native BACKUP TO S3's keys):
      // only the status is logged
      LOG.info("KILL QUERY {} on {}: {}", queryId, endpoint.url(),
          rows.stream().map(row -> row.string("kill_status")).toList());
      return !rows.isEmpty();
    } catch (Exception e) {
      LOG.warn("KILL QUERY {} on {} failed: {}", queryId, endpoint.url(),
          redact(e.getMessage(), config.username(), config.password()));
      return false;
    }
  }

  private void killQuietly(Endpoint endpoint, String queryId) {
    try {
      kill(endpoint, queryId);
    } catch (RuntimeException ignored) {
      // best effort: the server's own max_execution_time stops the query too
    }
  }

  @Override
  public List<EndpointProbe> probe() {
    List<EndpointProbe> out = new ArrayList<>();
    for (Endpoint endpoint : endpoints) {
      String qid = ClickHouseClient.newQueryId("probe");
      long start = System.nanoTime();
      try {
        QuerySettings settings = new QuerySettings().setQueryId(qid).setFormat(ClickHouseFormat.JSONEachRow);
        settings.serverSetting("max_execution_time", "10");
        List<Row> rows;
        try (QueryResponse response = endpoint.client()
            .query("SELECT version() AS version\nFORMAT JSONEachRow", settings)
            .get(config.connectTimeout().plusSeconds(10).toMillis(), TimeUnit.MILLISECONDS)) {
          rows = readJsonRows(response.getInputStream());
        }
        long latency = (System.nanoTime() - start) / 1_000_000;
        if (endpoint.breaker().isOpen()) {
          // the endpoint answers again (a restarted server): waiting out the breaker's delay would hold work back
          endpoint.breaker().close();
        }
        out.add(new EndpointProbe(endpoint.url(), true, latency, rows.get(0).string("version"), null));
      } catch (Throwable t) {
        long latency = (System.nanoTime() - start) / 1_000_000;
        out.add(new EndpointProbe(endpoint.url(), false, latency, null,
            redacted(ErrorClassifier.classify(t, endpoint.url(), qid, true))));
      }
    }
    return out;
  }

  @Override
  public ServerCapabilities capabilities() {
    List<Row> facts = query(Sql.query(
        "SELECT version() AS version,"
            + " (SELECT count() FROM system.table_functions WHERE name = 'postgresql') AS pg,"
            + " (SELECT any(engine) FROM system.databases WHERE name = ?) AS engine",
        config.database()));
    Row row = facts.get(0);
    boolean params = probeQueryParameters();
    return ServerCapabilities.derive(ServerVersion.parse(row.string("version")), row.string("engine"),
        row.longValue("pg") > 0, params);
  }

  private boolean probeQueryParameters() {
    String qid = ClickHouseClient.newQueryId("caps");
    try {
      List<Row> rows = execute(Sql.query("SELECT 1").withQueryId(qid), (endpoint, timeout) -> {
        QuerySettings settings = new QuerySettings().setQueryId(qid).setFormat(ClickHouseFormat.JSONEachRow);
        settings.serverSetting("param_hk_probe", "7");
        try (QueryResponse response = endpoint.client()
            .query("SELECT {hk_probe:UInt8} AS v\nFORMAT JSONEachRow", settings)
            .get(timeout.plus(CLIENT_SLACK).toMillis(), TimeUnit.MILLISECONDS)) {
          return readJsonRows(response.getInputStream());
        }
      });
      return rows.size() == 1 && rows.get(0).longValue("v") == 7;
    } catch (ClickHouseException e) {
      if (e.kind() == Kind.SYNTAX || e.kind() == Kind.SERVER) {
        return false;
      }
      throw e;
    }
  }

  @Override
  public Duration blockedFor() {
    Duration soonest = null;
    for (Endpoint endpoint : endpoints) {
      if (!endpoint.breaker().isOpen()) {
        return Duration.ZERO;
      }
      Duration left = endpoint.breaker().getRemainingDelay();
      soonest = soonest == null || left.compareTo(soonest) < 0 ? left : soonest;
    }
    return soonest == null ? Duration.ZERO : soonest;
  }

  @Override
  public List<String> breakerStates() {
    return endpoints.stream().map(e -> e.breaker().getState().name()).toList();
  }

  @Override
  public void close() {
    closed = true;
    for (Endpoint endpoint : endpoints) {
      try {
        endpoint.client().close();
      } catch (RuntimeException e) {
        LOG.debug("closing client for {}: {}", endpoint.url(), e.getMessage());
      }
    }
    if (caFile != null) {
      try {
        Files.deleteIfExists(caFile);
      } catch (IOException ignored) {
        // temp file; deleteOnExit is registered as well
      }
    }
  }

  static List<Row> readJsonRows(InputStream in) throws IOException {
    List<Row> rows = new ArrayList<>();
    try (JsonParser parser = JSON.getFactory().createParser(in);
        MappingIterator<ObjectNode> it = JSON.readerFor(ObjectNode.class).readValues(parser)) {
      while (it.hasNextValue()) {
        rows.add(new Row(it.nextValue()));
      }
    }
    return rows;
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a.plusMillis(1) : b;
  }
}
