package dev.housekeeper.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL server for tests: Debian's PostgreSQL 15 binaries, a cluster in a temporary
 * folder, listening on a free loopback port with password authentication. It can be stopped and
 * started again on the same port and data. When the tests run as root (CI containers), the server
 * runs as the {@code postgres} system user, as PostgreSQL refuses root.
 */
public final class PostgresServer implements AutoCloseable {

  public static final String USER = "hk";
  public static final String PASSWORD = "pg-test-p4ss";
  public static final String DATABASE = "bionicpro";
  static final Path BIN = findBin();

  private final Path dir;
  private final int port;
  private boolean running;
  private long postmaster;

  public PostgresServer() throws IOException {
    this.dir = Files.createTempDirectory("hk-postgres-");
    this.port = TestPorts.take();
  }

  private static Path findBin() {
    for (String v : List.of("17", "16", "15", "14", "13")) {
      Path p = Path.of("/usr/lib/postgresql", v, "bin");
      if (Files.isExecutable(p.resolve("postgres"))) {
        return p;
      }
    }
    return Path.of("/usr/lib/postgresql/15/bin");
  }

  /** Whether Debian's PostgreSQL server package is installed. */
  public static boolean installed() {
    return Files.isExecutable(BIN.resolve("postgres"));
  }

  private static boolean root() {
    return "root".equals(System.getProperty("user.name"));
  }

  private void run(String... command) {
    List<String> cmd = new ArrayList<>();
    if (root()) {
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.addAll(List.of(command));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + command[0] + " (is postgresql installed?)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Creates the cluster (first time) and starts the server; creates the user and database. */
  public synchronized PostgresServer start() {
    if (running) {
      return this;
    }
    try {
      Path data = dir.resolve("data");
      boolean fresh = !Files.exists(data);
      if (fresh) {
        Path pw = dir.resolve("pw");
        Files.writeString(pw, PASSWORD + "\n");
        if (root()) {
          run0("chown", "-R", "postgres:postgres", dir.toString());
        }
        run(BIN.resolve("initdb").toString(), "-D", data.toString(), "-U", USER, "--pwfile=" + pw,
            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8");
      }
      run(BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("server.log").toString(), "-w",
          "-t", "60", "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off"
              + " -c synchronous_commit=off -c full_page_writes=off", "start");
      running = true;
      // pg_ctl puts the postmaster in a process group of its own: the reaper stops it if this JVM dies
      postmaster = Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).get(0).strip());
      TestProcesses.watch(postmaster);
      if (fresh) {
        try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
          st.execute("CREATE DATABASE " + DATABASE);
        }
      }
      return this;
    } catch (IOException | SQLException e) {
      throw new IllegalStateException("cannot start PostgreSQL in " + dir, e);
    }
  }

  private static void run0(String... command) throws IOException {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      p.waitFor(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the server (fast shutdown: connections are closed). */
  public synchronized void stop() {
    if (running) {
      run(BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "fast", "-w", "stop");
      running = false;
      TestProcesses.forget(postmaster);
    }
  }

  public int port() {
    return port;
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
  }

  public Connection connect() throws SQLException {
    return connect(DATABASE);
  }

  public Connection connect(String database) throws SQLException {
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, USER, PASSWORD);
  }

  /** Runs SQL (several statements allowed) in the test database. */
  public void sql(String sql) {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      st.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException("PostgreSQL failed on [" + (sql.length() > 300 ? sql.substring(0, 300) + "..."
          : sql) + "]: " + e.getMessage(), e);
    }
  }

  /** psql against the test database, for baselines: {@code psql -h ... -c <command>}. */
  public List<String> psql(String... args) {
    List<String> cmd = new ArrayList<>(List.of("psql", "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", USER,
        "-d", DATABASE, "-v", "ON_ERROR_STOP=1"));
    cmd.addAll(List.of(args));
    return cmd;
  }

  @Override
  public void close() {
    try {
      stop();
    } catch (RuntimeException e) {
      // best effort
    }
    TempDirs.delete(dir);
  }
}
