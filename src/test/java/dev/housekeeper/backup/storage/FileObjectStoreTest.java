package dev.housekeeper.backup.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The volume store answers as the S3 store does where readers tell cases apart. */
class FileObjectStoreTest {

  @TempDir
  Path dir;

  @Test
  void foldersAreThoseHoldingAnObjectAtAnyDepth() throws Exception {
    Files.createDirectories(dir.resolve("deep/data/db/t"));
    Files.writeString(dir.resolve("deep/data/db/t/1.native.zst"), "x");
    Files.createDirectories(dir.resolve("flat"));
    Files.writeString(dir.resolve("flat/manifest.json"), "{}");
    Files.createDirectories(dir.resolve("empty/data"));
    Files.createDirectories(dir.resolve("writing"));
    Files.writeString(dir.resolve("writing/1.native.zst.partial"), "x");
    Files.writeString(dir.resolve("loose-file"), "x");
    try (FileObjectStore store = new FileObjectStore(dir)) {
      assertThat(store.children("")).containsExactly("deep", "flat");
      assertThat(store.children("deep/")).containsExactly("data");
      assertThat(store.children("missing/")).isEmpty();
    }
  }

  @Test
  void aListingHasEveryObjectUnderThePrefixInKeyOrderAndNothingBeingWritten() throws Exception {
    Files.createDirectories(dir.resolve("objects/r/db/t/1"));
    Files.writeString(dir.resolve("objects/r/db/t/1/aaa.native.zst"), "12345");
    Files.writeString(dir.resolve("objects/r/db/t/1/aaa.native.zst.receipt.json"), "{}");
    Files.writeString(dir.resolve("objects/r/db/t/1/.bbb.native.zst.partial"), "x");
    Files.writeString(dir.resolve("objects/r/db/t/1/abc.native.zst"), "1");
    Files.createDirectories(dir.resolve("b1"));
    Files.writeString(dir.resolve("b1/manifest.json"), "{}");
    Files.createSymbolicLink(dir.resolve("objects/r/db/t/1/link"), dir.resolve("b1/manifest.json"));
    try (FileObjectStore store = new FileObjectStore(dir)) {
      assertThat(store.list("objects/r/db/t/1/aaa")).containsExactly(
          new ObjectStore.ObjectInfo("objects/r/db/t/1/aaa.native.zst", 5),
          new ObjectStore.ObjectInfo("objects/r/db/t/1/aaa.native.zst.receipt.json", 2));
      assertThat(store.list("objects/")).extracting(ObjectStore.ObjectInfo::key).containsExactly(
          "objects/r/db/t/1/aaa.native.zst", "objects/r/db/t/1/aaa.native.zst.receipt.json",
          "objects/r/db/t/1/abc.native.zst");
      assertThat(store.list("")).hasSize(4);
      assertThat(store.list("objects/r/missing/x")).isEmpty();
    }
  }

  @Test
  void aMissingObjectIsFileNotFound() throws Exception {
    try (FileObjectStore store = new FileObjectStore(dir)) {
      org.junit.jupiter.api.Assertions.assertThrows(FileNotFoundException.class, () -> store.open("b1/manifest.json"));
    }
  }
}
