package dev.housekeeper.connection;

import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.common.Secrets;
import io.fabric8.kubernetes.api.model.Secret;

/**
 * A connection's user, password and TLS CA, read from Secrets that opted in. Every problem names the
 * Secret, its key and the field; none holds a value.
 */
final class ConnectionCredentials {

  /** Finds a Secret by name; {@code what} names the field that names it. */
  @FunctionalInterface
  interface Lookup {
    Secret get(String name, String what) throws Secrets.Problem;
  }

  /** The values read, and the version of the credentials Secret. */
  record Values(String username, String password, String caPem, String secretResourceVersion) {
    /** Never the values: a record's own toString would print them wherever it is logged. */
    @Override
    public String toString() {
      return "ConnectionCredentials.Values[hidden]";
    }
  }

  private ConnectionCredentials() {}

  static Values read(ClickHouseConnectionSpec spec, String ns, Lookup lookup) throws Secrets.Problem {
    var creds = spec.getCredentials();
    String name = creds.getSecretName();
    String create = ". Create it with the keys \"" + creds.getUsernameKey() + "\" and \"" + creds.getPasswordKey()
        + "\" and the label " + Secrets.ALLOW_SELECTOR + "; the connection is probed again as soon as the Secret"
        + " appears.";
    Secret secret;
    try {
      secret = lookup.get(name, "spec.credentials.secretName");
    } catch (Secrets.Problem e) {
      throw "SecretNotFound".equals(e.reason())
          ? new Secrets.Problem(e.reason(), "Secret \"" + name + "\" does not exist in namespace " + ns + create)
          : again(e);
    }
    String username = Secrets.find(secret, creds.getUsernameKey());
    String password = Secrets.find(secret, creds.getPasswordKey());
    if (username == null || password == null) {
      throw new Secrets.Problem("SecretNotFound", "Secret \"" + name + "\" has no key \""
          + (username == null ? creds.getUsernameKey() : creds.getPasswordKey()) + "\"" + create);
    }
    String caPem = null;
    if (spec.getTls() != null && spec.getTls().getCaCertificate() != null) {
      var ref = spec.getTls().getCaCertificate();
      String missing = "TLS CA certificate: Secret \"" + ref.getName() + "\" or its key \"" + ref.getKey()
          + "\" does not exist in namespace " + ns + ".";
      try {
        caPem = Secrets.find(lookup.get(ref.getName(), "spec.tls.caCertificate"), ref.getKey());
      } catch (Secrets.Problem e) {
        throw "SecretNotFound".equals(e.reason()) ? new Secrets.Problem(e.reason(), missing) : again(e);
      }
      if (caPem == null) {
        throw new Secrets.Problem("SecretNotFound", missing);
      }
    }
    return new Values(username, password, caPem, secret.getMetadata().getResourceVersion());
  }

  /** A problem said as it is, with when the connection looks again. */
  private static Secrets.Problem again(Secrets.Problem e) {
    String when = Secrets.NOT_ALLOWED.equals(e.reason()) ? " The connection is probed again as soon as it is labelled."
        : "";
    return new Secrets.Problem(e.reason(), e.getMessage() + "." + when);
  }
}
