package dev.housekeeper.connection;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.common.HousekeeperStatus;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.common.AfterWrite;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.EventRecorder;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.common.StatusWriter;
import dev.housekeeper.common.WorkExecutor;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The shape every kind that works through a ClickHouseConnection shares: it watches its
 * connection, runs long work on the work pool and is reconciled again as soon as that work ends,
 * and each pass ends the same way: phase and standard conditions written once, an Event when the
 * reason or message changes (except for the kind's routine reasons), the ready gauge, a requeue.
 *
 * @param <R> the kind
 * @param <S> its status
 * @param <P> its phases
 */
public abstract class ConnectedReconciler<R extends CustomResource<?, S>, S extends HousekeeperStatus, P>
    implements Reconciler<R>, Cleaner<R> {

  protected final ConnectionResolver resolver;
  protected final WorkExecutor work;
  protected final StatusWriter statusWriter;
  protected final EventRecorder events;
  /** A finished job's Events and counters, said once the status recording it is written. */
  protected final AfterWrite afterWrite;
  protected final HousekeeperMetrics metrics;
  protected final Clock clock;
  private final String kind;
  private final Class<R> type;
  private final Supplier<R> blank;
  private final Supplier<S> newStatus;
  private final Function<R, ConnectionRef> connectionRef;
  private final Set<String> routineReasons;
  private final Map<String, String> announced = new ConcurrentHashMap<>();
  private final SimpleInboundEventSource<R> finished;
  private final Map<Class<?>, InformerEventSource<?, R>> informers = new ConcurrentHashMap<>();
  private volatile KubernetesClient apiForLookups;

  protected ConnectedReconciler(Class<R> type, String kind, Supplier<R> blank, Supplier<S> newStatus,
      Function<R, ConnectionRef> connectionRef, Set<String> routineReasons, Services services) {
    this.type = type;
    this.kind = kind;
    this.blank = blank;
    this.newStatus = newStatus;
    this.connectionRef = connectionRef;
    this.routineReasons = routineReasons;
    this.resolver = services.resolver();
    this.work = services.work();
    this.statusWriter = services.statusWriter();
    this.events = services.events();
    this.afterWrite = new AfterWrite(events);
    this.metrics = services.metrics();
    this.clock = services.clock();
    this.finished = new SimpleInboundEventSource<>(kind.toLowerCase() + "-work-done");
  }

  /** What the operator gives every reconciler of this shape. */
  public record Services(ConnectionResolver resolver, WorkExecutor work, StatusWriter statusWriter,
      EventRecorder events, HousekeeperMetrics metrics, Clock clock) {}

  @Override
  public List<EventSource<?, R>> prepareEventSources(EventSourceContext<R> ctx) {
    var connectionSource = ConnectionEventSource.create(type, ctx, r -> r.getSpec() == null ? null
        : connectionRef.apply(r));
    informer(ClickHouseConnection.class, connectionSource);
    List<EventSource<?, R>> sources = new java.util.ArrayList<>(List.of(connectionSource, finished));
    sources.addAll(moreEventSources(ctx));
    return sources;
  }

  /** Event sources a kind adds to the connection's and the finished work's. */
  protected List<EventSource<?, R>> moreEventSources(EventSourceContext<R> ctx) {
    return List.of();
  }

  /** Decides what to do now and does the quick part; long work goes to {@link #work}. */
  protected abstract Pass<P> pass(R resource, S status, KubernetesClient k8s);

  /** Writes the pass's phase into the status. */
  protected abstract void phase(S status, P phase);

  @Override
  public UpdateControl<R> reconcile(R resource, Context<R> ctx) {
    Pass<P> pass;
    try {
      S previous = Objects.requireNonNullElseGet(statusWriter.current(resource), newStatus);
      S status = Objects.requireNonNullElseGet(Serialization.clone(previous), newStatus);
      status.setObservedGeneration(resource.getMetadata().getGeneration());
      apiForLookups = ctx.getClient();
      pass = work.queuedInstead(key(resource), pass(resource, status, ctx.getClient()));
      phase(status, pass.phase());
      status.setConditions(Conditions.standard(status.getConditions(), pass.ready(), pass.progressing(),
          pass.degraded(), pass.reason(), pass.message(), resource.getMetadata().getGeneration(), clock));
      announce(resource, previous, pass.reason(), pass.message());
      String ns = resource.getMetadata().getNamespace();
      String name = resource.getMetadata().getName();
      metrics.ready(kind, ns, name, readyGauge(pass));
      metrics.workPerNamespace(work, ns);
      metrics.phase(kind, ns, name, pass.phase() == null ? null : pass.phase().toString());
      metrics.timestamp(HousekeeperMetrics.LAST_SUCCESS, kind, ns, name, lastSuccess(status));
      metrics.timestamp(HousekeeperMetrics.NEXT_RUN, kind, ns, name, nextRun(status));
      metrics.timestamp(HousekeeperMetrics.CREATED, kind, ns, name, resource.getMetadata().getCreationTimestamp());
      statusWriter.write(resource, status, blank);
    } catch (RuntimeException e) {
      afterWrite.dropped(key(resource));
      throw e;
    }
    work.settle(key(resource));
    afterWrite.written(key(resource));
    return pass.requeue() == null ? UpdateControl.noUpdate()
        : UpdateControl.<R>noUpdate().rescheduleAfter(pass.requeue());
  }

  /** When the last successful run ended (RFC 3339), for {@link HousekeeperMetrics#LAST_SUCCESS}; null: none. */
  protected String lastSuccess(S status) {
    return null;
  }

  /** When the next scheduled run is due (RFC 3339), for {@link HousekeeperMetrics#NEXT_RUN}; null: none. */
  protected String nextRun(S status) {
    return null;
  }

  /**
   * A Warning Event when a non-routine reason or its message changes; a routine reason (work running,
   * all well) neither says anything nor resets what was said. What was said last starts from the
   * Ready condition of the status as written, so that a restarted operator does not say it again.
   */
  private void announce(R resource, S previous, String reason, String message) {
    // warming up (this process's first seconds) and waiting for a worker are not news about the resource
    if (routineReasons.contains(reason) || ConnectionResolver.WARMING_UP.equals(reason)
        || WorkExecutor.QUEUED.equals(reason)) {
      return;
    }
    String said = announcement(reason, message);
    String before = announced.computeIfAbsent(key(resource), k -> Conditions.find(previous.getConditions(),
        Conditions.READY).map(c -> announcement(c.getReason(), c.getMessage())).orElse(""));
    if (!Objects.equals(before, said)) {
      announced.put(key(resource), said);
      events.warning(resource, reason, message);
    }
  }

  /**
   * What makes an announcement new: its reason and message (as the condition keeps it, truncated). A
   * kind whose messages change on every attempt (a migration's retries) announces by reason alone.
   */
  protected String announcement(String reason, String message) {
    return reason + Conditions.truncate(message == null ? "" : message, Conditions.MAX_MESSAGE);
  }

  /** Records that a reason was already announced (by an Event the pass sent itself). */
  protected void announced(R resource, String reason, String message) {
    announced.put(key(resource), announcement(reason, message));
  }

  /** The value of the ready gauge for this pass: whether the resource is Ready. */
  protected boolean readyGauge(Pass<P> pass) {
    return pass.ready();
  }

  /** The connection the resource names, Ready and probed by this process. */
  protected ConnectionResolver.Resolved connection(R resource, String name) throws ConnectionResolver.NotReady {
    String ns = resource.getMetadata().getNamespace();
    return resolver.resolve(ns, name, secondary(ClickHouseConnection.class, ns, name));
  }

  /**
   * A resource this one refers to by name (its connection, a ConfigMap), from the informer cache; a
   * reconciler driven without an operator (the transition tests' harness) has no informers and reads it
   * from the API.
   */
  protected <T extends HasMetadata> T secondary(Class<T> type, String namespace, String name) {
    InformerEventSource<?, R> source = informers.get(type);
    if (source != null) {
      @SuppressWarnings("unchecked")
      T cached = (T) source.get(new ResourceID(name, namespace)).orElse(null);
      return cached;
    }
    return apiForLookups == null ? null : apiForLookups.resources(type).inNamespace(namespace).withName(name).get();
  }

  /** Registers an informer that {@link #secondary} reads from. */
  protected void informer(Class<? extends HasMetadata> type, InformerEventSource<?, R> source) {
    informers.put(type, source);
  }

  /** Requeue after a connection is not ready: soon while this process warms up, else in 15 s. */
  protected static Duration notReadyRequeue(ConnectionResolver.NotReady e) {
    return e.requeue();
  }

  /** Given to the work pool: reconciles the resource as soon as its work ends. */
  protected Runnable reconcileWhenDone(R resource) {
    ResourceID id = ResourceID.fromResource(resource);
    return () -> finished.propagateEvent(id);
  }

  /** What a deleted resource leaves behind in this process. */
  protected void forget(R resource) {
    work.cancelQueued(key(resource)); // work that never started is not run for a resource that is gone
    announced.remove(key(resource));
    metrics.forget(kind, resource.getMetadata().getNamespace(), resource.getMetadata().getName());
    statusWriter.forget(resource);
  }

  protected static String key(HasMetadata r) {
    return WorkExecutor.keyOf(r);
  }

  protected static String annotation(HasMetadata r, String name) {
    return RunTiming.annotation(r, name);
  }

  protected static String format(Instant i) {
    return RunTiming.format(i);
  }
}
