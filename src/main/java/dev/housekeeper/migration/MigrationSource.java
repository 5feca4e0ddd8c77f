package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.SqlSplitter;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.common.Secrets;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Collects a resource's migrations from its inline list and its ConfigMaps, in version order, and
 * says what is wrong with them.
 */
public final class MigrationSource {

  /** {@code V<version>__<name>.sql} or {@code V<version>__<name>.down.sql}. */
  static final Pattern FILE = Pattern.compile("^V(\\d{1,18})__([A-Za-z0-9_.-]{1,200}?)(\\.down)?\\.sql$");

  /** The migrations, or the problems that stop them. */
  public record Collected(List<MigrationScript> scripts, List<String> problems) {}

  private MigrationSource() {}

  /**
   * @param configMaps looks a ConfigMap up by name; null when it does not exist
   */
  public static Collected collect(ClickHouseMigrationSpec spec, Function<String, ConfigMap> configMaps) {
    List<String> problems = new ArrayList<>();
    TreeMap<Long, MigrationScript> byVersion = new TreeMap<>();
    for (ClickHouseMigrationSpec.Migration m : spec.getMigrations() == null ? List.<ClickHouseMigrationSpec.Migration>of()
        : spec.getMigrations()) {
      inline(m, byVersion, problems);
    }
    for (ClickHouseMigrationSpec.ConfigMapSource ref : spec.getConfigMaps() == null
        ? List.<ClickHouseMigrationSpec.ConfigMapSource>of() : spec.getConfigMaps()) {
      ConfigMap cm = configMaps.apply(ref.getName());
      if (cm == null) {
        problems.add("ConfigMap \"" + ref.getName() + "\" does not exist or is not labelled "
            + Secrets.ALLOW_SELECTOR + " (Housekeeper reads only ConfigMaps that opted in; allow one with: "
            + Secrets.howToAllow("configmap", null, ref.getName()) + ")");
        continue;
      }
      fromConfigMap(ref.getName(), cm.getData() == null ? Map.of() : cm.getData(), byVersion, problems);
    }
    if (byVersion.isEmpty() && problems.isEmpty()) {
      problems.add("no migrations: give spec.migrations or spec.configMaps");
    }
    return new Collected(List.copyOf(byVersion.values()), problems);
  }

  private static void inline(ClickHouseMigrationSpec.Migration m, TreeMap<Long, MigrationScript> byVersion,
      List<String> problems) {
    String where = "spec.migrations[version " + m.getVersion() + "]";
    if (m.getVersion() < 1) {
      problems.add(where + ": version must be 1 or more");
      return;
    }
    if (m.getName() == null || !m.getName().matches("^[A-Za-z0-9_.-]{1,200}$")) {
      problems.add(where + ": name must be 1 to 200 letters, digits, '_', '.' or '-'");
    }
    if (m.getUp() == null || SqlSplitter.split(m.getUp()).isEmpty()) {
      problems.add(where + ": 'up' has no statement");
    }
    add(byVersion, new MigrationScript(m.getVersion(), m.getName(), m.getUp() == null ? "" : m.getUp(), m.getDown(),
        "inline"), problems);
  }

  /** The scripts of one ConfigMap: one key per file, {@code V<version>__<name>.sql} and its {@code .down.sql}. */
  private static void fromConfigMap(String cmName, Map<String, String> data, TreeMap<Long, MigrationScript> byVersion,
      List<String> problems) {
    Map<String, String> ups = new TreeMap<>();
    Map<String, String> downs = new HashMap<>();
    Map<String, Long> versions = new HashMap<>();
    for (Map.Entry<String, String> e : data.entrySet()) {
      Matcher f = FILE.matcher(e.getKey());
      if (!f.matches()) {
        problems.add("ConfigMap \"" + cmName + "\": key \"" + e.getKey()
            + "\" is not named V<version>__<name>.sql or V<version>__<name>.down.sql");
        continue;
      }
      String key = f.group(1) + "__" + f.group(2);
      versions.put(key, Long.parseLong(f.group(1)));
      (f.group(3) != null ? downs : ups).put(key, e.getValue());
    }
    for (String key : downs.keySet()) {
      if (!ups.containsKey(key)) {
        problems.add("ConfigMap \"" + cmName + "\": V" + key + ".down.sql has no V" + key + ".sql");
      }
    }
    for (Map.Entry<String, String> up : ups.entrySet()) {
      String name = up.getKey().substring(up.getKey().indexOf("__") + 2);
      if (SqlSplitter.split(up.getValue()).isEmpty()) {
        problems.add("ConfigMap \"" + cmName + "\": V" + up.getKey() + ".sql has no statement");
      }
      add(byVersion, new MigrationScript(versions.get(up.getKey()), name, up.getValue(), downs.get(up.getKey()),
          "configmap/" + cmName), problems);
    }
  }

  private static void add(TreeMap<Long, MigrationScript> byVersion, MigrationScript script, List<String> problems) {
    MigrationScript old = byVersion.putIfAbsent(script.version(), script);
    if (old != null) {
      problems.add("version " + script.version() + " is declared twice (" + old.source() + " \"" + old.name()
          + "\" and " + script.source() + " \"" + script.name() + "\")");
    }
  }
}
