package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.backup.storage.FileObjectStore;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.backup.storage.S3ObjectStore;
import dev.housekeeper.testing.S3Server;
import dev.housekeeper.testing.TcpProxy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The object storage layer against a real S3-compatible server (s3rver) and a real folder. */
class ObjectStoreIT {

  static S3Server server;
  static S3ObjectStore s3;

  @BeforeAll
  static void start() throws IOException {
    server = new S3Server("backups").start();
    s3 = new S3ObjectStore(server.endpoint(), "us-east-1", "backups", "cluster-a", S3Server.ACCESS_KEY,
        S3Server.SECRET_KEY, true, S3ObjectStore.MIN_PART);
  }

  @AfterAll
  static void stop() {
    s3.close();
    server.close();
  }

  static byte[] sha256(InputStream in) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] buf = new byte[65536];
    for (int n; (n = in.read(buf)) > 0; ) {
      md.update(buf, 0, n);
    }
    return md.digest();
  }

  /** Writes {@code size} pseudo-random bytes in 64 KiB writes; returns their SHA-256. */
  static byte[] write(ObjectStore.Upload upload, long size, long seed) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    Random random = new Random(seed);
    byte[] chunk = new byte[65536];
    for (long left = size; left > 0; left -= chunk.length) {
      random.nextBytes(chunk);
      int n = (int) Math.min(chunk.length, left);
      upload.write(chunk, 0, n);
      md.update(chunk, 0, n);
    }
    return md.digest();
  }

  @Test
  void aStreamedMultipartUploadRoundTrips() throws Exception {
    long size = 12L * 1024 * 1024 + 12345; // three parts of 5 MiB, the last short
    ObjectStore.Upload upload = s3.create("b1/data/t/202401.native.zst");
    byte[] written = write(upload, size, 42);
    upload.close();
    assertEquals(size, upload.bytesWritten());
    try (InputStream in = s3.open("b1/data/t/202401.native.zst")) {
      assertArrayEquals(written, sha256(in));
    }
    assertTrue(s3.exists("b1/data/t/202401.native.zst"));
    assertEquals(List.of(new ObjectStore.ObjectInfo("b1/data/t/202401.native.zst", size)), s3.list("b1/"));
    s3.delete(List.of("b1/data/t/202401.native.zst"));
    assertFalse(s3.exists("b1/data/t/202401.native.zst"));
  }

  @Test
  void anAbortedUploadLeavesNoObject() throws Exception {
    ObjectStore.Upload upload = s3.create("b2/partial");
    write(upload, 7L * 1024 * 1024, 7); // one part already sent
    upload.abort();
    assertFalse(s3.exists("b2/partial"));
    assertEquals(List.of(), s3.list("b2/"));
  }

  @Test
  void connectionsClosedBetweenPartsAreRetriedAndTheObjectIsWhole() throws Exception {
    try (TcpProxy proxy = new TcpProxy(java.net.URI.create(server.endpoint()).getPort()).start();
        S3ObjectStore viaProxy = new S3ObjectStore(proxy.url(), "us-east-1", "backups", "cluster-a",
            S3Server.ACCESS_KEY, S3Server.SECRET_KEY, true, S3ObjectStore.MIN_PART)) {
      ObjectStore.Upload upload = viaProxy.create("b4/flaky");
      byte[] first = new byte[S3ObjectStore.MIN_PART + 1];
      new Random(5).nextBytes(first);
      upload.write(first, 0, first.length); // part 1 sent, on a kept-alive connection
      proxy.closeOpenConnections(); // the server closes idle connections ...
      proxy.dropNext(1); // ... and the next one is reset before it answers
      int before = proxy.connections();
      byte[] second = new byte[S3ObjectStore.MIN_PART];
      new Random(6).nextBytes(second);
      upload.write(second, 0, second.length); // part 2 sent: must survive both
      upload.close();
      assertThat(proxy.connections() - before).as("new connections after the faults").isGreaterThanOrEqualTo(2);
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(first);
      md.update(second);
      try (InputStream in = s3.open("b4/flaky")) {
        assertArrayEquals(md.digest(), sha256(in));
      }
      assertEquals(List.of(new ObjectStore.ObjectInfo("b4/flaky", (long) first.length + second.length)),
          s3.list("b4/"));
    }
  }

  @Test
  void theServerGoingAwayMidUploadFailsCleanly() throws Exception {
    ObjectStore.Upload upload = s3.create("b3/cut");
    write(upload, 6L * 1024 * 1024, 3);
    server.stop();
    try {
      IOException e = assertThrows(IOException.class, () -> {
        write(upload, 6L * 1024 * 1024, 4);
        upload.close();
      });
      assertThat(e.getMessage()).contains("b3/cut");
    } finally {
      server.start();
    }
    assertFalse(s3.exists("b3/cut"), "no object after a failed upload");
  }

  @Test
  void aVolumePathStoreWritesAtomically() throws Exception {
    java.nio.file.Path dir = Files.createTempDirectory("hk-volume-");
    try (FileObjectStore files = new FileObjectStore(dir)) {
      ObjectStore.Upload upload = files.create("b1/manifest.json");
      byte[] written = write(upload, 300_000, 9);
      assertFalse(files.exists("b1/manifest.json"), "not visible before close");
      upload.close();
      try (InputStream in = files.open("b1/manifest.json")) {
        assertArrayEquals(written, sha256(in));
      }
      ObjectStore.Upload aborted = files.create("b2/x");
      write(aborted, 1000, 1);
      aborted.abort();
      assertEquals(List.of(new ObjectStore.ObjectInfo("b1/manifest.json", 300_000)), files.list(""));
      assertFalse(Files.exists(dir.resolve("b2")), "an aborted upload leaves no folder behind");
      assertThrows(IllegalArgumentException.class, () -> files.create("../escape"));
    }
  }
}
