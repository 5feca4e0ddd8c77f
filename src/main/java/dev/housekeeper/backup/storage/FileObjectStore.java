package dev.housekeeper.backup.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A volume path as object storage: keys are relative paths. A write goes to a hidden temporary
 * file that is renamed into place on close, so a reader never sees a half-written object. Symbolic
 * links below the folder are never followed (a key through one is refused, a listing skips them): the
 * folder is one namespace's (see {@link VolumeRoots}), and a link put on the volume, for example by a
 * ClickHouse server that shares it, must not lead into another namespace's folder.
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
    Path at = root;
    for (Path part : root.relativize(p)) {
      at = at.resolve(part);
      if (Files.isSymbolicLink(at)) {
        throw new IllegalArgumentException("object key through a symbolic link, which is not followed: " + key);
      }
    }
    return p;
  }

  /** A file, not a link to one. */
  private static boolean isFile(Path p) {
    return Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public Upload create(String key) throws IOException {
    Path target = resolve(key);
    Path temp = target.resolveSibling("." + target.getFileName() + ".partial");
    OutputStream out = open(temp);
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
          pruneEmpty(temp.getParent()); // an aborted upload leaves no folder behind either
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

  /** A new file in its folder, made as needed. */
  private static OutputStream open(Path file) throws IOException {
    try {
      Files.createDirectories(file.getParent());
      return Files.newOutputStream(file);
    } catch (java.nio.file.NoSuchFileException e) {
      // an aborted upload beside it removed the folder it had just emptied: make it again
      Files.createDirectories(file.getParent());
      return Files.newOutputStream(file);
    }
  }

  @Override
  public InputStream open(String key) throws IOException {
    try {
      return Files.newInputStream(resolve(key));
    } catch (java.nio.file.NoSuchFileException e) {
      // the same "no such object" as the S3 store: readers tell a missing manifest from a failure by it
      throw new java.io.FileNotFoundException(resolve(key) + " does not exist");
    }
  }

  @Override
  public boolean exists(String key) {
    return isFile(resolve(key));
  }

  /**
   * Walks only the folder the prefix names up to its last slash (not the whole store: a backup looks up
   * each partition's object by its key), and tolerates files that other writers rename or delete
   * meanwhile (an upload's {@code .partial} file becomes its object while the walk runs).
   */
  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    String folder = prefix.substring(0, prefix.lastIndexOf('/') + 1);
    Path start = folder.isEmpty() ? root : resolve(folder.substring(0, folder.length() - 1));
    if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
      return List.of();
    }
    List<ObjectInfo> out = new ArrayList<>();
    Files.walkFileTree(start, new java.nio.file.SimpleFileVisitor<>() {
      @Override
      public java.nio.file.FileVisitResult visitFile(Path p, java.nio.file.attribute.BasicFileAttributes attrs) {
        String key = root.relativize(p).toString().replace('\\', '/');
        if (attrs.isRegularFile() && key.startsWith(prefix) && !p.getFileName().toString().endsWith(".partial")) {
          out.add(new ObjectInfo(key, attrs.size()));
        }
        return java.nio.file.FileVisitResult.CONTINUE;
      }

      @Override
      public java.nio.file.FileVisitResult visitFileFailed(Path p, IOException e) throws IOException {
        if (e instanceof java.nio.file.NoSuchFileException) {
          return java.nio.file.FileVisitResult.CONTINUE; // renamed or deleted since its folder was read
        }
        throw e;
      }
    });
    out.sort(Comparator.comparing(ObjectInfo::key));
    return out;
  }

  /**
   * The folders directly under {@code prefix} that hold an object, from one directory listing: the
   * default would walk every file of every backup, and a volume path may be a large tree.
   */
  @Override
  public List<String> children(String prefix) throws IOException {
    Path dir = prefix.isEmpty() ? root : resolve(prefix);
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    try (Stream<Path> entries = Files.list(dir)) {
      for (Path p : entries.filter(d -> Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)).sorted(Comparator.naturalOrder()).toList()) {
        if (holdsObject(p)) {
          out.add(p.getFileName().toString());
        }
      }
    }
    return out;
  }

  /** Whether a folder holds an object below it (stopping at the first), as a key prefix on S3 does. */
  private static boolean holdsObject(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.anyMatch(f -> isFile(f) && !f.getFileName().toString().endsWith(".partial"));
    }
  }

  @Override
  public void delete(List<String> keys) throws IOException {
    for (String key : keys) {
      Path file = resolve(key);
      Files.deleteIfExists(file);
      pruneEmpty(file.getParent()); // a deleted backup leaves nothing behind
    }
  }

  /** Removes {@code dir} and its parents up to the root while they are empty. */
  private void pruneEmpty(Path dir) throws IOException {
    for (Path d = dir; d != null && !d.equals(root) && d.startsWith(root); d = d.getParent()) {
      try {
        Files.deleteIfExists(d);
      } catch (java.nio.file.DirectoryNotEmptyException e) {
        break;
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
