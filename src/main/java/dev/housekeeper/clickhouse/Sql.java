package dev.housekeeper.clickhouse;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One statement to send. Built from a template written in code, where each {@code ?} is replaced by
 * the next argument: a value ({@link SqlLiterals#render}) or an identifier made by {@link #id} or
 * {@link #table}. Text from a spec enters only through those two doors, or through
 * {@link #verbatim} for text that is SQL by contract (a migration script, a mart's source query).
 *
 * <p>{@link #idempotent()} says whether the statement may be sent again after a connection broke
 * while it was in flight: reads and {@code IF [NOT] EXISTS} DDL are; most writes are not.
 */
public final class Sql {

  private final String text;
  private final boolean idempotent;
  private final String queryId;
  private final Duration timeout;
  private final java.util.Map<String, String> settings;

  private Sql(String text, boolean idempotent, String queryId, Duration timeout, java.util.Map<String, String> settings) {
    this.text = text;
    this.idempotent = idempotent;
    this.queryId = queryId;
    this.timeout = timeout;
    this.settings = settings;
  }

  /** An identifier argument, validated and quoted. */
  public record Identifier(String quoted) {}

  /**
   * A piece of SQL to pass as an argument, inserted as it is: built by code from a template with the
   * same doors as a statement ({@link #fragment}), a spec's expression or column type that passed its
   * check ({@link #expression}, {@link #type}), an {@code ON CLUSTER} clause, or DDL the server itself
   * reported ({@link #serverDdl}), or a mart's source query as the user wrote it ({@link #userQuery}).
   * It cannot be made from other text.
   */
  public static final class Fragment {
    private final String text;

    private Fragment(String text) {
      this.text = text;
    }

    public String text() {
      return text;
    }

    /** The fragments one after another, {@code separator} between them. */
    public static Fragment join(List<Fragment> parts, String separator) {
      StringBuilder out = new StringBuilder();
      for (Fragment part : parts) {
        if (!out.isEmpty()) {
          out.append(separator);
        }
        out.append(part.text);
      }
      return new Fragment(out.toString());
    }

    @Override
    public String toString() {
      return text;
    }
  }

  /** A fragment from a template written in code, bound like a statement. */
  public static Fragment fragment(String template, Object... args) {
    return new Fragment(bind(template, args));
  }

  /** Nothing: for an optional part of a statement. */
  public static Fragment empty() {
    return new Fragment("");
  }

  /**
   * {@code ON CLUSTER `name`} with a space before it, or nothing when {@code cluster} is null (a single
   * server). The name must pass {@link Identifiers#clusterNameProblem}, the rule the connection's
   * validation applies, and is quoted (a {@code -} needs the quotes).
   */
  public static Fragment onCluster(String cluster) {
    if (cluster == null) {
      return empty();
    }
    String problem = Identifiers.clusterNameProblem(cluster);
    if (problem != null) {
      throw ClickHouseException.invalidInput("cluster " + Identifiers.describe(cluster) + " " + problem);
    }
    return new Fragment(" ON CLUSTER " + Identifiers.quote(cluster));
  }

  /** A spec's expression (ORDER BY, PARTITION BY, an engine) that passes {@link SqlFragments#expressionProblem}. */
  public static Fragment expression(String field, String expression) {
    String problem = SqlFragments.expressionProblem(expression);
    if (problem != null) {
      throw ClickHouseException.invalidInput(field + " " + problem);
    }
    return new Fragment(expression);
  }

  /** A spec's column type that passes {@link SqlFragments#typeProblem}. */
  public static Fragment type(String field, String type) {
    String problem = SqlFragments.typeProblem(type);
    if (problem != null) {
      throw ClickHouseException.invalidInput(field + " " + problem);
    }
    return new Fragment(type);
  }

  /**
   * DDL as the server reported it ({@code SHOW CREATE}, {@code system.tables.create_table_query}, or
   * a backup manifest that recorded it), to run again as it is.
   */
  public static Fragment serverDdl(String ddl) {
    return new Fragment(Objects.requireNonNull(ddl, "ddl"));
  }

  /**
   * An expression or value as the server itself reported it (a table's partition key in
   * system.tables, a partition's value in system.parts), to send back to it as it is.
   */
  public static Fragment serverExpression(String text) {
    return new Fragment(Objects.requireNonNull(text, "expression"));
  }

  /**
   * The user's own query (a mart's source query), taken as it is, to embed in a statement the operator
   * builds ({@code INSERT INTO t (columns) <query>}): the one fragment made of text the user wrote, with
   * the same contract as {@link #verbatim}. It must pass {@link SqlFragments#selectProblem}.
   */
  public static Fragment userQuery(String field, String query) {
    String problem = SqlFragments.selectProblem(query);
    if (problem != null) {
      throw ClickHouseException.invalidInput(field + " " + problem);
    }
    return new Fragment(query);
  }

  /** A validated, quoted identifier to pass as an argument. */
  public static Identifier id(String name) {
    return new Identifier(Identifiers.quote(name));
  }

  /** A validated, quoted {@code database.table} to pass as an argument. */
  public static Identifier table(String database, String table) {
    return new Identifier(Identifiers.qualified(database, table));
  }

  /** A comma-separated list of quoted identifiers. */
  public static Identifier ids(List<String> names) {
    StringBuilder out = new StringBuilder();
    for (String name : names) {
      if (!out.isEmpty()) {
        out.append(", ");
      }
      out.append(Identifiers.quote(name));
    }
    return new Identifier(out.toString());
  }

  /** A read-only statement (retried after a dropped connection). */
  public static Sql query(String template, Object... args) {
    return new Sql(bind(template, args), true, null, null, java.util.Map.of());
  }

  /** A statement that changes something; it is not re-sent after a dropped connection. */
  public static Sql command(String template, Object... args) {
    return new Sql(bind(template, args), false, null, null, java.util.Map.of());
  }

  /** SQL text taken as it is: only for fields whose contract is "a SQL statement". */
  public static Sql verbatim(String sqlText) {
    return new Sql(Objects.requireNonNull(sqlText, "sql"), false, null, null, java.util.Map.of());
  }

  public Sql idempotent(boolean value) {
    return new Sql(text, value, queryId, timeout, settings);
  }

  public Sql withQueryId(String id) {
    return new Sql(text, idempotent, id, timeout, settings);
  }

  public Sql withTimeout(Duration value) {
    return new Sql(text, idempotent, queryId, value, settings);
  }

  /**
   * A server setting sent with this statement (for example log_queries=1). Names must be plain
   * identifiers; values are sent as HTTP parameters, never in the SQL text.
   */
  public Sql withSetting(String name, String value) {
    if (!Identifiers.isPlain(name)) {
      throw ClickHouseException.invalidInput("invalid setting name " + Identifiers.describe(name));
    }
    java.util.Map<String, String> next = new java.util.LinkedHashMap<>(settings);
    next.put(name, value);
    return new Sql(text, idempotent, queryId, timeout, java.util.Map.copyOf(next));
  }

  /** Runs the statement with {@code database} as the current database (validated identifier). */
  public Sql inDatabase(String database) {
    Identifiers.quote(database);
    return withSetting("database", database);
  }

  public java.util.Map<String, String> settings() {
    return settings;
  }

  public String text() {
    return text;
  }

  public boolean idempotent() {
    return idempotent;
  }

  /** The query id to use, or null to let the client make one. */
  public String queryId() {
    return queryId;
  }

  /** The time limit for this statement, or null for the connection's default. */
  public Duration timeout() {
    return timeout;
  }

  @Override
  public String toString() {
    return text;
  }

  static String bind(String template, Object... args) {
    StringBuilder out = new StringBuilder(template.length() + 16 * args.length);
    int next = 0;
    char quote = 0;
    for (int i = 0; i < template.length(); i++) {
      char c = template.charAt(i);
      if (quote != 0) {
        out.append(c);
        if (c == '\\' && i + 1 < template.length()) {
          out.append(template.charAt(++i));
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '`' || c == '"') {
        quote = c;
        out.append(c);
      } else if (c == '?') {
        if (next >= args.length) {
          throw new IllegalArgumentException("more placeholders than arguments in: " + template);
        }
        Object arg = args[next++];
        out.append(arg instanceof Identifier ident ? ident.quoted() : arg instanceof Fragment f ? f.text()
            : SqlLiterals.render(arg));
      } else {
        out.append(c);
      }
    }
    if (next != args.length) {
      throw new IllegalArgumentException("more arguments than placeholders in: " + template);
    }
    return out.toString();
  }
}
