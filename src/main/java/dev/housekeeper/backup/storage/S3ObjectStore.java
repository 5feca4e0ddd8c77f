package dev.housekeeper.backup.storage;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import dev.housekeeper.common.MemoryBudget;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * S3-compatible object storage through the AWS SDK v2: endpoint override, path-style access,
 * region, static credentials (from a Secret). Uploads are streamed: two part buffers (8 MiB each by
 * default) are the most held in memory per object, one filling while the other is sent; an object
 * smaller than a part is one PUT; an aborted multipart upload is aborted on the server too.
 *
 * <p>Every part buffer is taken from the process's {@link MemoryBudget} before it is allocated and
 * given back when the upload ends, so that many backups with high parallelism wait for memory rather
 * than exhaust the heap. A stream waits only for its first buffer; when no second one is free it
 * sends each part itself before filling the same buffer again (slower, never stuck: a stream that
 * holds a buffer never waits for another, so no two streams wait on each other).
 */
public final class S3ObjectStore implements ObjectStore {

  /** The smallest part S3 accepts, but for the last. */
  public static final int MIN_PART = 5 * 1024 * 1024;

  private final S3Client s3;
  private final String bucket;
  private final String prefix;
  private final String endpoint;
  private final int partSize;
  private final MemoryBudget budget;
  private final java.util.concurrent.ExecutorService uploaders = java.util.concurrent.Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "s3-part-upload");
    t.setDaemon(true);
    return t;
  });

  /**
   * @param endpoint e.g. https://s3.eu-central-1.amazonaws.com or http://minio:9000 (null: AWS default)
   * @param prefix key prefix inside the bucket ("" for none)
   */
  public S3ObjectStore(String endpoint, String region, String bucket, String prefix, String accessKey,
      String secretKey, boolean pathStyle, int partSize) {
    this(endpoint, region, bucket, prefix, accessKey, secretKey, pathStyle, partSize, MemoryBudget.uploads());
  }

  /** As above, with part buffers taken from {@code budget} (the process's upload budget by default). */
  public S3ObjectStore(String endpoint, String region, String bucket, String prefix, String accessKey,
      String secretKey, boolean pathStyle, int partSize, MemoryBudget budget) {
    var builder = S3Client.builder()
        // a storage that stops answering fails the request instead of hanging the backup
        .httpClient(UrlConnectionHttpClient.builder().connectionTimeout(java.time.Duration.ofSeconds(10))
            .socketTimeout(java.time.Duration.ofSeconds(60)).build())
        .region(Region.of(region == null || region.isBlank() ? "us-east-1" : region))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
        .forcePathStyle(pathStyle)
        // SDK 2.30+ otherwise sends aws-chunked bodies with trailing checksums, which many
        // S3-compatible servers store verbatim; our own SHA-256 per object checks content anyway
        .requestChecksumCalculation(software.amazon.awssdk.core.checksums.RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(software.amazon.awssdk.core.checksums.ResponseChecksumValidation.WHEN_REQUIRED)
        // each part is in memory already: sign it whole rather than as aws-chunked streams, which
        // S3-compatible servers without streaming SigV4 store with the chunk framing in the data
        .serviceConfiguration(software.amazon.awssdk.services.s3.S3Configuration.builder()
            .chunkedEncodingEnabled(false).build());
    if (endpoint != null && !endpoint.isBlank()) {
      builder.endpointOverride(URI.create(endpoint));
    }
    this.s3 = builder.build();
    this.bucket = bucket;
    this.prefix = prefix == null ? "" : (prefix.isEmpty() || prefix.endsWith("/") ? prefix : prefix + "/");
    this.endpoint = endpoint;
    this.budget = budget;
    // a part never exceeds the whole budget, or its buffer could never be taken
    this.partSize = (int) Math.min(Math.max(MIN_PART, partSize), Math.max(MIN_PART, budget.limit()));
  }

  private String full(String key) {
    return prefix + key;
  }

  /** Attempts per idempotent request (a part upload, a read, a list, a delete). */
  static final int ATTEMPTS = 4;

  /**
   * Runs an idempotent request again when the transport failed. The SDK's own retries do not see
   * every transport failure: its URLConnection client reports some (a keep-alive connection the
   * server already closed: "Unexpected end of file from server") as UncheckedIOException, which
   * its retry stage lets through (aws-sdk-java-v2 PR 7347). Server answers (4xx, 5xx after the
   * SDK's retries) are not retried again here.
   */
  static <T> T retrying(java.util.function.Supplier<T> request) {
    for (int attempt = 1; ; attempt++) {
      try {
        return request.get();
      } catch (java.io.UncheckedIOException | software.amazon.awssdk.core.exception.SdkClientException e) {
        if (attempt >= ATTEMPTS || Thread.currentThread().isInterrupted()) {
          throw e;
        }
        try {
          Thread.sleep(100L << attempt);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  @Override
  public Upload create(String key) {
    return new PartUpload(full(key));
  }

  /**
   * A streamed object. Bytes fill one part buffer; a full part is sent by a background thread while
   * the next one fills (two buffers at most). An object smaller than one part is sent with a single
   * PUT; a larger one as a multipart upload, started with its first full part.
   */
  private final class PartUpload extends Upload {
    private final String objectKey;
    private final List<CompletedPart> parts = new ArrayList<>();
    /** The part filling; taken from the budget at the first byte, so that an idle upload holds nothing. */
    private byte[] buffer;
    private byte[] spare;
    /** Bytes of the budget this upload holds (one or two part buffers). */
    private long held;
    private int filled;
    private long written;
    private boolean done;
    private String uploadId;
    private java.util.concurrent.Future<CompletedPart> inFlight;
    private byte[] inFlightBuffer;
    private int nextPart = 1;

    PartUpload(String objectKey) {
      this.objectKey = objectKey;
    }

    @Override
    public void write(int b) throws IOException {
      firstBuffer();
      if (filled == buffer.length) {
        flushPart();
      }
      buffer[filled++] = (byte) b;
      written++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (len > 0) {
        firstBuffer();
      }
      while (len > 0) {
        if (filled == buffer.length) {
          flushPart();
        }
        int n = Math.min(len, buffer.length - filled);
        System.arraycopy(b, off, buffer, filled, n);
        filled += n;
        off += n;
        len -= n;
        written += n;
      }
    }

    /** Takes the first part buffer from the budget, waiting in turn (interruptibly) when it is spent. */
    private void firstBuffer() throws IOException {
      if (buffer != null) {
        return;
      }
      if (done) {
        throw new IOException("the upload of s3://" + bucket + "/" + objectKey + " has ended");
      }
      try {
        budget.take(partSize);
      } catch (InterruptedException e) {
        // a cancellation, as in awaitInFlight: the caller's own flag says so
        throw new java.io.InterruptedIOException("the upload of s3://" + bucket + "/" + objectKey
            + " was interrupted while waiting for buffer memory");
      }
      held += partSize;
      buffer = new byte[partSize];
    }

    /** A second buffer to fill while a part is sent, if the budget has one free now; null: none (never waits). */
    private byte[] secondBuffer() {
      if (held >= 2L * partSize || !budget.tryTake(partSize)) {
        return null;
      }
      held += partSize;
      return new byte[partSize];
    }

    /** Gives the buffers back to the budget; the upload is over. */
    private void release() {
      buffer = null;
      spare = null;
      budget.give(held);
      held = 0;
    }

    private CompletedPart sendPart(String id, int number, byte[] data, int length) {
      // a part sent again under the same number replaces the earlier one: safe to repeat
      RequestBody body = RequestBody.fromContentProvider(() -> new java.io.ByteArrayInputStream(data, 0, length),
          length, "application/octet-stream");
      String etag = retrying(() -> s3.uploadPart(p -> p.bucket(bucket).key(objectKey).uploadId(id)
          .partNumber(number).contentLength((long) length), body)).eTag();
      return CompletedPart.builder().partNumber(number).eTag(etag).build();
    }

    private IOException failed(String what, Throwable e) {
      abort();
      return new IOException(what + " of s3://" + bucket + "/" + objectKey + " failed: " + e.getMessage(), e);
    }

    /** Waits for the part in flight, if any. */
    private void awaitInFlight() throws IOException {
      if (inFlight == null) {
        return;
      }
      try {
        parts.add(inFlight.get());
        spare = inFlightBuffer;
      } catch (InterruptedException e) {
        // a cancellation: the caller's own flag says so; the interrupt is consumed so that the abort can still be sent
        throw new java.io.InterruptedIOException("the upload of s3://" + bucket + "/" + objectKey + " was interrupted");
      } catch (java.util.concurrent.ExecutionException e) {
        throw failed("uploading part " + (parts.size() + 1), e.getCause());
      } finally {
        inFlight = null;
        inFlightBuffer = null;
      }
    }

    private void flushPart() throws IOException {
      if (uploadId == null) {
        try {
          // a repeated create may leave an empty upload behind: a bucket lifecycle rule removes those
          uploadId = retrying(() -> s3.createMultipartUpload(b -> b.bucket(bucket).key(objectKey))).uploadId();
        } catch (SdkException | java.io.UncheckedIOException e) {
          throw failed("starting the upload", e);
        }
      }
      try {
        awaitInFlight();
      } catch (java.io.InterruptedIOException e) {
        abort();
        throw e;
      }
      byte[] data = buffer;
      int length = filled;
      int number = nextPart++;
      String id = uploadId;
      byte[] next = spare != null ? spare : secondBuffer();
      spare = null;
      filled = 0;
      if (next == null) {
        // no second buffer in the budget: send this part now and fill the same buffer again
        try {
          parts.add(sendPart(id, number, data, length));
        } catch (SdkException | java.io.UncheckedIOException e) {
          throw failed("uploading part " + number, e);
        }
        return;
      }
      buffer = next;
      inFlightBuffer = data;
      inFlight = uploaders.submit(() -> sendPart(id, number, data, length));
    }

    @Override
    public void close() throws IOException {
      if (done) {
        return;
      }
      if (uploadId == null) {
        // smaller than one part: one PUT
        byte[] data = buffer == null ? new byte[0] : buffer;
        int length = filled;
        try {
          retrying(() -> s3.putObject(p -> p.bucket(bucket).key(objectKey).contentLength((long) length),
              RequestBody.fromContentProvider(() -> new java.io.ByteArrayInputStream(data, 0, length), length,
                  "application/octet-stream")));
          return;
        } catch (SdkException | java.io.UncheckedIOException e) {
          throw new IOException("writing s3://" + bucket + "/" + objectKey + " failed: " + e.getMessage(), e);
        } finally {
          done = true;
          release();
        }
      }
      if (filled > 0) {
        flushPart();
      }
      try {
        awaitInFlight();
      } catch (java.io.InterruptedIOException e) {
        abort();
        throw e;
      }
      try {
        try {
          s3.completeMultipartUpload(c -> c.bucket(bucket).key(objectKey).uploadId(uploadId)
              .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build()));
        } catch (java.io.UncheckedIOException | software.amazon.awssdk.core.exception.SdkClientException lost) {
          // the answer was lost; the server may have completed the object already
          if (!completedAlready()) {
            retrying(() -> s3.completeMultipartUpload(c -> c.bucket(bucket).key(objectKey).uploadId(uploadId)
                .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build())));
          }
        }
        done = true;
        release();
      } catch (SdkException | java.io.UncheckedIOException e) {
        throw failed("completing the upload", e);
      }
    }

    private boolean completedAlready() {
      try {
        Long size = retrying(() -> s3.headObject(h -> h.bucket(bucket).key(objectKey))).contentLength();
        return size != null && size == written;
      } catch (SdkException | java.io.UncheckedIOException e) {
        return false;
      }
    }

    @Override
    public void abort() {
      if (done) {
        return;
      }
      done = true;
      if (inFlight != null) {
        inFlight.cancel(true);
        inFlight = null;
      }
      // a part being sent may still read its buffer for a moment: the heap frees it once the send stops
      release();
      if (uploadId == null) {
        return; // nothing was sent
      }
      try {
        s3.abortMultipartUpload(a -> a.bucket(bucket).key(objectKey).uploadId(uploadId));
      } catch (SdkException | java.io.UncheckedIOException ignored) {
        // the server may be gone; a lifecycle rule on the bucket should clean up incomplete uploads
      }
    }

    @Override
    public long bytesWritten() {
      return written;
    }
  }

  @Override
  public InputStream open(String key) throws IOException {
    try {
      return retrying(() -> s3.getObject(g -> g.bucket(bucket).key(full(key))));
    } catch (NoSuchKeyException e) {
      throw new java.io.FileNotFoundException("s3://" + bucket + "/" + full(key) + " does not exist");
    } catch (SdkException | java.io.UncheckedIOException e) {
      throw new IOException("reading s3://" + bucket + "/" + full(key) + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean exists(String key) throws IOException {
    try {
      retrying(() -> s3.headObject(h -> h.bucket(bucket).key(full(key))));
      return true;
    } catch (SdkException | java.io.UncheckedIOException e) {
      if (e instanceof NoSuchKeyException
          || (e instanceof software.amazon.awssdk.services.s3.model.S3Exception s && s.statusCode() == 404)) {
        return false;
      }
      throw new IOException("checking s3://" + bucket + "/" + full(key) + " failed: " + e.getMessage(), e);
    }
  }

  /** Every page of a listing under {@code keyPrefix} (with {@code delimiter}, or none), retried as a read. */
  private void pages(String keyPrefix, String delimiter,
      java.util.function.Consumer<software.amazon.awssdk.services.s3.model.ListObjectsV2Response> page)
      throws IOException {
    try {
      String token = null;
      do {
        String continuation = token;
        var response = retrying(() -> s3.listObjectsV2(l -> l.bucket(bucket).prefix(full(keyPrefix))
            .delimiter(delimiter).continuationToken(continuation)));
        page.accept(response);
        token = Boolean.TRUE.equals(response.isTruncated()) ? response.nextContinuationToken() : null;
      } while (token != null);
    } catch (SdkException | java.io.UncheckedIOException e) {
      throw new IOException("listing s3://" + bucket + "/" + full(keyPrefix) + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public List<ObjectInfo> list(String keyPrefix) throws IOException {
    List<ObjectInfo> out = new ArrayList<>();
    pages(keyPrefix, null, response -> {
      for (S3Object o : response.contents()) {
        out.add(new ObjectInfo(o.key().substring(prefix.length()), o.size()));
      }
    });
    return out;
  }

  @Override
  public List<String> children(String keyPrefix) throws IOException {
    List<String> out = new ArrayList<>();
    pages(keyPrefix, "/", response -> {
      for (var p : response.commonPrefixes()) {
        String name = p.prefix().substring(full(keyPrefix).length());
        out.add(name.endsWith("/") ? name.substring(0, name.length() - 1) : name);
      }
    });
    return out;
  }

  @Override
  public void delete(List<String> keys) throws IOException {
    for (int i = 0; i < keys.size(); i += 1000) {
      List<ObjectIdentifier> batch = keys.subList(i, Math.min(keys.size(), i + 1000)).stream()
          .map(k -> ObjectIdentifier.builder().key(full(k)).build()).toList();
      try {
        retrying(() -> s3.deleteObjects(d -> d.bucket(bucket).delete(Delete.builder().objects(batch).build())));
      } catch (SdkException | java.io.UncheckedIOException e) {
        throw new IOException("deleting from s3://" + bucket + " failed: " + e.getMessage(), e);
      }
    }
  }

  @Override
  public String describe() {
    return "s3://" + bucket + "/" + prefix + (endpoint == null ? "" : " at " + endpoint);
  }

  @Override
  public void close() {
    uploaders.shutdownNow();
    s3.close();
  }
}
