package dev.housekeeper.mart;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The rules for a jdbc source's URL. The PostgreSQL driver (the only one the operator ships) takes
 * its connection properties from the URL's query string, and a URL property wins over the
 * operator's own: a URL could make the operator load a class of its classpath with an argument
 * ({@code sslfactory}, {@code socketFactory}, ...), read a file of its disk ({@code sslrootcert},
 * {@code loggerFile}, {@code service}), replace the credentials taken from the Secret, or turn off
 * the read-only session. So only the properties below are accepted, each with the values it may
 * have; everything else is refused by name. Values are never repeated in a message: a URL may
 * carry a password.
 */
final class JdbcUrl {

  static final String FIELD = "spec.source.jdbc.url";

  private static final String BOOL = "true|false";
  private static final String SECONDS = "[0-9]{1,3}";
  /** Allowed property: the pattern of its values (names are case-sensitive in the driver, as here). */
  private static final Map<String, String> ALLOWED = Map.ofEntries(
      Map.entry("ssl", BOOL),
      Map.entry("sslmode", "disable|allow|prefer|require|verify-ca|verify-full"),
      Map.entry("sslNegotiation", "postgres|direct"),
      Map.entry("channelBinding", "disable|prefer|require"),
      Map.entry("requireAuth", "!?(password|md5|scram-sha-256|none)(,!?(password|md5|scram-sha-256|none)){0,5}"),
      Map.entry("connectTimeout", SECONDS),
      Map.entry("loginTimeout", SECONDS),
      Map.entry("tcpKeepAlive", BOOL),
      Map.entry("ApplicationName", "[A-Za-z0-9 _.:-]{1,63}"),
      Map.entry("currentSchema", "[A-Za-z_][A-Za-z0-9_$]{0,62}(,[A-Za-z_][A-Za-z0-9_$]{0,62}){0,15}"),
      Map.entry("readOnly", "true"),
      Map.entry("readOnlyMode", "transaction|always"),
      Map.entry("targetServerType", "any|primary|secondary|preferPrimary|preferSecondary|master|slave|preferSlave"),
      Map.entry("loadBalanceHosts", BOOL),
      Map.entry("hostRecheckSeconds", "[0-9]{1,4}"),
      Map.entry("prepareThreshold", "-1|[0-9]{1,4}"),
      Map.entry("binaryTransfer", BOOL),
      Map.entry("stringtype", "unspecified|varchar"),
      Map.entry("assumeMinServerVersion", "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}"));

  /** Refused properties whose refusal deserves a reason beyond "not allowed". */
  private static final Map<String, String> WHY = Map.ofEntries(
      Map.entry("user", "credentials come only from spec.source.jdbc.credentialsSecret"),
      Map.entry("password", "credentials come only from spec.source.jdbc.credentialsSecret"),
      Map.entry("sslpassword", "credentials come only from spec.source.jdbc.credentialsSecret"),
      Map.entry("socketTimeout", "the operator sets it from spec.source.jdbc.queryTimeout"),
      Map.entry("queryTimeout", "the operator sets it from spec.source.jdbc.queryTimeout"),
      Map.entry("defaultRowFetchSize", "use spec.source.jdbc.fetchSize"),
      Map.entry("options", "it sets server settings of the session"),
      Map.entry("replication", "it opens a replication session"),
      Map.entry("readOnly", "the session is always read-only"),
      Map.entry("readOnlyMode", "the session is always read-only"));

  /** Properties that name a Java class the driver would load, or a file of the operator's disk. */
  private static final Set<String> CLASSES = Set.of("sslfactory", "sslfactoryarg", "sslhostnameverifier",
      "sslpasswordcallback", "socketFactory", "socketFactoryArg", "authenticationPluginClassName", "connectExecutor",
      "connectExecutorArg", "xmlFactoryFactory", "classLoaderStrategy");
  private static final Set<String> FILES = Set.of("sslcert", "sslkey", "sslrootcert", "loggerFile", "service");

  private static final Pattern HOST = Pattern.compile(
      "^([A-Za-z0-9]([A-Za-z0-9-]{0,62})(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*|\\[[0-9A-Fa-f:.]{2,45}\\])(:[0-9]{1,5})?$");
  private static final Pattern DATABASE = Pattern.compile("^[A-Za-z0-9_.$-]{0,63}$");
  private static final String PREFIX = "jdbc:postgresql://";

  private JdbcUrl() {}

  /** The URL as status, Events and logs may show it: without its query string (it may carry secrets). */
  static String shown(String url) {
    if (url == null) {
      return null;
    }
    int cut = url.length();
    for (char c : new char[] {'?', '#', '&', ';'}) {
      int i = url.indexOf(c);
      if (i >= 0 && i < cut) {
        cut = i;
      }
    }
    String head = url.substring(0, cut);
    int at = head.lastIndexOf('@');
    if (head.startsWith(PREFIX) && at >= 0) {
      head = PREFIX + head.substring(at + 1); // user:password@ is refused, and never shown either
    }
    return head;
  }

  /** What is wrong with the URL, each naming the field (and the property); empty when it may be used. */
  static List<String> problems(String url) {
    List<String> problems = new ArrayList<>();
    if (url == null || !url.startsWith(PREFIX)) {
      problems.add(FIELD + ": only jdbc:postgresql://host[:port]/database URLs are supported");
      return problems;
    }
    if (url.chars().anyMatch(c -> c <= ' ' || c >= 0x7f || "'\"`;#\\".indexOf(c) >= 0)) {
      problems.add(FIELD + ": has a space, a quote, ';', '#' or '\\', which a URL here may not have");
      return problems;
    }
    String rest = url.substring(PREFIX.length());
    int q = rest.indexOf('?');
    String query = q < 0 ? null : rest.substring(q + 1);
    String path = q < 0 ? rest : rest.substring(0, q);
    int slash = path.indexOf('/');
    String hosts = slash < 0 ? path : path.substring(0, slash);
    String database = slash < 0 ? "" : path.substring(slash + 1);
    if (hosts.contains("@")) {
      problems.add(FIELD + ": has user information before '@'; credentials come only from"
          + " spec.source.jdbc.credentialsSecret");
    } else if (hosts.isEmpty() || !hosts.chars().allMatch(c -> c != '/')
        || java.util.Arrays.stream(hosts.split(",", -1)).anyMatch(h -> !HOST.matcher(h).matches())) {
      problems.add(FIELD + ": give host[:port] (or several, separated by commas) after jdbc:postgresql://");
    }
    if (!DATABASE.matcher(database).matches()) {
      problems.add(FIELD + ": the database name may have letters, digits and _ . $ - only");
    }
    if (query != null) {
      parameters(query, problems);
    }
    return problems;
  }

  private static void parameters(String query, List<String> problems) {
    for (String pair : query.split("&", -1)) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name;
      String value;
      try {
        // the driver decodes names and values: so does the check, or "ssl%66actory" would pass
        name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        problems.add(FIELD + ": a parameter is not URL-encoded correctly");
        continue;
      }
      String shownName = name.matches("^[A-Za-z0-9_.-]{1,40}$") ? name : "(a parameter with an odd name)";
      String pattern = ALLOWED.get(name);
      if (pattern != null && value.matches("^(" + pattern + ")$")) {
        continue;
      }
      if (pattern != null && !WHY.containsKey(name)) {
        problems.add(FIELD + ": parameter " + shownName + " must match " + pattern);
      } else if (WHY.containsKey(name)) {
        problems.add(FIELD + ": parameter " + shownName + " is not allowed: " + WHY.get(name));
      } else if (CLASSES.contains(name)) {
        problems.add(FIELD + ": parameter " + shownName + " is not allowed: it names a Java class for the operator"
            + " to load");
      } else if (FILES.contains(name)) {
        problems.add(FIELD + ": parameter " + shownName + " is not allowed: it names a file of the operator's disk");
      } else {
        problems.add(FIELD + ": parameter " + shownName + " is not allowed (allowed: "
            + String.join(", ", new java.util.TreeSet<>(ALLOWED.keySet())) + ")");
      }
    }
  }
}
