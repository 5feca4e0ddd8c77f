package dev.housekeeper.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.clickhouse.ClientConfig;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.ServerCapabilities;
import dev.housekeeper.clickhouse.Sql;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A scripted ClickHouse for the transition tests: answers each statement by the first rule whose
 * pattern it matches (rows, a raw stream, or a failure), records every statement it was sent, and
 * fails any statement no rule answers, so that a test says exactly what the server holds. Real
 * servers stay the truth for SQL; this is the seam for what a reconciler decides.
 */
public final class FakeClickHouseClient implements ClickHouseClient {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One statement as it was sent. */
  public record Sent(String method, String sql, boolean idempotent, String queryId, Duration timeout,
      Map<String, String> settings) {}

  private record Rule(Predicate<String> matches, Function<String, Object> answer, int[] timesLeft) {}

  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  private final List<Sent> sent = new CopyOnWriteArrayList<>();
  private volatile ServerCapabilities capabilities;
  /** What each endpoint answers a probe: null for healthy, else the failure. */
  private volatile Map<String, ClickHouseException> endpointFailures = Map.of();
  private volatile ClientConfig config = ClientConfig.of(List.of("http://fake-clickhouse:8123"), "default", "");

  /** Statements matching {@code regex} (found anywhere, case-insensitive) answer these rows. */
  public FakeClickHouseClient answer(String regex, List<Map<String, ?>> rows) {
    return rule(regex, sql -> rows, -1);
  }

  /** Statements matching {@code regex} answer what {@code rows} makes of the statement. */
  public FakeClickHouseClient answerWith(String regex, Function<String, List<Map<String, ?>>> rows) {
    return rule(regex, rows::apply, -1);
  }

  /** Statements matching {@code regex} succeed with no rows (DDL, ALTER, INSERT ... SELECT). */
  public FakeClickHouseClient accept(String regex) {
    return answer(regex, List.of());
  }

  /** The next {@code times} statements matching {@code regex} fail with {@code failure}; later ones fall through. */
  public FakeClickHouseClient failNext(String regex, int times, ClickHouseException failure) {
    return rule(regex, sql -> failure, times);
  }

  /** Statements matching {@code regex} fail with {@code failure}. */
  public FakeClickHouseClient fail(String regex, ClickHouseException failure) {
    return rule(regex, sql -> failure, -1);
  }

  /** Streamed statements matching {@code regex} give these bytes to the reader. */
  public FakeClickHouseClient stream(String regex, byte[] output) {
    return rule(regex, sql -> output, -1);
  }

  /** The server's version and features, for {@link #capabilities()}. */
  public FakeClickHouseClient capabilities(ServerCapabilities value) {
    this.capabilities = value;
    return this;
  }

  /** Forgets the rules, the statements sent and the probe failures. */
  public void reset() {
    rules.clear();
    sent.clear();
    endpointFailures = Map.of();
  }

  /** Probes of these endpoints fail with these failures; every other endpoint answers. */
  public FakeClickHouseClient probeFailures(Map<String, ClickHouseException> failures) {
    this.endpointFailures = Map.copyOf(failures);
    return this;
  }

  /** A failure of the given kind, as the real client raises it. */
  public static ClickHouseException failure(ClickHouseException.Kind kind, String message) {
    return new ClickHouseException(kind, 0, false, "http://fake-clickhouse:8123", "q", message, null);
  }

  /** Every statement sent, in order. */
  public List<Sent> sent() {
    return List.copyOf(sent);
  }

  /** The texts of the statements sent that match {@code regex}. */
  public List<String> sent(String regex) {
    Pattern p = pattern(regex);
    return sent.stream().map(Sent::sql).filter(s -> p.matcher(s).find()).toList();
  }

  private FakeClickHouseClient rule(String regex, Function<String, Object> answer, int times) {
    Pattern p = pattern(regex);
    rules.add(0, new Rule(s -> p.matcher(s).find(), answer, new int[] {times}));
    return this;
  }

  private static Pattern pattern(String regex) {
    return Pattern.compile(regex, Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
  }

  /** The answer of the newest matching rule (a rule added later overrides an earlier one). */
  private Object answer(String method, Sql sql) {
    sent.add(new Sent(method, sql.text(), sql.idempotent(), sql.queryId(), sql.timeout(), sql.settings()));
    for (Rule rule : rules) {
      if (rule.matches().test(sql.text())) {
        synchronized (rule) {
          if (rule.timesLeft()[0] == 0) {
            continue;
          }
          if (rule.timesLeft()[0] > 0) {
            rule.timesLeft()[0]--;
          }
        }
        Object out = rule.answer().apply(sql.text());
        if (out instanceof ClickHouseException e) {
          throw e;
        }
        return out;
      }
    }
    throw new AssertionError("the fake ClickHouse has no answer for: " + sql.text());
  }

  @Override
  @SuppressWarnings("unchecked")
  public List<Row> query(Sql sql) {
    Object out = answer("query", sql);
    List<Row> rows = new ArrayList<>();
    for (Map<String, ?> row : (List<Map<String, ?>>) out) {
      rows.add(new Row(JSON.valueToTree(row)));
    }
    return rows;
  }

  @Override
  public void execute(Sql sql) {
    answer("execute", sql);
  }

  @Override
  public <T> T stream(Sql sql, String format, StreamReader<T> reader) {
    Object out = answer("stream", sql);
    byte[] bytes = out instanceof byte[] b ? b : rowsAsJsonLines(out);
    try (InputStream in = new ByteArrayInputStream(bytes)) {
      return reader.read(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new ReaderFailure(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static byte[] rowsAsJsonLines(Object rows) {
    StringBuilder out = new StringBuilder();
    for (Map<String, ?> row : (List<Map<String, ?>>) rows) {
      ObjectNode node = JSON.valueToTree(row);
      out.append(node).append('\n');
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void insert(String database, String table, List<String> columns, String format, InputStream data,
      String queryId, Duration timeout) {
    try (data) {
      data.transferTo(OutputStreamSink.INSTANCE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    answer("insert", Sql.command("INSERT INTO ?", Sql.table(database, table)).withQueryId(queryId));
  }

  /** Reads an insert's data to its end, as the server would. */
  private static final class OutputStreamSink extends java.io.OutputStream {
    static final OutputStreamSink INSTANCE = new OutputStreamSink();

    @Override
    public void write(int b) {}

    @Override
    public void write(byte[] b, int off, int len) {}
  }

  @Override
  public boolean cancel(String queryId) {
    sent.add(new Sent("cancel", "KILL QUERY WHERE query_id = '" + queryId + "'", false, queryId, null, Map.of()));
    return false;
  }

  @Override
  public int cancelAll() {
    return 0;
  }

  /** Every endpoint of the configuration, answering or failing as {@link #probeFailures} says; recorded as "probe". */
  @Override
  public List<EndpointProbe> probe() {
    sent.add(new Sent("probe", "probe", true, null, null, Map.of()));
    return config.endpoints().stream().map(endpoint -> {
      ClickHouseException failure = endpointFailures.get(endpoint);
      return new EndpointProbe(endpoint, failure == null, 1, failure == null ? versionText() : null, failure);
    }).toList();
  }

  private String versionText() {
    return capabilities == null ? "26.7.2.1" : String.valueOf(capabilities.version());
  }

  @Override
  public ServerCapabilities capabilities() {
    if (capabilities == null) {
      throw new AssertionError("the fake ClickHouse was given no capabilities");
    }
    return capabilities;
  }

  @Override
  public List<String> breakerStates() {
    return List.of("CLOSED");
  }

  @Override
  public Duration blockedFor() {
    return Duration.ZERO;
  }

  @Override
  public ClientConfig config() {
    return config;
  }

  /** The configuration the operator built this client from (the harness's connection). */
  public FakeClickHouseClient config(ClientConfig value) {
    this.config = value;
    return this;
  }

  @Override
  public void close() {}
}
