package dev.housekeeper.backup.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The folders of the operator's pod that volume storage may use, and the tenant boundary inside them.
 * Without it any ClickHouseBackup or ClickHouseRestore could name any absolute path, and a tenant could
 * read another tenant's backups with a guessable id. So each namespace gets one folder under each root
 * ({@code <root>/<namespace>}): a spec path that is a root means that folder, a path below a root must
 * be inside it, and anything else (outside every root, another namespace's folder, {@code ..},
 * {@code //}, a relative path, a symbolic link anywhere below the root) is refused before a file is
 * opened.
 *
 * <p>Shared roots (for the local run and tests only) have no namespace folder: every namespace may use
 * any path below them, which is no boundary at all.
 */
public final class VolumeRoots {

  /** The characters a path may have (as before roots existed); anything else is refused before it is looked at. */
  private static final Pattern PATH = Pattern.compile("^/[A-Za-z0-9_./=+-]{0,1023}$");

  private final List<Path> roots;
  private final List<Path> shared;

  private VolumeRoots(List<Path> roots, List<Path> shared) {
    this.roots = List.copyOf(roots);
    this.shared = List.copyOf(shared);
  }

  /** Why a path cannot be used; the message names the field and the allowed roots, never more of the disk. */
  public static final class Refused extends Exception {
    public Refused(String message) {
      super(message);
    }
  }

  /** No roots: volume storage is refused. */
  public static VolumeRoots none() {
    return new VolumeRoots(List.of(), List.of());
  }

  /** Roots with one folder per namespace, and shared roots (local use only). */
  public static VolumeRoots of(List<Path> roots, List<Path> shared) {
    return new VolumeRoots(roots.stream().map(p -> root(p.toString(), "roots")).toList(),
        shared.stream().map(p -> root(p.toString(), "shared roots")).toList());
  }

  /**
   * From the settings {@code HOUSEKEEPER_VOLUME_ROOTS} and {@code HOUSEKEEPER_SHARED_VOLUME_ROOTS}:
   * absolute paths, comma-separated.
   */
  public static VolumeRoots parse(String roots, String sharedRoots) {
    return new VolumeRoots(list(roots, "HOUSEKEEPER_VOLUME_ROOTS"), list(sharedRoots,
        "HOUSEKEEPER_SHARED_VOLUME_ROOTS"));
  }

  private static List<Path> list(String text, String setting) {
    List<Path> out = new ArrayList<>();
    for (String s : (text == null ? "" : text).split(",")) {
      if (!s.isBlank()) {
        out.add(root(s.trim(), setting));
      }
    }
    return out;
  }

  /** A root is absolute and plain, and not the file system's root (which would allow every path). */
  private static Path root(String s, String setting) {
    String trimmed = s.length() > 1 && s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    if (!PATH.matcher(trimmed).matches() || trimmed.equals("/") || trimmed.contains("//")
        || segments(trimmed).stream().anyMatch(seg -> seg.equals(".") || seg.equals(".."))) {
      throw new IllegalArgumentException(setting + ": \"" + s + "\" is not an absolute path of letters, digits and"
          + " _ . / = + - without . or .. (and not /)");
    }
    return Path.of(trimmed);
  }

  public boolean isEmpty() {
    return roots.isEmpty() && shared.isEmpty();
  }

  /** The roots for messages: {@code /backups/<namespace>, /data (shared)}. */
  public String describe() {
    if (isEmpty()) {
      return "none";
    }
    List<String> out = new ArrayList<>();
    roots.forEach(r -> out.add(r + " (as " + r + "/<namespace>)"));
    shared.forEach(r -> out.add(r + " (shared by all namespaces)"));
    return String.join(", ", out);
  }

  /** What is wrong with {@code path} for {@code namespace}, or null when it is usable. */
  public String problem(String field, String namespace, String path) {
    try {
      folder(field, namespace, path);
      return null;
    } catch (Refused e) {
      return e.getMessage();
    }
  }

  /**
   * The folder {@code path} means for {@code namespace}, its real path: a namespace root alone means
   * {@code <root>/<namespace>}; a path below a root must be in that folder; below a shared root any path
   * goes. The path's text is checked before anything is read; then the folders that exist are checked
   * for symbolic links (their real path must be where the text says).
   */
  public Path folder(String field, String namespace, String path) throws Refused {
    String allowed = "; allowed: " + describe();
    if (isEmpty()) {
      throw new Refused(field + ": volume storage is not enabled on this operator (it has no volume roots: set"
          + " HOUSEKEEPER_VOLUME_ROOTS, in the chart backupVolumes); use s3");
    }
    if (path == null || !PATH.matcher(path).matches()) {
      throw new Refused(field + " must be an absolute path of letters, digits and _ . / = + -" + allowed);
    }
    String text = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    if (text.contains("//") || segments(text).stream().anyMatch(s -> s.equals(".") || s.equals(".."))) {
      throw new Refused(field + ": \"" + path + "\" has an empty, . or .. part" + allowed);
    }
    for (Path root : roots) {
      List<String> rest = below(root, text);
      if (rest == null) {
        continue;
      }
      if (rest.isEmpty()) {
        return real(field, path, root, List.of(namespace), allowed);
      }
      if (!rest.get(0).equals(namespace)) {
        throw new Refused(field + ": \"" + path + "\" is not this namespace's folder; give " + root + " (stored in "
            + root + "/" + namespace + ") or a path below " + root + "/" + namespace + allowed);
      }
      return real(field, path, root, rest, allowed);
    }
    for (Path root : shared) {
      List<String> rest = below(root, text);
      if (rest != null) {
        return real(field, path, root, rest, allowed);
      }
    }
    throw new Refused(field + ": \"" + path + "\" is outside the operator's volume roots" + allowed);
  }

  /** The parts of {@code text} below {@code root}, or null when it is not at or below it (/backups-evil is not). */
  private static List<String> below(Path root, String text) {
    String r = root.toString();
    if (text.equals(r)) {
      return List.of();
    }
    return text.startsWith(r + "/") ? segments(text.substring(r.length())) : null;
  }

  /**
   * {@code root/rest} with its real path: every part of it that exists is a folder reached without a
   * symbolic link, so a link made on the volume cannot lead into another namespace's folder or out.
   */
  private static Path real(String field, String path, Path root, List<String> rest, String allowed) throws Refused {
    Path realRoot;
    try {
      realRoot = root.toRealPath();
    } catch (IOException e) {
      throw new Refused(field + ": the volume root " + root + " does not exist in the operator's pod; mount a volume"
          + " there" + allowed);
    }
    Path at = realRoot;
    for (String part : rest) {
      at = at.resolve(part);
      if (Files.isSymbolicLink(at)) {
        throw new Refused(field + ": \"" + path + "\" passes through a symbolic link (" + at + "), which is not"
            + " followed" + allowed);
      }
      if (!Files.exists(at, LinkOption.NOFOLLOW_LINKS)) {
        break;
      }
      if (!Files.isDirectory(at, LinkOption.NOFOLLOW_LINKS)) {
        throw new Refused(field + ": \"" + path + "\" is not a folder (" + at + ")" + allowed);
      }
    }
    Path folder = realRoot;
    for (String part : rest) {
      folder = folder.resolve(part);
    }
    return folder;
  }

  private static List<String> segments(String text) {
    return Arrays.stream(text.split("/")).filter(s -> !s.isEmpty()).toList();
  }

  @Override
  public String toString() {
    return describe();
  }
}
