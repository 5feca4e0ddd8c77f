package dev.housekeeper.backup;

import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Reads a logical backup's objects for a restore: its manifest, each table's schema (checked and
 * decrypted) and each partition's data, streamed into a table while its SHA-256 is checked.
 */
final class RestoreReader {

  private final ObjectStore store;
  /** Key id to 32-byte key, for encrypted backups (every key of the key Secret); null: none given. */
  private final Map<String, byte[]> keys;

  RestoreReader(ObjectStore store, Map<String, byte[]> keys) {
    this.store = store;
    this.keys = keys;
  }

  /** The manifest of a complete backup; a backup without one is refused. */
  Manifest manifest(String backupId) throws IOException {
    try (InputStream in = store.open(backupId + "/" + Manifest.FILE)) {
      return Manifest.fromJson(in.readAllBytes());
    } catch (FileNotFoundException e) {
      throw new IOException("backup " + backupId + " has no manifest in " + store.describe() + ": it is incomplete"
          + " (or does not exist) and cannot be restored");
    }
  }

  /** The table's CREATE statement as the backup recorded it; a wrong key or a corrupt object restores nothing. */
  String schema(Manifest manifest, Manifest.TableEntry t) throws IOException {
    if (manifest.encryption != null && keys != null && manifest.keyId != null && !keys.containsKey(manifest.keyId)) {
      throw new IOException("the backup is encrypted with key \"" + manifest.keyId + "\", which the key Secret does"
          + " not hold (it has " + keys.keySet() + "); nothing was restored");
    }
    try {
      return new String(unseal(manifest, new ByteArrayInputStream(readVerified(t.schemaKey, t.schemaSha256)))
          .readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IOException("the schema of " + t.database + "." + t.table + " cannot be read: " + e.getMessage()
          + "; nothing was restored", e);
    }
  }

  /** Streams one partition's object into {@code db.table} through {@code target}, checking its SHA-256. */
  void load(ClickHouseClient target, Manifest manifest, Manifest.PartitionEntry p, String db, String table,
      Duration limit) throws IOException {
    MessageDigest sha = LogicalBackup.sha256();
    try (InputStream stored = new DigestInputStream(store.open(p.key), sha);
        InputStream data = Compression.valueOf(manifest.compression).wrap(unseal(manifest, stored))) {
      target.insert(db, table, List.of(), "Native", data, null, limit);
      stored.transferTo(OutputStream.nullOutputStream()); // whatever the decompressor left unread
    } catch (ClickHouseClient.ReaderFailure e) {
      throw new IOException("loading " + p.key + " failed: " + e.getMessage(), e);
    } catch (ClickHouseException e) {
      throw new IOException("loading " + p.key + " failed (the object may be corrupt or not match the schema): "
          + e.getMessage(), e);
    }
    String actual = LogicalBackup.hex(sha.digest());
    if (!actual.equals(p.sha256)) {
      throw new IOException("object " + p.key + " is corrupt: SHA-256 " + actual + ", the manifest says " + p.sha256
          + "; nothing of this table was kept");
    }
  }

  private InputStream unseal(Manifest manifest, InputStream in) throws IOException {
    if (manifest.encryption == null) {
      return in;
    }
    if (!Encryption.ALGORITHM.equals(manifest.encryption)) {
      throw new IOException("the backup uses encryption " + manifest.encryption + ", which this version cannot read");
    }
    if (keys == null || keys.isEmpty()) {
      throw new IOException("the backup is encrypted with key \"" + manifest.keyId + "\"; give the key Secret");
    }
    return Encryption.decrypt(in, keys);
  }

  private byte[] readVerified(String key, String sha256) throws IOException {
    byte[] bytes;
    try (InputStream in = store.open(key)) {
      bytes = in.readAllBytes();
    }
    if (!LogicalBackup.hex(LogicalBackup.sha256().digest(bytes)).equals(sha256)) {
      throw new IOException("object " + key + " is corrupt (SHA-256 differs from the manifest)");
    }
    return bytes;
  }
}
