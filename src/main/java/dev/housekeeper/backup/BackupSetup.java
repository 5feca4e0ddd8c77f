package dev.housekeeper.backup;

import dev.housekeeper.api.backup.BackupStorage;
import dev.housekeeper.api.common.SecretKeyRef;
import dev.housekeeper.backup.storage.FileObjectStore;
import dev.housekeeper.common.Secrets;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.backup.storage.S3ObjectStore;
import dev.housekeeper.backup.storage.VolumeRoots;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.KubernetesNames;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the storage and encryption parts of a spec, and the Secrets they name, into an object
 * store and keys. Every failure says which field or Secret to fix.
 */
public final class BackupSetup {

  private BackupSetup() {}

  /** Why storage or keys cannot be used now. */
  public static final class Problem extends Secrets.Problem {
    public Problem(String reason, String message) {
      super(reason, message);
    }
  }

  /** Static checks of a storage spec (no Secrets read). */
  public static List<String> validate(String field, BackupStorage storage) {
    List<String> problems = new ArrayList<>();
    if (storage == null || (storage.s3 == null) == (storage.volume == null)) {
      problems.add(field + ": give exactly one of s3 and volume");
      return problems;
    }
    if (storage.s3 != null) {
      var s3 = storage.s3;
      if (s3.bucket == null || s3.bucket.isBlank()) {
        problems.add(field + ".s3.bucket is required");
      } else if (!s3.bucket.matches("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")) {
        problems.add(field + ".s3.bucket: " + Identifiers.describe(s3.bucket) + " is not a bucket name (3 to 63"
            + " lower-case letters, digits, '.' and '-')");
      }
      if (s3.region != null && !s3.region.matches("^[a-z0-9-]{1,64}$")) {
        problems.add(field + ".s3.region: " + Identifiers.describe(s3.region) + " is not a region");
      }
      if (s3.clickhouseEndpoint != null && !s3.clickhouseEndpoint.matches("^https?://[^/\\s?#'\"`\\\\]+/?$")) {
        problems.add(field + ".s3.clickhouseEndpoint must be an http(s) URL with a host and optional port");
      }
      if (s3.endpoint != null && !s3.endpoint.isBlank()) {
        try {
          URI uri = URI.create(s3.endpoint);
          if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
              || uri.getHost() == null) {
            problems.add(field + ".s3.endpoint must be an http(s) URL, for example http://minio:9000");
          }
        } catch (IllegalArgumentException e) {
          problems.add(field + ".s3.endpoint is not a URL: " + e.getMessage());
        }
      }
      if (s3.accessKeyId == null || s3.accessKeyId.getName() == null || s3.accessKeyId.getKey() == null) {
        problems.add(field + ".s3.accessKeyId: name and key of a Secret are required");
      }
      if (s3.secretAccessKey == null || s3.secretAccessKey.getName() == null || s3.secretAccessKey.getKey() == null) {
        problems.add(field + ".s3.secretAccessKey: name and key of a Secret are required");
      }
      if (s3.prefix != null && (s3.prefix.contains("..") || s3.prefix.startsWith("/")
          || !s3.prefix.matches("^[A-Za-z0-9_./=-]{0,512}$"))) {
        problems.add(field + ".s3.prefix must be relative, without .., of letters, digits and _ . / = -");
      }
      for (var ref : new SecretKeyRef[] {s3.accessKeyId, s3.secretAccessKey}) {
        if (ref != null && ref.getName() != null && !KubernetesNames.isObjectName(ref.getName())) {
          problems.add(field + ".s3: " + Identifiers.describe(ref.getName()) + " is not the name of a Secret");
        }
      }
    } else if (storage.volume.path == null) {
      // the path's text and whether it is inside the operator's volume roots, for the namespace, are checked
      // by StorageSettings#problems, whose message names the roots
      problems.add(field + ".volume.path is required");
    } else if (storage.volume.clickhouseDisk != null && !Identifiers.isPlain(storage.volume.clickhouseDisk)) {
      problems.add(field + ".volume.clickhouseDisk: " + Identifiers.describe(storage.volume.clickhouseDisk)
          + " is not a disk name");
    }
    return problems;
  }

  /** Where the storage is, for status (no credentials). */
  public static String describe(BackupStorage storage) {
    if (storage.s3 != null) {
      String prefix = storage.s3.prefix == null || storage.s3.prefix.isEmpty() ? "" : trimSlashes(storage.s3.prefix) + "/";
      return "s3://" + storage.s3.bucket + "/" + prefix
          + (storage.s3.endpoint == null ? "" : " at " + storage.s3.endpoint);
    }
    return "file://" + storage.volume.path;
  }

  /** Where one backup is, for status. */
  public static String location(BackupStorage storage, String backupId) {
    if (storage.s3 != null) {
      String prefix = storage.s3.prefix == null || storage.s3.prefix.isEmpty() ? "" : trimSlashes(storage.s3.prefix) + "/";
      return "s3://" + storage.s3.bucket + "/" + prefix + backupId + "/";
    }
    return "file://" + Path.of(storage.volume.path).resolve(backupId) + "/";
  }

  /**
   * Where one backup is, as the open store has it: on a volume the real folder (the namespace's under its
   * root, which the spec's path does not show), else as {@link #location(BackupStorage, String)}.
   */
  public static String location(ObjectStore store, BackupStorage storage, String backupId) {
    return store instanceof FileObjectStore ? store.describe() + "/" + backupId + "/" : location(storage, backupId);
  }

  static String trimSlashes(String s) {
    String out = s;
    while (out.startsWith("/")) {
      out = out.substring(1);
    }
    while (out.endsWith("/")) {
      out = out.substring(0, out.length() - 1);
    }
    return out;
  }

  /** S3 credentials read from their Secrets. */
  public record S3Credentials(String accessKeyId, String secretAccessKey) {
    /** Never the values: a record's own toString would print the secret wherever the record is logged. */
    @Override
    public String toString() {
      return "S3Credentials[hidden]";
    }
  }

  public static S3Credentials credentials(KubernetesClient k8s, String namespace, BackupStorage.S3 s3) throws Problem {
    return new S3Credentials(text(k8s, namespace, s3.accessKeyId, "s3.accessKeyId"),
        text(k8s, namespace, s3.secretAccessKey, "s3.secretAccessKey"));
  }

  /**
   * Opens the store, with the operator's HOST_ALIASES applied to the S3 endpoint, or a volume path's
   * folder for {@code namespace} under the operator's volume roots (a path outside them is refused
   * here too, whoever asks: a backup, adoption, a restore or a drill); the caller closes it.
   */
  public static ObjectStore open(KubernetesClient k8s, String namespace, BackupStorage storage,
      StorageSettings settings) throws Problem {
    if (storage.s3 != null) {
      S3Credentials c = credentials(k8s, namespace, storage.s3);
      String endpoint = storage.s3.endpoint == null || storage.s3.endpoint.isBlank() ? null
          : dev.housekeeper.connection.ConnectionSettings.alias(storage.s3.endpoint, settings.hostAliases());
      return new S3ObjectStore(endpoint, storage.s3.region, storage.s3.bucket,
          storage.s3.prefix == null ? "" : trimSlashes(storage.s3.prefix), c.accessKeyId(), c.secretAccessKey(),
          storage.s3.pathStyle, 8 * 1024 * 1024);
    }
    Path folder;
    try {
      folder = settings.volumeRoots().folder("storage.volume.path", namespace, storage.volume.path);
    } catch (VolumeRoots.Refused e) {
      throw new Problem("ValidationError", e.getMessage());
    }
    try {
      return new FileObjectStore(folder);
    } catch (IOException | RuntimeException e) {
      throw new Problem("StorageUnavailable", "the volume path " + storage.volume.path + " (folder " + folder
          + ") cannot be used: " + e.getMessage() + "; mount a volume there with write access for the operator");
    }
  }

  /** The S3 URL of a backup folder as the ClickHouse server reaches it (native method). */
  public static String nativeUrl(BackupStorage.S3 s3, String backupId) {
    String endpoint = s3.clickhouseEndpoint != null ? s3.clickhouseEndpoint
        : s3.endpoint != null ? s3.endpoint : "https://s3." + s3.region + ".amazonaws.com";
    String prefix = s3.prefix == null || s3.prefix.isEmpty() ? "" : trimSlashes(s3.prefix) + "/";
    String base = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
    return base + "/" + s3.bucket + "/" + prefix + backupId + "/";
  }

  /** Every key of an encryption key Secret: key id to 32-byte key. */
  public static Map<String, byte[]> keys(KubernetesClient k8s, String namespace, String secretName) throws Problem {
    Secret secret = secret(k8s, namespace, secretName, "encryption key");
    Map<String, byte[]> keys = new LinkedHashMap<>();
    Map<String, String> data = secret.getData() == null ? Map.of() : secret.getData();
    for (var e : data.entrySet()) {
      byte[] raw = Base64.getDecoder().decode(e.getValue());
      keys.put(e.getKey(), key(secretName, e.getKey(), raw));
    }
    if (secret.getStringData() != null) {
      for (var e : secret.getStringData().entrySet()) {
        keys.put(e.getKey(), key(secretName, e.getKey(), e.getValue().getBytes(StandardCharsets.UTF_8)));
      }
    }
    if (keys.isEmpty()) {
      throw new Problem("KeyInvalid", "Secret " + secretName + " holds no keys; add one: kubectl create secret generic "
          + secretName + " --from-literal=key1=$(openssl rand -base64 32)");
    }
    return keys;
  }

  /** The key new backups are encrypted with. */
  public static Encryption encryption(Map<String, byte[]> keys, String secretName, String keyId) throws Problem {
    if (keyId == null) {
      if (keys.size() != 1) {
        throw new Problem("KeyInvalid", "Secret " + secretName + " holds " + keys.size() + " keys " + keys.keySet()
            + "; say which one encrypts new backups in spec.encryption.keyId");
      }
      var only = keys.entrySet().iterator().next();
      return new Encryption(only.getKey(), only.getValue());
    }
    byte[] key = keys.get(keyId);
    if (key == null) {
      throw new Problem("KeyNotFound", "Secret " + secretName + " has no key \"" + keyId + "\" (it has " + keys.keySet()
          + ")");
    }
    return new Encryption(keyId, key);
  }

  private static byte[] key(String secret, String id, byte[] value) throws Problem {
    if (value.length == 32) {
      return value;
    }
    String text = new String(value, StandardCharsets.US_ASCII).strip();
    try {
      byte[] decoded = Base64.getDecoder().decode(text);
      if (decoded.length == 32) {
        return decoded;
      }
    } catch (IllegalArgumentException ignored) {
      // not base64: reported below
    }
    throw new Problem("KeyInvalid", "key \"" + id + "\" in Secret " + secret + " is " + value.length + " bytes; AES-256"
        + " needs 32 random bytes or their base64 (openssl rand -base64 32)");
  }

  private static String text(KubernetesClient k8s, String namespace, SecretKeyRef ref, String field) throws Problem {
    try {
      return Secrets.text(Secrets.get(k8s, namespace, ref.getName(), field), ref.getKey(), field);
    } catch (Secrets.Problem e) {
      throw new Problem(e.reason(), e.getMessage());
    }
  }

  private static Secret secret(KubernetesClient k8s, String namespace, String name, String what) throws Problem {
    try {
      return Secrets.get(k8s, namespace, name, what);
    } catch (Secrets.Problem e) {
      throw new Problem(e.reason(), e.getMessage());
    }
  }
}
