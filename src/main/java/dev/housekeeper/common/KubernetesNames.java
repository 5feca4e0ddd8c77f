package dev.housekeeper.common;

/** Checks of the names a spec gives to other Kubernetes objects (Secrets, backups). */
public final class KubernetesNames {

  private KubernetesNames() {}

  /** Whether a name can be a Kubernetes object's name (a DNS subdomain). */
  public static boolean isObjectName(String name) {
    return name != null && name.length() <= 253 && name.matches("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$");
  }
}
