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
 * request and drops the connection (the next {@code n} connections), or stops listening; in front
 * of an HTTP server it can also write a frame of its own into the WebSockets it forwards (watches).
 */
public final class TcpProxy implements AutoCloseable {

  private final int targetPort;
  private final int port;
  private final AtomicInteger dropNext = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();
  private final java.util.Set<Socket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /** The client sides of the connections whose server answered 101 (a WebSocket), each written whole frames at a time. */
  private final java.util.Set<Socket> webSockets = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final AtomicInteger webSocketsOpened = new AtomicInteger();
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

  /** WebSockets (watches) opened through the proxy so far. */
  public int webSocketsOpened() {
    return webSocketsOpened.get();
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
    Thread t = new Thread(() -> answers(upstream, client), "tcp-proxy-answers-" + port);
    t.setDaemon(true);
    t.start();
  }

  /**
   * Writes {@code frame} (a whole WebSocket frame, as a server sends it: unmasked) into every WebSocket
   * open now, between two of the server's frames; returns how many it reached.
   */
  public int writeToWebSockets(byte[] frame) {
    int reached = 0;
    for (Socket socket : webSockets) {
      synchronized (socket) {
        try {
          socket.getOutputStream().write(frame);
          socket.getOutputStream().flush();
          reached++;
        } catch (IOException ignored) {
          // that one closed
        }
      }
    }
    return reached;
  }

  /**
   * The server's side of a connection: bytes as they come, unless its first answer switches to a
   * WebSocket (101 with {@code Upgrade: websocket}); then, after that answer's head, whole frames, so
   * that {@link #writeToWebSockets} can write between two of them.
   */
  private void answers(Socket upstream, Socket client) {
    boolean pumped = false;
    try {
      byte[] first = new byte[8192];
      // what arrives first, without waiting for more: a server that is not HTTP may send a few bytes and wait
      int n = upstream.getInputStream().read(first);
      if (n < 0) {
        return;
      }
      // those bytes, then the rest; unlike a PushbackInputStream, a read returns the bytes held without waiting
      // for more from the server
      InputStream in = new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(first, 0, n),
          upstream.getInputStream());
      if (!new String(first, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 101 ")) {
        pump(in, upstream, client); // all of it, throttled as set; the pump closes both when it ends
        pumped = true;
        return;
      }
      OutputStream out = client.getOutputStream();
      var head = new java.io.ByteArrayOutputStream();
      for (int matched = 0; matched < 4; ) { // the answer's head, to its blank line
        int c = in.read();
        if (c < 0) {
          throw new IOException("the answer ended in its head");
        }
        head.write(c);
        matched = c == "\r\n\r\n".charAt(matched) ? matched + 1 : (c == '\r' ? 1 : 0);
      }
      out.write(head.toByteArray());
      out.flush();
      if (!head.toString(java.nio.charset.StandardCharsets.ISO_8859_1).toLowerCase(java.util.Locale.ROOT)
          .replace(" ", "").contains("\r\nupgrade:websocket\r\n")) {
        pump(in, upstream, client); // another protocol (HTTP/2 over h2c): its bytes as they come
        pumped = true;
        return;
      }
      webSockets.add(client);
      webSocketsOpened.incrementAndGet();
      while (true) {
        byte[] frame = frame(in);
        synchronized (client) {
          out.write(frame);
          out.flush();
        }
      }
    } catch (IOException ignored) {
      // one side closed
    } finally {
      webSockets.remove(client);
      if (!pumped) {
        closeBoth(upstream, client);
      }
    }
  }

  /** One unmasked WebSocket frame (RFC 6455, 5.2), header and payload. */
  private static byte[] frame(InputStream in) throws IOException {
    byte[] head = in.readNBytes(2);
    if (head.length < 2) {
      throw new IOException("the WebSocket ended");
    }
    int shortLength = head[1] & 0x7f;
    byte[] extended = in.readNBytes(shortLength == 126 ? 2 : shortLength == 127 ? 8 : 0);
    long length = shortLength;
    if (shortLength >= 126) {
      length = 0;
      for (byte b : extended) {
        length = (length << 8) | (b & 0xff);
      }
    }
    byte[] payload = in.readNBytes(Math.toIntExact(length));
    if (payload.length < length) {
      throw new IOException("the WebSocket ended in a frame");
    }
    java.io.ByteArrayOutputStream whole = new java.io.ByteArrayOutputStream(2 + extended.length + payload.length);
    whole.write(head);
    whole.write(extended);
    whole.write(payload);
    return whole.toByteArray();
  }

  private void pump(Socket from, Socket to) {
    try {
      pump(from.getInputStream(), from, to);
    } catch (IOException e) {
      // closed already
    }
  }

  /** Copies {@code source} (what {@code from} sends, some of it perhaps read already) to {@code to}. */
  private void pump(InputStream source, Socket from, Socket to) {
    Thread t = new Thread(() -> {
      try (InputStream in = source; OutputStream out = to.getOutputStream()) {
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
        closeBoth(from, to);
      }
    });
    t.setDaemon(true);
    t.start();
  }

  /** The end of a forwarded connection: both its sockets. */
  private void closeBoth(Socket a, Socket b) {
    open.remove(a);
    open.remove(b);
    try {
      a.close();
      b.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  @Override
  public void close() {
    stop();
  }
}
