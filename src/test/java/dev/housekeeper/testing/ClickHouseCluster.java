package dev.housekeeper.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A real ClickHouse cluster on loopback: Debian's ZooKeeper (3.8, standalone) and four
 * clickhouse-server 18.16 processes as 2 shards x 2 replicas, with {@code remote_servers} (cluster
 * {@value #NAME}), {@code macros} ({shard}, {replica}), the distributed DDL queue and interserver
 * replication, so that ON CLUSTER DDL and ReplicatedMergeTree work for real. One cluster is shared
 * by a test run ({@link #shared()}) and stopped at exit.
 */
public final class ClickHouseCluster implements AutoCloseable {

  public static final String NAME = "hk_cluster";
  public static final String ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar";
  public static final int SHARDS = 2;
  public static final int REPLICAS = 2;

  private static ClickHouseCluster shared;

  private final Path dir;
  private int zkPort;
  private Process zookeeper;
  private final List<ClickHouseServer> nodes = new ArrayList<>();

  /** The cluster shared by every test of this JVM, started on first use. */
  public static synchronized ClickHouseCluster shared() {
    if (shared == null) {
      try {
        shared = new ClickHouseCluster(Files.createTempDirectory("hk-cluster-"));
        shared.start();
        ClickHouseCluster c = shared;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          c.close();
          TempDirs.delete(c.dir);
        }));
      } catch (IOException e) {
        throw new IllegalStateException("cannot start the ClickHouse cluster", e);
      }
    }
    return shared;
  }

  public ClickHouseCluster(Path dir) throws IOException {
    this.dir = dir;
    configure();
  }

  /** Takes the ports of ZooKeeper and every node, and writes each node's config, which names its peers' ports. */
  private void configure() throws IOException {
    nodes.clear();
    this.zkPort = TestPorts.take();
    int[][] http = new int[SHARDS * REPLICAS][];
    int[] tcp = new int[SHARDS * REPLICAS];
    int[] interserver = new int[SHARDS * REPLICAS];
    for (int i = 0; i < tcp.length; i++) {
      http[i] = new int[] {TestPorts.take()};
      tcp[i] = TestPorts.take();
      interserver[i] = TestPorts.take();
    }
    StringBuilder shards = new StringBuilder();
    for (int s = 0; s < SHARDS; s++) {
      shards.append("<shard><internal_replication>true</internal_replication>");
      for (int r = 0; r < REPLICAS; r++) {
        shards.append("<replica><host>127.0.0.1</host><port>").append(tcp[s * REPLICAS + r]).append("</port><user>")
            .append(ClickHouseServer.USER).append("</user><password>").append(ClickHouseServer.PASSWORD)
            .append("</password></replica>");
      }
      shards.append("</shard>");
    }
    for (int s = 0; s < SHARDS; s++) {
      for (int r = 0; r < REPLICAS; r++) {
        int i = s * REPLICAS + r;
        String extra = """
            <interserver_http_port>%1$d</interserver_http_port>
            <interserver_http_host>127.0.0.1</interserver_http_host>
            <zookeeper><node><host>127.0.0.1</host><port>%2$d</port></node>
              <session_timeout_ms>10000</session_timeout_ms></zookeeper>
            <remote_servers><%3$s>%4$s</%3$s></remote_servers>
            <macros><cluster>%3$s</cluster><shard>%5$02d</shard><replica>%6$s</replica></macros>
            <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
            """.formatted(interserver[i], zkPort, NAME, shards, s + 1, nodeName(s, r));
        // 18.16 forwards ALTER ... DROP PARTITION and OPTIMIZE from a replica to the shard's leader replica
        // as the user "default": a cluster of that version needs it (here from loopback only)
        String defaultUser = "<default><password></password><networks><ip>127.0.0.1</ip></networks>"
            + "<profile>default</profile><quota>default</quota></default>";
        nodes.add(new ClickHouseServer(dir.resolve(nodeName(s, r)), http[i][0], tcp[i], ClickHouseServer.USER,
            ClickHouseServer.PASSWORD, extra, defaultUser));
      }
    }
  }

  /** The node name, which is also its {replica} macro: s1r1, s1r2, s2r1, s2r2. */
  public static String nodeName(int shard, int replica) {
    return "s" + (shard + 1) + "r" + (replica + 1);
  }

  /**
   * Starts ZooKeeper and the nodes. When another process took one of their ports meanwhile (a test
   * JVM of another checkout), the whole cluster takes new ports, since every node's config names
   * the others'.
   */
  public synchronized void start() {
    for (int attempt = 1; ; attempt++) {
      try {
        startOnce();
        return;
      } catch (ClickHouseServer.PortTakenException e) {
        if (attempt == 3) {
          throw e;
        }
        close();
        try {
          configure();
        } catch (IOException io) {
          throw new IllegalStateException(io);
        }
      }
    }
  }

  private void startOnce() {
    startZooKeeper();
    // the nodes start in parallel: each waits for /ping
    List<Thread> starting = new ArrayList<>();
    List<RuntimeException> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (ClickHouseServer n : nodes) {
      Thread t = new Thread(() -> {
        try {
          n.start();
        } catch (RuntimeException e) {
          failures.add(e);
        }
      });
      t.start();
      starting.add(t);
    }
    for (Thread t : starting) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (!failures.isEmpty()) {
      throw failures.get(0);
    }
  }

  private void startZooKeeper() {
    if (zookeeper != null && zookeeper.isAlive()) {
      return;
    }
    try {
      Files.createDirectories(dir.resolve("zookeeper/data"));
      zookeeper = TestProcesses.start(new ProcessBuilder("java", "-Xmx128m", "-XX:+UseSerialGC", "-Dzookeeper.admin.enableServer=false",
          "-Dzookeeper.4lw.commands.whitelist=srvr,ruok", "-cp", ZOOKEEPER_JAR,
          "org.apache.zookeeper.server.ZooKeeperServerMain", String.valueOf(zkPort),
          dir.resolve("zookeeper/data").toString())
          .redirectErrorStream(true).redirectOutput(dir.resolve("zookeeper/out.log").toFile()));
    } catch (IOException e) {
      throw new IllegalStateException("cannot run ZooKeeper (apt-get install zookeeper)", e);
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (!zookeeper.isAlive()) {
        TestProcesses.forget(zookeeper.pid());
        if (zooKeeperLogSays("Address already in use")) {
          throw new ClickHouseServer.PortTakenException("ZooKeeper could not bind port " + zkPort);
        }
        throw new IllegalStateException("ZooKeeper exited; see " + dir.resolve("zookeeper/out.log"));
      }
      // ruok answers imok as soon as the port is open, before the server serves sessions; a node that
      // connected then had its handshake closed, and 18.16's DDL worker crashed on the dead session
      // (a segfault in zkutil::ZooKeeper::createImpl). srvr names the mode only once it serves.
      if (fourLetter("srvr").contains("Mode: standalone")) {
        return;
      }
      ClickHouseServer.sleep(100);
    }
    throw new IllegalStateException("ZooKeeper did not answer within 30 s");
  }

  private boolean zooKeeperLogSays(String text) {
    try {
      return Files.readString(dir.resolve("zookeeper/out.log"), java.nio.charset.StandardCharsets.ISO_8859_1).contains(text);
    } catch (IOException e) {
      return false;
    }
  }

  private String fourLetter(String word) {
    try (java.net.Socket s = new java.net.Socket()) {
      s.connect(new java.net.InetSocketAddress("127.0.0.1", zkPort), 500);
      s.setSoTimeout(1000);
      s.getOutputStream().write(word.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      return "";
    }
  }

  public List<ClickHouseServer> nodes() {
    return nodes;
  }

  public ClickHouseServer node(int shard, int replica) {
    return nodes.get(shard * REPLICAS + replica);
  }

  /** The HTTP URLs of every node, shard by shard. */
  public List<String> httpUrls() {
    return nodes.stream().map(ClickHouseServer::httpUrl).toList();
  }

  public int zooKeeperPort() {
    return zkPort;
  }

  @Override
  public synchronized void close() {
    for (ClickHouseServer n : nodes) {
      try {
        n.close();
      } catch (RuntimeException e) {
        // best effort
      }
    }
    if (zookeeper != null) {
      TestProcesses.stop(zookeeper, false, Duration.ofSeconds(10));
      zookeeper = null;
    }
  }
}
