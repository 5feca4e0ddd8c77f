package dev.housekeeper.backup.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A volume path as object storage: keys are relative paths. A write goes to a hidden temporary
 * file that is renamed into place on close, so a reader never sees a half-written object.
 */
public final class FileObjectStore implements ObjectStore {

  private final Path root;

  public FileObjectStore(Path root) throws IOException {
    this.root = root.toAbsolutePath().normalize();
    Files.createDirectories(this.root);
  }

  private Path resolve(String key) {
    Path p = root.resolve(key).normalize();
    if (!p.startsWith(root) || key.isBlank()) {
      throw new IllegalArgumentException("object key outside the store: " + key);
    }
    return p;
  }

  @Override
  public Upload create(String key) throws IOException {
    Path target = resolve(key);
    Files.createDirectories(target.getParent());
    Path temp = target.resolveSibling("." + target.getFileName() + ".partial");
    OutputStream out = Files.newOutputStream(temp);
    return new Upload() {
      private long written;
      private boolean done;

      @Override
      public void write(int b) throws IOException {
        out.write(b);
        written++;
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        written += len;
      }

      @Override
      public void close() throws IOException {
        if (done) {
          return;
        }
        done = true;
        out.close();
        try {
          Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }

      @Override
      public void abort() {
        done = true;
        try {
          out.close();
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // nothing more to do
        }
      }

      @Override
      public long bytesWritten() {
        return written;
      }
    };
  }

  @Override
  public InputStream open(String key) throws IOException {
    return Files.newInputStream(resolve(key));
  }

  @Override
  public boolean exists(String key) {
    return Files.isRegularFile(resolve(key));
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    List<ObjectInfo> out = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.filter(Files::isRegularFile).sorted(Comparator.naturalOrder()).toList()) {
        String key = root.relativize(p).toString().replace('\\', '/');
        if (key.startsWith(prefix) && !p.getFileName().toString().endsWith(".partial")) {
          out.add(new ObjectInfo(key, Files.size(p)));
        }
      }
    }
    return out;
  }

  @Override
  public void delete(List<String> keys) throws IOException {
    for (String key : keys) {
      Path file = resolve(key);
      Files.deleteIfExists(file);
      // folders emptied by the delete go too, up to the root: a deleted backup leaves nothing behind
      for (Path dir = file.getParent(); dir != null && !dir.equals(root) && dir.startsWith(root);
          dir = dir.getParent()) {
        try {
          Files.deleteIfExists(dir);
        } catch (java.nio.file.DirectoryNotEmptyException e) {
          break;
        }
      }
    }
  }

  @Override
  public String describe() {
    return "file://" + root;
  }

  @Override
  public void close() {}
}
