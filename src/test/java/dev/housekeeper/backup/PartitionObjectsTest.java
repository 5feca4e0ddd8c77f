package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.backup.storage.FileObjectStore;
import dev.housekeeper.backup.storage.ObjectStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rules of shared partition objects, on a real folder store: keys, fingerprints, receipts, the sweep. */
class PartitionObjectsTest {

  static final List<String> PARTS = List.of("files 7238a6 rows 5", "files 596ed2 rows 5");

  @Test
  void theFingerprintChangesWithEachThingThatChangesTheStoredBytes() {
    String base = PartitionObjects.fingerprint(PARTS, "CREATE TABLE t (k UInt32)", "zstd", "k1");
    assertEquals(32, base.length());
    assertEquals(base, PartitionObjects.fingerprint(PARTS, "CREATE TABLE t (k UInt32)", "zstd", "k1"));
    assertThat(List.of(
        PartitionObjects.fingerprint(List.of(PARTS.get(0)), "CREATE TABLE t (k UInt32)", "zstd", "k1"),
        PartitionObjects.fingerprint(PARTS, "CREATE TABLE t (k UInt32, z UInt8 DEFAULT 1)", "zstd", "k1"),
        PartitionObjects.fingerprint(PARTS, "CREATE TABLE t (k UInt32)", "lz4", "k1"),
        PartitionObjects.fingerprint(PARTS, "CREATE TABLE t (k UInt32)", "zstd", "k2"),
        PartitionObjects.fingerprint(PARTS, "CREATE TABLE t (k UInt32)", "zstd", null)))
        .doesNotContain(base).doesNotHaveDuplicates();
  }

  @Test
  void keysEncodeNamesAndAPatchPartBelongsToThePartitionItPatches() {
    assertEquals("objects/nightly/shard-2/db/o%27%D0%B7/202401/abc.native.zst",
        PartitionObjects.key("nightly", 2, "db", "o'з", "202401", "abc", ".native.zst"));
    assertEquals("objects/nightly/db/t/all/abc.native.zst.enc",
        PartitionObjects.key("nightly", null, "db", "t", "all", "abc", ".native.zst.enc"));
    assertEquals("1", PartitionState.partitionOf("patch-9834becdf7e2e15ad7c410ffd6a5a63c-1"));
    assertEquals("202401-x", PartitionState.partitionOf("patch-9834becdf7e2e15ad7c410ffd6a5a63c-202401-x"));
    assertEquals("202401", PartitionState.partitionOf("202401"));
    assertEquals("nightly", PartitionObjects.lineage("nightly-20261202-101500"));
    assertEquals("a-b", PartitionObjects.lineage("a-b-20261202-101500-3"));
    assertEquals("cut-1", PartitionObjects.lineage("cut-1"));
  }

  @Test
  void anObjectIsReusedOnlyWithItsReceiptAndItsSize(@TempDir Path dir) throws Exception {
    try (FileObjectStore store = new FileObjectStore(dir)) {
      String key = PartitionObjects.key("r", null, "db", "t", "1", "abc", ".native.zst");
      write(store, key, "12345");
      assertTrue(PartitionObjects.reusable(store, key).isEmpty(), "no receipt: a backup killed before writing it");
      Manifest.PartitionEntry e = entry(key, 5);
      PartitionObjects.writeReceipt(store, key, PartitionObjects.Receipt.of(e, "r-20261202-101500"));
      var receipt = PartitionObjects.reusable(store, key).orElseThrow();
      Manifest.PartitionEntry reused = receipt.entry(key, "abc");
      assertEquals(7, reused.rows);
      assertTrue(reused.reused);
      write(store, key, "123"); // another size than the receipt says
      assertTrue(PartitionObjects.reusable(store, key).isEmpty());
      store.delete(List.of(key));
      assertTrue(PartitionObjects.reusable(store, key).isEmpty(), "a receipt without its object");
    }
  }

  @Test
  void aTableIsListedOnceAndWhatWasDeletedSinceIsNotReused(@TempDir Path dir) throws Exception {
    try (FileObjectStore store = new FileObjectStore(dir)) {
      String prefix = PartitionObjects.tablePrefix("r", 2, "db", "t");
      String kept = PartitionObjects.key("r", 2, "db", "t", "1", "abc", ".native.zst");
      String gone = PartitionObjects.key("r", 2, "db", "t", "2", "def", ".native.zst");
      String otherTable = PartitionObjects.key("r", 2, "db", "t2", "1", "abc", ".native.zst");
      assertThat(kept).startsWith(prefix);
      for (String key : List.of(kept, gone, otherTable)) {
        write(store, key, "12345");
        PartitionObjects.writeReceipt(store, key, PartitionObjects.Receipt.of(entry(key, 5), "r-20261202-101500"));
      }
      var listed = PartitionObjects.stored(store, prefix);
      assertThat(listed).containsOnlyKeys(kept, kept + PartitionObjects.RECEIPT, gone, gone + PartitionObjects.RECEIPT);
      assertEquals(5, PartitionObjects.reusable(store, kept, listed).orElseThrow().storedBytes);
      store.delete(List.of(gone + PartitionObjects.RECEIPT)); // a sweep elsewhere, after the listing
      assertTrue(PartitionObjects.reusable(store, gone, listed).isEmpty(), "its receipt is read, not taken on trust");
      assertTrue(PartitionObjects.reusable(store, otherTable, listed).isEmpty(), "not under this table's folder");
    }
  }

  @Test
  void theSweepDeletesOnlyWhatNoManifestNamesAndStopsAtAnUnreadableManifest(@TempDir Path dir) throws Exception {
    try (FileObjectStore store = new FileObjectStore(dir)) {
      String named = PartitionObjects.key("r", null, "db", "t", "1", "aaa", ".native.zst");
      String orphan = PartitionObjects.key("r", null, "db", "t", "1", "bbb", ".native.zst");
      String otherLineage = PartitionObjects.key("s", null, "db", "t", "1", "ccc", ".native.zst");
      for (String key : List.of(named, orphan, otherLineage)) {
        write(store, key, "12345");
        PartitionObjects.writeReceipt(store, key, PartitionObjects.Receipt.of(entry(key, 5), "x"));
      }
      Manifest m = new Manifest();
      Manifest.TableEntry t = new Manifest.TableEntry();
      t.partitions.add(entry(named, 5));
      m.tables.add(t);
      write(store, "r-20261202-101500/" + Manifest.FILE, new String(m.toJson(), StandardCharsets.UTF_8));
      PartitionObjects.checkNamed(store, "r", m);

      write(store, "r-20261201-101500/" + Manifest.FILE, "{not json");
      assertThrows(java.io.IOException.class, () -> PartitionObjects.sweep(store, "r", Set.of(), x -> { }));
      assertTrue(store.exists(orphan), "nothing is deleted while a manifest cannot be read");
      store.delete(List.of("r-20261201-101500/" + Manifest.FILE));

      assertEquals(1, PartitionObjects.sweep(store, "r", Set.of(), x -> { }));
      assertThat(store.list(PartitionObjects.ROOT + "/").stream().map(ObjectStore.ObjectInfo::key).toList())
          .containsExactlyInAnyOrder(named, named + PartitionObjects.RECEIPT, otherLineage,
              otherLineage + PartitionObjects.RECEIPT);
      // another lineage's object goes only when a deleted backup of this one named it
      assertEquals(1, PartitionObjects.sweep(store, "r", Set.of(otherLineage), x -> { }));
      assertThat(store.exists(otherLineage)).isFalse();

      store.delete(List.of(named));
      java.io.IOException missing = assertThrows(java.io.IOException.class,
          () -> PartitionObjects.checkNamed(store, "r", m));
      assertThat(missing.getMessage()).contains(named).contains("no manifest is written");
    }
  }

  static Manifest.PartitionEntry entry(String key, long size) {
    Manifest.PartitionEntry e = new Manifest.PartitionEntry();
    e.partitionId = "1";
    e.key = key;
    e.rows = 7;
    e.storedBytes = size;
    e.sha256 = "00";
    return e;
  }

  @Test
  void aLineageWithoutSharedObjectsIsSweptWithoutReadingAManifest(@TempDir Path dir) throws Exception {
    try (FileObjectStore store = new FileObjectStore(dir)) {
      // a native backup's lineage holds no shared objects: its sweep has nothing to weigh, so an unreadable
      // manifest elsewhere in the store neither fails it nor is read
      write(store, "n-20261201-101500/" + Manifest.FILE, "{not json");
      assertEquals(0, PartitionObjects.sweep(store, "n", Set.of(), x -> { }));
      String other = PartitionObjects.key("s", null, "db", "t", "1", "ccc", ".native.zst");
      write(store, other, "12345");
      assertThrows(java.io.IOException.class, () -> PartitionObjects.sweep(store, "n", Set.of(other), x -> { }),
          "an object a deleted backup named is weighed against every manifest, so an unreadable one stops it");
      assertTrue(store.exists(other));
    }
  }

  static void write(ObjectStore store, String key, String text) throws Exception {
    try (ObjectStore.Upload upload = store.create(key)) {
      upload.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }
}
