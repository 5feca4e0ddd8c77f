package dev.housekeeper.operator;

import dev.housekeeper.common.StepTimes;
import dev.housekeeper.common.StepTimes.Step;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.api.reconciler.RetryInfo;
import io.javaoperatorsdk.operator.processing.Controller;
import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * JOSDK's metrics, plus two of the operator's steps that only JOSDK sees: how long a resource's
 * reconcile waited for a reconcile thread (submitted until started), and how long it ran.
 */
final class StepTimedMetrics implements Metrics {

  private final Metrics delegate;
  private final StepTimes steps;
  /**
   * When each waiting reconcile was submitted; removed when it starts. Keyed by kind too: a
   * ResourceID is a name and namespace only, which a connection and a mart may share.
   */
  private final Map<Waiting, Long> submitted = new ConcurrentHashMap<>();

  private record Waiting(String kind, ResourceID id) {

    static Waiting of(HasMetadata resource) {
      return new Waiting(resource.getKind(), ResourceID.fromResource(resource));
    }
  }

  StepTimedMetrics(Metrics delegate, StepTimes steps) {
    this.delegate = delegate;
    this.steps = steps;
  }

  @Override
  public void controllerRegistered(Controller<? extends HasMetadata> controller) {
    delegate.controllerRegistered(controller);
  }

  @Override
  public void receivedEvent(Event event, Map<String, Object> metadata) {
    delegate.receivedEvent(event, metadata);
  }

  @Override
  public void reconcileCustomResource(HasMetadata resource, RetryInfo retryInfo, Map<String, Object> metadata) {
    submitted.put(Waiting.of(resource), System.nanoTime());
    delegate.reconcileCustomResource(resource, retryInfo, metadata);
  }

  @Override
  public void failedReconciliation(HasMetadata resource, Exception exception, Map<String, Object> metadata) {
    delegate.failedReconciliation(resource, exception, metadata);
  }

  @Override
  public void reconciliationExecutionStarted(HasMetadata resource, Map<String, Object> metadata) {
    Long at = submitted.remove(Waiting.of(resource));
    if (at != null) {
      steps.record(Step.RECONCILE_QUEUE, System.nanoTime() - at);
    }
    delegate.reconciliationExecutionStarted(resource, metadata);
  }

  @Override
  public void reconciliationExecutionFinished(HasMetadata resource, Map<String, Object> metadata) {
    delegate.reconciliationExecutionFinished(resource, metadata);
  }

  @Override
  public void cleanupDoneFor(ResourceID resourceId, Map<String, Object> metadata) {
    // JOSDK names no kind here: a namesake of another kind waiting at that moment goes untimed, once
    submitted.keySet().removeIf(w -> w.id().equals(resourceId));
    delegate.cleanupDoneFor(resourceId, metadata);
  }

  @Override
  public void finishedReconciliation(HasMetadata resource, Map<String, Object> metadata) {
    delegate.finishedReconciliation(resource, metadata);
  }

  @Override
  public <T> T timeControllerExecution(ControllerExecution<T> execution) throws Exception {
    long t0 = System.nanoTime();
    try {
      return delegate.timeControllerExecution(execution);
    } finally {
      steps.record(Step.RECONCILE, System.nanoTime() - t0);
    }
  }

  @Override
  public <T extends Map<?, ?>> T monitorSizeOf(T map, String name) {
    return delegate.monitorSizeOf(map, name);
  }
}
