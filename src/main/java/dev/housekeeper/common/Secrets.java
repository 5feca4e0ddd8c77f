package dev.housekeeper.common;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Reads Secrets named by a spec, with errors that say which Secret, key and field to fix; and the
 * opt-in label without which the operator neither caches nor uses a Secret or ConfigMap.
 */
public final class Secrets {

  /**
   * Set by a Secret's (or ConfigMap's) owner to let Housekeeper use it. Without it, a resource could
   * make the operator send any Secret of its namespace (a token, another app's password) to an
   * endpoint of its choosing. A label and not an annotation: the API server and the informers filter
   * by label selector, so objects that did not opt in are never listed, watched or cached.
   */
  public static final String ALLOW_LABEL = "housekeeper.dev/allow";

  /** The label selector of the Secret and ConfigMap informers: only objects that opted in. */
  public static final String ALLOW_SELECTOR = ALLOW_LABEL + "=true";

  /** The reason of a Secret that did not opt in. */
  public static final String NOT_ALLOWED = "SecretNotAllowed";

  private Secrets() {}

  /** Whether the object carries {@code housekeeper.dev/allow: "true"}. */
  public static boolean allowed(HasMetadata object) {
    return object != null && object.getMetadata() != null && object.getMetadata().getLabels() != null
        && "true".equals(object.getMetadata().getLabels().get(ALLOW_LABEL));
  }

  /** The command that lets Housekeeper use the Secret {@code name}. */
  public static String howToAllow(String name) {
    return howToAllow("secret", null, name);
  }

  /** The command that lets Housekeeper use an object: {@code kind} is "secret" or "configmap". */
  public static String howToAllow(String kind, String namespace, String name) {
    return "kubectl label " + kind + " " + name + (namespace == null ? "" : " -n " + namespace) + " "
        + ALLOW_SELECTOR;
  }

  /**
   * SecretNotAllowed: the Secret exists but its owner did not let Housekeeper use it. The message names
   * the Secret and the field, and says how to allow it; it never holds a value.
   */
  public static Problem notAllowed(String namespace, String name, String what) {
    return new Problem(NOT_ALLOWED, "Secret \"" + name + "\" (" + what + ") is not labelled " + ALLOW_SELECTOR
        + ", so Housekeeper does not use it; if it is meant for Housekeeper, its owner allows it with: "
        + howToAllow("secret", namespace, name));
  }

  /** Why a Secret cannot be used now; {@code reason} is a CamelCase condition reason. */
  public static class Problem extends Exception {
    private final String reason;

    public Problem(String reason, String message) {
      super(message);
      this.reason = reason;
    }

    public String reason() {
      return reason;
    }
  }

  /**
   * The Secret, or SecretNotFound / SecretUnreadable / SecretNotAllowed; {@code what} names the field
   * that names it.
   */
  public static Secret get(KubernetesClient k8s, String namespace, String name, String what) throws Problem {
    Secret secret;
    try {
      secret = k8s.secrets().inNamespace(namespace).withName(name).get();
    } catch (KubernetesClientException e) {
      throw new Problem("SecretUnreadable", "reading Secret " + name + " (" + what + ") failed: " + e.getMessage());
    }
    if (secret == null) {
      throw new Problem("SecretNotFound", "Secret " + name + " (" + what + ") does not exist in namespace " + namespace);
    }
    if (!allowed(secret)) {
      throw notAllowed(namespace, name, what);
    }
    return secret;
  }

  /** One key's value as text, from data (base64) or else stringData, as stored; null when absent. */
  public static String find(Secret secret, String key) {
    if (secret == null || key == null) {
      return null;
    }
    String b64 = secret.getData() == null ? null : secret.getData().get(key);
    if (b64 != null) {
      return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }
    return secret.getStringData() == null ? null : secret.getStringData().get(key);
  }

  /** One key's value as text, stripped; SecretKeyNotFound when absent. */
  public static String text(Secret secret, String key, String what) throws Problem {
    String value = find(secret, key);
    if (value != null) {
      return value.strip();
    }
    throw new Problem("SecretKeyNotFound", "Secret " + secret.getMetadata().getName() + " (named by " + what
        + ") has no key \"" + key + "\"");
  }
}
