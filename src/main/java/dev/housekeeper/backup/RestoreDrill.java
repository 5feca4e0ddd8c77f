package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.WorkExecutor;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * A restore as the work pool runs it, verified when the spec asks: the restore ({@link RestoreWork}),
 * timed (the measured recovery time), then compared with the manifest ({@link RestoreVerification}),
 * and a scratch database dropped at the end, also when the restore or the comparison failed. Without
 * verify it is the restore alone, failing as before.
 */
final class RestoreDrill implements WorkExecutor.Work<RestoreDrill.Result> {

  /** A generated scratch database's name starts so. */
  static final String SCRATCH_PREFIX = "hk_drill_";

  /**
   * What a run produced.
   *
   * @param restore the restore's result (null when it failed as a whole)
   * @param failure why the restore failed as a whole (verify only; without verify it is thrown)
   * @param recovery from the start of the restore to its end
   * @param report what the verification compared (null without verify, or when the restore failed)
   * @param database the database restored into (null: each table's own)
   * @param scratchDropped whether the scratch database was dropped (null: the drill made none)
   */
  record Result(RestoreWork.Result restore, Exception failure, Duration recovery, RestoreVerification.Report report,
      String database, Boolean scratchDropped) {}

  private final ClickHouseRestoreSpec spec;
  private final RestoreSource.Opened opened;
  private final String backupId;
  private final String scratch;
  private final boolean dropLeftover;
  private final boolean takeOver;
  private final BiFunction<ClickHouseRestoreSpec, RestoreSource.Opened, RestoreWork> restore;

  /**
   * @param scratch the scratch database, or null
   * @param dropLeftover the scratch database may exist already, left by an earlier drill of this resource
   * @param takeOver a server-side restore into the scratch database goes on: it is neither checked nor dropped first
   * @param restore makes the restore from a spec (the scratch database as its target) and the opened source
   */
  RestoreDrill(ClickHouseRestoreSpec spec, RestoreSource.Opened opened, String backupId, String scratch,
      boolean dropLeftover, boolean takeOver, BiFunction<ClickHouseRestoreSpec, RestoreSource.Opened, RestoreWork> restore) {
    this.spec = spec;
    this.opened = opened;
    this.backupId = backupId;
    this.scratch = scratch;
    this.dropLeftover = dropLeftover;
    this.takeOver = takeOver;
    this.restore = restore;
  }

  /** A resource's scratch database when the spec names none: the same for every drill of the resource. */
  static String scratchName(String namespace, String name) {
    String hash = HexFormat.of().formatHex(LogicalBackup.sha256()
        .digest((namespace + "/" + name).getBytes(StandardCharsets.UTF_8))).substring(0, 8);
    String readable = name.replaceAll("[^A-Za-z0-9_]", "_");
    return SCRATCH_PREFIX + readable.substring(0, Math.min(readable.length(), 180)) + "_" + hash;
  }

  /** The scratch database of a spec: its own, a generated one with a schedule, else none. */
  static String scratchOf(ClickHouseRestoreSpec spec, String namespace, String name) {
    if (spec.scratchDatabase != null) {
      return spec.scratchDatabase;
    }
    return spec.schedule != null ? scratchName(namespace, name) : null;
  }

  @Override
  public Result run(Consumer<String> progress) throws Exception {
    if (!spec.verify) {
      // the restore alone, which closes the store itself
      return new Result(restore.apply(spec, opened).run(progress), null, null, null, spec.targetDatabase, null);
    }
    ClickHouseRestoreSpec target = spec;
    if (scratch != null) {
      target = Serialization.unmarshal(Serialization.asJson(spec), ClickHouseRestoreSpec.class);
      target.targetDatabase = scratch;
    }
    RestoreWork work = restore.apply(target, new RestoreSource.Opened(new KeptOpen(opened.store()), opened.keys(),
        opened.credentials()));
    ClickHouseClient client = work.client();
    boolean ours = false;
    try (var store = opened.store()) {
      Instant start = Instant.now();
      RestoreWork.Result restored = null;
      Exception failure = null;
      try {
        ours = scratch != null && (takeOver || prepareScratch(client));
        restored = work.run(progress);
      } catch (InterruptedException e) {
        throw e; // this process is stopping; a leftover scratch database is dropped by the next drill
      } catch (Exception e) {
        failure = e;
      }
      Duration recovery = Duration.between(start, Instant.now());
      RestoreVerification.Report report = null;
      if (restored != null) {
        progress.accept("verifying the restore of " + backupId);
        try {
          report = verify(client, store, restored.tables(), target, work.limit());
        } catch (IOException | RuntimeException e) {
          failure = e;
        }
      }
      Boolean dropped = ours ? drop(client, progress) : null; // null: nothing of this drill's to drop
      return new Result(restored, failure, recovery, report, target.targetDatabase, dropped);
    }
  }

  /**
   * Whether the scratch database is ready to be created by the restore: absent, or a leftover of this
   * resource's earlier drill (dropped now). An existing database that is not such a leftover is never
   * used, since the drill drops its scratch database at the end.
   */
  private boolean prepareScratch(ClickHouseClient client) throws IOException {
    boolean exists = client.query(Sql.query("SELECT count() AS n FROM system.databases WHERE name = ?", scratch))
        .get(0).longValue("n") > 0;
    if (exists && !dropLeftover && !scratch.startsWith(SCRATCH_PREFIX)) {
      throw new IOException("database " + scratch + " exists; a drill's scratch database must not exist beforehand,"
          + " because it is dropped after the drill. Name another one in spec.scratchDatabase, or drop it");
    }
    if (exists) {
      client.execute(Sql.command("DROP DATABASE IF EXISTS ?", Sql.id(scratch)).idempotent(true));
    }
    return true;
  }

  private RestoreVerification.Report verify(ClickHouseClient client, ObjectStore store, List<RestoreTable> tables,
      ClickHouseRestoreSpec target, Duration limit) throws IOException {
    Manifest manifest = new RestoreReader(store, opened.keys()).manifest(backupId);
    return new RestoreVerification(client, store, limit).compare(manifest, tables,
        t -> target.targetDatabase != null ? target.targetDatabase : t.database);
  }

  /** Drops the scratch database; whether it is gone. */
  private boolean drop(ClickHouseClient client, Consumer<String> progress) {
    try {
      client.execute(Sql.command("DROP DATABASE IF EXISTS ?", Sql.id(scratch)).idempotent(true));
      return true;
    } catch (ClickHouseException e) {
      progress.accept("could not drop scratch database " + scratch + ": " + e.getMessage());
      return false;
    }
  }

  /** The store given to the restore, which closes what it is given: this one stays open for the verification. */
  private static final class KeptOpen extends dev.housekeeper.backup.storage.ForwardingObjectStore {
    KeptOpen(ObjectStore store) {
      super(store);
    }

    @Override
    public void close() {
      // closed by the drill once it has verified
    }
  }
}
