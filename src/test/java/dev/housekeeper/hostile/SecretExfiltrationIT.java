package dev.housekeeper.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.common.SecretKeyRef;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.common.Secrets;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.PostgresServer;
import dev.housekeeper.testing.Specs;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;

/**
 * Issue 20, finding 1: a resource cannot make the operator show or send a Secret's values. Every
 * Secret here holds planted values ("planted-&lt;uuid&gt;-..."); endpoints, a JDBC URL and an S3 endpoint
 * point at a local recorder that keeps every byte it receives. The last test scans every status
 * (conditions included), Event, metric and operator log line of the class for any planted value.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecretExfiltrationIT {

  static final String NS = "exfil";
  static final String PLANTED = "planted-" + UUID.randomUUID();
  /** Every value planted in a Secret of this class: none may appear in anything the operator says. */
  static final Set<String> VALUES = ConcurrentHashMap.newKeySet();
  static final List<String> LOG = new CopyOnWriteArrayList<>();
  static OperatorHarness harness;
  static AppenderBase<ILoggingEvent> appender;

  @BeforeAll
  static void start() {
    appender = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent e) {
        StringBuilder line = new StringBuilder(e.getLoggerName()).append(' ').append(e.getFormattedMessage());
        for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
          line.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
        }
        LOG.add(line.toString());
      }
    };
    appender.start();
    root().addAppender(appender);
    harness = OperatorHarness.start();
    harness.namespace(NS);
    harness.readyConnection(NS, Specs.CONNECTION);
  }

  @AfterAll
  static void stop() {
    root().detachAppender(appender);
    harness.close();
  }

  static Logger root() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  /** A Secret whose values are planted; {@code allowed}: whether it carries the opt-in label. */
  static void plantedSecret(String name, Map<String, String> data, boolean allowed) {
    VALUES.addAll(data.values().stream().filter(v -> v.startsWith(PLANTED)).toList());
    harness.secret(NS, name, data, allowed);
  }

  // ---- a: a usernameKey that names a password key

  @Test
  @Order(1)
  void aUsernameKeyNamingAPasswordKeyIsRejectedByNameOfSecretAndKeyNeverByValue() {
    String password = PLANTED + "-password-a";
    plantedSecret("opted-in", Map.of("username", ClickHouseServer.USER, "password", password), true);
    ClickHouseConnection c = connection("user-is-password", "opted-in", harness.clickhouse().httpUrl());
    c.getSpec().getCredentials().setUsernameKey("password");
    harness.client().resource(c).create();

    ClickHouseConnection failed = awaitConnection("user-is-password", "AuthenticationFailed");
    assertThat(ready(failed).getMessage()).contains("key \"password\" of Secret \"opted-in\"")
        .doesNotContain(password);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> harness.events(failed).stream()
        .anyMatch(e -> "AuthenticationFailed".equals(e.getReason())));
    assertThat(harness.events(failed)).allSatisfy(e -> assertThat(Serialization.asJson(e)).doesNotContain(password));
    assertThat(LOG).anyMatch(l -> l.contains("AuthenticationFailed") && l.contains("Secret \"opted-in\""))
        .noneMatch(l -> l.contains(password));
  }

  // ---- b: Secrets without the label are neither shown nor sent

  @Test
  @Order(2)
  void aTokenSecretWithoutTheLabelIsNeverSentUntilItsOwnerLabelsIt() throws Exception {
    String token = PLANTED + "-token";
    String other = PLANTED + "-token-other";
    plantedSecret("sa-token", Map.of("token", token, "ca.crt", other), false);
    try (Recorder recorder = new Recorder()) {
      ClickHouseConnection c = connection("steal-token", "sa-token", recorder.httpUrl());
      c.getSpec().getCredentials().setUsernameKey("token");
      c.getSpec().getCredentials().setPasswordKey("ca.crt");
      harness.client().resource(c).create();

      ClickHouseConnection refused = awaitConnection("steal-token", Secrets.NOT_ALLOWED);
      assertThat(ready(refused).getMessage()).contains("Secret \"sa-token\"").contains("spec.credentials.secretName")
          .contains("kubectl label secret sa-token -n " + NS + " housekeeper.dev/allow=true");
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> harness.events(refused).stream()
          .anyMatch(e -> Secrets.NOT_ALLOWED.equals(e.getReason()) && "Warning".equals(e.getType())));
      Thread.sleep(1000); // room for a probe that should not happen
      assertThat(recorder.connections()).as("connections the recorder received").isZero();

      // the control: once its owner labels it, the Secret is used at once, and the recorder sees its values
      harness.client().secrets().inNamespace(NS).withName("sa-token").edit(s -> {
        s.getMetadata().setLabels(Map.of(Secrets.ALLOW_LABEL, "true"));
        return s;
      });
      awaitConnection("steal-token", "AuthenticationFailed");
      String basic = Base64.getEncoder().encodeToString((token + ":" + other).getBytes(StandardCharsets.UTF_8));
      assertThat(recorder.received()).as("what a labelled Secret sends").anyMatch(r -> r.contains(token)
          || r.contains(basic));
    }
  }

  @Test
  @Order(3)
  void aMartSourceSecretWithoutTheLabelIsNeverSent() throws Exception {
    plantedSecret("pg-unlabelled", Map.of("username", PLANTED + "-pg-user", "password", PLANTED + "-pg-password"),
        false);
    try (Recorder recorder = new Recorder()) {
      ReportMart mart = exampleMart();
      mart.getSpec().source.jdbc.url = "jdbc:postgresql://127.0.0.1:" + recorder.port() + "/bionicpro";
      mart.getSpec().source.jdbc.credentialsSecret = "pg-unlabelled";
      harness.client().resource(mart).create();
      ReportMart refused = awaitReady(ReportMart.class, mart.getMetadata().getName(),
          r -> Secrets.NOT_ALLOWED.equals(readyReason(r.getStatus() == null ? null : r.getStatus().getConditions())));
      assertThat(ready(refused.getStatus().getConditions()).getMessage()).contains("Secret \"pg-unlabelled\"")
          .contains("housekeeper.dev/allow=true");
      Thread.sleep(1000);
      assertThat(recorder.connections()).as("connections the recorder received").isZero();
    }
  }

  @Test
  @Order(4)
  void anS3CredentialsSecretWithoutTheLabelIsNeverSent() throws Exception {
    plantedSecret("s3-unlabelled", Map.of("id", PLANTED + "-s3-id", "secret", PLANTED + "-s3-secret"), false);
    try (Recorder recorder = new Recorder()) {
      var storage = Specs.s3(recorder.httpUrl(), "backups", null);
      storage.s3.accessKeyId = new SecretKeyRef("s3-unlabelled", "id");
      storage.s3.secretAccessKey = new SecretKeyRef("s3-unlabelled", "secret");
      harness.client().resource(Specs.backup(NS, "steal-s3", Specs.backupSpec(storage, "default"))).create();
      ClickHouseBackup refused = awaitReady(ClickHouseBackup.class, "steal-s3",
          r -> Secrets.NOT_ALLOWED.equals(readyReason(r.getStatus() == null ? null : r.getStatus().getConditions())));
      assertThat(ready(refused.getStatus().getConditions()).getMessage()).contains("Secret \"s3-unlabelled\"")
          .contains("housekeeper.dev/allow=true");
      Thread.sleep(1000);
      assertThat(recorder.connections()).as("connections the recorder received").isZero();
    }
  }

  /**
   * PostgreSQL names the user it refuses ("password authentication failed for user ..."); when the
   * user is a password read through a usernameKey, the mart's status says neither.
   */
  @Test
  @Order(5)
  void aMartWhoseSourceRefusesTheUserNamesNoValue() throws Exception {
    String login = PLANTED + "-pg-login";
    plantedSecret("pg-opted-in", Map.of("username", login, "password", PLANTED + "-pg-login-password"), true);
    try (PostgresServer pg = new PostgresServer().start()) {
      ReportMart mart = exampleMart();
      mart.getMetadata().setName("refused-pg");
      mart.getSpec().table = "refused_pg";
      mart.getSpec().source.jdbc.url = pg.jdbcUrl();
      mart.getSpec().source.jdbc.credentialsSecret = "pg-opted-in";
      harness.client().resource(mart).create();
      ReportMart failed = awaitReady(ReportMart.class, "refused-pg", r -> r.getStatus() != null
          && r.getStatus().lastRefresh != null && r.getStatus().lastRefresh.error != null);
      assertThat(failed.getStatus().lastRefresh.error).contains("(the user of Secret pg-opted-in, key username)").doesNotContain(login);
    }
  }

  /**
   * A migration's scripts come only from ConfigMaps that opted in: one without the label is not read
   * (its statements would run as the operator's ClickHouse user), and labelling it runs them.
   */
  @Test
  @Order(6)
  void aMigrationConfigMapWithoutTheLabelIsNotReadUntilItsOwnerLabelsIt() {
    harness.clickhouse().sql("DROP DATABASE IF EXISTS exfil_cm; CREATE DATABASE exfil_cm");
    harness.client().configMaps().inNamespace(NS).resource(new ConfigMapBuilder()
        .withNewMetadata().withName("unlabelled-scripts").endMetadata()
        .withData(Map.of("V1__create.sql", "CREATE TABLE t (x UInt8) ENGINE = Memory;")).build()).create();
    ClickHouseMigration m = Specs.migration(NS, "from-unlabelled", "exfil_cm");
    m.getSpec().setConfigMaps(List.of(new ClickHouseMigrationSpec.ConfigMapSource("unlabelled-scripts")));
    harness.client().resource(m).create();
    ClickHouseMigration refused = awaitReady(ClickHouseMigration.class, "from-unlabelled",
        r -> "ValidationError".equals(readyReason(r.getStatus() == null ? null : r.getStatus().getConditions())));
    assertThat(ready(refused.getStatus().getConditions()).getMessage()).contains("\"unlabelled-scripts\"")
        .contains("kubectl label configmap unlabelled-scripts housekeeper.dev/allow=true");
    assertThat(harness.clickhouse().sql("SELECT name FROM system.tables WHERE database = 'exfil_cm'")).isBlank();

    harness.client().configMaps().inNamespace(NS).withName("unlabelled-scripts").edit(cm -> {
      cm.getMetadata().setLabels(Map.of(Secrets.ALLOW_LABEL, "true"));
      return cm;
    });
    awaitReady(ClickHouseMigration.class, "from-unlabelled",
        r -> "True".equals(ready(r.getStatus().getConditions()).getStatus()));
    assertThat(harness.clickhouse().sql("SELECT name FROM system.tables WHERE database = 'exfil_cm'").lines())
        .contains("t");
  }

  /** Finding 2: the operator lists and watches only Secrets and ConfigMaps that opted in. */
  @Test
  @Order(7)
  void everyListAndWatchOfSecretsAndConfigMapsAsksOnlyForOptedInOnes() {
    List<String> requests = harness.api().faults().secretRequests();
    List<String> listsAndWatches = requests.stream()
        .filter(r -> r.startsWith("GET ") && r.matches("GET \\S*/(secrets|configmaps)(\\?.*)?")).toList();
    System.out.printf("Secret and ConfigMap requests: %d, of which lists and watches: %d%n", requests.size(),
        listsAndWatches.size());
    assertThat(listsAndWatches).as("the informers' lists and watches").hasSizeGreaterThanOrEqualTo(2)
        .allMatch(r -> r.contains("labelSelector=housekeeper.dev%2Fallow%3Dtrue"), "has the opt-in label selector");
  }

  // ---- c: the scan

  @Test
  @Order(99)
  void noPlantedValueAppearsInAnyStatusConditionEventMetricOrLogLine() {
    assertThat(VALUES).hasSizeGreaterThanOrEqualTo(7);
    List<String> hits = new ArrayList<>();
    int statuses = 0;
    int conditions = 0;
    for (Class<? extends HasMetadata> kind : List.of(ClickHouseConnection.class, ReportMart.class,
        ClickHouseBackup.class, ClickHouseMigration.class, RetentionPolicy.class,
        dev.housekeeper.api.backup.ClickHouseRestore.class)) {
      for (HasMetadata r : harness.client().resources(kind).inNamespace(NS).list().getItems()) {
        String json = Serialization.asJson(r);
        statuses++;
        conditions += count(json, "\"lastTransitionTime\"");
        scan("status of " + r.getKind() + "/" + r.getMetadata().getName(), json, hits);
      }
    }
    List<Event> events = harness.client().v1().events().inNamespace(NS).list().getItems();
    var newEvents = harness.client().events().v1().events().inNamespace(NS).list().getItems();
    for (Event e : events) {
      scan("Event " + e.getReason() + " on " + e.getInvolvedObject().getName(), Serialization.asJson(e), hits);
    }
    for (var e : newEvents) {
      scan("events.k8s.io Event " + e.getReason(), e.getNote() + " " + Serialization.asJson(e), hits);
    }
    String metrics = harness.http("/metrics").body();
    scan("/metrics", metrics, hits);
    for (String line : LOG) {
      scan("log line", line, hits);
    }
    System.out.printf("secret scan: %d planted values; %d resources, %d conditions, %d + %d Events, %d metric"
        + " lines, %d log lines; %d hits%n", VALUES.size(), statuses, conditions, events.size(), newEvents.size(),
        metrics.lines().count(), LOG.size(), hits.size());
    assertThat(hits).isEmpty();
    assertThat(statuses).isGreaterThanOrEqualTo(5);
    assertThat(conditions).isGreaterThanOrEqualTo(10);
    assertThat(events.size() + newEvents.size()).isGreaterThanOrEqualTo(5);
    assertThat(LOG.size()).isGreaterThanOrEqualTo(5);
  }

  static void scan(String where, String text, List<String> hits) {
    for (String v : VALUES) {
      if (text != null && text.contains(v)) {
        hits.add(where + " holds " + v);
      }
    }
  }

  static int count(String text, String word) {
    int n = 0;
    for (int i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) {
      n++;
    }
    return n;
  }

  // ---- helpers

  static ClickHouseConnection connection(String name, String secret, String endpoint) {
    ClickHouseConnectionSpec spec = new ClickHouseConnectionSpec();
    spec.setEndpoints(List.of(endpoint));
    var creds = new ClickHouseConnectionSpec.Credentials();
    creds.setSecretName(secret);
    spec.setCredentials(creds);
    spec.setConnectTimeout("1s");
    spec.setProbeInterval("10m");
    ClickHouseConnection c = new ClickHouseConnection();
    c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    c.setSpec(spec);
    return c;
  }

  static ClickHouseConnection awaitConnection(String name, String reason) {
    return awaitReady(ClickHouseConnection.class, name,
        c -> reason.equals(readyReason(c.getStatus() == null ? null : c.getStatus().getConditions())));
  }

  static <T extends HasMetadata> T awaitReady(Class<T> kind, String name, Predicate<T> until) {
    try {
      return Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
          .until(() -> harness.client().resources(kind).inNamespace(NS).withName(name).get(),
              r -> r != null && until.test(r));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(kind.getSimpleName() + "/" + name + " timed out: "
          + Serialization.asJson(harness.client().resources(kind).inNamespace(NS).withName(name).get()), e);
    }
  }

  static String readyReason(List<Condition> conditions) {
    return conditions == null ? null : Conditions.find(conditions, Conditions.READY).map(Condition::getReason)
        .orElse(null);
  }

  static Condition ready(ClickHouseConnection c) {
    return ready(c.getStatus().getConditions());
  }

  static Condition ready(List<Condition> conditions) {
    return Conditions.find(conditions, Conditions.READY).orElseThrow();
  }

  /** The example's first mart, in this namespace, on the ready connection. */
  static ReportMart exampleMart() throws IOException {
    Path file = Path.of(System.getProperty("housekeeper.projectDir", "."), "examples/bionicpro/report-marts.yaml");
    try (InputStream in = Files.newInputStream(file)) {
      for (HasMetadata item : harness.client().load(in).items()) {
        if ("ReportMart".equals(item.getKind())) {
          ReportMart m = Serialization.unmarshal(Serialization.asJson(item), ReportMart.class);
          m.getMetadata().setNamespace(NS);
          m.getMetadata().setName("steal-pg");
          m.getSpec().connectionRef = new dev.housekeeper.api.common.ConnectionRef(Specs.CONNECTION);
          return m;
        }
      }
    }
    throw new AssertionError("no ReportMart in " + file);
  }

  /**
   * A TCP server on 127.0.0.1 that keeps every byte each connection sends (HTTP headers, a PostgreSQL
   * startup message) and answers an HTTP request with 401.
   */
  static final class Recorder implements AutoCloseable {
    private final ServerSocket server;
    private final List<String> received = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    Recorder() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      acceptor = new Thread(this::accept, "recorder");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return server.getLocalPort();
    }

    String httpUrl() {
      return "http://127.0.0.1:" + port();
    }

    int connections() {
      return received.size();
    }

    List<String> received() {
      return received;
    }

    private void accept() {
      while (!server.isClosed()) {
        try (Socket s = server.accept()) {
          s.setSoTimeout(500);
          ByteArrayOutputStream bytes = new ByteArrayOutputStream();
          byte[] buf = new byte[8192];
          try {
            for (int n = s.getInputStream().read(buf); n > 0; n = s.getInputStream().read(buf)) {
              bytes.write(buf, 0, n);
              if (bytes.toString(StandardCharsets.ISO_8859_1).contains("\r\n\r\n")) {
                break;
              }
            }
          } catch (SocketTimeoutException e) {
            // a client that waits for an answer: what it sent is recorded
          }
          received.add(bytes.toString(StandardCharsets.ISO_8859_1));
          s.getOutputStream().write(("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
          // closed, or a client that went away
        }
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
