package dev.housekeeper.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * ClickHouse 26.7 behind its HTTP interface: {@code tools/chdb/server.js}, which serves chDB (the
 * ClickHouse engine as a library, from npm) the way clickhouse-server answers on its HTTP port, so
 * that the operator's own client talks to a current ClickHouse as it talks to 18.16. Data in a
 * temporary folder, the password-protected user of {@link ClickHouseServer}, one free loopback
 * port. One instance is shared by a whole test run ({@link #shared()}); it can be stopped and
 * started again on the same port and data.
 *
 * <p>What it cannot do (no query_log, no replication, emulated query ids, one user ...) is listed
 * at the top of {@code server.js} and in {@code docs/testing-chdb-server.md}.
 */
public final class ChdbServer implements AutoCloseable {

  /** The local disk that BACKUP ... TO Disk(...) may name. */
  public static final String BACKUPS_DISK = "backups";
  public static final Path SCRIPT = ChdbEngine.TOOL.resolve("server.js");

  private static ChdbServer shared;

  private final Path dir;
  /** Whether this server chose its own port, and may so take another when it was taken meanwhile. */
  private final boolean portOwn;
  private int httpPort;
  private final String user;
  private final String password;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Process process;

  /** The server shared by every test of this JVM, started on first use and stopped at exit. */
  public static synchronized ChdbServer shared() {
    if (shared == null) {
      try {
        shared = new ChdbServer(Files.createTempDirectory("hk-chdb-server-"));
        shared.start();
        ChdbServer s = shared;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          s.close();
          TempDirs.delete(s.dir());
        }));
      } catch (IOException e) {
        throw new IllegalStateException("cannot start the chDB server", e);
      }
    }
    return shared;
  }

  public ChdbServer(Path dir) {
    this(dir, 0, ClickHouseServer.USER, ClickHouseServer.PASSWORD);
  }

  /** A server on a given port (0: a free one) with the given user. */
  public ChdbServer(Path dir, int httpPort, String user, String password) {
    this.dir = dir;
    this.portOwn = httpPort == 0;
    this.httpPort = httpPort == 0 ? TestPorts.take() : httpPort;
    this.user = user;
    this.password = password;
  }

  /**
   * Starts the process and waits until /ping answers. When another process took its port meanwhile,
   * a server that chose its own port takes a new one and starts again.
   */
  public synchronized void start() {
    if (process != null && process.isAlive()) {
      return;
    }
    if (!ChdbEngine.installed()) {
      throw new IllegalStateException("chDB is not installed: run npm install --prefix " + ChdbEngine.TOOL);
    }
    for (int attempt = 1; ; attempt++) {
      try {
        startOnce();
        return;
      } catch (ClickHouseServer.PortTakenException e) {
        if (!portOwn || attempt == 5) {
          throw e;
        }
        httpPort = TestPorts.take();
      }
    }
  }

  private void startOnce() {
    if (ping()) {
      throw new ClickHouseServer.PortTakenException("port " + httpPort + " is already in use on 127.0.0.1");
    }
    Path log = dir.resolve("server.log");
    long logStart;
    try {
      Files.createDirectories(dir);
      logStart = Files.exists(log) ? Files.size(log) : 0;
      ProcessBuilder builder = new ProcessBuilder("node", SCRIPT.toString(), "--port", String.valueOf(httpPort),
          "--data", dir.toString(), "--user", user, "--password", password)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      builder.environment().put("TZ", "UTC");
      process = TestProcesses.start(builder);
    } catch (IOException e) {
      throw new IllegalStateException("cannot run node " + SCRIPT, e);
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        int exit = process.exitValue();
        TestProcesses.forget(process.pid());
        process = null;
        if (logSays(log, logStart, "Address already in use")) {
          throw new ClickHouseServer.PortTakenException("the chDB server in " + dir + " could not bind port "
              + httpPort + ": Address already in use");
        }
        throw new IllegalStateException("the chDB server exited with " + exit + "; see " + log);
      }
      if (ping()) {
        return;
      }
      ClickHouseServer.sleep(50);
    }
    throw new IllegalStateException("the chDB server did not answer /ping within 30 s; see " + log);
  }

  /** Whether the log says {@code text} after {@code from} (what this start wrote). */
  private static boolean logSays(Path log, long from, String text) {
    try {
      String all = Files.readString(log, StandardCharsets.ISO_8859_1);
      return all.length() > from && all.substring((int) from).contains(text);
    } catch (IOException e) {
      return false;
    }
  }

  /** Stops the process: SIGTERM (its running queries are cancelled), or SIGKILL when {@code hard}. Data stays. */
  public synchronized void stop(boolean hard) {
    if (process == null) {
      return;
    }
    TestProcesses.stop(process, hard, Duration.ofSeconds(30));
    process = null;
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (ping() && System.nanoTime() < deadline) {
      ClickHouseServer.sleep(50);
    }
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  public boolean ping() {
    return ClickHouseServer.answersPing(httpUrl());
  }

  public String httpUrl() {
    return "http://127.0.0.1:" + httpPort;
  }

  public int httpPort() {
    return httpPort;
  }

  public Path dir() {
    return dir;
  }

  /** The local disk for {@code BACKUP ... TO Disk('backups', 'name/')}. */
  public String backupsDisk() {
    return BACKUPS_DISK;
  }

  /** Where the {@link #backupsDisk()} disk keeps its files. */
  public Path backupsDiskPath() {
    return dir.resolve("backups");
  }

  /**
   * The allowed_path of {@code BACKUP ... TO File('name/')}: relative names land here, absolute
   * ones must be inside it.
   */
  public Path backupFilesPath() {
    return dir.resolve("backup_files");
  }

  /**
   * The backup destinations this server accepts: {@code Disk} ({@link #backupsDisk()}), {@code File}
   * (under {@link #backupFilesPath()}) and {@code S3} with the credentials in the statement (for
   * example {@link S3Server}: no server config needed). Not {@code .zip} archives (chDB is built
   * without minizip).
   */
  public List<String> backupDestinations() {
    return List.of("Disk", "File", "S3");
  }

  /**
   * Runs SQL over plain HTTP (java.net.http, POST, Basic auth: a path independent of the operator's
   * client) and returns its TabSeparated output. Several statements separated by ';' run one after
   * another (chDB runs a whole body; a real server would refuse that over HTTP).
   */
  public String sql(String query) {
    HttpResponse<String> r = post(query, Map.of(), Map.of());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("chDB server answered " + r.statusCode() + " to [" + query + "]: " + r.body());
    }
    return r.body().strip();
  }

  /** A single number from {@link #sql}. */
  public long sqlLong(String query) {
    return Long.parseLong(sql(query));
  }

  /**
   * One raw POST with URL parameters and headers. Basic auth is added unless the headers carry an
   * Authorization or X-ClickHouse-User; a header given as "" is not sent.
   */
  public HttpResponse<String> post(String body, Map<String, String> params, Map<String, String> headers) {
    StringBuilder url = new StringBuilder(httpUrl()).append('/');
    char sep = '?';
    for (Map.Entry<String, String> p : params.entrySet()) {
      url.append(sep).append(encode(p.getKey())).append('=').append(encode(p.getValue()));
      sep = '&';
    }
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url.toString()))
        .timeout(Duration.ofSeconds(300))
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (!headers.containsKey("Authorization") && !headers.containsKey("X-ClickHouse-User")) {
      b.header("Authorization", basicAuth());
    }
    headers.forEach((name, value) -> {
      if (!value.isEmpty()) {
        b.header(name, value);
      }
    });
    try {
      return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("chDB server at " + httpUrl() + " did not answer: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Basic auth header value of this server's user. */
  public String basicAuth() {
    return "Basic " + java.util.Base64.getEncoder().encodeToString((user + ":" + password)
        .getBytes(StandardCharsets.UTF_8));
  }

  private static String encode(String s) {
    return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  @Override
  public synchronized void close() {
    stop(false);
  }
}
