package dev.housekeeper.common;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The one place where a reconciler's status is written: a JSON Patch of the status subresource
 * with one operation, {@code add /status} (which replaces the whole status), sent only when the
 * status changed.
 *
 * <p>Why not JOSDK's {@code UpdateControl.patchStatus}: without server-side apply it computes a
 * JSON Patch against the cached object, which fails where the stored status is {@code null} (as
 * the test API stores it). Why not a merge patch: the test API merges lists by appending, so stale
 * conditions would stay. Replacing {@code /status} whole is right on every API server.
 */
public final class StatusWriter {

  /** What was last written for a resource: over which resourceVersion, and which one it produced. */
  private record Written(String versionBefore, String versionAfter, String json) {}

  private final KubernetesClient client;
  private final java.util.Map<String, Written> written = new java.util.concurrent.ConcurrentHashMap<>();

  private final StepTimes steps;

  public StatusWriter(KubernetesClient client) {
    this(client, StepTimes.unread());
  }

  public StatusWriter(KubernetesClient client, StepTimes steps) {
    this.client = client;
    this.steps = steps;
  }

  /**
   * Writes {@code status} onto the resource if it differs from the current one.
   *
   * @return whether a patch was sent
   */
  public <S, R extends CustomResource<?, S>> boolean write(R current, S status, Supplier<R> blank) {
    String json = Serialization.asJson(status);
    S base = current(current);
    if (Objects.equals(base == null ? null : Serialization.asJson(base), json)) {
      return false;
    }
    R fresh = blank.get();
    fresh.setMetadata(new ObjectMetaBuilder()
        .withName(current.getMetadata().getName())
        .withNamespace(current.getMetadata().getNamespace())
        .build());
    fresh.setStatus(status);
    String patch = "[{\"op\":\"add\",\"path\":\"/status\",\"value\":" + Serialization.asJson(status) + "}]";
    R after = steps.time(StepTimes.Step.STATUS_WRITE,
        () -> client.resource(fresh).subresource("status").patch(PatchContext.of(PatchType.JSON), patch));
    written.put(current.getMetadata().getUid(), new Written(current.getMetadata().getResourceVersion(),
        after == null || after.getMetadata() == null ? null : after.getMetadata().getResourceVersion(), json));
    return true;
  }

  /** Whether this version of the resource is the one this writer's last status write made. */
  public boolean producedVersion(io.fabric8.kubernetes.api.model.HasMetadata resource) {
    Written w = written.get(resource.getMetadata().getUid());
    return w != null && w.versionAfter() != null && w.versionAfter().equals(resource.getMetadata().getResourceVersion());
  }

  /**
   * The resource's status as it is now: the informer's copy, unless that copy still predates this
   * operator's last write (the cache lags behind the API), in which case what was written. Start
   * each pass from this, so that a pass never builds on, or writes back, an older status.
   */
  @SuppressWarnings("unchecked")
  public <S, R extends CustomResource<?, S>> S current(R resource) {
    Written w = written.get(resource.getMetadata().getUid());
    if (w != null && older(resource.getMetadata().getResourceVersion(), w)) {
      Class<S> type = (Class<S>) (resource.getStatus() != null ? resource.getStatus().getClass() : null);
      if (type != null) {
        return Serialization.unmarshal(w.json(), type);
      }
    }
    return resource.getStatus();
  }

  /**
   * Whether the cached resourceVersion predates the last write. Versions are compared as numbers
   * where they are numbers (as etcd revisions are; JOSDK's parseResourceVersions makes the same
   * assumption), otherwise only the version the write was made over counts as older.
   */
  private static boolean older(String cached, Written w) {
    if (Objects.equals(cached, w.versionBefore())) {
      return true;
    }
    try {
      return w.versionAfter() != null && Long.parseLong(cached) < Long.parseLong(w.versionAfter());
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /** Forgets a deleted resource. */
  public void forget(CustomResource<?, ?> resource) {
    written.remove(resource.getMetadata().getUid());
  }
}
