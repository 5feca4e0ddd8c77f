package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.SqlSplitter;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** One migration, ready to run: its statements and the checksums that detect change. */
public record MigrationScript(long version, String name, String up, String down, String source) {

  public List<String> upStatements() {
    return SqlSplitter.split(up);
  }

  public List<String> downStatements() {
    return down == null ? List.of() : SqlSplitter.split(down);
  }

  public boolean hasDown() {
    return down != null && !SqlSplitter.split(down).isEmpty();
  }

  /** SHA-256 of the up script, as text. */
  public String checksum() {
    return sha256(up);
  }

  public static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
