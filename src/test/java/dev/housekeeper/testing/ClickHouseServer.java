package dev.housekeeper.testing;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real clickhouse-server process (Debian's package, 18.16) on free loopback ports, with its data
 * in a temporary folder and a password-protected user. One instance is shared by a whole test run
 * ({@link #shared()}); it can be stopped and started again on the same ports and data, to test
 * failures.
 */
public final class ClickHouseServer implements AutoCloseable {

  public static final String USER = "housekeeper";
  public static final String PASSWORD = "hk-test-p4ss";
  /** A user whose profile is read-only, to see PERMISSION_DENIED. */
  public static final String READONLY_USER = "reader";
  /** A user with the same rights and password as {@link #USER}, for tests that audit one client's queries in system.query_log. */
  public static final String AUDITED_USER = "audited";
  public static final String BINARY = "/usr/sbin/clickhouse-server";

  private static ClickHouseServer shared;

  private final Path dir;
  /** Whether this server chose its own ports, and may so take others when one was taken meanwhile. */
  private final boolean portsOwn;
  private int httpPort;
  private int tcpPort;
  private final String user;
  private final String password;
  private final String extraConfig;
  private final String extraUsers;
  private Process process;

  /** The server shared by every test of this JVM, started on first use and stopped at exit. */
  public static synchronized ClickHouseServer shared() {
    if (shared == null) {
      try {
        shared = new ClickHouseServer(Files.createTempDirectory("hk-clickhouse-"));
        shared.start();
        ClickHouseServer s = shared;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          s.close();
          TempDirs.delete(s.dir());
        }));
      } catch (IOException e) {
        throw new IllegalStateException("cannot start clickhouse-server", e);
      }
    }
    return shared;
  }

  public ClickHouseServer(Path dir) throws IOException {
    this(dir, 0, 0, USER, PASSWORD);
  }

  /** A server on given ports (0: a free one) with the given user; the read-only user shares its password. */
  public ClickHouseServer(Path dir, int httpPort, int tcpPort, String user, String password) throws IOException {
    this(dir, httpPort, tcpPort, user, password, "");
  }

  /** A server with more config.xml elements (a cluster node's ZooKeeper, remote_servers, macros ...). */
  public ClickHouseServer(Path dir, int httpPort, int tcpPort, String user, String password, String extraConfig)
      throws IOException {
    this(dir, httpPort, tcpPort, user, password, extraConfig, "");
  }

  /** ... and more users.xml users. */
  public ClickHouseServer(Path dir, int httpPort, int tcpPort, String user, String password, String extraConfig,
      String extraUsers) throws IOException {
    this.extraConfig = extraConfig;
    this.extraUsers = extraUsers;
    this.dir = dir;
    this.portsOwn = httpPort == 0 && tcpPort == 0;
    this.httpPort = httpPort == 0 ? TestPorts.take() : httpPort;
    this.tcpPort = tcpPort == 0 ? TestPorts.take() : tcpPort;
    this.user = user;
    this.password = password;
    writeConfig();
  }

  private void writeConfig() throws IOException {
    Files.createDirectories(dir.resolve("log"));
    Files.createDirectories(dir.resolve("data/tmp"));
    Files.createDirectories(dir.resolve("data/user_files"));
    Files.createDirectories(dir.resolve("data/format_schemas"));
    String d = dir.toAbsolutePath().toString();
    Files.writeString(dir.resolve("config.xml"), """
        <?xml version="1.0"?>
        <yandex>
          <logger><level>information</level><log>%1$s/log/server.log</log>
            <errorlog>%1$s/log/server.err.log</errorlog><size>100M</size><count>2</count></logger>
          <listen_host>127.0.0.1</listen_host>
          <http_port>%2$d</http_port><tcp_port>%3$d</tcp_port>
          <max_concurrent_queries>100</max_concurrent_queries>
          <mark_cache_size>268435456</mark_cache_size>
          <path>%1$s/data/</path><tmp_path>%1$s/data/tmp/</tmp_path>
          <user_files_path>%1$s/data/user_files/</user_files_path>
          <format_schema_path>%1$s/data/format_schemas/</format_schema_path>
          <users_config>users.xml</users_config><default_profile>default</default_profile>
          <default_database>default</default_database><timezone>UTC</timezone>
          <mlock_executable>false</mlock_executable>
          <query_log><database>system</database><table>query_log</table>
            <flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>
        %4$s
        </yandex>
        """.formatted(d, httpPort, tcpPort, extraConfig));
    Files.writeString(dir.resolve("users.xml"), """
        <?xml version="1.0"?>
        <yandex>
          <profiles><default><log_queries>1</log_queries></default>
            <readonly><readonly>1</readonly><log_queries>1</log_queries></readonly></profiles>
          <users>
            <%1$s><password>%2$s</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
              <profile>default</profile><quota>default</quota></%1$s>
            <audited><password>%2$s</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
              <profile>default</profile><quota>default</quota></audited>
            <%3$s><password>%4$s</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
              <profile>readonly</profile><quota>default</quota></%3$s>
            %5$s
          </users>
          <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
            <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
          </interval></default></quotas>
        </yandex>
        """.formatted(user, password, READONLY_USER, password, extraUsers));
  }

  /**
   * Starts the process and waits until /ping answers. When another process took one of its ports
   * meanwhile, a server that chose its own ports takes new ones and starts again; one whose ports
   * were given (a cluster node, named in its peers' configs) throws {@link PortTakenException}.
   */
  public synchronized void start() {
    if (process != null && process.isAlive()) {
      return;
    }
    for (int attempt = 1; ; attempt++) {
      try {
        startOnce();
        return;
      } catch (PortTakenException e) {
        if (!portsOwn || attempt == 5) {
          throw e;
        }
        httpPort = TestPorts.take();
        tcpPort = TestPorts.take();
        try {
          writeConfig();
        } catch (IOException io) {
          throw new IllegalStateException(io);
        }
      }
    }
  }

  private void startOnce() {
    if (portInUse(httpPort) || portInUse(tcpPort)) {
      throw new PortTakenException("port " + httpPort + " or " + tcpPort + " is already in use on 127.0.0.1");
    }
    try {
      process = TestProcesses.start(new ProcessBuilder(BINARY, "--config-file=" + dir.resolve("config.xml"))
          .directory(dir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("log/stdout.log").toFile()));
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + BINARY + " (apt-get install clickhouse-server)", e);
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        int exit = process.exitValue();
        TestProcesses.forget(process.pid());
        process = null;
        if (logSays("Address already in use")) {
          throw new PortTakenException("clickhouse-server in " + dir + " could not bind port " + httpPort + ", "
              + tcpPort + " or another of its config: Address already in use");
        }
        throw new IllegalStateException("clickhouse-server exited with " + exit + "; see " + dir.resolve("log"));
      }
      if (ping()) {
        return;
      }
      sleep(50);
    }
    throw new IllegalStateException("clickhouse-server did not answer /ping within 30 s; see " + dir.resolve("log"));
  }

  private boolean logSays(String text) {
    for (String file : List.of("log/stdout.log", "log/server.err.log")) {
      try {
        Path log = dir.resolve(file);
        if (Files.exists(log) && Files.readString(log, StandardCharsets.ISO_8859_1).contains(text)) {
          return true;
        }
      } catch (IOException e) {
        // the other file may say it
      }
    }
    return false;
  }

  /** A server could not bind a port because another process holds it. */
  public static final class PortTakenException extends IllegalStateException {
    public PortTakenException(String message) {
      super(message);
    }
  }

  /** Stops the process: SIGTERM, or SIGKILL when {@code hard}. Data stays. */
  public synchronized void stop(boolean hard) {
    if (process == null) {
      return;
    }
    TestProcesses.stop(process, hard, Duration.ofSeconds(30));
    process = null;
    // the ports are free again only once the listener is gone
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (ping() && System.nanoTime() < deadline) {
      sleep(50);
    }
  }

  private static boolean portInUse(int port) {
    try (java.net.Socket s = new java.net.Socket()) {
      s.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  public boolean ping() {
    return answersPing(httpUrl());
  }

  /** Whether the ClickHouse HTTP interface at {@code httpUrl} answers /ping (this server, or the chDB server). */
  static boolean answersPing(String httpUrl) {
    try {
      HttpURLConnection c = (HttpURLConnection) URI.create(httpUrl + "/ping").toURL().openConnection();
      c.setConnectTimeout(500);
      c.setReadTimeout(1000);
      return c.getResponseCode() == 200;
    } catch (IOException e) {
      return false;
    }
  }

  public String httpUrl() {
    return "http://127.0.0.1:" + httpPort;
  }

  public int httpPort() {
    return httpPort;
  }

  public int tcpPort() {
    return tcpPort;
  }

  public Path dir() {
    return dir;
  }

  /**
   * Runs SQL with Debian's clickhouse-client (a path independent of the operator's client), and
   * returns its TabSeparated output; fails when the client has not ended within 300 s.
   */
  public String sql(String query) {
    return sql(query, Duration.ofSeconds(300));
  }

  /**
   * As {@link #sql(String)}, failing (and killing the client) when it has not ended within
   * {@code limit}. The output goes to a file, read once the client has ended: reading its pipe first,
   * as this did, waited for a client that hung without any bound (a fault test's poll once hung for
   * the whole 90 s it had).
   */
  public String sql(String query, Duration limit) {
    List<String> cmd = new ArrayList<>(List.of("clickhouse-client", "--host", "127.0.0.1", "--port",
        String.valueOf(tcpPort), "--user", user, "--password", password, "--multiquery", "--query", query));
    Path output = null;
    try {
      output = Files.createTempFile("clickhouse-client-", ".out");
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
      if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("clickhouse-client did not end within " + limit + " on [" + query + "]");
      }
      String out = Files.readString(output, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IllegalStateException("clickhouse-client failed on [" + query + "]: " + out);
      }
      return out.strip();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      if (output != null) {
        output.toFile().delete();
      }
    }
  }

  /** A single number from {@link #sql}. */
  public long sqlLong(String query) {
    return Long.parseLong(sql(query));
  }

  /** As {@link #sqlLong(String)}, bounded as {@link #sql(String, Duration)} is. */
  public long sqlLong(String query, Duration limit) {
    return Long.parseLong(sql(query, limit));
  }

  /** Basic auth header value for raw HTTP calls in tests. */
  public static String basicAuth() {
    return "Basic " + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public synchronized void close() {
    stop(false);
  }
}
