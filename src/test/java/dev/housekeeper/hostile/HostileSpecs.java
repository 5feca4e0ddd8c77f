package dev.housekeeper.hostile;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The hostile-input specs: valid base specs of every kind, and the bad inputs generated from them
 * (malicious identifiers, SQL injection, bad cron expressions, durations, numbers, missing
 * references), plus the wrong types and out-of-enum values that an API server refuses before the
 * operator sees them. {@link HostileInputIT} runs the bad inputs through the operator;
 * {@code dev.housekeeper.api.CrdConformanceIT} runs all of them through a real API server.
 */
public final class HostileSpecs {

  static final ObjectMapper JSON = new ObjectMapper();

  private final String endpoint;

  /** The specs, with {@code endpoint} as the ClickHouse HTTP URL of the ClickHouseConnection base spec. */
  public HostileSpecs(String endpoint) {
    this.endpoint = endpoint;
    generate();
  }

  /** The bad inputs that reach the operator (an API server admits them, or only some of them). */
  public List<Case> cases() {
    return cases;
  }

  /** Wrong types and values outside an enum: an API server refuses each with 422 naming the field. */
  public List<Case> wrongTypes() {
    return wrongTypes;
  }

  /** One bad input: which kind, which field, what, and what the message must mention. */
  public record Case(String name, String category, String kind, String field, Map<String, Object> spec, String mention) {}

  /**
   * Names that once looked hostile and are names ClickHouse holds: a spec may give them, and each
   * must act on the object of exactly that name ({@code HostileInputIT} builds a mart and a ledger
   * table named by each).
   */
  public static final List<String> ODD_NAMES = List.of("a'b", "a`b", "a\"b", "x; DROP TABLE hostile_db.keep", "x--",
      "x/*c*/", "x) ENGINE=Log; --", " ", "a b", "1abc", "a-b", "таблица", "表格", "emoji_😀", "x\u200Bx",
      "\u202Eevil", "../../etc/passwd", "$(reboot)", "x' OR '1'='1", "a.b", "a\\`b", "`a`");

  /** What no ClickHouse name can be: empty, a control character, longer than a file name may be. */
  static final List<String> BAD_NAMES = List.of("", "a".repeat(300), "и".repeat(70), "a\u0000b", "a\nb", "\tx");

  /** Table entries (database.table) that do not parse: an unclosed or stray back-quote, an empty part, a stray escape. */
  static final List<String> BAD_ENTRIES = List.of("`open", "`a`b", "a.`b`c", ".t", "db.", "`a\\q`");


  // ---- the valid specs every case starts from

  public Map<String, Object> base(String kind) {
    String json = switch (kind) {
      case "ClickHouseConnection" -> "{\"endpoints\":[\"" + endpoint + "\"],"
          + "\"credentials\":{\"secretName\":\"audited-credentials\"}}";
      case "ClickHouseMigration" -> "{\"connectionRef\":{\"name\":\"good\"},\"database\":\"hostile_db\","
          + "\"migrations\":[{\"version\":1,\"name\":\"t\",\"up\":\"CREATE TABLE t (x UInt8) ENGINE = Memory\"}]}";
      case "RetentionPolicy" -> "{\"connectionRef\":{\"name\":\"good\"},\"database\":\"hostile_db\","
          + "\"tables\":{\"pattern\":\"events_.*\"},\"keep\":\"120M\"}";
      case "ClickHouseBackup" -> "{\"connectionRef\":{\"name\":\"good\"},\"storage\":{\"volume\":{\"path\":"
          + "\"/tmp/hk-hostile-backups\"}},\"scope\":{\"databases\":[\"hostile_db\"]}}";
      case "ClickHouseRestore" -> "{\"connectionRef\":{\"name\":\"good\"},\"source\":{\"storage\":{\"volume\":"
          + "{\"path\":\"/tmp/hk-hostile-backups\"}},\"backupId\":\"b-1\"},\"targetDatabase\":\"hostile_restore\"}";
      case "ReportMart" -> "{\"connectionRef\":{\"name\":\"good\"},\"database\":\"hostile_db\",\"table\":\"m\","
          + "\"columns\":[{\"name\":\"k\",\"type\":\"UInt64\"}],\"orderBy\":\"k\","
          + "\"source\":{\"clickhouse\":{\"query\":\"SELECT 1 AS k\"}}}";
      default -> throw new IllegalArgumentException(kind);
    };
    try {
      @SuppressWarnings("unchecked")
      Map<String, Object> spec = JSON.readValue(json, LinkedHashMap.class);
      return spec;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static final String S3 = "{\"s3\":{\"endpoint\":\"http://127.0.0.1:9\",\"bucket\":\"hostile-bucket\","
      + "\"accessKeyId\":{\"name\":\"s3-keys\",\"key\":\"id\"},\"secretAccessKey\":{\"name\":\"s3-keys\",\"key\":\"secret\"}}}";
  static final String JDBC = "{\"jdbc\":{\"url\":\"jdbc:postgresql://127.0.0.1:9/db\",\"credentialsSecret\":\"pg\","
      + "\"query\":\"SELECT 1 AS k\"}}";

  /** Sets {@code path} (dots and [i]) in a spec; {@code value} null removes it. JSON text values starting with '{' are objects. */
  @SuppressWarnings("unchecked")
  public static void set(Map<String, Object> spec, String path, Object value) {
    String[] parts = path.split("\\.");
    Object node = spec;
    for (int i = 0; i < parts.length; i++) {
      boolean last = i == parts.length - 1;
      Matcher m = Pattern.compile("^([A-Za-z0-9]+)(?:\\[(\\d+)])?$").matcher(parts[i]);
      if (!m.matches()) {
        throw new IllegalArgumentException(path);
      }
      Map<String, Object> map = (Map<String, Object>) node;
      String key = m.group(1);
      if (m.group(2) == null) {
        if (last) {
          if (value == null) {
            map.remove(key);
          } else {
            map.put(key, json(value));
          }
        } else {
          node = map.computeIfAbsent(key, k -> new LinkedHashMap<>());
        }
      } else {
        int index = Integer.parseInt(m.group(2));
        List<Object> list = (List<Object>) map.computeIfAbsent(key, k -> new ArrayList<>());
        while (list.size() <= index) {
          list.add(new LinkedHashMap<>());
        }
        if (last) {
          list.set(index, json(value));
        } else {
          node = list.get(index);
        }
      }
    }
  }

  static Object json(Object value) {
    if (value instanceof String s && s.startsWith("{") && s.endsWith("}")) {
      try {
        return JSON.readValue(s, LinkedHashMap.class);
      } catch (Exception e) {
        return value;
      }
    }
    return value;
  }

  // ---- the cases

  private final List<Case> cases = new ArrayList<>();
  private final List<Case> wrongTypes = new ArrayList<>();

  void add(List<Case> to, String category, String kind, String field, Object value, String mention,
      Consumer<Map<String, Object>> prepare) {
    Map<String, Object> spec = base(kind);
    prepare.accept(spec);
    set(spec, field, value);
    String name = "h" + (cases.size() + wrongTypes.size()) + "-" + kind.toLowerCase().replace("clickhouse", "ch");
    to.add(new Case(name, category, kind, field, spec, mention));
  }

  void add(String category, String kind, String field, Object value) {
    add(cases, category, kind, field, value, mention(field), s -> { });
  }

  /** What a message about {@code field} must name: the field, up to its first list index or its partition filter. */
  public static String mention(String field) {
    String f = "spec." + field.replaceAll("\\[\\d+].*$", "");
    return f.startsWith("spec.scope.partitions") ? "spec.scope.partitions" : f;
  }

  void add(String category, String kind, String field, Object value, Consumer<Map<String, Object>> prepare) {
    add(cases, category, kind, field, value, mention(field), prepare);
  }

  private void generate() {
    // identifiers, in every field that becomes one
    String[][] identifierFields = {
        {"ClickHouseConnection", "spec.database"}, {"ClickHouseMigration", "spec.database"},
        {"ClickHouseMigration", "spec.ledgerTable"}, {"RetentionPolicy", "spec.database"},
        {"RetentionPolicy", "spec.column"}, {"RetentionPolicy", "spec.tables.names[0]"},
        {"RetentionPolicy", "spec.tables.exclude[0]"}, {"RetentionPolicy", "spec.overrides[0].table"},
        {"RetentionPolicy", "spec.overrides[0].column"}, {"ClickHouseBackup", "spec.scope.databases[0]"},
        {"ClickHouseBackup", "spec.scope.tables[0]"}, {"ClickHouseRestore", "spec.targetDatabase"},
        {"ClickHouseRestore", "spec.tables[0]"}, {"ReportMart", "spec.database"}, {"ReportMart", "spec.table"},
        {"ReportMart", "spec.columns[0].name"}};
    for (String[] f : identifierFields) {
      boolean entry = f[1].contains("tables[0]") && !f[1].contains("names");
      for (String bad : entry ? java.util.stream.Stream.concat(BAD_NAMES.stream(), BAD_ENTRIES.stream()).toList()
          : BAD_NAMES) {
        add("identifier", f[0], f[1].substring(5), bad, s -> {
          if (f[1].contains("overrides")) {
            set(s, "overrides[0]", "{\"table\":\"events_1\",\"keep\":\"6M\"}");
          }
        });
      }
    }
    // SQL injection and statements where a query or an expression is expected
    for (String q : List.of("SELECT 1 AS k; DROP TABLE hostile_db.keep", "SELECT 1 AS k;\nDROP DATABASE hostile_db",
        "DROP TABLE hostile_db.keep", "INSERT INTO hostile_db.keep VALUES ('2020-01-01', 1)",
        "ALTER TABLE hostile_db.keep DELETE WHERE 1", "TRUNCATE TABLE hostile_db.keep", "SYSTEM SHUTDOWN",
        "KILL QUERY WHERE 1", "CREATE TABLE hostile_db.evil (x UInt8) ENGINE = Memory",
        "OPTIMIZE TABLE hostile_db.keep FINAL", "RENAME TABLE hostile_db.keep TO hostile_db.gone", "",
        "-- only a comment", "SELECT 1 AS k; SELECT 2")) {
      add("injection", "ReportMart", "source.clickhouse.query", q);
    }
    for (String q : List.of("SELECT 1; DROP TABLE users", "DELETE FROM users", "UPDATE users SET x = 1",
        "COPY users TO PROGRAM 'rm -rf /'")) {
      add("injection", "ReportMart", "source.jdbc.query", q, s -> set(s, "source", JDBC));
    }
    for (String u : List.of("jdbc:postgresql://h/db;DROP", "jdbc:mysql://h/db", "jdbc:postgresql://h/db' OR '1")) {
      add("injection", "ReportMart", "source.jdbc.url", u, s -> set(s, "source", JDBC));
    }
    List<String> expressions = List.of("k; DROP TABLE hostile_db.keep", "k -- x", "k /* x */",
        "k) ENGINE = Log AS SELECT 1 (", "k)", "(k", "k'", "k # x");
    for (String e : expressions) {
      add("injection", "ReportMart", "orderBy", e);
      add("injection", "ReportMart", "partitionBy", e);
    }
    for (String e : List.of("MergeTree; DROP TABLE hostile_db.keep", "Log", "Memory", "MergeTree() -- x",
        "MergeTree() SETTINGS x=1) ; --", "File(TSV, '/etc/passwd')", "URL('http://evil/')")) {
      add("injection", "ReportMart", "engine", e);
    }
    for (String t : List.of("UInt64; DROP TABLE hostile_db.keep", "UInt64 -- x", "UInt64) ENGINE = Log AS SELECT 1 (",
        "String DEFAULT (SELECT 1)", "UInt64 /* */", "", "Nullable(String")) {
      add("injection", "ReportMart", "columns[0].type", t);
    }
    add(cases, "injection", "ReportMart", "settings", "{\"max_threads; DROP TABLE x\":\"1\"}", "spec.settings", s -> { });
    add(cases, "injection", "ReportMart", "settings", "{\"index_granularity\":\"1; DROP TABLE x\"}", "spec.settings",
        s -> { });
    add(cases, "injection", "ReportMart", "settings", "{\"index_granularity\":\"1' OR '1\"}", "spec.settings", s -> { });
    for (String k : List.of("12M; DROP TABLE hostile_db.keep", "12M' OR '1'='1", "-5d", "0d", "999999d", "1e9y", "12",
        "twelve months", "", "12X")) {
      add("injection", "RetentionPolicy", "keep", k);
    }
    for (String p : List.of("events_.*'; DROP TABLE x; --", "(", "[", "x\"", "x`", "x;y")) {
      add("injection", "RetentionPolicy", "tables.pattern", p);
    }
    add(cases, "injection", "RetentionPolicy", "overrides[0].keep", "1M; DROP TABLE x", "spec.overrides",
        s -> set(s, "overrides[0]", "{\"table\":\"events_1\"}"));
    // ("db.t; DROP TABLE x" is a table entry now: the table named "t; DROP TABLE x" in database db)
    for (String t : List.of("~(", "~[", "~x)")) {
      add("injection", "ClickHouseBackup", "scope.tables[0]", t);
    }
    for (String id : List.of("2024'); DROP TABLE x; --", "' OR 1=1")) {
      add("injection", "ClickHouseBackup", "scope.partitions.ids[0]", id);
      add("injection", "ClickHouseBackup", "scope.partitions.from", id);
      add("injection", "ClickHouseBackup", "scope.partitions.to", id);
    }
    for (String p : List.of("relative/path", "/tmp/../../etc", "/tmp/x'; DROP", "", "/tmp/a\nb")) {
      add("injection", "ClickHouseBackup", "storage.volume.path", p);
    }
    for (String d : List.of("x'; DROP", "default) --")) {
      add("injection", "ClickHouseBackup", "storage.volume.clickhouseDisk", d);
    }
    for (String b : List.of("a'b", "", "UPPER", "x")) {
      add("injection", "ClickHouseBackup", "storage.s3.bucket", b, s -> set(s, "storage", S3));
    }
    for (String p : List.of("../x", "/abs", "a'b", "a;b")) {
      add("injection", "ClickHouseBackup", "storage.s3.prefix", p, s -> set(s, "storage", S3));
    }
    for (String e : List.of("javascript:alert(1)", "file:///etc/passwd", "http://", "not a url")) {
      add("injection", "ClickHouseBackup", "storage.s3.endpoint", e, s -> set(s, "storage", S3));
    }
    add("injection", "ClickHouseBackup", "storage.s3.region", "us'; DROP", s -> set(s, "storage", S3));
    add("injection", "ClickHouseBackup", "storage.s3.clickhouseEndpoint", "http://h:1/?query=DROP%20TABLE%20x",
        s -> set(s, "storage", S3));
    add("injection", "ClickHouseBackup", "encryption.keyId", "x'; DROP",
        s -> set(s, "encryption", "{\"keySecret\":\"k\"}"));
    add("injection", "ClickHouseBackup", "method", "rm -rf");
    for (String id : List.of("../../etc", "x'; DROP", "", "-x")) {
      add("injection", "ClickHouseRestore", "source.backupId", id);
    }
    for (String n : List.of("x'; DROP", "UPPER")) {
      add("injection", "ClickHouseRestore", "source.backupName", n, s -> set(s, "source", "{\"backupName\":\"x\"}"));
    }
    for (String e : List.of("http://h:8123/?query=DROP%20TABLE%20x", "ftp://h", "http://", "javascript:alert(1)",
        "http://user:pass@h:8123", "http://h:8123/path; DROP", "not a url", "")) {
      add("injection", "ClickHouseConnection", "endpoints[0]", e);
    }
    for (String c : List.of("x'; DROP", "x y", "", "a`b")) {
      add("injection", "ClickHouseConnection", "cluster", c);
    }
    for (String n : List.of("x'; DROP", "UPPER", "../x")) {
      add("injection", "ClickHouseConnection", "credentials.secretName", n);
    }
    for (String n : List.of("x'); DROP TABLE y; --", "a b", "", "a".repeat(300))) {
      add(cases, "injection", "ClickHouseMigration", "migrations[0].name", n, "name", s -> { });
    }
    // schedules
    List<String> crons = List.of("61 * * * *", "* * *", "*/0 * * * *", "0 0 32 * *", "0 25 * * *", "DROP TABLE x",
        "@every 5x", "* * * * * * * *", "0 0 * * 8", "");
    String[][] cronFields = {{"ClickHouseBackup", "schedule.cron"}, {"RetentionPolicy", "schedule.cron"},
        {"ReportMart", "refresh.schedule.cron"}, {"RetentionPolicy", "optimize.schedule.cron"}};
    for (String[] f : cronFields) {
      for (String c : crons) {
        add(cases, "cron", f[0], f[1], c, "spec." + f[1].substring(0, f[1].lastIndexOf('.')), s -> { });
      }
    }
    String[][] zoneFields = {{"ClickHouseBackup", "schedule"}, {"RetentionPolicy", "schedule"},
        {"ReportMart", "refresh.schedule"}};
    for (String[] f : zoneFields) {
      for (String z : List.of("Mars/Olympus", "UTC'; DROP")) {
        add(cases, "cron", f[0], f[1] + ".timeZone", z, "spec." + f[1], s -> set(s, f[1] + ".cron", "0 3 * * *"));
      }
    }
    // durations
    String[][] durationFields = {{"ClickHouseConnection", "connectTimeout"}, {"ClickHouseConnection", "queryTimeout"},
        {"ClickHouseConnection", "probeInterval"}, {"ClickHouseConnection", "retry.initialBackoff"},
        {"ClickHouseConnection", "retry.maxBackoff"}, {"ClickHouseConnection", "circuitBreaker.openDuration"},
        {"ClickHouseMigration", "lockTimeout"}, {"ClickHouseMigration", "statementTimeout"},
        {"ClickHouseBackup", "retention.maxAge"}};
    for (String[] f : durationFields) {
      for (String d : List.of("-5s", "5 parsecs", "1e9h", "99999999999999999999s", "s", "5s; DROP TABLE x")) {
        add("duration", f[0], f[1], d);
      }
    }
    // numbers: negative, zero where it means nothing, huge
    Object[][] numberFields = {{"ClickHouseConnection", "retry.maxAttempts", List.of(-1, 0, 1000000)},
        {"ClickHouseConnection", "circuitBreaker.failureThreshold", List.of(-1, 0, 100000)},
        {"ClickHouseConnection", "circuitBreaker.successThreshold", List.of(0, 100000)},
        {"ClickHouseBackup", "parallelism", List.of(-1, 0, 100000)},
        {"ClickHouseBackup", "retention.keepLast", List.of(-1, 0, 1000000)},
        {"ClickHouseBackup", "scope.partitions.newest", List.of(-1, 0, 10000000)},
        {"RetentionPolicy", "maxPartitionsPerRun", List.of(-1, 0, 10000000)},
        {"RetentionPolicy", "maxRowsPerRun", List.of(-1, 0)},
        {"RetentionPolicy", "optimize.lastPartitions", List.of(-1, 1000000)},
        {"RetentionPolicy", "optimize.minParts", List.of(0, 1000000)},
        {"ClickHouseMigration", "targetVersion", List.of(-1)},
        {"ClickHouseMigration", "migrations[0].version", List.of(-1, 0)}};
    for (Object[] f : numberFields) {
      for (Object n : (List<?>) f[2]) {
        add(cases, "number", (String) f[0], (String) f[1], n, ((String) f[1]).contains("migrations[0]") ? "version"
            : ((String) f[1]).contains("optimize") ? "spec.optimize" : "spec." + f[1], s -> { });
      }
    }
    for (int n : List.of(-1, 0, 10000000)) {
      add("number", "ReportMart", "source.jdbc.fetchSize", n, s -> set(s, "source", JDBC));
    }
    for (int n : List.of(-1, 0, 100000)) {
      add("number", "ReportMart", "refresh.incremental.periods", n, s -> {
        set(s, "partitionBy", "k");
        set(s, "refresh", "{\"mode\":\"incremental\",\"incremental\":{\"column\":\"k\"}}");
      });
    }
    // missing references
    for (String kind : List.of("ClickHouseMigration", "RetentionPolicy", "ClickHouseBackup", "ClickHouseRestore",
        "ReportMart")) {
      add(cases, "missing-ref", kind, "connectionRef.name", "nope", "nope", s -> { });
      add(cases, "missing-ref", kind, "connectionRef", null, "spec.connectionRef", s -> { });
    }
    for (String kind : List.of("ClickHouseConnection", "ClickHouseMigration", "RetentionPolicy", "ClickHouseBackup",
        "ClickHouseRestore", "ReportMart")) {
      add(cases, "missing-ref", kind, "spec", null, "spec", s -> s.clear());
    }
    add(cases, "missing-ref", "ClickHouseConnection", "credentials.secretName", "nope", "nope", s -> { });
    add(cases, "missing-ref", "ClickHouseRestore", "source.backupName", "nope", "nope",
        s -> set(s, "source", "{\"backupName\":\"x\"}"));
    add(cases, "missing-ref", "ClickHouseBackup", "encryption.keySecret", "nope", "nope", s -> { });
    add(cases, "missing-ref", "ClickHouseBackup", "storage.s3.accessKeyId.name", "nope", "nope",
        s -> set(s, "storage", S3));
    add(cases, "missing-ref", "ReportMart", "source.jdbc.credentialsSecret", "nope", "nope",
        s -> set(s, "source", JDBC));
    add(cases, "missing-ref", "ClickHouseMigration", "configMaps[0].name", "nope", "nope",
        s -> s.remove("migrations"));
    // wrong types: what a real API server refuses before the operator sees it
    Object[][] wrong = {{"ClickHouseConnection", "endpoints", "http://x"}, {"ClickHouseMigration", "migrations", "abc"},
        {"ClickHouseMigration", "migrations[0].version", "one"}, {"RetentionPolicy", "maxPartitionsPerRun", "many"},
        {"ClickHouseBackup", "parallelism", true}, {"ClickHouseBackup", "compression", "rar"},
        {"ClickHouseRestore", "mode", "nuke"}, {"RetentionPolicy", "action", "truncateEverything"},
        {"ReportMart", "columns", "{\"k\":\"UInt64\"}"}, {"ClickHouseConnection", "retry", 5},
        {"RetentionPolicy", "keep", List.of("12M")}, {"RetentionPolicy", "maxPartitionsPerRun", 1e30},
        {"ClickHouseBackup", "retention.keepLast", 3000000000L}, {"ReportMart", "refresh.mode", "sometimes"},
        {"ClickHouseConnection", "loadBalancing", "Chaos"}, {"RetentionPolicy", "tables", "events"}};
    for (Object[] w : wrong) {
      String field = (String) w[1];
      add(wrongTypes, "wrong-type", (String) w[0], field, w[2], "spec." + field,
          s -> { });
    }
  }
}
