package dev.housekeeper.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.housekeeper.hostile.HostileSpecs.Case;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A generated set of bad specs, all created at once against the real operator and ClickHouse:
 * malicious identifiers, SQL injection in every field that reaches SQL, bad cron expressions,
 * durations and numbers, missing references. Each must end with Ready=False, a validation (or
 * not-found) reason, a message that names the field, and a Warning Event; and ClickHouse's
 * query_log must show only read-only metadata queries from the operator's user. The suite prints
 * how many inputs it tried. Wrong types ({@link HostileSpecs#wrongTypes()}) cannot reach an operator
 * through a real API server; {@code dev.housekeeper.api.CrdConformanceIT} checks that a real one
 * refuses each, and how many of these cases it would refuse at admission.
 */
class HostileInputIT {

  static final String NS = "hostile";
  static final String GROUP = "housekeeper.dev/v1alpha1";
  static OperatorHarness harness;
  static ClickHouseServer ch;
  static HostileSpecs specs;
  static List<Case> CASES;
  @BeforeAll
  static void start() {
    harness = OperatorHarness.start();
    ch = harness.clickhouse();
    harness.namespace(NS);
    specs = new HostileSpecs(ch.httpUrl());
    CASES = specs.cases();
    ch.sql("DROP DATABASE IF EXISTS hostile_db; CREATE DATABASE hostile_db;"
        + " CREATE TABLE hostile_db.keep (d Date, x UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY x;"
        + " INSERT INTO hostile_db.keep SELECT toDate('2020-01-01') + number, number FROM system.numbers LIMIT 1000;"
        + " CREATE TABLE hostile_db.events_1 (d Date, x UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY x;"
        + " INSERT INTO hostile_db.events_1 SELECT toDate('2020-01-01') + number, number FROM system.numbers LIMIT 1000");
    harness.secret(NS, "audited-credentials", Map.of("username", ClickHouseServer.AUDITED_USER,
        "password", ClickHouseServer.PASSWORD));
    create(resource("ClickHouseConnection", "good", specs.base("ClickHouseConnection")));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> "True".equals(
        condition(get("ClickHouseConnection", "good"), "status")));
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  // ---- the test

  @Test
  void everyBadSpecEndsInAValidationConditionAndRunsNothingButMetadataReads() throws Exception {
    String since = ch.sql("SELECT toString(now())").strip();
    Thread.sleep(1100); // query_log's event_time has one-second resolution
    for (Case c : CASES) {
      create(resource(c.kind(), c.name(), c.spec()));
    }
    List<String> failures = new ArrayList<>();
    Map<String, Map<String, Object>> statuses = new LinkedHashMap<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
    while (System.nanoTime() < deadline) {
      statuses.clear();
      for (String kind : kinds()) {
        for (GenericKubernetesResource r : harness.client().genericKubernetesResources(GROUP, kind).inNamespace(NS)
            .list().getItems()) {
          statuses.put(kind + "/" + r.getMetadata().getName(), ready(r));
        }
      }
      if (CASES.stream().allMatch(c -> statuses.get(c.kind() + "/" + c.name()) != null)) {
        break;
      }
      Thread.sleep(1000);
    }
    // Events are posted by their own thread, after or beside the status write: wait until each case's Warning is
    // there (or 30 s), not until as many objects have some Event as there are cases (other objects have Events too)
    Map<String, List<Event>> events = Map.of();
    for (int i = 0; i < 30; i++) {
      events = harness.client().v1().events().inNamespace(NS).list().getItems().stream()
          .filter(e -> e.getInvolvedObject() != null)
          .collect(Collectors.groupingBy(e -> e.getInvolvedObject().getKind() + "/" + e.getInvolvedObject().getName()));
      Map<String, List<Event>> seen = events;
      if (CASES.stream().allMatch(c -> {
        Map<String, Object> ready = statuses.get(c.kind() + "/" + c.name());
        return ready == null || eventsOf(seen, c).anyMatch(e -> "Warning".equals(e.getType())
            && String.valueOf(ready.get("reason")).equals(e.getReason()));
      })) {
        break;
      }
      Thread.sleep(1000);
    }
    Map<String, Integer> reasons = new TreeMap<>();
    Map<String, Integer> categories = new TreeMap<>();
    for (Case c : CASES) {
      categories.merge(c.category(), 1, Integer::sum);
      Map<String, Object> ready = statuses.get(c.kind() + "/" + c.name());
      String what = c.name() + " " + c.kind() + " spec." + c.field() + " = " + printable(c);
      if (ready == null) {
        failures.add(what + ": no Ready condition");
        continue;
      }
      String reason = String.valueOf(ready.get("reason"));
      String message = String.valueOf(ready.get("message"));
      reasons.merge(reason, 1, Integer::sum);
      boolean reasonOk = "missing-ref".equals(c.category()) ? reason.equals("ValidationError")
          || reason.endsWith("NotFound") : reason.equals("ValidationError");
      if (!"False".equals(ready.get("status")) || !reasonOk) {
        failures.add(what + ": Ready " + ready.get("status") + " " + reason + ": " + message);
      } else if (!message.contains(c.mention())) {
        failures.add(what + ": the message does not name " + c.mention() + ": " + message);
      } else if (eventsOf(events, c).noneMatch(e ->
          "Warning".equals(e.getType()) && reason.equals(e.getReason()))) {
        failures.add(what + ": no Warning Event " + reason);
      }
    }
    // what reached ClickHouse from the operator's user while all of that happened
    ch.sql("SYSTEM FLUSH LOGS");
    List<String> queries = auditedQueries(since);
    List<String> writes = queries.stream().filter(q -> !readOnlyMetadata(q)).toList();

    System.out.printf("%nhostile-input suite: %d bad specs created (%s); reasons %s;"
            + " %d queries from the operator's user, %d not read-only metadata%n", CASES.size(), categories,
        reasons, queries.size(), writes.size());
    assertThat(failures).as("cases that did not end in a clear validation condition").isEmpty();
    assertThat(writes).as("statements other than read-only metadata queries").isEmpty();
    assertTrue(CASES.size() >= 200, "at least 200 inputs");
    assertEquals(1000, ch.sqlLong("SELECT count() FROM hostile_db.keep"), "the bait table is untouched");
    assertEquals("", ch.sql("SELECT name FROM system.tables WHERE database = 'hostile_db' AND name NOT IN"
        + " ('keep', 'events_1')").strip(), "no table was created");

    // the controls: the same base specs, valid, do run, and their writes show up in the same audit
    String controlsSince = ch.sql("SELECT toString(now())").strip();
    Thread.sleep(1100);
    for (String kind : List.of("ClickHouseMigration", "ReportMart", "RetentionPolicy", "ClickHouseBackup")) {
      create(resource(kind, "control-" + kind.toLowerCase(), specs.base(kind)));
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() ->
        List.of("ClickHouseMigration", "ReportMart", "RetentionPolicy", "ClickHouseBackup").stream().allMatch(k ->
            "True".equals(condition(get(k, "control-" + k.toLowerCase()), "status"))));
    ch.sql("SYSTEM FLUSH LOGS");
    List<String> controlWrites = auditedQueries(controlsSince).stream().filter(q -> !readOnlyMetadata(q)).toList();
    assertThat(controlWrites).as("the audit sees the controls' statements").anyMatch(q -> q.contains("CREATE TABLE"));
    assertEquals(1, ch.sqlLong("SELECT count() FROM hostile_db.m"), "the control mart was built");
  }

  /**
   * Names that once counted as hostile are names ClickHouse holds, and a spec may give them now: a
   * mart and a migration ledger named by each are built, each as the object of exactly that name.
   * What must still hold is that no name becomes another statement: every statement the audited
   * user wrote while they ran has, with its quoted names and its literals blanked, a shape that the
   * controls with plain names also had (so no name ended its quotes and added SQL of its own); the
   * bait table keeps its rows, and no other table or database appears.
   */
  @Test
  void oddNamesActOnTheObjectTheyNameAndNeverBecomeAnotherStatement() throws Exception {
    ch.sql("DROP DATABASE IF EXISTS hostile_odd; CREATE DATABASE hostile_odd");
    String databases = ch.sql("SELECT groupArray(name) FROM (SELECT name FROM system.databases ORDER BY name)");
    String baitTables = ch.sql("SELECT groupArray(name) FROM (SELECT name FROM system.tables WHERE database ="
        + " 'hostile_db' ORDER BY name)");

    String controlsSince = ch.sql("SELECT toString(now())").strip();
    Thread.sleep(1100); // query_log's event_time has one-second resolution
    List<String> controls = createMartAndLedger("odd-control", "plain_mart", "plain_ledger");
    awaitReady(controls, Duration.ofSeconds(60));
    ch.sql("SYSTEM FLUSH LOGS");
    java.util.Set<String> controlShapes = new java.util.TreeSet<>(auditedWritesRaw(controlsSince).stream()
        .map(HostileInputIT::shape).toList());

    String since = ch.sql("SELECT toString(now())").strip();
    Thread.sleep(1100);
    List<String> created = new ArrayList<>();
    List<String> names = HostileSpecs.ODD_NAMES;
    for (int i = 0; i < names.size(); i++) {
      created.addAll(createMartAndLedger("odd-" + i, names.get(i), "ledger " + names.get(i)));
    }
    awaitReady(created, Duration.ofSeconds(180));
    ch.sql("SYSTEM FLUSH LOGS");
    List<String> writes = auditedWritesRaw(since);

    // each resource acted on the object of exactly its name
    for (String name : names) {
      assertEquals(1, ch.sqlLong("SELECT count() FROM hostile_odd." + dev.housekeeper.clickhouse.Identifiers.quote(name)),
          "the mart named " + name);
      assertEquals(1, ch.sqlLong("SELECT count() FROM hostile_odd." + dev.housekeeper.clickhouse.Identifiers.quote(
          "ledger " + name) + " WHERE event = 'applied'"), "the ledger named ledger " + name);
    }
    assertEquals(2L * names.size() + 3, ch.sqlLong("SELECT count() FROM system.tables WHERE database = 'hostile_odd'"),
        "a mart and a ledger per name, the controls' two, and the lock table");
    assertEquals(1000, ch.sqlLong("SELECT count() FROM hostile_db.keep"), "the bait table is untouched");
    assertEquals(baitTables, ch.sql("SELECT groupArray(name) FROM (SELECT name FROM system.tables WHERE database ="
        + " 'hostile_db' ORDER BY name)"), "no table appeared or went in hostile_db");
    assertEquals(databases, ch.sql("SELECT groupArray(name) FROM (SELECT name FROM system.databases ORDER BY name)"));
    List<String> foreign = writes.stream().filter(q -> !controlShapes.contains(shape(q))).toList();
    System.out.printf("%nhostile-input suite: %d odd names as mart and ledger tables; %d statements written, %d"
        + " shapes, %d not among the plain controls' %d shapes%n", names.size(), writes.size(),
        writes.stream().map(HostileInputIT::shape).distinct().count(), foreign.size(), controlShapes.size());
    assertThat(writes).as("the audit sees the odd names' statements").hasSizeGreaterThan(names.size() * 4);
    assertThat(foreign).as("statements whose shape no plain-named control had").isEmpty();
  }

  /** A ReportMart with table {@code table} and a ClickHouseMigration with ledger {@code ledger}, both in hostile_odd. */
  static List<String> createMartAndLedger(String prefix, String table, String ledger) {
    Map<String, Object> mart = specs.base("ReportMart");
    mart.put("database", "hostile_odd");
    mart.put("table", table);
    create(resource("ReportMart", prefix + "-mart", mart));
    Map<String, Object> migration = specs.base("ClickHouseMigration");
    migration.put("database", "hostile_odd");
    migration.put("ledgerTable", ledger);
    HostileSpecs.set(migration, "migrations[0]", "{\"version\":1,\"name\":\"noop\",\"up\":\"SELECT 1\"}");
    create(resource("ClickHouseMigration", prefix + "-mig", migration));
    return List.of("ReportMart/" + prefix + "-mart", "ClickHouseMigration/" + prefix + "-mig");
  }

  static void awaitReady(List<String> resources, Duration atMost) {
    org.awaitility.Awaitility.await().atMost(atMost).pollInterval(Duration.ofMillis(500)).until(() ->
        resources.stream().allMatch(r -> "True".equals(condition(get(r.split("/")[0], r.split("/")[1]), "status"))));
  }

  /** The audited user's statements other than read-only metadata queries, as the server logged them (no escaping). */
  static List<String> auditedWritesRaw(String since) {
    String out = ch.sql("SELECT replaceAll(query, '\\n', ' ') FROM system.query_log WHERE user = '"
        + ClickHouseServer.AUDITED_USER + "' AND type = 1 AND event_time >= toDateTime('" + since + "')"
        + " FORMAT TabSeparatedRaw");
    return out.isBlank() ? List.of() : Stream.of(out.strip().split("\n")).filter(q -> !readOnlyMetadata(q)).toList();
  }

  /**
   * A statement with every back-quoted name, string literal and number blanked: what is left is what
   * the operator wrote, whatever the names.
   */
  static String shape(String query) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < query.length(); i++) {
      char c = query.charAt(i);
      if (c == '`' || c == '\'') {
        int j = i + 1;
        while (j < query.length() && query.charAt(j) != c) {
          j += query.charAt(j) == '\\' ? 2 : 1;
        }
        out.append(c).append('?').append(c);
        i = j;
      } else {
        out.append(c);
      }
    }
    return out.toString().replaceAll("(?<![\\w.])\\d+(?![\\w])", "0").strip();
  }

  static java.util.stream.Stream<Event> eventsOf(Map<String, List<Event>> events, Case c) {
    return events.getOrDefault(c.kind() + "/" + c.name(), List.of()).stream();
  }

  static List<String> auditedQueries(String since) {
    String out = ch.sql("SELECT replaceAll(query, '\\n', ' ') FROM system.query_log WHERE user = '"
        + ClickHouseServer.AUDITED_USER + "' AND type = 1 AND event_time >= toDateTime('" + since + "')");
    return out.isBlank() ? List.of() : List.of(out.strip().split("\n"));
  }

  static final Pattern FROM = Pattern.compile("(?i)\\b(?:FROM|JOIN)\\s+([`\"\\w.]+)");

  /** A SELECT (or EXISTS, SHOW, DESCRIBE) that reads only system tables or no table at all. */
  static boolean readOnlyMetadata(String query) {
    String q = query.strip().replaceAll("^(/\\*.*?\\*/\\s*)+", "");
    String first = q.split("[\\s(]+", 2)[0].toUpperCase();
    if (List.of("EXISTS", "SHOW", "DESCRIBE", "DESC").contains(first)) {
      return true;
    }
    if (!first.equals("SELECT") && !first.equals("WITH")) {
      return false;
    }
    Matcher m = FROM.matcher(q);
    while (m.find()) {
      String table = m.group(1).replace("`", "").replace("\"", "");
      if (!table.startsWith("system.")) {
        return false;
      }
    }
    return true;
  }

  // ---- helpers

  static String printable(Case c) {
    Object v = c.spec();
    String s = String.valueOf(v);
    return s.length() > 120 ? s.substring(0, 120) + "..." : s;
  }

  static List<String> kinds() {
    return List.of("ClickHouseConnection", "ClickHouseMigration", "RetentionPolicy", "ClickHouseBackup",
        "ClickHouseRestore", "ReportMart");
  }

  static GenericKubernetesResource resource(String kind, String name, Map<String, Object> spec) {
    GenericKubernetesResource r = new GenericKubernetesResource();
    r.setApiVersion(GROUP);
    r.setKind(kind);
    r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    if (!spec.isEmpty()) {
      r.setAdditionalProperty("spec", spec);
    }
    return r;
  }

  static void create(GenericKubernetesResource r) {
    harness.client().genericKubernetesResources(GROUP, r.getKind()).inNamespace(NS).resource(r).create();
  }

  static GenericKubernetesResource get(String kind, String name) {
    return harness.client().genericKubernetesResources(GROUP, kind).inNamespace(NS).withName(name).get();
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> ready(GenericKubernetesResource r) {
    if (r == null || !(r.getAdditionalProperties().get("status") instanceof Map<?, ?> status)
        || !(status.get("conditions") instanceof List<?> conditions)) {
      return null;
    }
    return conditions.stream().map(c -> (Map<String, Object>) c).filter(c -> "Ready".equals(c.get("type")))
        .findFirst().orElse(null);
  }

  static String condition(GenericKubernetesResource r, String field) {
    Map<String, Object> ready = ready(r);
    return ready == null ? null : String.valueOf(ready.get(field));
  }
}
