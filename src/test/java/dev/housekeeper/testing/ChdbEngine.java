package dev.housekeeper.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A current ClickHouse engine (chDB 26.x, in-process in a Node program) for the SQL that only
 * modern servers run: TTL, native BACKUP, EXCHANGE TABLES ... Statements run in order in one
 * session; the first failure stops the run.
 */
public final class ChdbEngine {

  private static final ObjectMapper JSON = new ObjectMapper();
  public static final Path TOOL = Path.of(System.getProperty("housekeeper.projectDir", "."), "tools/chdb");

  /** What a run gave: the engine's version and each statement's output. */
  public record Result(String version, List<String> outputs) {}

  /** A statement that failed on chDB, with its index and the engine's message. */
  public static final class ChdbException extends RuntimeException {
    private final int index;

    ChdbException(String message, int index) {
      super("statement " + index + " failed on chDB: " + message);
      this.index = index;
    }

    public int index() {
      return index;
    }
  }

  private ChdbEngine() {}

  public static boolean installed() {
    return Files.isDirectory(TOOL.resolve("node_modules/chdb"));
  }

  /** Runs statements in a fresh, temporary session. */
  public static Result run(List<String> statements) {
    return run(statements, null, null);
  }

  /**
   * Runs statements in a session kept in {@code dataPath} (null: temporary), with an optional
   * ClickHouse config file (for backup destinations).
   */
  public static Result run(List<String> statements, Path dataPath, Path configFile) {
    if (!installed()) {
      throw new IllegalStateException("chDB is not installed: run npm install --prefix " + TOOL);
    }
    ObjectNode input = JSON.createObjectNode();
    input.putPOJO("statements", statements);
    input.put("format", "TSV");
    if (dataPath != null) {
      input.put("path", dataPath.toAbsolutePath().toString());
    }
    if (configFile != null) {
      input.put("config", configFile.toAbsolutePath().toString());
    }
    try {
      Process p = new ProcessBuilder("node", TOOL.resolve("run.js").toString())
          .redirectError(ProcessBuilder.Redirect.INHERIT)
          .start();
      try (OutputStream in = p.getOutputStream()) {
        in.write(JSON.writeValueAsBytes(input));
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("chDB run did not finish in 300 s");
      }
      JsonNode result = JSON.readTree(out);
      if (result == null) {
        throw new IllegalStateException("chDB helper printed nothing (exit " + p.exitValue() + ")");
      }
      if (result.has("error")) {
        throw new ChdbException(result.get("error").asText(), result.get("index").asInt());
      }
      List<String> outputs = new ArrayList<>();
      result.get("results").forEach(n -> outputs.add(n.asText()));
      return new Result(result.get("version").asText(), outputs);
    } catch (IOException e) {
      throw new IllegalStateException("cannot run node " + TOOL.resolve("run.js"), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
