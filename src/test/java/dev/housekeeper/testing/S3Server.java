package dev.housekeeper.testing;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real S3-compatible server for tests: s3rver (npm, installed in tools/chdb) on a free loopback
 * port with one bucket, data in a temporary folder. It can be stopped and started again on the
 * same port and data, to test storage failures. Credentials: S3RVER / S3RVER.
 */
public final class S3Server implements AutoCloseable {

  public static final String ACCESS_KEY = "S3RVER";
  public static final String SECRET_KEY = "S3RVER";

  private final Path dir;
  private final int port;
  private final String bucket;
  private Process process;

  public S3Server(String bucket) throws IOException {
    this.dir = Files.createTempDirectory("hk-s3-");
    this.port = TestPorts.take();
    this.bucket = bucket;
  }

  public synchronized S3Server start() {
    Path bin = ChdbEngine.TOOL.resolve("node_modules/s3rver/bin/s3rver.js");
    if (!Files.exists(bin)) {
      throw new IllegalStateException("s3rver is not installed: run npm install --prefix " + ChdbEngine.TOOL);
    }
    try {
      process = TestProcesses.start(new ProcessBuilder("node", bin.toString(), "-d", dir.toString(), "-a", "127.0.0.1", "-p",
          String.valueOf(port), "--configure-bucket", bucket, "--silent")
          .redirectErrorStream(true).redirectOutput(dir.resolve("s3rver.log").toFile()));
    } catch (IOException e) {
      throw new IllegalStateException("cannot start s3rver", e);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (answers()) {
        return this;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new IllegalStateException("s3rver did not start; see " + dir.resolve("s3rver.log"));
  }

  private boolean answers() {
    try {
      HttpURLConnection c = (HttpURLConnection) URI.create(endpoint() + "/").toURL().openConnection();
      c.setConnectTimeout(300);
      c.setReadTimeout(1000);
      return c.getResponseCode() > 0;
    } catch (IOException e) {
      return false;
    }
  }

  public synchronized void stop() {
    if (process != null) {
      TestProcesses.stop(process, true, Duration.ofSeconds(10));
      process = null;
    }
  }

  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  public String bucket() {
    return bucket;
  }

  @Override
  public void close() {
    stop();
    TempDirs.delete(dir);
  }
}
