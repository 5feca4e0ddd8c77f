package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.Phase;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.common.EventRecorder;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.connection.ClusterTopology;
import dev.housekeeper.connection.ConnectionResolver;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.function.Consumer;

/**
 * Starts a backup that is due: resolves the connection, the method, the storage and the keys; says in
 * status why it cannot start when one of them is missing; else marks the run in status and hands it to
 * the work pool. A run taken over from a process that is gone keeps its id and its method.
 */
final class BackupStart {

  private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
      .withZone(ZoneOffset.UTC);

  /** How the reconciler resolves a connection by name. */
  interface Connections {
    ConnectionResolver.Resolved resolve(ClickHouseBackup resource, String name) throws ConnectionResolver.NotReady;
  }

  /** What the start needs from the reconciler. */
  record Context(KubernetesClient k8s, StorageSettings storage, Connections connections, EventRecorder events,
      Clock clock) {}

  private final ClickHouseBackup resource;
  private final ClickHouseBackupSpec spec;
  private final ClickHouseBackupStatus status;
  private final Context ctx;

  BackupStart(ClickHouseBackup resource, ClickHouseBackupStatus status, Context ctx) {
    this.resource = resource;
    this.spec = resource.getSpec();
    this.status = status;
    this.ctx = ctx;
  }

  /**
   * @param takeOver the run in status.running was started by a process that is gone and goes on
   * @param next the next scheduled time (null: none)
   * @param submit starts the run on the work pool
   */
  Pass<Phase> begin(boolean takeOver, Instant next, Instant now, Consumer<BackupRun.Inputs> submit) {
    ConnectionResolver.Resolved conn;
    try {
      conn = ctx.connections().resolve(resource, spec.connectionRef.getName());
    } catch (ConnectionResolver.NotReady e) {
      return Pass.waiting(status.phase == null ? Phase.Pending : status.phase, e.reason(), e.getMessage()
          + " The backup starts when it is Ready.", e.requeue()).degradedWhen(status.phase == Phase.Failed);
    }
    // a taken-over run stays native whatever the spec says now: the server's backup is the run
    BackupMethod method = takeOver ? new BackupMethod.Chosen(ClickHouseBackupSpec.NATIVE)
        : BackupMethod.choose(spec, conn.connection());
    if (method instanceof BackupMethod.Unavailable unavailable) {
      return Pass.failed(Phase.Failed, "MethodUnavailable", unavailable.why(), ClickHouseBackupReconciler.REFRESH);
    }
    String methodName = ((BackupMethod.Chosen) method).name();
    Secrets secrets;
    try {
      secrets = secrets();
    } catch (BackupSetup.Problem e) {
      return Pass.failed(Phase.Failed, e.reason(), e.getMessage() + ". The backup starts once this is fixed.",
          Duration.ofSeconds(10));
    }
    // acknowledged only now: a backup asked for while its Secret was missing still runs once it appears
    if (!takeOver) {
      status.acknowledgedRunNow = RunTiming.annotation(resource, ClickHouseBackup.RUN_NOW_ANNOTATION);
      if (RunTiming.reached(next, now)) {
        // a missed time runs once, then the schedule counts from now
        status.nextScheduleTime = RunTiming.format(BackupValidation.schedule(spec).next(now));
      }
    }
    String id = takeOver ? status.running : backupId(now);
    return start(conn, id, methodName, secrets, takeOver, submit);
  }

  /** The encryption keys, S3 credentials and the object store this backup uses. */
  private record Secrets(Encryption encryption, BackupSetup.S3Credentials credentials, ObjectStore store) {}

  private Secrets secrets() throws BackupSetup.Problem {
    String ns = resource.getMetadata().getNamespace();
    Encryption encryption = spec.encryption == null ? null : BackupSetup.encryption(BackupSetup.keys(ctx.k8s(), ns,
        spec.encryption.keySecret), spec.encryption.keySecret, spec.encryption.keyId);
    BackupSetup.S3Credentials credentials = spec.storage.s3 == null ? null
        : BackupSetup.credentials(ctx.k8s(), ns, spec.storage.s3);
    return new Secrets(encryption, credentials, BackupSetup.open(ctx.k8s(), ns, spec.storage, ctx.storage()));
  }

  private Pass<Phase> start(ConnectionResolver.Resolved conn, String id, String method, Secrets secrets,
      boolean takeOver, Consumer<BackupRun.Inputs> submit) {
    var shards = conn.shardClients();
    var topology = conn.topology();
    if (topology != null && shards.size() < topology.shards) {
      return Pass.failed(Phase.Failed, "ShardUnreachable", "The connection has no endpoint for shard(s) "
          + ClusterTopology.byShard(topology).keySet().stream().filter(n -> !shards.containsKey(n)).toList()
          + " of cluster " + topology.cluster + ": a backup without them would be incomplete. List every replica's"
          + " HTTP endpoint in the ClickHouseConnection.", ClickHouseBackupReconciler.REFRESH);
    }
    String configuredDb = conn.connection().getSpec().getDatabase();
    List<String> databases = spec.scope != null && spec.scope.databases != null && !spec.scope.databases.isEmpty()
        ? List.copyOf(spec.scope.databases) : List.of(configuredDb == null ? "default" : configuredDb);
    var caps = conn.connection().getStatus().getCapabilities();
    Duration limit = StatementTimeout.of(spec.statementTimeout, StatementTimeout.BACKUP);
    List<BackupRecord> complete = status.backups.stream().filter(b -> "Complete".equals(b.outcome)).toList();
    // a taken-over run computes the same base: the status it reads has not changed since the run started
    String base = !ClickHouseBackupSpec.NATIVE.equals(method) || spec.incremental == null ? null
        : BackupRetention.nextBase(spec.incremental.fullEvery, complete,
            backupId -> BackupSetup.location(secrets.store(), spec.storage, backupId));
    var plan = new BackupJob.Plan(id, method, databases, spec, spec.storage, secrets.credentials(),
        secrets.encryption(), caps != null && !caps.isLightweightDelete(), limit, base);
    submit.accept(new BackupRun.Inputs(plan, conn.forJob(), shards, secrets.store(),
        List.copyOf(status.pendingCleanup), complete, takeOver));
    status.running = id;
    status.method = method;
    status.statementTimeout = StatementTimeout.text(limit);
    status.retryTime = null;
    if (takeOver) {
      ctx.events().normal(resource, "BackupTakenOver", "Backup " + id + " was started by an operator that is gone;"
          + " the server's backup goes on and is watched again.");
    } else {
      ctx.events().normal(resource, "BackupStarted", "Backup " + id + " started (" + method + ", " + databases
          + ", to " + BackupSetup.location(secrets.store(), spec.storage, id)
          + (base == null ? "" : ", incremental on " + base) + ").");
    }
    return Pass.running(Phase.Running, "Running", "backup " + id + " started", ClickHouseBackupReconciler.POLL)
        .stillReady(status.lastSuccessful != null);
  }

  /** {@code <name>-<UTC time>}, with a number added when that id is taken already. */
  private String backupId(Instant now) {
    String base = resource.getMetadata().getName() + "-" + ID_TIME.format(now);
    String id = base;
    for (int n = 2; taken(id); n++) {
      id = base + "-" + n;
    }
    return id;
  }

  private boolean taken(String id) {
    return status.backups.stream().anyMatch(b -> id.equals(b.id)) || status.pendingCleanup.contains(id);
  }
}
