package dev.housekeeper.connection;

import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus.EndpointStatus;
import dev.housekeeper.api.connection.ClickHouseConnectionStatus.Phase;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseClient.EndpointProbe;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import dev.housekeeper.clickhouse.ServerCapabilities;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.EventRecorder;
import dev.housekeeper.common.HousekeeperMetrics;
import dev.housekeeper.common.Pass;
import dev.housekeeper.common.Secrets;
import dev.housekeeper.common.StatusWriter;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Probes a ClickHouseConnection's endpoints on an interval (and when its Secret changes), detects
 * the server's capabilities, and writes health, version and the Ready condition to status.
 */
@ControllerConfiguration(name = "clickhouseconnection")
public class ClickHouseConnectionReconciler implements Reconciler<ClickHouseConnection>, Cleaner<ClickHouseConnection> {

  static final String KIND = "ClickHouseConnection";

  private final ConnectionClients clients;
  private final EventRecorder events;
  private final HousekeeperMetrics metrics;
  private final Clock clock;
  private final StatusWriter statusWriter;
  private final java.util.Map<String, String> hostAliases;
  private InformerEventSource<Secret, ClickHouseConnection> secrets;

  public ClickHouseConnectionReconciler(ConnectionClients clients, StatusWriter statusWriter, EventRecorder events,
      HousekeeperMetrics metrics, Clock clock, java.util.Map<String, String> hostAliases) {
    this.statusWriter = statusWriter;
    this.hostAliases = hostAliases;
    this.clients = clients;
    this.events = events;
    this.metrics = metrics;
    this.clock = clock;
  }

  @Override
  public List<EventSource<?, ClickHouseConnection>> prepareEventSources(EventSourceContext<ClickHouseConnection> ctx) {
    // A Secret change re-probes every connection in its namespace that reads it. Only Secrets that
    // opted in are listed, watched and cached: the others never reach this process's memory.
    var config = InformerEventSourceConfiguration.from(Secret.class, ClickHouseConnection.class)
        .withNamespacesInheritedFromController()
        .withLabelSelector(Secrets.ALLOW_SELECTOR)
        .withSecondaryToPrimaryMapper(secret -> ctx.getPrimaryCache()
            .list(secret.getMetadata().getNamespace())
            .filter(c -> readsSecret(c, secret.getMetadata().getName()))
            .map(ResourceID::fromResource)
            .collect(Collectors.toSet()))
        .build();
    secrets = new InformerEventSource<>(config, ctx);
    return List.of(secrets);
  }

  private static boolean readsSecret(ClickHouseConnection c, String secretName) {
    var spec = c.getSpec();
    if (spec == null) {
      return false;
    }
    return (spec.getCredentials() != null && secretName.equals(spec.getCredentials().getSecretName()))
        || (spec.getTls() != null && spec.getTls().getCaCertificate() != null
            && secretName.equals(spec.getTls().getCaCertificate().getName()));
  }

  @Override
  public UpdateControl<ClickHouseConnection> reconcile(ClickHouseConnection resource, Context<ClickHouseConnection> ctx) {
    ClickHouseConnectionStatus previous = Objects.requireNonNullElseGet(statusWriter.current(resource),
        ClickHouseConnectionStatus::new);
    ClickHouseConnectionStatus status = new ClickHouseConnectionStatus();
    status.setConditions(previous.getConditions());
    status.setObservedGeneration(resource.getMetadata().getGeneration());
    Pass<Phase> outcome = observe(resource, status, ctx.getClient());
    apply(resource, previous, status, outcome);
    statusWriter.write(resource, status, ClickHouseConnection::new);
    UpdateControl<ClickHouseConnection> control = UpdateControl.noUpdate();
    return outcome.requeue() == null ? control : control.rescheduleAfter(outcome.requeue());
  }

  private Pass<Phase> observe(ClickHouseConnection resource, ClickHouseConnectionStatus status, KubernetesClient k8s) {
    ClickHouseConnectionSpec spec = resource.getSpec();
    List<String> problems = ConnectionSettings.validate(spec);
    if (!problems.isEmpty()) {
      return Pass.failed(Phase.Failed, "ValidationError", "The spec is invalid: " + String.join("; ", problems)
          + ". Fix the resource; nothing is retried until then.", null);
    }
    Duration interval = ConnectionSettings.probeInterval(spec);
    String ns = resource.getMetadata().getNamespace();
    var creds = spec.getCredentials();
    ConnectionCredentials.Values secret;
    try {
      secret = ConnectionCredentials.read(spec, ns, (name, what) -> secretNamed(k8s, ns, name, what));
    } catch (Secrets.Problem e) {
      return Pass.failed(Phase.Failed, e.reason(), e.getMessage(), interval);
    }
    status.setSecretResourceVersion(secret.secretResourceVersion());
    ClickHouseClient client = clients.obtain(ns, resource.getMetadata().getName(),
        ConnectionSettings.toClientConfig(spec, secret.username(), secret.password(), secret.caPem(),
            hostAliases));
    Pass<Phase> outcome = new ConnectionProbe(metrics, clock).probe(client, status, spec.getEndpoints(),
        creds.getUsernameKey(), creds.getSecretName(), interval, ns);
    if (spec.getCluster() == null || spec.getCluster().isBlank() || outcome.phase() == Phase.Failed) {
      return outcome;
    }
    String name = resource.getMetadata().getName();
    List<Boolean> healthy = status.getEndpoints().stream().map(EndpointStatus::isHealthy).toList();
    try {
      status.topology = ClusterTopology.discover(client, spec.getCluster(), spec.getEndpoints(),
          i -> clients.subset(ns, name, List.of(i)), healthy, previousTopology(resource));
    } catch (ClusterTopology.NotFound e) {
      return Pass.failed(Phase.Failed, "ClusterNotFound", e.getMessage() + ". Fix spec.cluster or the"
          + " server's remote_servers; probing again every " + interval.toSeconds() + "s.", interval);
    } catch (ClickHouseException e) {
      return Pass.failed(Phase.Degraded, "TopologyUnknown", "Reading system.clusters failed: "
          + e.getMessage() + ". " + outcome.message(), interval).stillReady(outcome.ready());
    }
    String cluster = ClusterTopology.describe(status.topology);
    return outcome.message(outcome.message() + " " + cluster);
  }

  private ClickHouseConnectionStatus.Topology previousTopology(ClickHouseConnection resource) {
    ClickHouseConnectionStatus current = statusWriter.current(resource);
    return current == null ? null : current.topology;
  }

  private void apply(ClickHouseConnection resource, ClickHouseConnectionStatus previous,
      ClickHouseConnectionStatus status, Pass<Phase> outcome) {
    Long generation = resource.getMetadata().getGeneration();
    status.setPhase(outcome.phase());
    var conditions = Conditions.standard(status.getConditions(), outcome.ready(), outcome.progressing(),
        outcome.degraded(), outcome.reason(), outcome.message(), generation, clock);
    status.setConditions(conditions);
    String before = Conditions.find(previous.getConditions(), Conditions.READY).map(c -> c.getReason()).orElse(null);
    if (!Objects.equals(before, outcome.reason())) {
      if (outcome.ready()) {
        events.normal(resource, outcome.reason(), outcome.message());
      } else {
        events.warning(resource, outcome.reason(), outcome.message());
      }
    }
    metrics.ready(KIND, resource.getMetadata().getNamespace(), resource.getMetadata().getName(), outcome.ready());
    metrics.phase(KIND, resource.getMetadata().getNamespace(), resource.getMetadata().getName(),
        outcome.phase().name());
    metrics.timestamp(HousekeeperMetrics.CREATED, KIND, resource.getMetadata().getNamespace(),
        resource.getMetadata().getName(), resource.getMetadata().getCreationTimestamp());
  }

  /**
   * A Secret that opted in, from the informer cache. One missing from the cache is read once, to say
   * whether it does not exist or is not labelled (the informer sees only labelled ones); a reconciler
   * driven without an operator (the transition tests' harness) has no informer and always reads.
   */
  private Secret secretNamed(KubernetesClient k8s, String namespace, String name, String what)
      throws Secrets.Problem {
    Secret cached = secrets == null ? null : secrets.get(new ResourceID(name, namespace)).orElse(null);
    return cached != null && Secrets.allowed(cached) ? cached : Secrets.get(k8s, namespace, name, what);
  }

  @Override
  public DeleteControl cleanup(ClickHouseConnection resource, Context<ClickHouseConnection> ctx) {
    clients.remove(resource.getMetadata().getNamespace(), resource.getMetadata().getName());
    metrics.forget(KIND, resource.getMetadata().getNamespace(), resource.getMetadata().getName());
    statusWriter.forget(resource);
    return DeleteControl.defaultDelete();
  }
}
