package dev.housekeeper.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.housekeeper.testing.ClickHouseServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The convergence benchmark's fair baseline and its ClickHouse breakdown, both read from the
 * server's query log of the operator's run: what the operator sent, grouped by kind, and the
 * statements the resources need (every DDL and INSERT outside the operator's own bookkeeping
 * tables, the user's migrations with the database they ran in), run again directly by
 * {@code clickhouse-client} in as many sessions as the operator used connections.
 */
final class DirectClickHouse {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** The operator's own tables: the migration ledger and lock. */
  private static final Pattern BOOKKEEPING = Pattern.compile("housekeeper_(migrations|locks)");
  private static final Pattern NEEDED = Pattern.compile("^(CREATE|DROP|RENAME|EXCHANGE|ALTER|INSERT|OPTIMIZE|TRUNCATE)\\b");

  /** One statement the operator sent: its text, its query id, its duration on the server. */
  record Logged(String query, String queryId, long durationMs) {

    String kind() {
      String q = query.strip();
      String first = q.split("\\s+", 2)[0].toUpperCase(Locale.ROOT);
      if (BOOKKEEPING.matcher(q).find()) {
        return first + " bookkeeping (ledger, lock)";
      }
      if (q.contains("system.")) {
        int at = q.indexOf("system.");
        return first + " " + q.substring(at, Math.min(q.length(), at + 7 + q.substring(at + 7).split("[^a-z_]", 2)[0]
            .length()));
      }
      return first + (needed() ? " (needed)" : "");
    }

    boolean needed() {
      return NEEDED.matcher(query.strip().toUpperCase(Locale.ROOT)).find() && !BOOKKEEPING.matcher(query).find();
    }
  }

  private DirectClickHouse() {}

  /**
   * How many statements run on the server now, besides this question: sampled while the operator
   * works, the most of them is how many sessions the direct baseline gets.
   */
  static int runningNow(ClickHouseServer ch) {
    try {
      String url = ch.httpUrl() + "/?user=" + ClickHouseServer.USER + "&password=" + ClickHouseServer.PASSWORD
          + "&query=" + java.net.URLEncoder.encode("SELECT count() FROM system.processes WHERE query NOT LIKE"
          + " '%system.processes%'", java.nio.charset.StandardCharsets.UTF_8);
      return Integer.parseInt(HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body().strip());
    } catch (Exception e) {
      throw new IllegalStateException("could not count the server's running statements", e);
    }
  }

  private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newHttpClient();

  /** The server's time now, to read the query log from. */
  static String serverNow(ClickHouseServer ch) {
    return ch.sql("SELECT toString(now())").strip();
  }

  /** What the operator sent since {@code since} (the server's time), in the order the server finished it. */
  static List<Logged> sentSince(ClickHouseServer ch, String since) throws Exception {
    ch.sql("SYSTEM FLUSH LOGS");
    String out = ch.sql("SELECT query, query_id, query_duration_ms FROM system.query_log WHERE type = 2"
        + " AND event_time >= toDateTime('" + since + "') AND interface = 2 ORDER BY event_time FORMAT JSONEachRow");
    List<Logged> sent = new ArrayList<>();
    for (String line : out.split("\n")) {
      if (!line.isBlank()) {
        JsonNode row = JSON.readTree(line);
        sent.add(new Logged(row.get("query").asText(), row.get("query_id").asText(),
            row.get("query_duration_ms").asLong()));
      }
    }
    return sent;
  }

  /** Statements and server time (thread-seconds) per kind, most time first. */
  static Map<String, long[]> byKind(List<Logged> sent) {
    Map<String, long[]> kinds = new HashMap<>();
    for (Logged l : sent) {
      long[] k = kinds.computeIfAbsent(l.kind(), x -> new long[2]);
      k[0]++;
      k[1] += l.durationMs();
    }
    Map<String, long[]> sorted = new LinkedHashMap<>();
    kinds.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]))
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    return sorted;
  }

  /**
   * The needed statements as a client sends them, in groups that must run in order: a migration's
   * statement (sent with the database as a parameter) after a {@code USE} of the database its
   * ledger recorded it in; a mart's statements on its table and its staging table. The first group
   * holds the statements that name no table ({@code CREATE DATABASE}), which {@link #replay} runs
   * before the others. The query log of 18.16 times statements to the second, which cannot order a
   * group's statements; they are put in the order of a first build (create, insert, rename), with
   * every {@code DROP TABLE IF EXISTS} of a staging or old table last: on the fresh databases of the
   * replay those find nothing wherever they run, as they found nothing in the operator's first builds.
   */
  static List<List<String>> needed(List<Logged> sent, Map<String, String> databaseByQueryId) {
    Map<String, List<Logged>> groups = new LinkedHashMap<>();
    List<Logged> databases = new ArrayList<>();
    for (Logged l : sent) {
      if (!l.needed()) {
        continue;
      }
      String db = databaseByQueryId.get(l.queryId());
      java.util.regex.Matcher table = TABLE.matcher(l.query());
      String key = db != null ? db : table.find() ? table.group(1) + "." + table.group(2) : null;
      if (key == null) {
        databases.add(l);
        continue;
      }
      List<Logged> group = groups.computeIfAbsent(key, k -> new ArrayList<>());
      group.add(db == null ? l : new Logged("USE " + db + "; " + l.query().strip(), l.queryId(), l.durationMs()));
    }
    List<List<String>> out = new ArrayList<>();
    out.add(databases.stream().map(l -> l.query().strip()).toList());
    for (List<Logged> group : groups.values()) {
      group.sort(java.util.Comparator.comparing(l -> rank(l.query())));
      out.add(group.stream().map(l -> l.query().strip()).toList());
    }
    return out;
  }

  /** A table named in a statement, {@code `db`.`table`}, a staging or old copy counted as its table. */
  private static final Pattern TABLE = Pattern.compile("`([^`]+)`\\.`([^`]+?)(?:_hk_[a-z]+)?`");

  private static int rank(String query) {
    String q = query.strip().toUpperCase(Locale.ROOT);
    String[] order = {"USE", "CREATE", "INSERT", "RENAME", "EXCHANGE", "DROP TABLE IF EXISTS"};
    for (int i = 0; i < order.length; i++) {
      if (q.startsWith(order[i])) {
        return i;
      }
    }
    return order.length;
  }

  /**
   * Runs the first group in one clickhouse-client, then the others in {@code sessions} of them at
   * once, dealt round-robin; seconds, both counted.
   */
  static double replay(ClickHouseServer ch, List<List<String>> groups, int sessions, Path dir) throws Exception {
    List<StringBuilder> files = new ArrayList<>();
    for (int i = 0; i < sessions; i++) {
      files.add(new StringBuilder());
    }
    for (int i = 1; i < groups.size(); i++) {
      for (String statement : groups.get(i)) {
        files.get(i % sessions).append(statement).append(";\n");
      }
    }
    Path first = dir.resolve("databases.sql");
    Files.writeString(first, String.join(";\n", groups.get(0)) + (groups.get(0).isEmpty() ? "" : ";\n"));
    List<Path> paths = new ArrayList<>();
    for (int i = 0; i < sessions; i++) {
      Path p = dir.resolve("session-" + i + ".sql");
      Files.writeString(p, files.get(i));
      paths.add(p);
    }
    long t0 = System.nanoTime();
    await(List.of(client(ch, first)), dir);
    List<Process> running = new ArrayList<>();
    for (Path p : paths) {
      running.add(client(ch, p));
    }
    await(running, dir);
    return (System.nanoTime() - t0) / 1e9;
  }

  private static Process client(ClickHouseServer ch, Path statements) throws java.io.IOException {
    return new ProcessBuilder("clickhouse-client", "--host", "127.0.0.1", "--port", String.valueOf(ch.tcpPort()),
        "--user", ClickHouseServer.USER, "--password", ClickHouseServer.PASSWORD, "--multiquery")
        .redirectInput(statements.toFile()).redirectErrorStream(true)
        .redirectOutput(statements.resolveSibling(statements.getFileName() + ".out").toFile()).start();
  }

  private static void await(List<Process> running, Path dir) throws InterruptedException {
    for (Process p : running) {
      if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("a direct session failed (exit " + p.exitValue() + "); its statements and"
            + " output are in " + dir);
      }
    }
  }
}
