package dev.housekeeper.common;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** Reads Secrets named by a spec, with errors that say which Secret, key and field to fix. */
public final class Secrets {

  private Secrets() {}

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

  /** The Secret, or SecretNotFound / SecretUnreadable; {@code what} names the field that names it. */
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
