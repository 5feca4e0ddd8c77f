package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.api.mart.ReportMartStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.SqlFragments;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.clickhouse.ServerVersion;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.CronSchedule;
import dev.housekeeper.common.StatementTimeout;
import dev.housekeeper.common.RetryPolicy;
import dev.housekeeper.common.Transient;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectedReconciler;
import dev.housekeeper.connection.ConnectionResolver;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reconciles ReportMart: refreshes the mart when it is created, when its schema changes (fully),
 * on its schedule and on request, on the work pool; folds the outcome into status; retries an
 * unreachable source with backoff.
 */
@ControllerConfiguration(name = "reportmart", generationAwareEventProcessing = false)
public class ReportMartReconciler extends ConnectedReconciler<ReportMart, ReportMartStatus, Phase> {

  static final String KIND = "ReportMart";
  private static final Duration POLL = Duration.ofSeconds(1);
  private static final Duration REFRESH = Duration.ofMinutes(5);
  /** A source that cannot be reached is tried again without a limit: 5 s, doubling, at most 5 minutes apart. */
  private static final RetryPolicy RETRY = RetryPolicy.MART;

  private final Map<String, String> running = new ConcurrentHashMap<>();
  private final Map<String, String> hostAliases;

  public ReportMartReconciler(Services services, Map<String, String> hostAliases) {
    super(ReportMart.class, KIND, ReportMart::new, ReportMartStatus::new, m -> m.getSpec().connectionRef,
        Set.of("Refreshing", "Refreshed", "Scheduled"), services);
    this.hostAliases = hostAliases;
  }

  @Override
  protected void phase(ReportMartStatus status, Phase phase) {
    status.phase = phase;
  }

  @Override
  protected Pass<Phase> pass(ReportMart resource, ReportMartStatus status, KubernetesClient k8s) {
    String key = key(resource);
    ReportMartSpec spec = resource.getSpec();
    Instant now = clock.instant();
    var task = work.<ReportMartStatus.Refresh>get(key);
    if (task.isPresent() && !task.get().done()) {
      return Pass.running(Phase.Refreshing, "Refreshing", task.get().progress(), POLL).stillReady(status.lastRefresh != null && "Succeeded".equals(status.lastRefresh.outcome));
    }
    Pass<Phase> failed = null;
    if (task.isPresent()) {
      work.take(key);
      String hash = running.remove(key);
      failed = fold(resource, status, task.get(), hash, now);
    }
    List<String> problems = validate(spec);
    if (!problems.isEmpty()) {
      status.nextRefreshTime = null;
      return Pass.failed(Phase.Failed, "ValidationError", "The spec is invalid: "
          + String.join("; ", problems) + ". Nothing runs until it is fixed.", null);
    }
    String ns = resource.getMetadata().getNamespace();
    ConnectionResolver.Resolved conn;
    try {
      conn = connection(resource, spec.connectionRef.getName());
    } catch (ConnectionResolver.NotReady e) {
      return Pass.waiting(status.phase == null ? Phase.Pending : status.phase, e.reason(), e.getMessage(), notReadyRequeue(e));
    }
    String configuredDb = conn.connection().getSpec().getDatabase();
    String database = spec.database != null ? spec.database : configuredDb == null ? "default" : configuredDb;
    status.table = database + "." + spec.table;
    status.statementTimeout = StatementTimeout.text(StatementTimeout.of(spec.statementTimeout, StatementTimeout.MART));
    String hash = MartSql.schemaHash(spec);
    var refresh = spec.refresh == null ? new ReportMartSpec.Refresh() : spec.refresh;
    ZoneId zone = refresh.schedule == null ? ZoneId.of("UTC")
        : CronSchedule.parse("spec.refresh.schedule", refresh.schedule.cron, refresh.schedule.timeZone).zone();

    Instant next = null;
    if (refresh.schedule != null && !refresh.suspend) {
      next = status.nextRefreshTime != null ? Instant.parse(status.nextRefreshTime)
          : CronSchedule.parse("spec.refresh.schedule", refresh.schedule.cron, refresh.schedule.timeZone).next(now);
    }
    status.nextRefreshTime = next == null ? null : format(next);
    String runNow = annotation(resource, ReportMart.RUN_NOW_ANNOTATION);
    String fullNow = annotation(resource, ReportMart.FULL_NOW_ANNOTATION);
    boolean askedRun = runNow != null && !runNow.equals(status.acknowledgedRunNow);
    boolean askedFull = fullNow != null && !fullNow.equals(status.acknowledgedFullNow);
    boolean exists;
    try {
      exists = conn.forJob().tableExists(database, spec.table);
    } catch (ClickHouseException e) {
      return Pass.failed(status.phase == null ? Phase.Pending : status.phase, "ClickHouseError", "Looking up the mart table failed: " + e.getMessage(), Duration.ofSeconds(30));
    }
    boolean schemaChanged = exists && status.schemaHash != null && !hash.equals(status.schemaHash);
    boolean retryDue = status.retryTime != null && !Instant.parse(status.retryTime).isAfter(now);
    boolean neverBuilt = !exists || status.schemaHash == null;
    boolean scheduleDue = next != null && !next.isAfter(now);
    boolean due = askedRun || askedFull || scheduleDue || retryDue || schemaChanged
        || (neverBuilt && status.retryTime == null && (status.lastRefresh == null
        || !"Failed".equals(status.lastRefresh.outcome)));
    if (!due) {
      if (failed != null) {
        return failed;
      }
      return settled(status, next, now);
    }
    // what kind of refresh
    boolean full = refresh.mode == ReportMartSpec.Mode.full || askedFull || !exists || status.schemaHash == null
        || schemaChanged;
    String why = schemaChanged ? "SchemaChanged: the columns, engine, keys or settings changed; rebuilt fully"
        : !exists ? "MartMissing: the table did not exist" : askedFull ? "Requested (full-refresh-now)"
        : askedRun ? "Requested (run-now)" : retryDue ? "Retry after the source was unreachable" : "Scheduled";
    Window window = full ? Window.ALL : Window.last(refresh.incremental.period, refresh.incremental.periods,
        LocalDate.ofInstant(now, zone));
    MartRefresh.JdbcCredentials credentials = null;
    if (spec.source.jdbc != null) {
      try {
        credentials = credentials(k8s, ns, spec.source.jdbc);
      } catch (dev.housekeeper.common.Secrets.Problem e) {
        return Pass.failed(status.phase == null ? Phase.Pending : status.phase, e.reason(), e.getMessage() + ". The refresh starts once it is fixed.", Duration.ofSeconds(10));
      }
    }
    status.acknowledgedRunNow = runNow;
    status.acknowledgedFullNow = fullNow;
    if (scheduleDue) {
      next = CronSchedule.parse("spec.refresh.schedule", refresh.schedule.cron, refresh.schedule.timeZone).next(now);
      status.nextRefreshTime = format(next);
    }
    status.retryTime = null;
    boolean exchange = conn.connection().getStatus().getServerVersion() != null
        && ServerVersion.parse(conn.connection().getStatus().getServerVersion()).atLeast(21, 8);
    running.put(key, hash);
    boolean isFull = full;
    MartRefresh.JdbcCredentials creds = credentials;
    ReportMartSpec source = spec;
    if (spec.source.jdbc != null) {
      String url = dev.housekeeper.connection.ConnectionSettings.aliasJdbc(spec.source.jdbc.url, hostAliases);
      if (!url.equals(spec.source.jdbc.url)) {
        source = io.fabric8.kubernetes.client.utils.Serialization.clone(spec);
        source.source.jdbc.url = url;
      }
    }
    ReportMartSpec refreshed = source;
    String cluster = spec.onCluster ? conn.connection().getSpec().getCluster() : null;
    var topology = conn.topology();
    if (spec.onCluster && (cluster == null || cluster.isBlank() || topology == null)) {
      running.remove(key);
      return Pass.failed(Phase.Failed, "ValidationError", "spec.onCluster is true but"
          + " ClickHouseConnection \"" + spec.connectionRef.getName() + "\" names no cluster (spec.cluster).", null);
    }
    List<dev.housekeeper.clickhouse.ClickHouseClient> replicas = new java.util.ArrayList<>();
    if (spec.onCluster) {
      for (var r : topology.replicas) {
        conn.replica(r).ifPresent(replicas::add);
      }
    }
    // on a cluster one node at a time: the build, the checks and the swap see each other's writes
    var client = spec.onCluster ? conn.pinned() : conn.forJob();
    work.submit(key, progress -> {
      MartRefresh build = new MartRefresh(client, refreshed, database, exchange, creds, progress, clock);
      if (cluster != null) {
        build.onCluster(cluster, replicas);
      }
      return build.run(isFull, window, why);
    }, reconcileWhenDone(resource));
    events.normal(resource, "RefreshStarted", (full ? "Full" : "Incremental") + " refresh of " + status.table
        + " started (" + why + ", window [" + window.start() + ", " + window.end() + ")).");
    return Pass.running(Phase.Refreshing, "Refreshing", (full ? "full" : "incremental") + " refresh started: " + why, POLL).stillReady(status.lastRefresh != null && "Succeeded".equals(status.lastRefresh.outcome));
  }

  static MartRefresh.JdbcCredentials credentials(KubernetesClient k8s, String ns, ReportMartSpec.JdbcSource jdbc)
      throws dev.housekeeper.common.Secrets.Problem {
    String field = "spec.source.jdbc.credentialsSecret";
    Secret secret = dev.housekeeper.common.Secrets.get(k8s, ns, jdbc.credentialsSecret, field);
    return new MartRefresh.JdbcCredentials(dev.housekeeper.common.Secrets.text(secret, jdbc.usernameKey, field),
        dev.housekeeper.common.Secrets.text(secret, jdbc.passwordKey, field));
  }

  private Pass<Phase> fold(ReportMart resource, ReportMartStatus status, WorkExecutor.Task<ReportMartStatus.Refresh> task,
      String hash, Instant now) {
    String ns = resource.getMetadata().getNamespace();
    Duration took = Duration.between(task.started(), Instant.now());
    afterWrite.then(key(resource), () -> metrics.duration(KIND, ns, "refresh", took));
    status.refreshes = status.refreshes == null ? 1 : status.refreshes + 1;
    try {
      ReportMartStatus.Refresh r = task.future().get();
      status.lastRefresh = r;
      status.lastSuccessfulRefreshTime = r.endTime;
      status.schemaHash = hash;
      status.consecutiveFailures = null;
      afterWrite.then(key(resource), () -> metrics.action(KIND, ns, "refresh", "success"));
      afterWrite.then(key(resource), () -> {
        metrics.registry().counter("housekeeper_mart_rows_written", "namespace", ns).increment(r.rowsWritten);
        metrics.registry().counter("housekeeper_mart_source_rows", "namespace", ns).increment(r.sourceRows);
      });
      afterWrite.normal(key(resource), resource, "Refreshed", capitalize(r.mode) + " refresh of " + status.table + ": " + r.rowsWritten
          + " rows" + ("incremental".equals(r.mode) ? ", partitions replaced " + r.partitionsReplaced
          + (r.partitionsDropped.isEmpty() ? "" : ", dropped " + r.partitionsDropped) : " (" + r.swap + ")")
          + " in " + r.durationMillis + " ms.");
      return null;
    } catch (Exception e) {
      Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
      ReportMartStatus.Refresh r = new ReportMartStatus.Refresh();
      r.startTime = format(now.minus(took));
      r.endTime = format(now);
      r.durationMillis = took.toMillis();
      r.outcome = "Failed";
      r.error = cause.getMessage();
      String reason = cause instanceof MartRefresh.Failed f ? f.reason() : "RefreshFailed";
      boolean retriable = cause instanceof MartRefresh.Failed f && f.retriable();
      r.mode = status.lastRefresh == null ? null : status.lastRefresh.mode;
      status.lastRefresh = r;
      afterWrite.then(key(resource), () -> metrics.action(KIND, ns, "refresh", "failure"));
      String message = "The refresh failed: " + cause.getMessage() + ". The mart keeps its previous data.";
      if (retriable) {
        RetryPolicy.Retry retry = RETRY.after(status.consecutiveFailures, true, now);
        status.consecutiveFailures = retry.failures();
        status.retryTime = format(retry.at());
        message += " Retrying at " + status.retryTime + " (attempt " + (retry.failures() + 1) + ").";
      }
      afterWrite.warning(key(resource), resource, reason, message);
      announced(resource, reason, message);
      return Pass.failed(Phase.Failed, reason, message, retriable
          ? Duration.between(now, Instant.parse(status.retryTime)).plusMillis(500) : REFRESH);
    }
  }

  @Override
  protected String lastSuccess(ReportMartStatus status) {
    return status.lastSuccessfulRefreshTime;
  }

  @Override
  protected String nextRun(ReportMartStatus status) {
    return status.nextRefreshTime;
  }

  private static String capitalize(String s) {
    return s == null || s.isEmpty() ? "" : Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }

  private Pass<Phase> settled(ReportMartStatus status, Instant next, Instant now) {
    Duration requeue = REFRESH;
    if (next != null) {
      Duration until = Duration.between(now, next).plusMillis(500);
      requeue = until.compareTo(REFRESH) < 0 ? (until.isNegative() ? POLL : until) : REFRESH;
    }
    if (status.retryTime != null) {
      Duration until = Duration.between(now, Instant.parse(status.retryTime)).plusMillis(500);
      requeue = until.compareTo(requeue) < 0 ? (until.isNegative() ? POLL : until) : requeue;
    }
    String when = next == null ? "next refresh on request (annotation " + ReportMart.RUN_NOW_ANNOTATION + ")"
        : "next refresh at " + format(next);
    var last = status.lastRefresh;
    if (last != null && "Failed".equals(last.outcome)) {
      var ready = Conditions.find(status.getConditions(), Conditions.READY);
      return Pass.failed(Phase.Failed, ready.map(c -> c.getReason()).orElse("RefreshFailed"), ready.map(c -> c.getMessage()).orElse(last.error), requeue);
    }
    if (last == null) {
      return Pass.waiting(Phase.Pending, "Scheduled", "Not built yet; " + when + ".", requeue);
    }
    return Pass.ok(Phase.Ready, "Refreshed", "Last " + last.mode + " refresh at " + last.endTime
        + ": " + last.rowsWritten + " rows; " + when + ".", requeue);
  }

  static List<String> validate(ReportMartSpec spec) {
    List<String> problems = new ArrayList<>();
    if (spec == null) {
      return List.of("spec is missing");
    }
    StatementTimeout.check(spec.statementTimeout, problems);
    if (spec.connectionRef == null || spec.connectionRef.getName() == null) {
      problems.add("spec.connectionRef.name is required");
    }
    if (spec.database != null && !Identifiers.isValid(spec.database)) {
      problems.add("spec.database is not a database name");
    }
    if (spec.table == null || !Identifiers.isValid(spec.table) || spec.table.length() > 190) {
      problems.add("spec.table is not a table name");
    }
    if (spec.columns == null || spec.columns.isEmpty()) {
      problems.add("spec.columns: give at least one column");
    } else {
      java.util.Set<String> names = new java.util.HashSet<>();
      for (var c : spec.columns) {
        if (c.name == null || !Identifiers.isValid(c.name)) {
          problems.add("spec.columns: " + Identifiers.describe(c.name) + " is not a column name");
        } else if (!names.add(c.name)) {
          problems.add("spec.columns: " + c.name + " appears twice");
        }
        String typeProblem = SqlFragments.typeProblem(c.type);
        if (typeProblem != null) {
          problems.add("spec.columns[" + Identifiers.describe(c.name) + "].type " + typeProblem);
        } else if (spec.source != null && spec.source.jdbc != null) {
          try {
            ColumnType.parse(c.type);
          } catch (IllegalArgumentException e) {
            problems.add("spec.columns[" + c.name + "]: " + e.getMessage());
          }
        }
      }
    }
    String[][] expressions = {{"spec.partitionBy", spec.partitionBy}, {"spec.orderBy", spec.orderBy},
        {"spec.engine", spec.engine}};
    for (String[] e : expressions) {
      String problem = e[1] == null || e[1].isBlank() ? null : SqlFragments.expressionProblem(e[1]);
      if (problem != null) {
        problems.add(e[0] + " is an expression and " + problem);
      }
    }
    if (spec.orderBy == null || spec.orderBy.isBlank()) {
      problems.add("spec.orderBy is required (tuple() for none)");
    }
    if (spec.settings != null) {
      spec.settings.forEach((k, v) -> {
        if (!Identifiers.isValid(k)) {
          problems.add("spec.settings: " + Identifiers.describe(k) + " is not a setting name");
        } else if (v == null || !v.strip().matches("^[A-Za-z0-9_.:/+-]{1,256}$")) {
          problems.add("spec.settings." + k + ": " + Identifiers.describe(v)
              + " is not a setting value (a number or a word)");
        }
      });
    }
    if (spec.engine != null && !spec.engine.matches("^[A-Za-z]*MergeTree(\\(.*\\))?$")) {
      problems.add("spec.engine must be of the MergeTree family");
    }
    if (spec.source == null || (spec.source.clickhouse == null) == (spec.source.jdbc == null)) {
      problems.add("spec.source: give exactly one of clickhouse and jdbc");
    } else if (spec.source.jdbc != null) {
      if (spec.source.jdbc.url == null || !spec.source.jdbc.url.matches("^jdbc:postgresql://[^\\s;'\"`]+$")) {
        problems.add("spec.source.jdbc.url: only jdbc:postgresql:// URLs are supported");
      }
      if (spec.source.jdbc.credentialsSecret != null
          && !dev.housekeeper.common.KubernetesNames.isObjectName(spec.source.jdbc.credentialsSecret)) {
        problems.add("spec.source.jdbc.credentialsSecret: " + Identifiers.describe(spec.source.jdbc.credentialsSecret)
            + " is not the name of a Secret");
      }
      String problem = SqlFragments.selectProblem(spec.source.jdbc.query);
      if (problem != null) {
        problems.add("spec.source.jdbc.query " + problem);
      }
      if (spec.source.jdbc.fetchSize < 100 || spec.source.jdbc.fetchSize > 1_000_000) {
        problems.add("spec.source.jdbc.fetchSize must be between 100 and 1000000");
      }
    } else {
      String problem = SqlFragments.selectProblem(spec.source.clickhouse.query);
      if (problem != null) {
        problems.add("spec.source.clickhouse.query " + problem);
      }
    }
    var refresh = spec.refresh;
    if (refresh != null) {
      if (refresh.schedule != null) {
        try {
          CronSchedule.parse("spec.refresh.schedule", refresh.schedule.cron, refresh.schedule.timeZone);
        } catch (IllegalArgumentException e) {
          problems.add(e.getMessage());
        }
      }
      if (refresh.mode == ReportMartSpec.Mode.incremental) {
        if (refresh.incremental == null || refresh.incremental.column == null) {
          problems.add("spec.refresh.incremental.column is required for mode incremental");
        } else if (spec.columns != null && spec.columns.stream().noneMatch(c -> refresh.incremental.column.equals(
            c.name))) {
          problems.add("spec.refresh.incremental.column " + refresh.incremental.column + " is not a column");
        }
        if (spec.partitionBy == null || spec.partitionBy.isBlank()) {
          problems.add("mode incremental needs spec.partitionBy");
        }
        if (refresh.incremental != null && (refresh.incremental.periods < 1 || refresh.incremental.periods > 120)) {
          problems.add("spec.refresh.incremental.periods must be between 1 and 120");
        }
      }
    }
    if (spec.onCluster) {
      if (!MartSql.replicatedWithPath(spec)) {
        problems.add("spec.onCluster needs a Replicated*MergeTree engine with its ZooKeeper path and replica, for example"
            + " ReplicatedMergeTree('/clickhouse/tables/all/reports/my_mart', '{replica}')");
      } else if (spec.engine.contains("{shard}")) {
        problems.add("spec.onCluster: the engine's ZooKeeper path must not contain {shard}: every node keeps the whole"
            + " mart (one path, every node a replica)");
      }
      if (spec.refresh != null && spec.refresh.mode == ReportMartSpec.Mode.incremental) {
        problems.add("spec.onCluster supports refresh mode full only (incremental on a cluster is not supported yet)");
      }
    }
    return problems;
  }



  @Override
  public DeleteControl cleanup(ReportMart resource, Context<ReportMart> ctx) {
    // the mart table stays: it holds reports that readers use; a running refresh cleans up its staging table
    running.remove(key(resource));
    forget(resource);
    return DeleteControl.defaultDelete();
  }
}
