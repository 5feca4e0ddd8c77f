package dev.housekeeper.backup;

import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.Identifiers;
import dev.housekeeper.clickhouse.Row;
import dev.housekeeper.clickhouse.Sql;
import dev.housekeeper.common.SpecPattern;
import dev.housekeeper.common.WorkingTables;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Which tables and partitions a backup or restore covers. A table entry is a name, or
 * {@code database.name} (either part back-quoted as in SQL when it holds a dot:
 * {@link Identifiers#parseTableName}), or (starting with {@code ~}) a regular expression in RE2
 * syntax ({@link SpecPattern}: linear time, whatever the pattern) matched against the whole name,
 * and against database.name.
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
        String problem = SpecPattern.problem(field, e.substring(1));
        if (problem != null) {
          problems.add(problem);
        }
      } else {
        try {
          Identifiers.parseTableName(e);
        } catch (IllegalArgumentException x) {
          problems.add(field + ": " + Identifiers.describe(e) + " is not a table name (or database.table): it "
              + x.getMessage());
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
        SpecPattern p = SpecPattern.compile("table entry " + e, e.substring(1));
        if (p.matches(table) || p.matches(database + "." + table)) {
          return true;
        }
      } else if (Identifiers.parseTableName(e).names(database, table)) {
        return true;
      }
    }
    return false;
  }

  /** What an object in a backup is: it decides how it is backed up and when it is restored. */
  public enum Kind {
    /** A table with data: a MergeTree by partition, a Log-family or Memory table whole. */
    table,
    /** A table whose engine holds nothing Housekeeper reads (Distributed, Null, Set, Join, Buffer ...): DDL only. */
    schemaOnlyTable,
    dictionary,
    view,
    materializedView,
    /** A user-defined SQL function: the server's, not a database's; backed up unless kinds leaves it out. */
    function,
    /** Users, roles, grants, row policies, quotas, settings profiles: backed up only when kinds names this. */
    accessEntity
  }

  /** Engines whose data is read whole by SELECT (they have no partitions). */
  static final Set<String> WHOLE = Set.of("Log", "TinyLog", "StripeLog", "Memory");

  /** An object to back up by its DDL alone. */
  public record ObjectRef(String database, String name, Kind kind, String engine) {}

  /**
   * What a backup covers: the tables with data (those read whole among them; the inner tables of
   * materialized views, named by their view), and the other objects in the order they are restored.
   */
  public record Found(List<LogicalBackup.TableRef> tables, Set<LogicalBackup.TableRef> whole,
      java.util.Map<LogicalBackup.TableRef, String> innerOf, List<ObjectRef> objects) {}

  /** The objects of the databases that the entries match, of every kind. */
  public static Found resolve(ClickHouseClient client, List<String> databases, List<String> entries,
      List<String> skipped) throws UnknownTable {
    return resolve(client, databases, entries, List.of(), skipped);
  }

  /** The objects of the databases that the entries match, of the kinds given (none: every kind). */
  public static Found resolve(ClickHouseClient client, List<String> databases, List<String> entries,
      List<String> kinds, List<String> skipped) throws UnknownTable {
    Found all = resolveAll(client, databases, entries, skipped);
    if (kinds == null || kinds.isEmpty()) {
      return all;
    }
    // a materialized view's inner table goes with its view, not with the tables
    List<LogicalBackup.TableRef> tables = all.tables().stream().filter(t -> all.innerOf().containsKey(t)
        ? kinds.contains(Kind.materializedView.name()) : kinds.contains(Kind.table.name())).toList();
    List<ObjectRef> objects = all.objects().stream().filter(o -> kinds.contains(o.kind().name())).toList();
    boolean serverKinds = kinds.stream().anyMatch(k -> k.equals(Kind.function.name())
        || k.equals(Kind.accessEntity.name()));
    if (tables.isEmpty() && objects.isEmpty() && !serverKinds) {
      throw new UnknownTable("nothing of the kinds " + kinds + " in " + databases);
    }
    return new Found(tables, all.whole(), all.innerOf(), objects);
  }

  private static Found resolveAll(ClickHouseClient client, List<String> databases, List<String> entries,
      List<String> skipped) throws UnknownTable {
    List<Row> rows = tables(client, databases);
    Set<String> existingDbs = new LinkedHashSet<>();
    java.util.Map<String, String> viewByInner = innerTables(rows);
    List<LogicalBackup.TableRef> out = new ArrayList<>();
    Set<LogicalBackup.TableRef> whole = new LinkedHashSet<>();
    java.util.Map<LogicalBackup.TableRef, String> innerOf = new java.util.LinkedHashMap<>();
    List<ObjectRef> objects = new ArrayList<>();
    Set<LogicalBackup.TableRef> seen = new LinkedHashSet<>();
    for (Row r : rows) {
      String db = r.string("database");
      String name = r.string("name");
      String engine = r.string("engine");
      existingDbs.add(db);
      String view = viewByInner.get(db + "." + name);
      String matchedName = view != null ? view : name;
      if (WorkingTables.isWorkingTable(name) || !matches(entries, db, matchedName)) {
        continue;
      }
      var ref = new LogicalBackup.TableRef(db, name);
      seen.add(ref);
      if (!Identifiers.isQuotable(name)) {
        skipped.add(db + "." + name + " (a name ClickHouse itself cannot hold)");
      } else if (name.startsWith(".inner") && view == null) {
        skipped.add(db + "." + name + " (the inner table of a view that is gone)");
      } else if (engine.endsWith("MergeTree") || WHOLE.contains(engine)) {
        out.add(ref);
        if (WHOLE.contains(engine)) {
          whole.add(ref);
        }
        if (view != null) {
          innerOf.put(ref, view);
        }
      } else {
        objects.add(new ObjectRef(db, name, kind(engine), engine));
      }
    }
    List<String> missingDbs = databases.stream().filter(d -> !existingDbs.contains(d)).toList();
    if (!missingDbs.isEmpty()) {
      throw new UnknownTable("database(s) " + missingDbs + " do not exist or have no tables");
    }
    if (entries != null) {
      List<String> missing = entries.stream().filter(e -> !e.startsWith("~")).filter(e -> seen.stream()
          .noneMatch(t -> Identifiers.parseTableName(e).names(t.database(), t.table()))).toList();
      if (!missing.isEmpty()) {
        throw new UnknownTable("table(s) " + missing + " do not exist in " + databases);
      }
    }
    if (out.isEmpty() && objects.isEmpty()) {
      throw new UnknownTable("nothing in " + databases + " matches " + (entries == null || entries.isEmpty()
          ? "(all tables)" : entries) + (skipped.isEmpty() ? "" : "; skipped: " + skipped));
    }
    objects.sort(java.util.Comparator.comparing(o -> o.kind().ordinal()));
    return new Found(out, whole, innerOf, objects);
  }

  private static Kind kind(String engine) {
    return switch (engine) {
      case "View" -> Kind.view;
      case "MaterializedView" -> Kind.materializedView;
      case "Dictionary" -> Kind.dictionary;
      default -> Kind.schemaOnlyTable;
    };
  }

  /**
   * The databases' tables with their uuid where the server has one (Atomic databases name a view's
   * inner table by it; 18.16 has no uuid column and names it {@code .inner.<view>}).
   */
  private static List<Row> tables(ClickHouseClient client, List<String> databases) {
    try {
      return client.query(Sql.query("SELECT database, name, engine, toString(uuid) AS uuid FROM system.tables"
          + " WHERE has(?, database) ORDER BY database, name", databases));
    } catch (dev.housekeeper.clickhouse.ClickHouseException e) {
      return client.query(Sql.query("SELECT database, name, engine, '' AS uuid FROM system.tables"
          + " WHERE has(?, database) ORDER BY database, name", databases));
    }
  }

  /** {@code database.innerTable} to the materialized view that owns it. */
  private static java.util.Map<String, String> innerTables(List<Row> rows) {
    java.util.Map<String, String> out = new java.util.HashMap<>();
    for (Row r : rows) {
      if ("MaterializedView".equals(r.string("engine"))) {
        String db = r.string("database");
        out.put(db + "." + innerTableName(r.string("name"), r.string("uuid")), r.string("name"));
      }
    }
    return out;
  }

  /** The inner table of a materialized view: {@code .inner_id.<uuid>} in an Atomic database, else {@code .inner.<view>}. */
  static String innerTableName(String view, String uuid) {
    boolean atomic = uuid != null && !uuid.isEmpty() && !uuid.equals("00000000-0000-0000-0000-000000000000");
    return atomic ? ".inner_id." + uuid : ".inner." + view;
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
