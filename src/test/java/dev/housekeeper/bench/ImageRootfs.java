package dev.housekeeper.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The operator's image, built by {@code bin/build-image} and unpacked as a container runtime unpacks it. */
final class ImageRootfs {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ImageRootfs() {}

  /** Builds the image from target/classes and unpacks its layers, in the manifest's order, into dir/rootfs. */
  static Path buildAndUnpack(Path dir) throws IOException, InterruptedException {
    Path log = dir.resolve("build-image.log");
    ProcessBuilder build = new ProcessBuilder(Footprint.PROJECT.resolve("bin/build-image").toString(), "--no-maven")
        .directory(Footprint.PROJECT.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
    long start = System.nanoTime();
    int status = build.start().waitFor();
    if (status != 0) {
      throw new IllegalStateException("bin/build-image failed (" + status + "); see " + log);
    }
    System.out.printf("image built in %.1f s%n", (System.nanoTime() - start) / 1e9);
    Path rootfs = dir.resolve("rootfs");
    Files.createDirectories(rootfs);
    for (JsonNode layer : manifest().get("layers")) {
      run(List.of("tar", "-xzpf", blob(layer.get("digest").asText()).toString(), "-C", rootfs.toString()));
    }
    return rootfs;
  }

  /** The image config's entrypoint. */
  static List<String> entrypoint() throws IOException {
    return strings("/config/Entrypoint");
  }

  /** The image config's environment, NAME=VALUE. */
  static List<String> environment() throws IOException {
    return strings("/config/Env");
  }

  private static List<String> strings(String pointer) throws IOException {
    JsonNode config = JSON.readTree(blob(manifest().at("/config/digest").asText()).toFile());
    List<String> out = new ArrayList<>();
    config.at(pointer).forEach(n -> out.add(n.asText()));
    return out;
  }

  private static JsonNode manifest() throws IOException {
    JsonNode index = JSON.readTree(layout().resolve("index.json").toFile());
    return JSON.readTree(blob(index.at("/manifests/0/digest").asText()).toFile());
  }

  private static Path layout() {
    return Footprint.PROJECT.resolve("target/image/oci");
  }

  private static Path blob(String digest) {
    return layout().resolve("blobs/sha256").resolve(digest.substring("sha256:".length()));
  }

  private static void run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed");
    }
  }
}
