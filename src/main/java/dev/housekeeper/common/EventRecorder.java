package dev.housekeeper.common;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes Kubernetes Events on resources: the audit trail of what the operator did and what went
 * wrong. A failure to record an Event is logged, never fatal.
 */
public class EventRecorder {

  private static final Logger LOG = LoggerFactory.getLogger(EventRecorder.class);
  public static final String COMPONENT = "housekeeper";

  private final KubernetesClient client;
  /** Events are posted in order on one thread, so that a run is not slowed by the API server. */
  private final java.util.concurrent.ExecutorService poster = java.util.concurrent.Executors.newSingleThreadExecutor(
      r -> {
        Thread t = new Thread(r, "event-recorder");
        t.setDaemon(true);
        return t;
      });

  private final StepTimes steps;

  public EventRecorder(KubernetesClient client) {
    this(client, StepTimes.unread());
  }

  public EventRecorder(KubernetesClient client, StepTimes steps) {
    this.client = client;
    this.steps = steps;
  }

  /** Waits until the Events recorded so far are posted (at most 10 s), then stops. */
  public void close() {
    poster.shutdown();
    try {
      poster.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public void normal(HasMetadata resource, String reason, String message) {
    record(resource, "Normal", reason, message);
  }

  public void warning(HasMetadata resource, String reason, String message) {
    record(resource, "Warning", reason, message);
  }

  private void record(HasMetadata resource, String type, String reason, String message) {
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    String ns = resource.getMetadata().getNamespace();
    var event = new EventBuilder()
        .withNewMetadata()
        .withName(resource.getMetadata().getName() + "." + UUID.randomUUID().toString().substring(0, 13).replace("-", ""))
        .withNamespace(ns)
        .endMetadata()
        .withInvolvedObject(new ObjectReferenceBuilder()
            .withApiVersion(resource.getApiVersion())
            .withKind(resource.getKind())
            .withName(resource.getMetadata().getName())
            .withNamespace(ns)
            .withUid(resource.getMetadata().getUid())
            .withResourceVersion(resource.getMetadata().getResourceVersion())
            .build())
        .withType(type)
        .withReason(reason)
        .withMessage(Conditions.truncate(message, 1024))
        .withFirstTimestamp(now)
        .withLastTimestamp(now)
        .withCount(1)
        .withNewSource().withComponent(COMPONENT).endSource()
        .withReportingComponent(COMPONENT)
        .build();
    LOG.info("event {} {}: {}", type, reason, message);
    try {
      poster.execute(() -> {
        try {
          steps.time(StepTimes.Step.EVENT_POST, () -> client.v1().events().inNamespace(ns).resource(event).create());
        } catch (KubernetesClientException e) {
          LOG.warn("could not record event {} {}: {}", reason, message, e.getMessage());
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      LOG.warn("operator stopping; event not recorded: {} {}", reason, message);
    }
  }
}
