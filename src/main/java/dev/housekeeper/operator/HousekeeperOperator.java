package dev.housekeeper.operator;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.retention.RetentionPolicy;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import dev.housekeeper.common.EventRecorder;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.StatusWriter;
import dev.housekeeper.common.StepTimes;
import dev.housekeeper.connection.ClickHouseConnectionReconciler;
import dev.housekeeper.connection.ConnectionClients;
import dev.housekeeper.connection.ConnectionResolver;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.migration.ClickHouseMigrationReconciler;
import dev.housekeeper.retention.RetentionPolicyReconciler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.processing.retry.GenericRetry;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Housekeeper operator: registers one reconciler per kind with java-operator-sdk, serves
 * /metrics on one port and /healthz and /readyz on another, and optionally elects a leader on a Lease.
 */
public final class HousekeeperOperator implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(HousekeeperOperator.class);

  private final KubernetesClient client;
  private final OperatorSettings settings;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ConnectionClients connections;
  private final WorkExecutor work;
  private final EventRecorder events;
  private final StatusWriter statusWriter;
  private final Operator operator;
  private HttpEndpoints http;
  private volatile boolean started;
  /** Set by {@link #close()}: a lease given up on purpose is not a lost one. */
  private volatile boolean closing;
  /** Set once the lease is lost (by the elector or the fence): the work is stopped once. */
  private final java.util.concurrent.atomic.AtomicBoolean leadershipLost = new java.util.concurrent.atomic.AtomicBoolean();
  /** Stops the work when the lease's renewals cannot be seen in time (leader election only). */
  private LeaseFence fence;

  public HousekeeperOperator(KubernetesClient client, OperatorSettings settings) {
    this(client, settings, Clock.systemUTC());
  }

  /** With another clock, for tests of schedules. */
  public HousekeeperOperator(KubernetesClient client, OperatorSettings settings, Clock clock) {
    this.client = client;
    this.settings = settings;
    StepTimes steps = new StepTimes(registry);
    // the operator replica's name in every HTTP request's User-Agent, so system.query_log tells which pod sent a query
    this.connections = new ConnectionClients(config -> new dev.housekeeper.clickhouse.HttpClickHouseClient(config,
        "housekeeper/" + settings.identity(), nanos -> steps.record(StepTimes.Step.CLICKHOUSE_REQUEST, nanos)));
    bindJvmMetrics(registry);
    this.operator = new Operator(o -> configure(o, client, steps));
    HousekeeperMetrics metrics = new HousekeeperMetrics(registry, steps);
    this.events = new EventRecorder(client, steps);
    this.statusWriter = new StatusWriter(client, steps);
    this.work = new WorkExecutor(settings.workerThreads(), settings.maxWorkPerNamespace(), steps);
    // one budget for every upload buffer of the process; the gauges read whichever is installed
    dev.housekeeper.common.MemoryBudget.useForUploads(
        new dev.housekeeper.common.MemoryBudget(settings.uploadBufferBudget()));
    metrics.uploadBudget();
    ConnectionResolver resolver = new ConnectionResolver(connections);
    register(new ClickHouseConnectionReconciler(connections, statusWriter, events, metrics, clock,
        settings.hostAliases()));
    var services = new dev.housekeeper.connection.ConnectedReconciler.Services(resolver, work, statusWriter, events,
        metrics, clock);
    register(new ClickHouseMigrationReconciler(services, settings.identity()));
    var storage = new dev.housekeeper.backup.StorageSettings(settings.hostAliases(), settings.volumeRoots());
    register(new dev.housekeeper.backup.ClickHouseBackupReconciler(services, storage));
    register(new dev.housekeeper.backup.ClickHouseRestoreReconciler(services, storage));
    register(new dev.housekeeper.mart.ReportMartReconciler(services, settings.hostAliases()));
    register(new RetentionPolicyReconciler(services));
  }

  /** JOSDK's settings: the client, retries of failed watches, metrics, and leader election when enabled. */
  private void configure(ConfigurationServiceOverrider o, KubernetesClient client, StepTimes steps) {
    o.withKubernetesClient(client)
        .withCloseClientOnStop(false)
        // Status and finalizers are patched with JSON merge patch, which every API server (and the test mock) accepts.
        .withUseSSAToPatchPrimaryResource(false)
        .withConcurrentReconciliationThreads(settings.reconcileThreads())
        // per kind, not per resource: JOSDK's per-resource timers held about 6,000 histograms (15 MB of heap) with
        // 1,000 resources, and the operator's own per-resource gauges already say what each resource does
        .withMetrics(new StepTimedMetrics(MicrometerMetrics.newMicrometerMetricsBuilder(registry)
            .notCollectingMetricsPerResource().build(), steps))
        .withReconciliationTerminationTimeout(Duration.ofSeconds(10))
        // a watch that fails (a frame that is not UTF-8, say, from a proxy on the way) is watched again with
        // backoff: by default fabric8 stops such an informer and JOSDK then exits the process, which a leader
        // does in the middle of its backups; while an informer is not watching, /readyz says so
        .withStopOnInformerErrorDuringStartup(false);
    if (settings.leaderElection()) {
      Duration renewDeadline = settings.leaseDuration().multipliedBy(2).dividedBy(3);
      Duration retryPeriod = max(Duration.ofMillis(500), settings.leaseDuration().dividedBy(5));
      fence = new LeaseFence(client, settings.leaseNamespace(), settings.leaseName(), settings.identity(),
          renewDeadline, retryPeriod, Clock.systemUTC(), this::lostLeadership);
      o.withLeaderElectionConfiguration(LeaderElectionConfigurationBuilder
          .aLeaderElectionConfiguration(settings.leaseName())
          .withLeaseNamespace(settings.leaseNamespace())
          .withIdentity(settings.identity())
          .withLeaseDuration(settings.leaseDuration())
          .withRenewDeadline(renewDeadline)
          .withRetryPeriod(retryPeriod)
          // JOSDK's own exit would leave the work pool and the ClickHouse queries running until the JVM is
          // gone; lostLeadership stops them first, then exits
          .withExitOnStopLeading(false)
          .withLeaderCallbacks(new LeaderCallbacks(fence::leading, this::lostLeadership, leader -> { }))
          .build());
    }
  }

  private static void bindJvmMetrics(PrometheusMeterRegistry registry) {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  private <R extends io.fabric8.kubernetes.api.model.HasMetadata> void register(Reconciler<R> reconciler) {
    operator.register(reconciler, o -> {
      // a reconcile that throws (the API refused a write, or answered 5xx) is tried again with backoff for as long
      // as it takes: 2 s, 3 s, 4.5 s ... then every 60 s; a resource is never left behind because the API was busy
      o.withRetry(new GenericRetry().setInitialInterval(Duration.ofSeconds(2)).setIntervalMultiplier(1.5)
          .setMaxInterval(Duration.ofSeconds(60).toMillis()).withoutMaxAttempts());
      // the operator's own status write is no news to it: the reconcile that wrote it already acted (which halves
      // the reconciles of a resource's first minute); every other change, annotations included, reconciles
      o.withOnUpdateFilter((updated, previous) -> !statusWriter.producedVersion(updated));
      if (!settings.watchNamespaces().isEmpty()) {
        o.settingNamespaces(settings.watchNamespaces());
      }
    });
  }

  /** Starts the HTTP endpoints, then the controllers (after winning the election, when enabled). */
  public HousekeeperOperator start() throws IOException {
    http = new HttpEndpoints(settings.httpPort(), settings.probePort(), settings.httpLimits(), registry, () -> true,
        () -> started && operator.getRuntimeInfo().isStarted() && operator.getRuntimeInfo().allEventSourcesAreHealthy());
    operator.start();
    started = true;
    LOG.info("housekeeper started: namespaces={}, metrics port {}, probe port {}, leader election {}",
        settings.watchNamespaces().isEmpty() ? "all" : settings.watchNamespaces(), http.metricsPort(),
        http.probePort(), settings.leaderElection());
    return this;
  }

  /** The port of /metrics. */
  public int httpPort() {
    return http.metricsPort();
  }

  /** The port of /healthz and /readyz. */
  public int probePort() {
    return http.probePort();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public KubernetesClient kubernetesClient() {
    return client;
  }

  public ConnectionClients connections() {
    return connections;
  }

  @Override
  public void close() {
    closing = true;
    if (fence != null) {
      fence.close();
    }
    try {
      work.close();
      operator.stop();
      events.close();
    } finally {
      if (http != null) {
        http.close();
      }
      connections.close();
    }
  }

  /**
   * The lease is lost: another replica may already be leading, so this one must not write anything
   * more, to ClickHouse, storage or the API. Long work is interrupted (an upload in progress is
   * aborted), every query still running is killed on its server, and the process exits so that the
   * pod restarts as a standby (or, in a test JVM, stops reconciling).
   */
  private void lostLeadership() {
    // the fence and the elector may both report the loss
    if (closing || !leadershipLost.compareAndSet(false, true)) {
      return;
    }
    LOG.error("lost the leader lease {}/{}: stopping all work", settings.leaseNamespace(), settings.leaseName());
    // interrupt first, so that no worker starts another statement after the kills
    work.interruptAll();
    int killed = connections.fence();
    work.close();
    LOG.error("stopped all work after losing the lease ({} more ClickHouse queries killed)", killed);
    // not from the elector's own thread: the shutdown hook stops the operator, and with it the elector
    Thread stopper = new Thread(settings.exitOnLostLeadership() ? () -> System.exit(1) : this::close,
        "housekeeper-lost-lease");
    stopper.setDaemon(true);
    stopper.start();
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  /**
   * The JSON mapping of the operator's client: the kinds it reads and watches, and Status, registered
   * by their classes. Without this list fabric8 looks up every Kubernetes model class through the
   * ServiceLoader: about 550 classes of kinds the operator never touches, some 120 ms of its start-up
   * on 2 cores. Status must be among them: a watch's ERROR event (410 Gone once etcd compacted the
   * watched version) carries one, and read as a generic resource it would be retried forever instead
   * of listing again.
   */
  public static KubernetesSerialization serialization() {
    KubernetesSerialization serialization = new KubernetesSerialization(new ObjectMapper(), false);
    List<Class<? extends KubernetesResource>> kinds = List.of(Status.class, Secret.class, ConfigMap.class,
        Event.class, Lease.class, ClickHouseConnection.class, ClickHouseMigration.class, ClickHouseBackup.class,
        ClickHouseRestore.class, ReportMart.class, RetentionPolicy.class);
    kinds.forEach(serialization::registerKubernetesResource);
    return serialization;
  }

  public static void main(String[] args) throws Exception {
    long t0 = System.nanoTime();
    LogSetup.apply(System.getenv());
    OperatorSettings settings = OperatorSettings.fromEnvironment(Map.copyOf(System.getenv()));
    KubernetesClient client = new KubernetesClientBuilder().withKubernetesSerialization(serialization()).build();
    HousekeeperOperator op = new HousekeeperOperator(client, settings).start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      op.close();
      client.close();
    }, "shutdown"));
    LOG.info("ready in {} ms", (System.nanoTime() - t0) / 1_000_000);
  }
}
