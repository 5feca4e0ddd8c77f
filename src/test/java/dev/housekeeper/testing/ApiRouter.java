package dev.housekeeper.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * One Kubernetes API made of two: requests for Housekeeper's group and for CRDs
 * ({@code /apis/housekeeper.dev/...}, {@code /apis/apiextensions.k8s.io/...}) go to the real API
 * server, everything else (Secrets, Events, Leases, namespaces, discovery of the core API) to
 * fabric8's mock. A plain-HTTP listener on loopback; each connection carries one request
 * ({@code Connection: close} is set on the request and on the response, and only the request's
 * own body is forwarded), so that every request is routed by its own path; a WebSocket upgrade (a
 * watch) keeps its connection. Requests to the real server get its
 * TLS and a bearer token.
 */
public final class ApiRouter implements AutoCloseable {

  /**
   * What the real server answers: Housekeeper's group, CRDs, and the OpenAPI documents (its own: the
   * custom resources' schemas, which {@code kubectl explain} and kubectl's validation read).
   */
  private static final Set<String> REAL_PREFIXES = Set.of("/apis/housekeeper.dev", "/apis/apiextensions.k8s.io",
      "/openapi");

  private final URI mock;
  private final RealKubernetesApi real;
  private final SSLContext realTls;
  private final ServerSocket listener;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger toReal = new AtomicInteger();
  private final AtomicInteger toMock = new AtomicInteger();
  private final AtomicInteger webSockets = new AtomicInteger();

  public ApiRouter(String mockUrl, RealKubernetesApi real) throws IOException {
    this(mockUrl, real, 0);
  }

  /** The same on a given port (0: a free one). */
  public ApiRouter(String mockUrl, RealKubernetesApi real, int port) throws IOException {
    this.mock = URI.create(mockUrl);
    this.real = real;
    this.realTls = tls(real.caPem());
    listener = new ServerSocket();
    listener.setReuseAddress(true);
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port == 0 ? TestPorts.take() : port));
    Thread t = new Thread(this::acceptLoop, "api-router-" + listener.getLocalPort());
    t.setDaemon(true);
    t.start();
  }

  /** The combined API's URL (plain HTTP). */
  public String url() {
    return "http://127.0.0.1:" + listener.getLocalPort();
  }

  /** A client of the combined API (the router passes any token on; the mock takes any). */
  public io.fabric8.kubernetes.client.KubernetesClient client(String token, String namespace) {
    return client(token, namespace, new io.fabric8.kubernetes.client.utils.KubernetesSerialization());
  }

  /** The same with this JSON mapping (the operator's). */
  public io.fabric8.kubernetes.client.KubernetesClient client(String token, String namespace,
      io.fabric8.kubernetes.client.utils.KubernetesSerialization serialization) {
    return new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(
        new io.fabric8.kubernetes.client.ConfigBuilder(io.fabric8.kubernetes.client.Config.empty()).withMasterUrl(url())
            .withOauthToken(token).withNamespace(namespace).build()).withKubernetesSerialization(serialization).build();
  }

  /** Requests sent to the real server and to the mock. */
  public int toReal() {
    return toReal.get();
  }

  public int toMock() {
    return toMock.get();
  }

  /** Requests that were WebSocket upgrades (watches). */
  public int webSockets() {
    return webSockets.get();
  }

  static boolean routedToReal(String path) {
    return REAL_PREFIXES.stream().anyMatch(p -> path.equals(p) || path.startsWith(p + "/") || path.startsWith(p + "?"));
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        open.add(client);
        Thread t = new Thread(() -> serve(client), "api-router-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void serve(Socket client) {
    Socket backend = null;
    try (client) {
      InputStream in = client.getInputStream();
      byte[] head = readHead(in);
      if (head == null) {
        return;
      }
      List<String> lines = new ArrayList<>(List.of(new String(head, StandardCharsets.ISO_8859_1).split("\r\n")));
      String[] requestLine = lines.get(0).split(" ");
      boolean toRealServer = routedToReal(requestLine[1]);
      // a WebSocket watch keeps its connection; an HTTP/2 upgrade offer (h2c, which Vert.x makes) is dropped
      boolean upgrade = lines.stream().anyMatch(l -> l.toLowerCase(Locale.ROOT).replace(" ", "")
          .startsWith("upgrade:websocket"));
      List<String> out = new ArrayList<>();
      out.add(lines.get(0));
      for (String l : lines.subList(1, lines.size())) {
        String name = l.contains(":") ? l.substring(0, l.indexOf(':')).trim().toLowerCase(Locale.ROOT) : "";
        if (name.equals("host") || name.equals("keep-alive") || (name.equals("connection") && !upgrade)
            || (name.equals("upgrade") && !upgrade) || name.equals("http2-settings")
            || (toRealServer && name.equals("authorization"))) {
          continue;
        }
        out.add(l);
      }
      if (toRealServer) {
        URI u = URI.create(real.url());
        out.add("Host: " + u.getHost() + ":" + u.getPort());
        out.add("Authorization: Bearer " + RealKubernetesApi.USER);
        SSLSocket s = (SSLSocket) realTls.getSocketFactory().createSocket(u.getHost(), u.getPort());
        s.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        s.startHandshake();
        backend = s;
        toReal.incrementAndGet();
      } else {
        out.add("Host: " + mock.getHost() + ":" + mock.getPort());
        backend = new Socket(mock.getHost(), mock.getPort());
        toMock.incrementAndGet();
      }
      if (!upgrade) {
        out.add("Connection: close");
      }
      open.add(backend);
      OutputStream toBackend = backend.getOutputStream();
      toBackend.write((String.join("\r\n", out) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      toBackend.flush();
      Socket b = backend;
      if (upgrade) {
        webSockets.incrementAndGet();
        // a WebSocket watch: both directions for as long as it lasts
        Thread up = new Thread(() -> pipe(in, b), "api-router-up");
        up.setDaemon(true);
        up.start();
        pipe(backend.getInputStream(), client);
        return;
      }
      // only this request's body: a client that reuses the connection must not reach this backend again
      copyBody(in, toBackend, lines);
      toBackend.flush();
      InputStream fromBackend = backend.getInputStream();
      byte[] responseHead = readHead(fromBackend);
      if (responseHead == null) {
        return;
      }
      List<String> response = new ArrayList<>();
      for (String l : new String(responseHead, StandardCharsets.ISO_8859_1).split("\r\n")) {
        String name = l.contains(":") ? l.substring(0, l.indexOf(':')).trim().toLowerCase(Locale.ROOT) : "";
        if (!name.equals("connection") && !name.equals("keep-alive")) {
          response.add(l);
        }
      }
      response.add("Connection: close");
      OutputStream toClient = client.getOutputStream();
      toClient.write((String.join("\r\n", response) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      toClient.flush();
      pipe(fromBackend, client);
    } catch (IOException e) {
      // a side hung up
    } finally {
      if (backend != null) {
        open.remove(backend);
        try {
          backend.close();
        } catch (IOException ignored) {
          // closing
        }
      }
      open.remove(client);
    }
  }

  /** The request line and headers, up to and without the blank line; null at end of stream. */
  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int state = 0;
    while (true) {
      int c = in.read();
      if (c < 0) {
        return null;
      }
      head.write(c);
      state = switch (state) {
        case 0, 2 -> c == '\r' ? state + 1 : 0;
        case 1 -> c == '\n' ? 2 : (c == '\r' ? 1 : 0);
        case 3 -> c == '\n' ? 4 : (c == '\r' ? 1 : 0);
        default -> 0;
      };
      if (state == 4) {
        byte[] all = head.toByteArray();
        return java.util.Arrays.copyOf(all, all.length - 4);
      }
      if (head.size() > 1 << 20) {
        throw new IOException("request head over 1 MiB");
      }
    }
  }

  /** Copies until end of stream (a response ends when the backend closes: it was asked to). */
  private static void pipe(InputStream from, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try {
      OutputStream out = to.getOutputStream();
      int n;
      while ((n = from.read(buffer)) >= 0) {
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // a side hung up
    }
  }

  /** Copies a request body framed by Content-Length or chunked encoding; nothing when it has neither. */
  private static void copyBody(InputStream in, OutputStream out, List<String> headers) throws IOException {
    long length = 0;
    boolean chunked = false;
    for (String l : headers.subList(1, headers.size())) {
      String lower = l.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(l.substring(l.indexOf(':') + 1).trim());
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      }
    }
    if (!chunked) {
      copyExactly(in, out, length);
      return;
    }
    while (true) {
      String sizeLine = readLine(in);
      out.write((sizeLine + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
      long size = Long.parseLong(sizeLine.split(";", 2)[0].trim(), 16);
      if (size == 0) {
        // trailers, up to the blank line
        String trailer;
        do {
          trailer = readLine(in);
          out.write((trailer + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        } while (!trailer.isEmpty());
        return;
      }
      copyExactly(in, out, size + 2); // the chunk and its CRLF
    }
  }

  private static void copyExactly(InputStream in, OutputStream out, long n) throws IOException {
    byte[] buffer = new byte[16 * 1024];
    while (n > 0) {
      int r = in.read(buffer, 0, (int) Math.min(buffer.length, n));
      if (r < 0) {
        throw new IOException("the request body ended early");
      }
      out.write(buffer, 0, r);
      n -= r;
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      if (c != '\r') {
        line.write(c);
      }
    }
    return line.toString(StandardCharsets.ISO_8859_1);
  }

  private static SSLContext tls(String caPem) {
    try {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      trust.setCertificateEntry("apiserver", CertificateFactory.getInstance("X.509")
          .generateCertificate(new java.io.ByteArrayInputStream(caPem.getBytes(StandardCharsets.US_ASCII))));
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      return ssl;
    } catch (Exception e) {
      throw new IllegalStateException("cannot trust the real API server's certificate", e);
    }
  }

  @Override
  public void close() {
    try {
      listener.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Socket s : open) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }
}
