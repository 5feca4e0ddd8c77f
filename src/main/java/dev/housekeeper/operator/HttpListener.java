package dev.housekeeper.operator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small HTTP/1.1 listener for GET requests on fixed paths, one request per connection.
 *
 * <p>Written instead of the JDK's {@code HttpServer}, which on Java 17 gives an accepted connection a
 * worker thread before a byte has arrived and has no limit on the time to read a request nor on the
 * number of connections: two idle connections took both of its threads and stalled the liveness probe.
 * Here each connection has {@link OperatorSettings.HttpLimits#readTime()} to send its request line and headers (idle or slow:
 * closed), then {@link OperatorSettings.HttpLimits#responseTime()} to take the answer; at most {@link OperatorSettings.HttpLimits#maxConnections()}
 * are open at once, and at most {@link OperatorSettings.HttpLimits#maxPerClient()} from one address, so that one pod cannot
 * take every slot; each open connection has its own thread, so a slow one never holds up another.
 * A connection over a limit is closed at once.
 */
final class HttpListener implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(HttpListener.class);
  /** Request line and headers together; a probe or scrape sends a few hundred bytes. */
  private static final int MAX_HEAD_BYTES = 8192;

  /** An answer: status code, content type and body. */
  record Response(int code, String contentType, String body) {}

  private final String name;
  private final Map<String, Supplier<Response>> routes;
  private final OperatorSettings.HttpLimits limits;
  private final ServerSocket socket;
  private final ThreadPoolExecutor workers;
  private final ScheduledExecutorService deadlines;
  private final Map<InetAddress, Integer> perClient = new HashMap<>();
  private final Set<Socket> sockets = new HashSet<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Thread acceptor;

  HttpListener(String name, int port, Map<String, Supplier<Response>> routes, OperatorSettings.HttpLimits limits)
      throws IOException {
    this.name = name;
    this.routes = Map.copyOf(routes);
    this.limits = limits;
    this.socket = new ServerSocket();
    try {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(port), 50);
    } catch (IOException e) {
      socket.close();
      throw new IOException("cannot listen on port " + port + " for " + name + ": " + e.getMessage(), e);
    }
    // one thread per open connection (the limit bounds both); idle threads end after a minute
    this.workers = new ThreadPoolExecutor(limits.maxConnections(), limits.maxConnections(), 60, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), daemon("http-" + name));
    workers.allowCoreThreadTimeOut(true);
    this.deadlines = Executors.newSingleThreadScheduledExecutor(daemon("http-" + name + "-deadlines"));
    this.acceptor = daemon("http-" + name + "-accept").newThread(this::acceptLoop);
    acceptor.start();
  }

  int port() {
    return socket.getLocalPort();
  }

  private void acceptLoop() {
    while (!closed.get()) {
      Socket s;
      try {
        s = socket.accept();
      } catch (IOException e) {
        if (!closed.get()) {
          // e.g. out of file descriptors: say so, and do not spin
          LOG.warn("{} listener: accept failed: {}", name, e.toString());
          pause();
        }
        continue;
      }
      InetAddress client = s.getInetAddress();
      if (!admit(client, s)) {
        closeQuietly(s);
        continue;
      }
      try {
        workers.execute(() -> serve(s, client));
      } catch (RejectedExecutionException e) { // the listener is closing
        release(client, s);
        closeQuietly(s);
      }
    }
  }

  private synchronized boolean admit(InetAddress client, Socket s) {
    int fromClient = perClient.getOrDefault(client, 0);
    if (closed.get() || sockets.size() >= limits.maxConnections() || fromClient >= limits.maxPerClient()) {
      return false;
    }
    sockets.add(s);
    perClient.put(client, fromClient + 1);
    return true;
  }

  private synchronized void release(InetAddress client, Socket s) {
    if (sockets.remove(s)) {
      perClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
    }
  }

  private void serve(Socket s, InetAddress client) {
    ScheduledFuture<?> watchdog = null;
    try (s) {
      // the watchdog closes the socket at its deadline, whatever the worker is blocked on
      watchdog = deadlines.schedule(() -> closeQuietly(s), limits.readTime().toMillis(), TimeUnit.MILLISECONDS);
      s.setSoTimeout((int) limits.readTime().toMillis());
      String target = readRequest(s.getInputStream(), System.nanoTime() + limits.readTime().toNanos(), s);
      watchdog.cancel(false);
      watchdog = deadlines.schedule(() -> closeQuietly(s), limits.responseTime().toMillis(), TimeUnit.MILLISECONDS);
      write(s.getOutputStream(), answer(target));
    } catch (SocketTimeoutException | SocketException | RejectedExecutionException e) {
      // idle, too slow, gone, or the listener is closing: nothing to answer
    } catch (IOException e) {
      LOG.debug("{} listener: connection from {} failed: {}", name, client.getHostAddress(), e.toString());
    } finally {
      if (watchdog != null) {
        watchdog.cancel(false);
      }
      release(client, s);
    }
  }

  /**
   * Reads the request line and headers until the blank line, within the deadline; returns the method and
   * path ({@code GET /healthz}), or null for a request that is not HTTP or too long.
   */
  private static String readRequest(InputStream in, long deadline, Socket s) throws IOException {
    byte[] head = new byte[MAX_HEAD_BYTES];
    int n = 0;
    while (n < head.length) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (left <= 0) {
        throw new SocketTimeoutException("request not read in time");
      }
      // a slow client that sends a byte now and then still has only the time left, not a fresh limit per read
      s.setSoTimeout((int) left);
      int b = in.read();
      if (b < 0) {
        throw new SocketException("closed by the client");
      }
      head[n++] = (byte) b;
      if (n >= 4 && head[n - 4] == '\r' && head[n - 3] == '\n' && head[n - 2] == '\r' && head[n - 1] == '\n'
          || n >= 2 && head[n - 2] == '\n' && head[n - 1] == '\n') {
        String line = new String(head, 0, n, StandardCharsets.ISO_8859_1).split("\r?\n", 2)[0];
        String[] parts = line.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
          return null;
        }
        int query = parts[1].indexOf('?');
        return parts[0] + " " + (query < 0 ? parts[1] : parts[1].substring(0, query));
      }
    }
    return null;
  }

  private Response answer(String target) {
    if (target == null) {
      return new Response(400, "text/plain", "bad request\n");
    }
    String[] methodPath = target.split(" ", 2);
    Supplier<Response> route = routes.get(methodPath[1]);
    if (route == null) {
      return new Response(404, "text/plain", "not found\n");
    }
    if (!methodPath[0].equals("GET") && !methodPath[0].equals("HEAD")) {
      return new Response(405, "text/plain", "only GET\n");
    }
    Response r;
    try {
      r = route.get();
    } catch (RuntimeException e) {
      LOG.warn("{} listener: {} failed: {}", name, methodPath[1], e.toString());
      r = new Response(500, "text/plain", "error\n");
    }
    return methodPath[0].equals("HEAD") ? new Response(r.code(), r.contentType(), null) : r;
  }

  private static void write(OutputStream out, Response r) throws IOException {
    byte[] body = r.body() == null ? new byte[0] : r.body().getBytes(StandardCharsets.UTF_8);
    String head = "HTTP/1.1 " + r.code() + " " + reason(r.code()) + "\r\nContent-Type: " + r.contentType()
        + "\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
    out.write(body);
    out.flush();
  }

  private static String reason(int code) {
    return switch (code) {
      case 200 -> "OK";
      case 400 -> "Bad Request";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 503 -> "Service Unavailable";
      default -> "Error";
    };
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  /** Daemon threads of one name: they never keep the JVM from exiting. */
  static java.util.concurrent.ThreadFactory daemon(String threadName) {
    return r -> {
      Thread t = new Thread(r, threadName);
      t.setDaemon(true);
      return t;
    };
  }

  /** Stops accepting and closes the connections in progress; a second call does nothing. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      socket.close();
    } catch (IOException e) {
      LOG.debug("{} listener: close failed: {}", name, e.toString());
    }
    // a blocked socket read does not see an interrupt: close the sockets themselves
    synchronized (this) {
      sockets.forEach(HttpListener::closeQuietly);
    }
    workers.shutdownNow();
    deadlines.shutdownNow();
    // the JDK releases a listening socket only when the thread blocked in accept() has left it: wait for that,
    // so that the port is free when close() returns (a restarted operator in the same JVM binds it again)
    try {
      acceptor.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void pause() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
