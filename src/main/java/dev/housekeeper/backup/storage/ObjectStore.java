package dev.housekeeper.backup.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * Where backups are kept: S3-compatible object storage or a volume path. Writes are streamed:
 * nothing is held whole in memory, and an object becomes visible only when its stream is closed
 * (an aborted write leaves nothing behind).
 */
public interface ObjectStore extends AutoCloseable {

  /** An object being written. {@link #close()} completes it; {@link #abort()} throws it away. */
  abstract class Upload extends OutputStream {
    /** Throws away what was written; the object never appears. */
    public abstract void abort();

    /** Bytes written so far. */
    public abstract long bytesWritten();
  }

  /** One stored object. */
  record ObjectInfo(String key, long size) {}

  Upload create(String key) throws IOException;

  /** Reads an object; {@link java.io.FileNotFoundException} when there is none under {@code key}. */
  InputStream open(String key) throws IOException;

  boolean exists(String key) throws IOException;

  /** Objects whose key starts with {@code prefix}, in key order. */
  List<ObjectInfo> list(String prefix) throws IOException;

  void delete(List<String> keys) throws IOException;

  /**
   * Names of the "folders" directly under {@code prefix} (which ends with / or is empty): the
   * first path segment of each key below it, without duplicates, in order.
   */
  default List<String> children(String prefix) throws IOException {
    java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
    for (ObjectInfo o : list(prefix)) {
      String rest = o.key().substring(prefix.length());
      int slash = rest.indexOf('/');
      if (slash > 0) {
        out.add(rest.substring(0, slash));
      }
    }
    return List.copyOf(out);
  }

  /** Where this store writes, for status and messages (no credentials). */
  String describe();

  @Override
  void close();
}
