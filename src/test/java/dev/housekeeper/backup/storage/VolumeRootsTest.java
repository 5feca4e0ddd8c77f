package dev.housekeeper.backup.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tenant boundary of volume storage: a root means the namespace's own folder, a path below a root
 * must be in it, and every way out (another namespace, outside the roots, {@code ..}, {@code //}, relative
 * paths, prefix look-alikes, symbolic links) is refused with a message naming the field and the roots.
 */
class VolumeRootsTest {

  @TempDir
  Path tmp;

  Path backups;
  VolumeRoots roots;

  @BeforeEach
  void roots() throws Exception {
    backups = Files.createDirectories(tmp.resolve("backups")).toRealPath();
    roots = VolumeRoots.of(List.of(backups), List.of());
  }

  private String refused(String namespace, String path) {
    var e = assertThrows(VolumeRoots.Refused.class, () -> roots.folder("spec.storage.volume.path", namespace, path));
    assertThat(e.getMessage()).startsWith("spec.storage.volume.path").contains(backups.toString());
    return e.getMessage();
  }

  @Test
  void aRootMeansTheNamespacesOwnFolder() throws Exception {
    assertThat(roots.folder("f", "team-a", backups.toString())).isEqualTo(backups.resolve("team-a"));
    assertThat(roots.folder("f", "team-a", backups + "/")).isEqualTo(backups.resolve("team-a"));
    assertThat(roots.folder("f", "team-b", backups.toString())).isEqualTo(backups.resolve("team-b"));
  }

  @Test
  void aPathInTheNamespacesFolderIsThatPath() throws Exception {
    assertThat(roots.folder("f", "team-a", backups + "/team-a/nightly"))
        .isEqualTo(backups.resolve("team-a").resolve("nightly"));
  }

  @Test
  void anotherNamespacesFolderIsRefused() {
    assertThat(refused("team-b", backups + "/team-a")).contains("not this namespace's folder")
        .contains(backups + "/team-b");
    refused("team-b", backups + "/team-a/20260101-000000");
    refused("team-b", backups + "/shared");
  }

  @Test
  void dotDotTricksAreRefusedBeforeAnythingIsRead() {
    for (String p : List.of(backups + "/team-b/../team-a", backups + "/..", backups + "/team-b/..",
        backups + "/./team-a", backups + "/team-b/.", "/../" + backups)) {
      assertThat(refused("team-b", p)).contains("has an empty, . or .. part");
    }
  }

  @Test
  void doubleSlashesAreRefused() {
    refused("team-b", backups + "//team-a");
    refused("team-b", "/" + backups);
  }

  @Test
  void relativeAndStrangePathsAreRefused() {
    for (String p : List.of("backups", "team-a/x", "", "./backups", backups + "/x y", backups + "/a\nb",
        backups + "/x'; DROP")) {
      assertThat(refused("team-b", p)).contains("must be an absolute path");
    }
    refused("team-b", null);
  }

  @Test
  void prefixLookAlikesAreOutsideTheRoot() {
    assertThat(refused("team-a", backups + "-evil")).contains("outside the operator's volume roots");
    refused("team-a", backups + "-evil/team-a");
    refused("team-a", backups + "team-a");
  }

  @Test
  void pathsOutsideEveryRootAreRefused() {
    assertThat(refused("team-a", "/etc")).contains("outside");
    refused("team-a", "/");
    refused("team-a", tmp.toString());
    refused("team-a", "/var/run/secrets/kubernetes.io/serviceaccount");
  }

  @Test
  void aNamespaceFolderThatIsASymbolicLinkIsRefused() throws Exception {
    Files.createDirectories(backups.resolve("team-a"));
    Files.createSymbolicLink(backups.resolve("team-b"), backups.resolve("team-a"));
    assertThat(refused("team-b", backups.toString())).contains("symbolic link");
    refused("team-b", backups + "/team-b/x");
  }

  @Test
  void aSymbolicLinkInsideTheNamespaceFolderIsRefused() throws Exception {
    Files.createDirectories(backups.resolve("team-b"));
    Files.createDirectories(tmp.resolve("elsewhere"));
    Files.createSymbolicLink(backups.resolve("team-b/out"), tmp.resolve("elsewhere"));
    assertThat(refused("team-b", backups + "/team-b/out")).contains("symbolic link");
    refused("team-b", backups + "/team-b/out/deeper");
  }

  @Test
  void aRootThatIsALinkIsItsRealFolder() throws Exception {
    Path link = Files.createSymbolicLink(tmp.resolve("mounted"), backups);
    var viaLink = VolumeRoots.of(List.of(link), List.of());
    assertThat(viaLink.folder("f", "team-a", link.toString())).isEqualTo(backups.resolve("team-a"));
  }

  @Test
  void aMissingRootSaysToMountAVolume() {
    var missing = VolumeRoots.of(List.of(tmp.resolve("not-mounted")), List.of());
    var e = assertThrows(VolumeRoots.Refused.class, () -> missing.folder("f", "team-a", tmp + "/not-mounted"));
    assertThat(e.getMessage()).contains("does not exist").contains("mount a volume");
  }

  @Test
  void withoutRootsVolumeStorageIsRefused() {
    var e = assertThrows(VolumeRoots.Refused.class, () -> VolumeRoots.none().folder("spec.storage.volume.path",
        "team-a", "/backups"));
    assertThat(e.getMessage()).contains("not enabled").contains("HOUSEKEEPER_VOLUME_ROOTS");
    assertThat(VolumeRoots.parse("", "")).matches(VolumeRoots::isEmpty);
  }

  @Test
  void aSharedRootHasNoNamespaceFolder() throws Exception {
    var shared = VolumeRoots.of(List.of(), List.of(backups));
    assertThat(shared.folder("f", "team-a", backups + "/anything")).isEqualTo(backups.resolve("anything"));
    assertThrows(VolumeRoots.Refused.class, () -> shared.folder("f", "team-a", backups + "/x/../../etc"));
    assertThrows(VolumeRoots.Refused.class, () -> shared.folder("f", "team-a", "/etc"));
  }

  @Test
  void settingsAreAbsolutePlainPathsAndNeverTheFileSystemRoot() {
    var parsed = VolumeRoots.parse(" /backups , /data/backups/ ", "/tmp/local");
    assertThat(parsed.describe()).isEqualTo("/backups (as /backups/<namespace>), /data/backups (as"
        + " /data/backups/<namespace>), /tmp/local (shared by all namespaces)");
    for (String bad : List.of("/", "backups", "/a/../b", "/a//b", "/a b")) {
      var e = assertThrows(IllegalArgumentException.class, () -> VolumeRoots.parse(bad, ""));
      assertThat(e.getMessage()).startsWith("HOUSEKEEPER_VOLUME_ROOTS");
    }
    assertThrows(IllegalArgumentException.class, () -> VolumeRoots.parse("", "/"));
  }

  @Test
  void theStoreDoesNotFollowALinkPutInsideItsFolder() throws Exception {
    Path mine = Files.createDirectories(backups.resolve("team-b"));
    Path theirs = Files.createDirectories(backups.resolve("team-a/20260101-000000"));
    Files.writeString(theirs.resolve("manifest.json"), "{}");
    Files.createSymbolicLink(mine.resolve("20260101-000000"), theirs);
    try (FileObjectStore store = new FileObjectStore(mine)) {
      assertThat(store.list("")).isEmpty();
      assertThat(store.children("")).isEmpty();
      assertThrows(IllegalArgumentException.class, () -> store.exists("20260101-000000/manifest.json"));
      assertThrows(IllegalArgumentException.class, () -> store.open("20260101-000000/manifest.json"));
    }
  }
}
