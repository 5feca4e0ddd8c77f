package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.SqlLiterals;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Which backed-up objects an object's DDL names, so that the manifest records its dependencies and
 * a restore creates it after them: a view after the view it reads, a materialized view after its
 * source and its TO table, a dictionary after its source table. A name counts as named when it is
 * qualified ({@code db.t}, quoted or bare), follows FROM, JOIN or TO in the object's own database,
 * or is a dictionary source's {@code TABLE 't'} with {@code DB 'db'}. A false match only orders the
 * restore differently; a cycle falls back to retrying.
 */
final class ObjectDependencies {

  private ObjectDependencies() {}

  /** The candidates ({@code database.name}) the DDL of {@code database.name} names, in the candidates' order. */
  static List<String> of(String ddl, String database, String name, Collection<LogicalBackup.TableRef> candidates) {
    SchemaText text = SchemaText.parse(ddl);
    String body = text == null ? ddl : text.rest();
    List<String> out = new ArrayList<>();
    for (LogicalBackup.TableRef c : candidates) {
      if (c.database().equals(database) && c.table().equals(name)) {
        continue;
      }
      if (qualified(c).matcher(body).find() || c.database().equals(database) && unqualified(c).matcher(body).find()
          || dictionarySource(c, database).matcher(body).find()) {
        out.add(c.database() + "." + c.table());
      }
    }
    return out;
  }

  private static String alternatives(String name) {
    String quoted = Pattern.quote(Identifiers.quote(name));
    return Identifiers.isPlain(name) ? "(?:" + quoted + "|" + Pattern.quote(name) + ")" : quoted;
  }

  private static Pattern qualified(LogicalBackup.TableRef c) {
    return Pattern.compile("(?<![\\w.`])" + alternatives(c.database()) + "\\." + alternatives(c.table())
        + "(?![\\w`])");
  }

  private static Pattern unqualified(LogicalBackup.TableRef c) {
    return Pattern.compile("(?i)\\b(?:FROM|JOIN|TO)\\s+" + alternatives(c.table()) + "(?![\\w`.])");
  }

  /** {@code TABLE 't'} with {@code DB 'db'} (or no DB: the dictionary's own database) in a ClickHouse source. */
  private static Pattern dictionarySource(LogicalBackup.TableRef c, String ownDatabase) {
    String table = "TABLE\\s+" + Pattern.quote(SqlLiterals.quoteString(c.table()));
    String db = "DB\\s+" + Pattern.quote(SqlLiterals.quoteString(c.database()));
    String either = "(?is)SOURCE\\s*\\(\\s*CLICKHOUSE\\s*\\((?=[^)]*" + table + ")(?=[^)]*" + db + ")";
    if (c.database().equals(ownDatabase)) {
      either = "(?is)SOURCE\\s*\\(\\s*CLICKHOUSE\\s*\\((?=[^)]*" + table + ")(?:(?=[^)]*" + db + ")|(?![^)]*DB\\s))";
    }
    return Pattern.compile(either);
  }

  /**
   * The entries in an order where each comes after what it depends on (among the entries), keeping
   * the given order otherwise; entries in a cycle, or with no recorded dependencies, keep their place
   * at the end (the restore retries them).
   */
  static <T> List<T> ordered(List<T> entries, java.util.function.Function<T, String> key,
      java.util.function.Function<T, List<String>> dependsOn) {
    Map<String, T> byKey = new LinkedHashMap<>();
    entries.forEach(e -> byKey.put(key.apply(e), e));
    Map<String, Integer> state = new HashMap<>(); // 1: visiting, 2: placed
    List<T> out = new ArrayList<>();
    for (T e : entries) {
      place(e, key, dependsOn, byKey, state, out);
    }
    return out;
  }

  private static <T> void place(T e, java.util.function.Function<T, String> key,
      java.util.function.Function<T, List<String>> dependsOn, Map<String, T> byKey, Map<String, Integer> state,
      List<T> out) {
    String k = key.apply(e);
    if (state.containsKey(k)) {
      return; // placed, or a cycle: its place is where it was first reached
    }
    state.put(k, 1);
    List<String> deps = dependsOn.apply(e);
    for (String d : deps == null ? List.<String>of() : deps) {
      T dep = byKey.get(d);
      if (dep != null) {
        place(dep, key, dependsOn, byKey, state, out);
      }
    }
    state.put(k, 2);
    out.add(e);
  }
}
