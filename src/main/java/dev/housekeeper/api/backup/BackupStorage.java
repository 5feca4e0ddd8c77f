package dev.housekeeper.api.backup;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.housekeeper.api.common.SecretKeyRef;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** Where backups are kept: S3-compatible object storage, or a volume path. Exactly one. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class BackupStorage {

  @JsonPropertyDescription("S3-compatible object storage (AWS S3, MinIO, Ceph, GCS in S3 mode, ...).")
  public S3 s3;

  @JsonPropertyDescription("A folder on a volume mounted into the operator's pod (a PersistentVolumeClaim), under one"
      + " of the operator's volume roots; each namespace has its own folder there.")
  public Volume volume;

  /** S3-compatible object storage. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class S3 {
    @JsonPropertyDescription("Endpoint URL, for example http://minio.storage:9000. Default: AWS S3 of the region.")
    public String endpoint;

    @Default("us-east-1")
    @JsonPropertyDescription("Region. Default us-east-1.")
    public String region = "us-east-1";

    @Required
    @Pattern("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    @JsonPropertyDescription("Bucket name.")
    public String bucket;

    @JsonPropertyDescription("Key prefix inside the bucket, for example clickhouse/analytics. Default: none.")
    public String prefix;

    @Default("true")
    @JsonPropertyDescription("Path-style addressing (http://endpoint/bucket/key), which MinIO and most"
        + " S3-compatible servers need. Default true.")
    public boolean pathStyle = true;

    @Required
    @JsonPropertyDescription("Secret key holding the access key id.")
    public SecretKeyRef accessKeyId;

    @Required
    @JsonPropertyDescription("Secret key holding the secret access key.")
    public SecretKeyRef secretAccessKey;

    @JsonPropertyDescription("Endpoint as the ClickHouse server reaches it, for the native method, when it differs"
        + " from the operator's (for example another DNS name). Default: endpoint.")
    public String clickhouseEndpoint;
  }

  /** A volume path. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Volume {
    @Required
    @Pattern("^/.*")
    @JsonPropertyDescription("Absolute path of a folder in the operator's pod: one of the operator's volume roots"
        + " (HOUSEKEEPER_VOLUME_ROOTS, the chart's backupVolumes), which means <root>/<namespace>, or a folder"
        + " below <root>/<namespace>. Any other path, .., // or a symbolic link is refused. Backups go into"
        + " sub-folders.")
    public String path;

    @JsonPropertyDescription("For the native method only: name of a ClickHouse backup disk (backups/allowed_disk in"
        + " the server's configuration) that the server writes to; the logical method writes to path.")
    public String clickhouseDisk;
  }
}
