package dev.housekeeper.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

/**
 * The one port allocator of the test JVM: every server a test starts (ClickHouse, cluster nodes,
 * ZooKeeper, PostgreSQL, s3rver, the chDB server, the API, the operator) takes its ports here.
 *
 * <p>It never hands out a port twice (a port the OS reports free is still free-looking until the
 * server that was given it binds; asking the OS twice gave ZooKeeper and a cluster node's
 * interserver port the same number). The ports come from below the kernel's ephemeral range
 * (32768-60999 on Linux), so an outgoing connection cannot take one between this check and the
 * server's bind. Each JVM starts at a point of the range chosen by its pid, so that test JVMs of
 * two checkouts on one machine rarely meet; when they do, the bind fails and the server start takes
 * a new port (see {@link ClickHouseServer#start()}).
 */
public final class TestPorts {

  private static final int FIRST = 20000;
  private static final int LAST = 32000;
  private static final Set<Integer> HANDED_OUT = new HashSet<>();
  private static int next = FIRST + new Random(ProcessHandle.current().pid()).nextInt(LAST - FIRST);

  private TestPorts() {}

  /** A loopback port that is free now and was never handed out by this JVM. */
  public static synchronized int take() {
    for (int tried = 0; tried <= LAST - FIRST; tried++) {
      int candidate = next;
      next = next == LAST ? FIRST : next + 1;
      if (!HANDED_OUT.contains(candidate) && bindable(candidate)) {
        HANDED_OUT.add(candidate);
        return candidate;
      }
    }
    throw new IllegalStateException("no free loopback port left in " + FIRST + "-" + LAST);
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
