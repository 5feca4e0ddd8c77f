package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.Phase;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.connection.ConnectedReconciler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reconciles ClickHouseBackup: takes a backup when one is due (created, scheduled, asked for with the
 * run-now annotation, or retried) on the work pool ({@link BackupStart}, {@link BackupRun}), folds its
 * outcome into status ({@link BackupOutcome}), and cancels a running backup when the resource is
 * suspended or deleted.
 */
@ControllerConfiguration(name = "clickhousebackup", generationAwareEventProcessing = false)
public class ClickHouseBackupReconciler
    extends ConnectedReconciler<ClickHouseBackup, ClickHouseBackupStatus, Phase> {

  static final String KIND = "ClickHouseBackup";
  static final Duration POLL = Duration.ofSeconds(1);
  static final Duration REFRESH = Duration.ofMinutes(5);

  private final StorageSettings storage;
  /** The job running for each resource in this process, to cancel it on suspend or delete. */
  private final Map<String, BackupJob> jobs = new ConcurrentHashMap<>();
  /** The resources whose task in this process is a look through their storage, not a backup. */
  private final Set<String> scans = ConcurrentHashMap.newKeySet();
  private final BackupOutcome outcome;
  private final BackupAdoption adoption;

  public ClickHouseBackupReconciler(Services services, StorageSettings storage) {
    super(ClickHouseBackup.class, KIND, ClickHouseBackup::new, ClickHouseBackupStatus::new,
        b -> b.getSpec().connectionRef, Set.of("Running", "Scheduled", "BackupComplete", "BackupFailed",
            "BackupCancelled", "Suspended"), services);
    this.storage = storage;
    this.outcome = new BackupOutcome(afterWrite, metrics);
    this.adoption = new BackupAdoption(afterWrite);
  }

  @Override
  protected void phase(ClickHouseBackupStatus status, Phase phase) {
    status.phase = phase;
  }

  @Override
  protected Pass<Phase> pass(ClickHouseBackup resource, ClickHouseBackupStatus status, KubernetesClient k8s) {
    String key = key(resource);
    ClickHouseBackupSpec spec = resource.getSpec();
    var task = work.<BackupRun.Result>get(key);
    // a look through the storage is quiet: the resource's state is what it was until it ends
    boolean scanning = task.isPresent() && !task.get().done() && scans.contains(key);
    if (task.isPresent() && !task.get().done() && !scanning) {
      return stillRunning(key, spec, status, task.get().progress());
    }
    Instant now = clock.instant();
    // a native backup started by a process that is gone: the server goes on with it, so the run is taken over
    boolean takeOver = task.isEmpty() && status.running != null && spec != null
        && ClickHouseBackupSpec.NATIVE.equals(status.method);
    if (task.isPresent() && !scanning) {
      work.take(key);
      jobs.remove(key);
      scans.remove(key);
      adoption.folded(resource, status, task.get(), now); // first: a run's pruning may remove what it adopted
      outcome.finished(resource, status, task.get(), now);
    } else if (status.running != null && !takeOver) {
      outcome.interrupted(resource, status, now);
    }
    BackupOutcome.trim(status);
    List<String> problems = BackupValidation.problems(spec);
    if (problems.isEmpty()) { // only then is the storage spec whole; the path is checked against the volume roots
      problems = storage.problems("spec.storage", resource.getMetadata().getNamespace(), spec.storage);
    }
    if (!problems.isEmpty()) {
      status.nextScheduleTime = null;
      return Pass.failed(Phase.Failed, "ValidationError", "The spec is invalid: " + String.join("; ", problems)
          + ". Nothing runs until it is fixed.", null);
    }
    status.location = BackupSetup.describe(spec.storage);
    Instant next = RunTiming.nextScheduled(spec.schedule == null ? null : BackupValidation.schedule(spec),
        spec.suspend, status.nextScheduleTime, now);
    status.nextScheduleTime = next == null ? null : format(next);
    String runNow = RunTiming.newRequest(resource, ClickHouseBackup.RUN_NOW_ANNOTATION, status.acknowledgedRunNow);
    // backups found in storage (adopted) are not this resource's own: it still takes its one backup
    boolean firstOneShot = spec.schedule == null && !spec.suspend
        && status.backups.stream().allMatch(b -> Boolean.TRUE.equals(b.adopted));
    boolean retryDue = !spec.suspend && RetryPolicy.due(status, now);
    boolean adopt = !takeOver && !scanning && BackupAdoption.due(status, status.location, now);
    boolean due = takeOver || runNow != null || firstOneShot || retryDue || RunTiming.reached(next, now);
    if (!due || scanning) { // a backup due during a look starts once the look ends
      if (adopt) {
        scan(resource, status, k8s, now);
      }
      return settled(status, spec, next, now);
    }
    return start(resource, status, k8s, takeOver, adopt, next, now);
  }

  /** A backup is due: it looks through the storage first when {@code adopt} (alone if the backup cannot start). */
  private Pass<Phase> start(ClickHouseBackup resource, ClickHouseBackupStatus status, KubernetesClient k8s,
      boolean takeOver, boolean adopt, Instant next, Instant now) {
    var start = new BackupStart(resource, status, new BackupStart.Context(k8s, storage, this::connection, events,
        clock));
    BackupAdoption.Request request = adopt ? BackupAdoption.request(resource, status, k8s) : null;
    var submitted = new java.util.concurrent.atomic.AtomicBoolean();
    Pass<Phase> pass = start.begin(takeOver, next, now, inputs -> {
      submitted.set(true);
      submit(resource, inputs, request);
    });
    if (adopt && !submitted.get()) {
      scan(resource, status, k8s, now);
    }
    return pass;
  }

  /** A backup runs in this process: its progress, or its cancellation once the resource is suspended. */
  private Pass<Phase> stillRunning(String key, ClickHouseBackupSpec spec, ClickHouseBackupStatus status,
      String progress) {
    BackupJob job = jobs.get(key);
    if (job != null && job.serverBackupId() != null) {
      status.runningServerBackupId = job.serverBackupId();
    }
    if (spec != null && spec.suspend && job != null) {
      job.cancel();
      return Pass.running(Phase.Running, "Cancelling", "suspended: cancelling backup " + status.running, POLL);
    }
    return Pass.running(Phase.Running, "Running", "backup " + status.running + ": " + progress, POLL)
        .stillReady(status.lastSuccessful != null);
  }

  /** Starts the run on the work pool; the resource is reconciled again as soon as it ends. */
  private void submit(ClickHouseBackup resource, BackupRun.Inputs inputs, BackupAdoption.Request adopt) {
    String key = key(resource);
    BackupRun run = new BackupRun(inputs, clock, job -> jobs.put(key, job), adopt);
    work.submit(key, run::run, reconcileWhenDone(resource));
  }

  /** The look through the storage ({@link BackupAdoption}) alone on the pool; reconciled again when it ends. */
  private void scan(ClickHouseBackup resource, ClickHouseBackupStatus status, KubernetesClient k8s, Instant now) {
    String key = key(resource);
    adoption.start(resource, status, k8s, storage, now, look -> {
      scans.add(key);
      work.submit(key, look, reconcileWhenDone(resource));
    });
  }

  /** The state between backups: what the last one did, and when the next is. */
  private Pass<Phase> settled(ClickHouseBackupStatus status, ClickHouseBackupSpec spec, Instant next, Instant now) {
    Duration requeue = RunTiming.wake(now, REFRESH, next, spec.suspend ? null : RetryPolicy.retryAt(status),
        BackupAdoption.retryAt(status));
    String when = spec.suspend ? "suspended" : next != null ? "next backup at " + format(next)
        : "no schedule (a new value of annotation " + ClickHouseBackup.RUN_NOW_ANNOTATION + " takes one)";
    BackupRecord last = status.backups.isEmpty() ? null : status.backups.get(0);
    if (last == null) {
      return Pass.ok(Phase.Pending, spec.suspend ? "Suspended" : "Scheduled", "No backup yet; " + when + ".",
          requeue);
    }
    if ("Complete".equals(last.outcome)) {
      String adopted = Boolean.TRUE.equals(last.adopted) ? " (adopted: found in storage)" : "";
      return Pass.ok(Phase.Succeeded, "BackupComplete", "Backup " + last.id + adopted + " is complete; " + when + ".",
          requeue);
    }
    boolean cancelled = "Cancelled".equals(last.outcome);
    return Pass.failed(Phase.Failed, cancelled ? "BackupCancelled" : "BackupFailed", "Backup " + last.id + " "
        + (cancelled ? "was cancelled" : "failed") + ": " + last.message + " (" + when + ").", requeue)
        .stillReady(status.lastSuccessful != null);
  }

  @Override
  protected String lastSuccess(ClickHouseBackupStatus status) {
    return status.lastSuccessfulTime;
  }

  @Override
  protected String nextRun(ClickHouseBackupStatus status) {
    return status.nextScheduleTime;
  }

  @Override
  public DeleteControl cleanup(ClickHouseBackup resource, Context<ClickHouseBackup> ctx) {
    String key = key(resource);
    BackupJob job = jobs.get(key);
    var task = work.<BackupRun.Result>get(key);
    work.cancelQueued(key); // a backup still waiting for a worker wrote nothing: no need to wait for it
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
        && BackupSetup.validate("spec.storage", spec.storage).isEmpty()
        && storage.problems("spec.storage", resource.getMetadata().getNamespace(), spec.storage).isEmpty()
        && !deleteData(resource, ctx, status)) {
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(Duration.ofSeconds(30));
    }
    work.remove(key);
    jobs.remove(key);
    scans.remove(key);
    forget(resource);
    return DeleteControl.defaultDelete();
  }

  /** deleteDataOnDelete: every backup this resource lists, and any it was taking. Returns whether all are gone. */
  private boolean deleteData(ClickHouseBackup resource, Context<ClickHouseBackup> ctx, ClickHouseBackupStatus status) {
    ClickHouseBackupSpec spec = resource.getSpec();
    List<String> ids = new ArrayList<>(status.pendingCleanup);
    status.backups.stream().filter(b -> "Complete".equals(b.outcome)).forEach(b -> ids.add(b.id));
    if (status.running != null) {
      ids.add(status.running);
    }
    try (var store = BackupSetup.open(ctx.getClient(), resource.getMetadata().getNamespace(), spec.storage,
        storage)) {
      BackupRun.deleteAll(store, ids, resource.getMetadata().getName());
      events.normal(resource, "BackupDataDeleted", "Deleted " + ids.size() + " backup(s) from "
          + BackupSetup.describe(spec.storage) + " (deleteDataOnDelete).");
      return true;
    } catch (BackupSetup.Problem | IOException | RuntimeException e) {
      events.warning(resource, "BackupDataDeleteFailed", "Deleting the backups' data failed: " + e.getMessage()
          + "; retrying. To keep the data instead, set deleteDataOnDelete: false.");
      return false;
    }
  }
}
