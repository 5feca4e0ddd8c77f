package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.Phase;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.backup.storage.ObjectStore;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.Transient;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectedReconciler;
import dev.housekeeper.connection.ConnectionResolver;
import dev.housekeeper.common.KubernetesNames;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reconciles ClickHouseBackup: takes a backup when one is due (created, scheduled, or asked for
 * with the run-now annotation) on the work pool, folds its outcome into status, prunes expired
 * backups, and cancels a running backup when the resource is suspended or deleted.
 */
@ControllerConfiguration(name = "clickhousebackup", generationAwareEventProcessing = false)
public class ClickHouseBackupReconciler
    extends ConnectedReconciler<ClickHouseBackup, ClickHouseBackupStatus, Phase> {

  static final String KIND = "ClickHouseBackup";
  static final int MAX_COMPLETE_LISTED = 30;
  static final int MAX_FAILED_LISTED = 5;
  private static final Duration POLL = Duration.ofSeconds(1);
  private static final Duration REFRESH = Duration.ofMinutes(5);
  private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
      .withZone(ZoneOffset.UTC);

  private final Map<String, String> hostAliases;
  private final Map<String, BackupJob> jobs = new ConcurrentHashMap<>();

  public ClickHouseBackupReconciler(Services services, Map<String, String> hostAliases) {
    super(ClickHouseBackup.class, KIND, ClickHouseBackup::new, ClickHouseBackupStatus::new,
        b -> b.getSpec().connectionRef, Set.of("Running", "Scheduled", "BackupComplete", "BackupFailed",
            "BackupCancelled", "Suspended"), services);
    this.hostAliases = hostAliases;
  }

  /** What a run produced, folded into status by the next pass. */
  record RunResult(BackupRecord record, boolean cleanedUp, List<String> skipped, List<String> pruned,
      List<String> cleaned, String housekeepingError, boolean retriable, boolean stopped) {

    /** The process stopped watching a backup the server goes on with: status.running stays for the take-over. */
    static RunResult stoppedWatching() {
      return new RunResult(null, true, List.of(), List.of(), List.of(), null, false, true);
    }
  }

  @Override
  protected void phase(ClickHouseBackupStatus status, Phase phase) {
    status.phase = phase;
  }

  @Override
  protected Pass<Phase> pass(ClickHouseBackup resource, ClickHouseBackupStatus status, KubernetesClient k8s) {
    String key = key(resource);
    ClickHouseBackupSpec spec = resource.getSpec();
    var task = work.<RunResult>get(key);
    if (task.isPresent() && !task.get().done()) {
      BackupJob job = jobs.get(key);
      if (job != null && job.serverBackupId() != null) {
        status.runningServerBackupId = job.serverBackupId();
      }
      if (spec != null && spec.suspend && job != null) {
        job.cancel();
        return Pass.running(Phase.Running, "Cancelling", "suspended: cancelling backup " + status.running, POLL);
      }
      return Pass.running(Phase.Running, "Running", "backup " + status.running + ": " + task.get().progress(), POLL).stillReady(status.lastSuccessful != null);
    }
    Instant now = clock.instant();
    // a native backup started by a process that is gone: the server goes on with it, so the run is taken over
    String takeOver = !task.isPresent() && status.running != null && ClickHouseBackupSpec.NATIVE.equals(status.method)
        && spec != null ? status.running : null;
    if (task.isPresent()) {
      work.take(key);
      jobs.remove(key);
      fold(resource, status, task.get(), now);
    } else if (status.running != null && takeOver == null) {
      // the process that ran it is gone: the backup is incomplete
      BackupRecord r = new BackupRecord();
      r.id = status.running;
      r.outcome = "Failed";
      r.endTime = format(now);
      r.message = "interrupted: the operator restarted while the backup ran; its objects are deleted before the next"
          + " backup";
      status.backups.add(0, r);
      status.pendingCleanup.add(r.id);
      status.running = null;
      status.runningServerBackupId = null;
      afterWrite.warning(key, resource, "BackupInterrupted", "Backup " + r.id + " was interrupted by an operator restart"
          + retry(status, now, true) + ".");
    }
    trim(status);
    List<String> problems = validate(spec);
    if (!problems.isEmpty()) {
      status.nextScheduleTime = null;
      return Pass.failed(Phase.Failed, "ValidationError", "The spec is invalid: "
          + String.join("; ", problems) + ". Nothing runs until it is fixed.", null);
    }
    status.location = BackupSetup.describe(spec.storage);

    // when is the next backup due?
    String runNow = annotation(resource, ClickHouseBackup.RUN_NOW_ANNOTATION);
    boolean asked = runNow != null && !runNow.equals(status.acknowledgedRunNow);
    Instant next = null;
    if (spec.schedule != null && !spec.suspend) {
      next = status.nextScheduleTime != null ? Instant.parse(status.nextScheduleTime)
          : schedule(spec).next(now);
    }
    boolean firstOneShot = spec.schedule == null && status.backups.isEmpty() && !spec.suspend;
    boolean retryDue = status.retryTime != null && !spec.suspend && !Instant.parse(status.retryTime).isAfter(now);
    boolean due = takeOver != null || asked || firstOneShot || retryDue || (next != null && !next.isAfter(now));
    status.nextScheduleTime = next == null ? null : format(next);
    Pass<Phase> settled = settled(status, spec, next, now);
    if (!due) {
      return settled;
    }

    // a backup is due: resolve connection, storage and keys, then start it
    String ns = resource.getMetadata().getNamespace();
    String connName = spec.connectionRef.getName();
    ConnectionResolver.Resolved conn;
    try {
      conn = connection(resource, connName);
    } catch (ConnectionResolver.NotReady e) {
      return Pass.waiting(status.phase == null ? Phase.Pending : status.phase, e.reason(), e.getMessage() + " The backup starts when it is Ready.", notReadyRequeue(e)).degradedWhen(status.phase == Phase.Failed);
    }
    // a taken-over run stays native whatever the spec says now: the server's backup is the run
    String method = takeOver != null ? ClickHouseBackupSpec.NATIVE : method(spec, conn.connection());
    if (method.startsWith("!")) {
      return Pass.failed(Phase.Failed, "MethodUnavailable", method.substring(1), REFRESH);
    }
    Encryption encryption = null;
    BackupSetup.S3Credentials credentials = null;
    ObjectStore store;
    try {
      if (spec.encryption != null) {
        encryption = BackupSetup.encryption(BackupSetup.keys(k8s, ns, spec.encryption.keySecret),
            spec.encryption.keySecret, spec.encryption.keyId);
      }
      if (spec.storage.s3 != null) {
        credentials = BackupSetup.credentials(k8s, ns, spec.storage.s3);
      }
      store = BackupSetup.open(k8s, ns, spec.storage, hostAliases);
    } catch (BackupSetup.Problem e) {
      return Pass.failed(Phase.Failed, e.reason(), e.getMessage() + ". The backup starts once this"
          + " is fixed.", Duration.ofSeconds(10));
    }
    // acknowledged only now: a backup asked for while its Secret was missing still runs once it appears
    if (takeOver == null) {
      status.acknowledgedRunNow = runNow;
    }
    if (takeOver == null && spec.schedule != null && !spec.suspend && next != null && !next.isAfter(now)) {
      next = schedule(spec).next(now); // a missed time runs once, then the schedule counts from now
      status.nextScheduleTime = format(next);
    }
    String id = takeOver != null ? takeOver : backupId(resource, now, status);
    String configuredDb = conn.connection().getSpec().getDatabase();
    List<String> databases = spec.scope != null && spec.scope.databases != null && !spec.scope.databases.isEmpty()
        ? List.copyOf(spec.scope.databases) : List.of(configuredDb == null ? "default" : configuredDb);
    var caps = conn.connection().getStatus().getCapabilities();
    boolean partCountsExact = caps != null && !caps.isLightweightDelete();
    BackupJob.Plan plan = new BackupJob.Plan(id, method, databases, spec, spec.storage, credentials, encryption,
        partCountsExact);
    List<BackupRecord> complete = status.backups.stream().filter(b -> "Complete".equals(b.outcome)).toList();
    List<String> pendingCleanup = List.copyOf(status.pendingCleanup);
    var shards = conn.shardClients();
    var topology = conn.topology();
    if (topology != null && shards.size() < topology.shards) {
      return Pass.failed(Phase.Failed, "ShardUnreachable", "The connection has no endpoint for"
          + " shard(s) " + dev.housekeeper.connection.ClusterTopology.byShard(topology).keySet().stream()
          .filter(n -> !shards.containsKey(n)).toList() + " of cluster " + topology.cluster + ": a backup without"
          + " them would be incomplete. List every replica's HTTP endpoint in the ClickHouseConnection.", REFRESH);
    }
    status.running = id;
    status.method = method;
    status.statementTimeout = StatementTimeout.text(StatementTimeout.of(spec.statementTimeout, StatementTimeout.BACKUP));
    status.retryTime = null;
    var client = conn.forJob();
    work.submit(key, progress -> {
      try (store) {
        List<String> cleaned = new ArrayList<>();
        String housekeepingError = null;
        for (String old : pendingCleanup) {
          try {
            deleteBackup(store, old);
            cleaned.add(old);
          } catch (IOException e) {
            housekeepingError = "deleting incomplete backup " + old + " failed: " + e.getMessage();
          }
        }
        BackupJob job = new BackupJob(client, store, plan, progress, clock).shards(shards);
        if (takeOver != null) {
          job.resuming();
        }
        jobs.put(key, job);
        BackupRecord record;
        boolean cleanedUp = true;
        try {
          record = job.run();
        } catch (BackupJob.Failed f) {
          if (f.stopping()) {
            return RunResult.stoppedWatching();
          }
          record = new BackupRecord();
          record.id = id;
          record.method = method;
          record.outcome = f.cancelled() ? "Cancelled" : "Failed";
          record.message = f.getMessage();
          cleanedUp = f.cleanedUp();
          return new RunResult(record, cleanedUp, job.skipped(), List.of(), cleaned, housekeepingError,
              !f.cancelled() && Transient.is(f), false);
        }
        // prune: the new backup is the newest complete one
        List<BackupRecord> all = new ArrayList<>();
        all.add(record);
        all.addAll(complete);
        List<String> pruned = new ArrayList<>();
        Duration maxAge = spec.retention == null || spec.retention.maxAge == null ? null
            : BackupRetention.parseAge("maxAge", spec.retention.maxAge);
        for (String expired : BackupRetention.expired(all, spec.retention == null ? null : spec.retention.keepLast,
            maxAge, clock.instant())) {
          try {
            progress.accept("pruning " + expired);
            deleteBackup(store, expired);
            pruned.add(expired);
          } catch (IOException e) {
            housekeepingError = "pruning backup " + expired + " failed (retried after the next backup): "
                + e.getMessage();
          }
        }
        return new RunResult(record, true, job.skipped(), pruned, cleaned, housekeepingError, false, false);
      }
    }, reconcileWhenDone(resource));
    if (takeOver != null) {
      events.normal(resource, "BackupTakenOver", "Backup " + id + " was started by an operator that is gone; the"
          + " server's backup goes on and is watched again.");
    } else {
      events.normal(resource, "BackupStarted", "Backup " + id + " started (" + method + ", " + databases + ", to "
          + BackupSetup.location(spec.storage, id) + ").");
    }
    return Pass.running(Phase.Running, "Running", "backup " + id
        + " started", POLL).stillReady(status.lastSuccessful != null);
  }

  /** The manifest goes first, so that a half-deleted backup is never taken for a complete one. */
  static void deleteBackup(ObjectStore store, String id) throws IOException {
    store.delete(List.of(id + "/" + Manifest.FILE));
    List<String> keys = store.list(id + "/").stream().map(ObjectStore.ObjectInfo::key).toList();
    store.delete(keys);
  }

  private void fold(ClickHouseBackup resource, ClickHouseBackupStatus status,
      WorkExecutor.Task<RunResult> task, Instant now) {
    String ns = resource.getMetadata().getNamespace();
    String key = key(resource);
    RunResult result;
    try {
      result = task.future().get();
    } catch (Exception e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      result = null;
      BackupRecord r = new BackupRecord();
      r.id = status.running;
      r.outcome = "Failed";
      r.message = BackupJob.rootMessage(cause);
      status.backups.add(0, r);
      if (r.id != null) {
        status.pendingCleanup.add(r.id);
      }
    }
    if (result != null && result.stopped()) {
      return;
    }
    status.running = null;
    status.runningServerBackupId = null;
    if (result == null) {
      afterWrite.then(key, () -> metrics.action(KIND, ns, "backup", "failure"));
      status.backups.get(0).message += retry(status, now, false);
      afterWrite.warning(key, resource, "BackupFailed", "Backup failed: " + status.backups.get(0).message);
      return;
    }
    BackupRecord r = result.record();
    Duration elapsed = Duration.between(task.started(), Instant.now());
    if (r.startTime == null) {
      r.startTime = format(now.minus(elapsed));
    }
    if (r.endTime == null) {
      r.endTime = format(now);
    }
    status.backups.add(0, r);
    status.pendingCleanup.removeAll(result.cleaned());
    if (!result.cleanedUp()) {
      status.pendingCleanup.add(r.id);
    }
    List<String> pruned = result.pruned();
    if (!pruned.isEmpty()) {
      status.backups.removeIf(b -> pruned.contains(b.id));
      afterWrite.normal(key, resource, "BackupPruned", "Deleted expired backup(s) " + result.pruned() + " from storage.");
    }
    if (!result.skipped().isEmpty()) {
      afterWrite.normal(key, resource, "TablesSkipped", "Not backed up (no data to back up with this method): "
          + result.skipped());
    }
    if (result.housekeepingError() != null) {
      afterWrite.warning(key, resource, "StorageHousekeepingFailed", result.housekeepingError());
    }
    Duration took = elapsed;
    afterWrite.then(key, () -> metrics.duration(KIND, ns, "backup", took));
    switch (r.outcome) {
      case "Complete" -> {
        status.consecutiveFailures = null;
        status.retryTime = null;
        afterWrite.then(key, () -> metrics.action(KIND, ns, "backup", "success"));
        afterWrite.then(key, () -> {
          var registry = metrics.registry();
          registry.counter("housekeeper_backup_rows", "namespace", ns).increment(r.rows == null ? 0 : r.rows);
          registry.counter("housekeeper_backup_bytes", "namespace", ns, "stage", "raw")
              .increment(r.rawBytes == null ? 0 : r.rawBytes);
          registry.counter("housekeeper_backup_bytes", "namespace", ns, "stage", "stored")
              .increment(r.storedBytes == null ? 0 : r.storedBytes);
        });
        afterWrite.normal(key, resource, "BackupCompleted", "Backup " + r.id + " complete: " + r.tables + " table(s), "
            + r.partitions + " partition(s), " + r.rows + " rows, " + r.storedBytes + " bytes stored in "
            + took.toSeconds() + "s at " + r.location);
      }
      case "Cancelled" -> {
        afterWrite.then(key, () -> metrics.action(KIND, ns, "backup", "cancelled"));
        afterWrite.warning(key, resource, "BackupCancelled", "Backup " + r.id + ": " + r.message);
      }
      default -> {
        afterWrite.then(key, () -> metrics.action(KIND, ns, "backup", "failure"));
        r.message += retry(status, now, result.retriable());
        afterWrite.warning(key, resource, "BackupFailed", "Backup " + r.id + " failed: " + r.message
            + (result.cleanedUp() ? "" : " Its objects could not be deleted yet; that is retried before the next"
            + " backup."));
      }
    }
  }

  /** After a failed backup: counts it and, for a passing failure with retries left, when it runs again. */
  private static String retry(ClickHouseBackupStatus status, Instant now, boolean retriable) {
    RetryPolicy.Retry retry = RetryPolicy.BOUNDED.after(status.consecutiveFailures, retriable, now);
    status.consecutiveFailures = retry.failures();
    status.retryTime = retry.at() == null ? null : format(retry.at());
    return retry.words("retrying");
  }

  @Override
  protected String lastSuccess(ClickHouseBackupStatus status) {
    return status.lastSuccessfulTime;
  }

  @Override
  protected String nextRun(ClickHouseBackupStatus status) {
    return status.nextScheduleTime;
  }

  /** Keeps the list bounded: complete backups (newest 30), failed and cancelled ones (newest 5). */
  private static void trim(ClickHouseBackupStatus status) {
    List<BackupRecord> kept = new ArrayList<>();
    int complete = 0;
    int other = 0;
    for (BackupRecord b : status.backups) {
      if ("Complete".equals(b.outcome)) {
        if (complete++ < MAX_COMPLETE_LISTED) {
          kept.add(b);
        }
      } else if (other++ < MAX_FAILED_LISTED) {
        kept.add(b);
      }
    }
    status.backups = kept;
    status.completeBackups = (int) kept.stream().filter(b -> "Complete".equals(b.outcome)).count();
    status.lastSuccessful = kept.stream().filter(b -> "Complete".equals(b.outcome)).findFirst().orElse(null);
    status.lastSuccessfulTime = status.lastSuccessful == null ? null : status.lastSuccessful.endTime;
  }

  /** The state between backups: what the last one did, and when the next is. */
  private Pass<Phase> settled(ClickHouseBackupStatus status, ClickHouseBackupSpec spec, Instant next, Instant now) {
    Instant wake = status.retryTime == null || spec.suspend ? next : next == null
        || Instant.parse(status.retryTime).isBefore(next) ? Instant.parse(status.retryTime) : next;
    Duration requeue = wake == null ? REFRESH
        : Duration.between(now, wake).compareTo(REFRESH) < 0 ? Duration.between(now, wake).plusMillis(500) : REFRESH;
    if (requeue.isNegative()) {
      requeue = POLL;
    }
    String when = spec.suspend ? "suspended" : next != null ? "next backup at " + format(next)
        : "no schedule (a new value of annotation " + ClickHouseBackup.RUN_NOW_ANNOTATION + " takes one)";
    BackupRecord last = status.backups.isEmpty() ? null : status.backups.get(0);
    if (last == null) {
      return Pass.ok(Phase.Pending, spec.suspend ? "Suspended" : "Scheduled", "No backup yet; " + when + ".", requeue);
    }
    if ("Complete".equals(last.outcome)) {
      return Pass.ok(Phase.Succeeded, "BackupComplete", "Backup " + last.id + " is complete; "
          + when + ".", requeue);
    }
    return Pass.failed(Phase.Failed, "Cancelled".equals(last.outcome) ? "BackupCancelled" : "BackupFailed", "Backup " + last.id + " " + ("Cancelled".equals(last.outcome) ? "was cancelled" : "failed") + ": "
            + last.message + " (" + when + ").", requeue).stillReady(status.lastSuccessful != null);
  }

  /** The method to use, or "!" and why none can be used. */
  static String method(ClickHouseBackupSpec spec, ClickHouseConnection connection) {
    var caps = connection.getStatus() == null ? null : connection.getStatus().getCapabilities();
    boolean serverHas = caps != null && caps.isNativeBackup();
    List<String> blockers = new ArrayList<>();
    if (!serverHas) {
      blockers.add("the server has no BACKUP statement (ClickHouse " + (connection.getStatus() == null ? "?"
          : connection.getStatus().getServerVersion()) + "; it came in 22.8)");
    }
    if (spec.encryption != null) {
      blockers.add("client-side encryption needs the logical method");
    }
    if (spec.scope != null && (spec.scope.partitions != null || spec.scope.schemaOnly)) {
      blockers.add("partition filters and schemaOnly need the logical method");
    }
    if (connection.getStatus() != null && connection.getStatus().topology != null) {
      blockers.add("on a cluster Housekeeper backs up one replica per shard with the logical method");
    }
    if (spec.storage.volume != null && spec.storage.volume.clickhouseDisk == null) {
      blockers.add("a volume path needs storage.volume.clickhouseDisk for the native method");
    }
    String method = spec.method == null ? ClickHouseBackupSpec.AUTO : spec.method;
    if (ClickHouseBackupSpec.LOGICAL.equals(method)) {
      return method;
    }
    if (ClickHouseBackupSpec.NATIVE.equals(method)) {
      return blockers.isEmpty() ? method : "!method native cannot be used: " + String.join("; ", blockers)
          + ". Use method logical or auto.";
    }
    return blockers.isEmpty() ? ClickHouseBackupSpec.NATIVE : ClickHouseBackupSpec.LOGICAL;
  }

  static List<String> validate(ClickHouseBackupSpec spec) {
    List<String> problems = new ArrayList<>();
    if (spec == null) {
      return List.of("spec is missing");
    }
    StatementTimeout.check(spec.statementTimeout, problems);
    if (spec.connectionRef == null || spec.connectionRef.getName() == null) {
      problems.add("spec.connectionRef.name is required");
    }
    problems.addAll(BackupSetup.validate("spec.storage", spec.storage));
    if (spec.method != null && !List.of("auto", "logical", "native").contains(spec.method)) {
      problems.add("spec.method must be auto, logical or native");
    }
    if (spec.scope != null) {
      if (spec.scope.databases != null) {
        spec.scope.databases.stream().filter(d -> !Identifiers.isValid(d)).forEach(d ->
            problems.add("spec.scope.databases: " + Identifiers.describe(d) + " is not a database name"));
      }
      problems.addAll(BackupScope.validate("spec.scope.tables", spec.scope.tables));
      var partitions = spec.scope.partitions;
      if (partitions != null) {
        if (partitions.newest != null && (partitions.newest < 1 || partitions.newest > 100000)) {
          problems.add("spec.scope.partitions.newest must be between 1 and 100000");
        }
        List<String> ids = new ArrayList<>(partitions.ids == null ? List.of() : partitions.ids);
        ids.add(partitions.from);
        ids.add(partitions.to);
        ids.stream().filter(id -> id != null && !id.matches("^[A-Za-z0-9_-]{1,256}$")).forEach(id ->
            problems.add("spec.scope.partitions: " + Identifiers.describe(id) + " is not a partition id"));
      }
    }
    if (spec.schedule != null) {
      try {
        schedule(spec);
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
      }
    }
    if (spec.retention != null) {
      if (spec.retention.keepLast != null && (spec.retention.keepLast < 1 || spec.retention.keepLast > 10000)) {
        problems.add("spec.retention.keepLast must be between 1 and 10000");
      }
      if (spec.retention.maxAge != null) {
        try {
          BackupRetention.parseAge("spec.retention.maxAge", spec.retention.maxAge);
        } catch (IllegalArgumentException e) {
          problems.add(e.getMessage());
        }
      }
    }
    if (spec.parallelism != null && (spec.parallelism < 1 || spec.parallelism > 16)) {
      problems.add("spec.parallelism must be between 1 and 16");
    }
    if (spec.encryption != null) {
      if (spec.encryption.keySecret == null || !KubernetesNames.isObjectName(spec.encryption.keySecret)) {
        problems.add("spec.encryption.keySecret: " + Identifiers.describe(spec.encryption.keySecret)
            + " is not the name of a Secret");
      }
      if (spec.encryption.keyId != null && !spec.encryption.keyId.matches("^[A-Za-z0-9_.-]{1,128}$")) {
        problems.add("spec.encryption.keyId: " + Identifiers.describe(spec.encryption.keyId) + " is not a key id");
      }
    }
    return problems;
  }

  private static CronSchedule schedule(ClickHouseBackupSpec spec) {
    return CronSchedule.parse("spec.schedule", spec.schedule.cron, spec.schedule.timeZone);
  }

  private static String backupId(ClickHouseBackup resource, Instant now, ClickHouseBackupStatus status) {
    String base = resource.getMetadata().getName() + "-" + ID_TIME.format(now);
    String id = base;
    for (int n = 2; exists(status, id); n++) {
      id = base + "-" + n;
    }
    return id;
  }

  private static boolean exists(ClickHouseBackupStatus status, String id) {
    return status.backups.stream().anyMatch(b -> id.equals(b.id)) || status.pendingCleanup.contains(id);
  }




  @Override
  public DeleteControl cleanup(ClickHouseBackup resource, Context<ClickHouseBackup> ctx) {
    String key = key(resource);
    BackupJob job = jobs.get(key);
    var task = work.<RunResult>get(key);
    if (job != null && task.isPresent() && !task.get().done()) {
      job.cancel();
      try {
        task.get().future().get(20, TimeUnit.SECONDS); // the job deletes what it wrote
      } catch (TimeoutException e) {
        return DeleteControl.noFinalizerRemoval().rescheduleAfter(Duration.ofSeconds(2));
      } catch (Exception e) {
        // its failure is its own report; deletion goes on
      }
    }
    ClickHouseBackupSpec spec = resource.getSpec();
    ClickHouseBackupStatus status = statusWriter.current(resource);
    if (spec != null && spec.deleteDataOnDelete && status != null && spec.storage != null
        && BackupSetup.validate("spec.storage", spec.storage).isEmpty()) {
      List<String> ids = new ArrayList<>(status.pendingCleanup);
      status.backups.stream().filter(b -> "Complete".equals(b.outcome)).forEach(b -> ids.add(b.id));
      if (status.running != null) {
        ids.add(status.running);
      }
      try (ObjectStore store = BackupSetup.open(ctx.getClient(), resource.getMetadata().getNamespace(),
          spec.storage, hostAliases)) {
        for (String id : ids) {
          deleteBackup(store, id);
        }
        events.normal(resource, "BackupDataDeleted", "Deleted " + ids.size() + " backup(s) from "
            + BackupSetup.describe(spec.storage) + " (deleteDataOnDelete).");
      } catch (BackupSetup.Problem | IOException | RuntimeException e) {
        events.warning(resource, "BackupDataDeleteFailed", "Deleting the backups' data failed: " + e.getMessage()
            + "; retrying. To keep the data instead, set deleteDataOnDelete: false.");
        return DeleteControl.noFinalizerRemoval().rescheduleAfter(Duration.ofSeconds(30));
      }
    }
    work.remove(key);
    jobs.remove(key);
    forget(resource);
    return DeleteControl.defaultDelete();
  }
}
