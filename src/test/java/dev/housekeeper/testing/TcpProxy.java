package dev.housekeeper.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback TCP proxy in front of a real server, for fault injection: it forwards, or reads the
 * request and drops the connection (the next {@code n} connections), or stops listening.
 */
public final class TcpProxy implements AutoCloseable {

  private final int targetPort;
  private final int port;
  private final AtomicInteger dropNext = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();
  private final java.util.Set<Socket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile ServerSocket listener;

  public TcpProxy(int targetPort) throws IOException {
    this(targetPort, TestPorts.take());
  }

  public TcpProxy(int targetPort, int port) {
    this.targetPort = targetPort;
    this.port = port;
  }

  /** Starts listening (again). */
  public synchronized TcpProxy start() throws IOException {
    if (listener != null) {
      return this;
    }
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    listener = s;
    Thread t = new Thread(() -> acceptLoop(s), "tcp-proxy-" + port);
    t.setDaemon(true);
    t.start();
    return this;
  }

  /** Stops listening: new connections are refused. */
  public synchronized void stop() {
    if (listener != null) {
      try {
        listener.close();
      } catch (IOException ignored) {
        // closing
      }
      listener = null;
    }
  }

  /** The next {@code n} connections read the request, then are dropped with no answer. */
  public void dropNext(int n) {
    dropNext.set(n);
  }

  /**
   * Closes every forwarded connection now, as a server does with idle keep-alive connections: a
   * client that reuses one finds it closed only when it waits for the answer.
   */
  public void closeOpenConnections() {
    for (Socket socket : open) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing
      }
    }
    open.clear();
  }

  /** Limits forwarded traffic (each direction of each connection) to about this many bytes a second; 0: none. */
  public void throttle(long bytesPerSecond) {
    throttle = bytesPerSecond;
  }

  private volatile long throttle;

  public int connections() {
    return connections.get();
  }

  public String url() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  private void acceptLoop(ServerSocket s) {
    while (!s.isClosed()) {
      try {
        Socket client = s.accept();
        connections.incrementAndGet();
        if (dropNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
          Thread t = new Thread(() -> drop(client));
          t.setDaemon(true);
          t.start();
        } else {
          forward(client);
        }
      } catch (IOException e) {
        return;
      }
    }
  }

  private static void drop(Socket client) {
    try (client) {
      client.setSoTimeout(2000);
      client.getInputStream().read(new byte[8192]); // the request arrived ...
      client.setSoLinger(true, 0); // ... and the connection is reset without an answer
    } catch (IOException ignored) {
      // dropped
    }
  }

  private void forward(Socket client) {
    Socket upstream;
    try {
      upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
    } catch (IOException e) {
      try {
        client.setSoLinger(true, 0); // the server is down: reset, as a refused connection would look
        client.close();
      } catch (IOException ignored) {
        // closing
      }
      return;
    }
    open.add(client);
    open.add(upstream);
    pump(client, upstream);
    pump(upstream, client);
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) > 0; ) {
          out.write(buf, 0, n);
          long limit = throttle;
          if (limit > 0) {
            Thread.sleep(Math.max(1, n * 1000L / limit));
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException ignored) {
        // one side closed
      } finally {
        open.remove(from);
        open.remove(to);
        try {
          to.close();
          from.close();
        } catch (IOException ignored) {
          // closing
        }
      }
    });
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() {
    stop();
  }
}
