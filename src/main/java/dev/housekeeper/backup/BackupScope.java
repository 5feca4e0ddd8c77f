package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.WorkingTables;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * Which tables and partitions a backup or restore covers. A table entry is a name, or
 * {@code database.name}, or (starting with {@code ~}) a regular expression matched against the
 * whole name (or database.name when it contains a dot).
 */
public final class BackupScope {

  private BackupScope() {}

  /** Thrown for a scope that names what does not exist. */
  public static final class UnknownTable extends Exception {
    public UnknownTable(String message) {
      super(message);
    }
  }

  /** Static checks of table entries. */
  public static List<String> validate(String field, Collection<String> entries) {
    List<String> problems = new ArrayList<>();
    if (entries == null) {
      return problems;
    }
    for (String e : entries) {
      if (e == null || e.isBlank()) {
        problems.add(field + ": empty entry");
      } else if (e.startsWith("~")) {
        try {
          Pattern.compile(e.substring(1));
        } catch (java.util.regex.PatternSyntaxException x) {
          problems.add(field + ": " + e + " is not a regular expression: " + x.getDescription());
        }
      } else {
        for (String part : e.split("\\.", 2)) {
          if (!Identifiers.isValid(part)) {
            problems.add(field + ": " + Identifiers.describe(e) + " is not a table name (or database.table)");
            break;
          }
        }
      }
    }
    return problems;
  }

  /** Whether {@code database.table} matches the entries (no entries: everything). */
  public static boolean matches(Collection<String> entries, String database, String table) {
    if (entries == null || entries.isEmpty()) {
      return true;
    }
    for (String e : entries) {
      if (e.startsWith("~")) {
        Pattern p = Pattern.compile(e.substring(1));
        if (p.matcher(table).matches() || p.matcher(database + "." + table).matches()) {
          return true;
        }
      } else if (e.equals(table) || e.equals(database + "." + table)) {
        return true;
      }
    }
    return false;
  }

  /** Tables to back up: MergeTree-family tables of the databases that the entries match. */
  public static List<LogicalBackup.TableRef> resolve(ClickHouseClient client, List<String> databases,
      List<String> entries, List<String> skipped) throws UnknownTable {
    List<Row> rows = client.query(Sql.query("SELECT database, name, engine FROM system.tables WHERE has(?, database)"
        + " ORDER BY database, name", databases));
    Set<String> existingDbs = new LinkedHashSet<>();
    List<LogicalBackup.TableRef> out = new ArrayList<>();
    Set<String> seenNames = new LinkedHashSet<>();
    for (Row r : rows) {
      String db = r.string("database");
      String name = r.string("name");
      existingDbs.add(db);
      if (WorkingTables.isWorkingTable(name) || name.startsWith(".inner") || !matches(entries, db, name)) {
        continue;
      }
      seenNames.add(name);
      seenNames.add(db + "." + name);
      if (!Identifiers.isValid(name)) {
        skipped.add(db + "." + name + " (name cannot be quoted safely)");
      } else if (!r.string("engine").endsWith("MergeTree")) {
        skipped.add(db + "." + name + " (engine " + r.string("engine") + ")");
      } else {
        out.add(new LogicalBackup.TableRef(db, name));
      }
    }
    List<String> missingDbs = databases.stream().filter(d -> !existingDbs.contains(d)).toList();
    if (!missingDbs.isEmpty()) {
      throw new UnknownTable("database(s) " + missingDbs + " do not exist or have no tables");
    }
    if (entries != null) {
      List<String> missing = entries.stream().filter(e -> !e.startsWith("~") && !seenNames.contains(e)).toList();
      if (!missing.isEmpty()) {
        throw new UnknownTable("table(s) " + missing + " do not exist in " + databases);
      }
    }
    if (out.isEmpty()) {
      throw new UnknownTable("no MergeTree-family table in " + databases + " matches " + (entries == null
          || entries.isEmpty() ? "(all tables)" : entries) + (skipped.isEmpty() ? "" : "; skipped: " + skipped));
    }
    return out;
  }

  /** A partition selector from a filter (null: all partitions). Ids arrive in ascending order. */
  public static UnaryOperator<List<String>> partitions(List<String> ids, String from, String to, Integer newest) {
    return all -> {
      List<String> out = new ArrayList<>();
      for (String id : all) {
        if (ids != null && !ids.isEmpty() && !ids.contains(id)) {
          continue;
        }
        if (from != null && id.compareTo(from) < 0) {
          continue;
        }
        if (to != null && id.compareTo(to) > 0) {
          continue;
        }
        out.add(id);
      }
      if (newest != null && out.size() > newest) {
        return List.copyOf(out.subList(out.size() - newest, out.size()));
      }
      return out;
    };
  }
}
