package dev.housekeeper.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Deletes the temporary folders test servers create, so that repeated runs do not fill the disk. */
public final class TempDirs {

  private TempDirs() {}

  public static void delete(Path dir) {
    // HK_KEEP_TEST_DIRS=1 keeps the servers' folders (their logs) to look into a failed run
    if (dir == null || !Files.exists(dir) || "1".equals(System.getenv("HK_KEEP_TEST_DIRS"))) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // best effort
        }
      });
    } catch (IOException ignored) {
      // best effort
    }
  }
}
