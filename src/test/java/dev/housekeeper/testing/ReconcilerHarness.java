package dev.housekeeper.testing;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.ServerCapabilities;
import dev.housekeeper.clickhouse.ServerVersion;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.EventRecorder;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.StatusWriter;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectedReconciler;
import dev.housekeeper.connection.ConnectionClients;
import dev.housekeeper.connection.ConnectionProbe;
import dev.housekeeper.connection.ConnectionResolver;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Runs one reconciler, with no operator around it, against the in-memory Kubernetes API and a
 * {@link FakeClickHouseClient}, on a clock that moves only when the test says: each
 * {@link #reconcile} is one pass, as JOSDK would run it, and {@link #finishWork} waits for the work it
 * started (the fake answers at once) and runs the pass that folds it. One per test class.
 */
public final class ReconcilerHarness implements AutoCloseable {

  /** When every test's clock starts. */
  public static final Instant START = Instant.parse("2026-06-01T10:00:00Z");

  /** An Event as the reconciler sent it. */
  public record Said(String type, String name, String reason, String message) {}

  private final KubernetesApi api;
  private final FakeClickHouseClient clickhouse = new FakeClickHouseClient();
  private final TestClock clock = TestClock.fixedAt(START);
  private final ConnectionClients clients = new ConnectionClients(config -> clickhouse.config(config));
  private final WorkExecutor work = new WorkExecutor(2);
  private final List<Said> events = new CopyOnWriteArrayList<>();
  private final HousekeeperMetrics metrics = new HousekeeperMetrics(new SimpleMeterRegistry());
  private final StatusWriter statusWriter;
  private final EventRecorder recorder;

  private ReconcilerHarness(KubernetesApi api) {
    this.api = api;
    this.statusWriter = new StatusWriter(api.client());
    this.recorder = new EventRecorder(api.client()) {
      @Override
      public void normal(HasMetadata resource, String reason, String message) {
        events.add(new Said("Normal", resource.getMetadata().getName(), reason, message));
      }

      @Override
      public void warning(HasMetadata resource, String reason, String message) {
        events.add(new Said("Warning", resource.getMetadata().getName(), reason, message));
      }
    };
  }

  public static ReconcilerHarness start() {
    try {
      return new ReconcilerHarness(KubernetesApi.start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Starts a test afresh: the clock back at {@link #START}, the fake server without rules or
   * statements, and a namespace of its own (named after the test) so that tests of a class do not
   * see each other's resources.
   */
  public String freshNamespace(org.junit.jupiter.api.TestInfo test) {
    clock.set(START);
    clickhouse.reset();
    String method = test.getTestMethod().map(java.lang.reflect.Method::getName).orElse("test").toLowerCase()
        .replaceAll("[^a-z0-9]", "");
    return "t-" + method.substring(0, Math.min(20, method.length())) + "-" + NAMESPACES.incrementAndGet();
  }

  private static final java.util.concurrent.atomic.AtomicInteger NAMESPACES =
      new java.util.concurrent.atomic.AtomicInteger();

  /** What a reconciler of the {@link ConnectedReconciler} shape is built from. */
  public ConnectedReconciler.Services services() {
    return new ConnectedReconciler.Services(new ConnectionResolver(clients), work, statusWriter, recorder, metrics,
        clock);
  }

  /** The clients the operator keeps per connection: every one is the fake. */
  public ConnectionClients clients() {
    return clients;
  }

  public ConnectionResolver resolver() {
    return new ConnectionResolver(clients);
  }

  public WorkExecutor work() {
    return work;
  }

  public StatusWriter statusWriter() {
    return statusWriter;
  }

  public EventRecorder events() {
    return recorder;
  }

  public HousekeeperMetrics metrics() {
    return metrics;
  }

  public FakeClickHouseClient clickhouse() {
    return clickhouse;
  }

  public TestClock clock() {
    return clock;
  }

  public KubernetesClient client() {
    return api.client();
  }

  /** The Events sent so far, oldest first. */
  public List<Said> said() {
    return List.copyOf(events);
  }

  /** The reasons of the Events sent so far, oldest first. */
  public List<String> reasons() {
    return events.stream().map(Said::reason).toList();
  }

  /**
   * A ClickHouseConnection that is Ready (as the connection reconciler leaves it after a probe) on a
   * server of {@code version}, whose client is the fake. A new namespace-unique name per test keeps
   * the tests of a class apart.
   */
  public ClickHouseConnection readyConnection(String namespace, String name, String version) {
    ServerCapabilities caps = ServerCapabilities.derive(ServerVersion.parse(version), "Atomic", true, true);
    clickhouse.capabilities(caps);
    var spec = new ClickHouseConnectionSpec();
    spec.setEndpoints(List.of("http://fake-clickhouse:8123"));
    var connection = new ClickHouseConnection();
    connection.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    connection.setSpec(spec);
    connection = api.client().resource(connection).create();
    var status = new ClickHouseConnectionStatus();
    status.setPhase(ClickHouseConnectionStatus.Phase.Ready);
    status.setServerVersion(version);
    status.setCapabilities(ConnectionProbe.toStatus(caps));
    status.setConditions(Conditions.standard(List.of(), true, false, false, "Connected", "probed", 1L, clock));
    connection.setStatus(status);
    api.client().resource(connection).updateStatus();
    clients.obtain(namespace, name, ClientConfig.of(spec.getEndpoints(), "default", ""));
    return connection;
  }

  /** Creates a resource in the API (its status, if any, is not written). */
  public <R extends HasMetadata> R create(R resource) {
    return api.client().resource(resource).create();
  }

  /** The resource as the API holds it now. */
  @SuppressWarnings("unchecked")
  public <R extends HasMetadata> R get(R resource) {
    return (R) api.client().resources(resource.getClass()).inNamespace(resource.getMetadata().getNamespace())
        .withName(resource.getMetadata().getName()).get();
  }

  /** The resource's status as the API holds it now. */
  public <S, R extends CustomResource<?, S>> S status(R resource) {
    return get(resource).getStatus();
  }

  /** One pass over the resource as the API holds it now, as JOSDK runs it; returns what it asked for. */
  public <R extends HasMetadata> UpdateControl<R> reconcile(Reconciler<R> reconciler, R resource) {
    try {
      return reconciler.reconcile(get(resource), context(resource));
    } catch (Exception e) {
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
    }
  }

  /**
   * Waits (at most 10 s: the fake answers at once) for the work the last pass started to end, then
   * runs the pass that folds its result.
   */
  public <R extends HasMetadata> UpdateControl<R> finishWork(Reconciler<R> reconciler, R resource) {
    String key = WorkExecutor.keyOf(resource);
    var task = work.get(key).orElseThrow(() -> new AssertionError("no work was started for " + key));
    try {
      task.future().get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException e) {
      // the pass folds the failure
    } catch (Exception e) {
      throw new AssertionError("the work for " + key + " did not end within 10 s", e);
    }
    return reconcile(reconciler, resource);
  }

  /** The requeue delay a pass asked for, or empty. */
  public static Optional<Duration> requeue(UpdateControl<?> control) {
    return control.getScheduleDelay().map(Duration::ofMillis);
  }

  /** A JOSDK context with the API client; referenced resources are read from the API (no informers). */
  @SuppressWarnings("unchecked")
  private <R extends HasMetadata> Context<R> context(R resource) {
    return (Context<R>) Proxy.newProxyInstance(Context.class.getClassLoader(), new Class<?>[] {Context.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "getClient" -> api.client();
          case "getRetryInfo", "getSecondaryResource" -> Optional.empty();
          case "getSecondaryResources" -> Set.of();
          case "isNextReconciliationImminent" -> false;
          case "toString" -> "ReconcilerHarness context of " + resource.getMetadata().getName();
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          default -> throw new UnsupportedOperationException("the harness's context has no " + method.getName());
        });
  }

  @Override
  public void close() {
    work.close();
    clients.close();
    api.close();
  }
}
