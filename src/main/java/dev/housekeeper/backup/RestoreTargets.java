package dev.housekeeper.backup;

import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.clickhouse.ReplicatedEngine;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * What of a backup a restore takes, and where it goes: the tables and objects {@code spec.tables}
 * selects (less those an earlier attempt of this run restored), each one's target database and name
 * ({@code spec.tableMapping}, else {@code spec.databaseMapping} or {@code spec.targetDatabase}, else
 * its own), the partitions {@code spec.partitions} selects (none with schemaOnly), whether only data
 * is loaded (dataOnly), and the names a view's or dictionary's DDL refers to moved the same way.
 */
final class RestoreTargets {

  /** Where an entry of the backup is restored: a database and a name. */
  record Target(String database, String table) {
    String qualified() {
      return database + "." + table;
    }
  }

  private final Manifest manifest;
  private final List<String> tables;
  private final Set<String> done;
  private final String targetDatabase;
  private final Map<String, String> databaseMapping;
  /** Source {@code db.table} to its target; a target's database is null when the mapping names the table alone. */
  private final Map<String, Target> tableMapping = new LinkedHashMap<>();
  private final ClickHouseRestoreSpec.Partitions partitions;
  private final boolean schemaOnly;
  private final boolean dataOnly;
  /** The databases the backup holds: a reference to one of them moves with it. */
  private final Set<String> databases = new LinkedHashSet<>();

  private RestoreTargets(Manifest manifest, ClickHouseRestoreSpec spec, Set<String> done) {
    this.manifest = manifest;
    this.tables = spec.tables == null ? List.of() : spec.tables;
    this.done = done == null ? Set.of() : done;
    this.targetDatabase = spec.targetDatabase;
    this.databaseMapping = spec.databaseMapping == null ? Map.of() : spec.databaseMapping;
    if (spec.tableMapping != null) {
      spec.tableMapping.forEach((from, to) -> {
        Target source = parse(from); // keyed as the lookups name an entry: database.table, unquoted
        tableMapping.put(source.database() + "." + source.table(), parse(to));
      });
    }
    this.partitions = spec.partitions;
    this.schemaOnly = spec.schemaOnly;
    this.dataOnly = spec.dataOnly;
    entries().forEach(t -> databases.add(t.database));
  }

  /** The restore {@code spec} asks for, of the backup {@code manifest} describes; {@code done}: not again. */
  static RestoreTargets of(Manifest manifest, ClickHouseRestoreSpec spec, Set<String> done) {
    return new RestoreTargets(manifest, spec, done);
  }

  /** Every table (by name, or all when {@code names} is empty) of the backup into one database, with all its data. */
  static RestoreTargets into(Manifest manifest, String database, Collection<String> names) {
    ClickHouseRestoreSpec spec = new ClickHouseRestoreSpec();
    spec.targetDatabase = database;
    spec.tables = names == null ? List.of() : List.copyOf(names);
    return new RestoreTargets(manifest, spec, Set.of());
  }

  /** A mapping's side as written: database.table or a table name, either part back-quoted when it must be. */
  private static Target parse(String written) {
    var name = dev.housekeeper.clickhouse.Identifiers.parseTableName(written);
    return new Target(name.database(), name.table());
  }

  /** The backup's tables (not the inner tables of views) and objects, as entries. */
  private Stream<Manifest.TableEntry> entries() {
    return Stream.concat(manifest.tables.stream().filter(t -> t.innerOf == null),
        manifest.objects.stream().map(RestoreObjects::asEntry));
  }

  /** Whether spec.tables takes the entry (a materialized view's inner table goes with its view). */
  private boolean inScope(Manifest.TableEntry t) {
    return BackupScope.matches(tables, t.database, t.innerOf != null ? t.innerOf : t.table);
  }

  /** Whether the entry is restored by this attempt. */
  boolean selected(Manifest.TableEntry t) {
    return inScope(t) && !done.contains(t.database + "." + t.table);
  }

  /** Where the entry goes. */
  Target target(Manifest.TableEntry t) {
    return target(t.database, t.table);
  }

  Target target(String database, String table) {
    Target mapped = tableMapping.get(database + "." + table);
    if (mapped != null) {
      return new Target(mapped.database() != null ? mapped.database() : database(database), mapped.table());
    }
    return new Target(database(database), table);
  }

  /** The database a source database's entries go to, unless tableMapping says otherwise. */
  String database(String source) {
    String mapped = databaseMapping.get(source);
    return mapped != null ? mapped : targetDatabase != null ? targetDatabase : source;
  }

  /** The partitions of the entry that are loaded: none with schemaOnly, those spec.partitions selects. */
  List<Manifest.PartitionEntry> partitions(Manifest.TableEntry t) {
    if (schemaOnly) {
      return List.of();
    }
    return t.partitions.stream().filter(p -> keeps(p.partitionId)).toList();
  }

  /**
   * Whether the filter keeps the partition. A table without partitions has the one id {@code all},
   * which a filter keeps only when its ids name it (a range is of partition keys).
   */
  private boolean keeps(String id) {
    if (partitions == null) {
      return true;
    }
    if (WHOLE.equals(id)) {
      return partitions.ids != null && partitions.ids.contains(WHOLE);
    }
    return BackupScope.partitions(partitions.ids, partitions.from, partitions.to, null).apply(List.of(id))
        .size() == 1;
  }

  /** The partition id of a table without partitions (and of a table read whole). */
  private static final String WHOLE = "all";

  boolean schemaOnly() {
    return schemaOnly;
  }

  /** Only data is loaded, into tables that exist; nothing is created. */
  boolean dataOnly() {
    return dataOnly;
  }

  /** Whether only some partitions are restored (a partition filter, or schemaOnly). */
  boolean filtersPartitions() {
    return schemaOnly || partitions != null;
  }

  /** A name a view's or dictionary's DDL refers to, moved as the restore moves it: a mapped table, a database of the backup. */
  SchemaText.Ref moved(SchemaText.Ref ref) {
    if (ref.name() != null && (tableMapping.containsKey(ref.database() + "." + ref.name()))) {
      Target to = target(ref.database(), ref.name());
      return new SchemaText.Ref(to.database(), to.table());
    }
    return databases.contains(ref.database()) ? new SchemaText.Ref(database(ref.database()), ref.name()) : ref;
  }

  /**
   * Before anything is touched: every mapping names something the backup holds and spec.tables
   * selects, no two entries go to one name, something is selected, and a partition filter selects
   * some partition.
   */
  void check() throws IOException {
    List<String> held = entries().map(t -> t.database + "." + t.table).toList();
    for (String db : databaseMapping.keySet()) {
      if (!databases.contains(db)) {
        throw new IOException("spec.databaseMapping names database " + db + ", which backup " + manifest.backupId
            + " does not hold; it holds databases " + databases);
      }
    }
    for (String from : tableMapping.keySet()) {
      if (!held.contains(from)) {
        throw new IOException("spec.tableMapping names " + from + ", which backup " + manifest.backupId
            + " does not hold; it holds " + held);
      }
      if (entries().noneMatch(t -> from.equals(t.database + "." + t.table) && inScope(t))) {
        throw new IOException("spec.tableMapping names " + from + ", which spec.tables does not select");
      }
    }
    checkTargets();
    if (partitions != null && !schemaOnly && manifest.tables.stream().filter(this::inScope)
        .flatMap(t -> t.partitions.stream()).noneMatch(p -> keeps(p.partitionId))) {
      Set<String> ids = new TreeSet<>();
      manifest.tables.stream().filter(this::inScope).forEach(t -> t.partitions.forEach(p -> ids.add(p.partitionId)));
      throw new IOException("spec.partitions (" + describe(partitions) + ") selects no partition of backup "
          + manifest.backupId + "; its selected tables have partition ids " + ids);
    }
  }

  /** Two entries restored as one name are refused (a table's shards are one table); at least one entry is selected. */
  private void checkTargets() throws IOException {
    Map<String, String> seen = new HashMap<>();
    boolean any = false;
    for (Manifest.TableEntry t : (Iterable<Manifest.TableEntry>) entries()::iterator) {
      if (!selected(t)) {
        continue;
      }
      any = true;
      String to = target(t).qualified();
      String source = t.database + "." + t.table;
      String before = seen.put(to, source);
      if (before != null && !before.equals(source)) {
        throw new IOException("both " + before + " and " + source + " would be restored as " + to
            + "; restore them separately, narrow spec.tables or map one elsewhere (spec.tableMapping)");
      }
    }
    if (!any) {
      throw new IOException("nothing in backup " + manifest.backupId + " matches spec.tables; it holds "
          + manifest.tables.stream().filter(t -> t.innerOf == null).map(t -> t.database + "." + t.table).toList()
          + (manifest.objects.isEmpty() ? "" : " and " + manifest.objects.stream().map(o -> o.kind + " " + o.database
          + "." + o.name).toList()));
    }
  }

  /** What the restore applies besides its backup, for status. */
  ClickHouseRestoreStatus.Applied applied() {
    var applied = new ClickHouseRestoreStatus.Applied();
    Map<String, String> dbs = new TreeMap<>();
    Map<String, String> renamed = new TreeMap<>();
    int chosen = 0;
    int skipped = 0;
    for (Manifest.TableEntry t : (Iterable<Manifest.TableEntry>) entries()::iterator) {
      if (!inScope(t)) {
        continue;
      }
      String db = database(t.database);
      if (!db.equals(t.database)) {
        dbs.put(t.database, db);
      }
      if (tableMapping.containsKey(t.database + "." + t.table)) {
        renamed.put(t.database + "." + t.table, target(t).qualified());
      }
    }
    for (Manifest.TableEntry t : manifest.tables) { // with the inner tables of views, whose data is restored too
      if (inScope(t)) {
        int kept = partitions(t).size();
        chosen += kept;
        skipped += t.partitions.size() - kept;
      }
    }
    applied.databaseMapping = dbs.isEmpty() ? null : dbs;
    applied.tableMapping = renamed.isEmpty() ? null : renamed;
    applied.partitions = partitions == null ? null : describe(partitions);
    applied.partitionsSelected = chosen;
    applied.partitionsSkipped = skipped;
    applied.schemaOnly = schemaOnly ? true : null;
    applied.dataOnly = dataOnly ? true : null;
    return applied;
  }

  /** A partition filter in words: {@code ids [a, b], from a, to b}. */
  static String describe(ClickHouseRestoreSpec.Partitions p) {
    List<String> words = new ArrayList<>();
    if (p.ids != null && !p.ids.isEmpty()) {
      words.add("ids " + p.ids);
    }
    if (p.from != null) {
      words.add("from " + p.from);
    }
    if (p.to != null) {
      words.add("to " + p.to);
    }
    return words.isEmpty() ? "every partition" : String.join(", ", words);
  }

  /**
   * A replicated table's ZooKeeper path names where its replicas meet: a table restored under another
   * database or name must not meet the original's. The path's segment naming the source database
   * becomes the target's, the last naming the source table becomes the target's; what the path does
   * not name is added to its last segment ({@code .../orders} becomes {@code .../orders-restored}), so
   * that the new path is beside the original's, never under it (dropping the original's last replica
   * removes everything under its path). A path made unique by macros ({uuid}, {database}, {table}) is
   * left as it is for what they cover.
   */
  static String movePath(String ddlBody, String fromDb, String fromTable, String toDb, String toTable) {
    if (fromDb.equals(toDb) && fromTable.equals(toTable)) {
      return ddlBody;
    }
    return ReplicatedEngine.withPath(ddlBody, path -> {
      if (path.contains("{uuid}")) {
        return path;
      }
      List<String> segments = new ArrayList<>(Arrays.asList(path.split("/", -1)));
      StringBuilder appended = new StringBuilder();
      int tableAt = -1;
      if (!fromTable.equals(toTable) && !path.contains("{table}")) {
        tableAt = segments.lastIndexOf(fromTable);
        if (tableAt >= 0) {
          segments.set(tableAt, toTable);
        } else {
          appended.append('-').append(toTable);
        }
      }
      if (!fromDb.equals(toDb) && !path.contains("{database}")) {
        int dbAt = -1;
        for (int i = 0; i < segments.size() && dbAt < 0; i++) {
          dbAt = i != tableAt && segments.get(i).equals(fromDb) ? i : -1;
        }
        if (dbAt >= 0) {
          segments.set(dbAt, toDb);
        } else {
          appended.insert(0, "-" + toDb);
        }
      }
      return String.join("/", segments) + appended;
    });
  }

  /**
   * The ZooKeeper path of a staging table that loads partitions for an existing table: its own,
   * beside the target's, so that it joins neither the target's replicas nor the original's.
   */
  static String stagingPath(String ddlBody, String fromDb, String fromTable, Target target, String staging) {
    String moved = movePath(ddlBody, fromDb, fromTable, target.database(), target.table());
    return ReplicatedEngine.withPath(moved, path -> path + "-" + staging);
  }
}
