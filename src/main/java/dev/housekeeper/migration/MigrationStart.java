package dev.housekeeper.migration;

import dev.housekeeper.api.migration.ClickHouseMigration;
import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.common.Durations;
import dev.housekeeper.common.RunTiming;
import dev.housekeeper.connection.ConnectionResolver;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/** What a run is started with: its request (database, scripts, limits, the lock's quorum) and its inputs. */
final class MigrationStart {

  private MigrationStart() {}

  /**
   * What a run depends on besides the ledger, as a hash: the spec's generation, the retry annotation
   * and the versions of the ConfigMaps it reads.
   */
  static String inputs(ClickHouseMigration resource, Function<String, ConfigMap> configMaps) {
    StringBuilder out = new StringBuilder().append(resource.getMetadata().getGeneration());
    out.append('|').append(RunTiming.annotation(resource, ClickHouseMigration.RETRY_ANNOTATION));
    if (resource.getSpec().getConfigMaps() != null) {
      for (var ref : resource.getSpec().getConfigMaps()) {
        ConfigMap cm = configMaps.apply(ref.getName());
        out.append('|').append(ref.getName()).append('@')
            .append(cm == null ? "-" : cm.getMetadata().getResourceVersion());
      }
    }
    return MigrationScript.sha256(out.toString()).substring(0, 16);
  }

  /** The run's request; {@code retry}: the retry annotation's value when it asks for a retry, else null. */
  static MigrationRunner.Request request(ClickHouseMigration resource, ConnectionResolver.Resolved conn,
      List<MigrationScript> scripts, String retry, String inputs, String holder) {
    ClickHouseMigrationSpec spec = resource.getSpec();
    String cluster = spec.isOnCluster() ? conn.connection().getSpec().getCluster() : null;
    return new MigrationRunner.Request(resource.getMetadata().getNamespace() + "/" + resource.getMetadata().getName(),
        database(spec, conn), spec.getLedgerTable(), scripts, spec.getTargetVersion(), spec.isDryRun(),
        spec.isAllowDrift(), retry, inputs, cluster,
        Durations.parse("lockTimeout", spec.getLockTimeout(), Duration.ofSeconds(60)), statementTimeout(spec),
        holder, cluster == null ? null : clusterDdlTimeout(conn, spec), lockQuorum(conn, cluster));
  }

  /** The database migrated: the spec's, else the connection's, else {@code default}. */
  static String database(ClickHouseMigrationSpec spec, ConnectionResolver.Resolved conn) {
    String database = spec.getDatabase() != null ? spec.getDatabase() : conn.connection().getSpec().getDatabase();
    return database == null ? "default" : database;
  }

  private static Duration statementTimeout(ClickHouseMigrationSpec spec) {
    return Durations.parse("statementTimeout", spec.getStatementTimeout(), Duration.ofSeconds(300));
  }

  /**
   * How long an ON CLUSTER statement waits for every node before the run goes on and leaves it to the
   * distributed DDL queue: briefly when the connection already sees a replica down, else up to the
   * statement timeout (at most 180 s, ClickHouse's default).
   */
  private static Duration clusterDdlTimeout(ConnectionResolver.Resolved conn, ClickHouseMigrationSpec spec) {
    var topology = conn.topology();
    boolean someDown = topology != null && topology.replicas.stream()
        .anyMatch(r -> Boolean.FALSE.equals(r.reachable));
    Duration statement = statementTimeout(spec);
    Duration limit = someDown ? Duration.ofSeconds(10) : Duration.ofSeconds(180);
    return statement.compareTo(limit) < 0 ? statement : limit;
  }

  /**
   * The lock table on a cluster is one replication group of every node: a claim counts once a
   * majority of them has it (and at most as many as answer now, or the claim would wait in vain).
   */
  private static int lockQuorum(ConnectionResolver.Resolved conn, String cluster) {
    var topology = conn.topology();
    if (cluster == null || topology == null) {
      return 0;
    }
    int all = topology.replicas.size();
    long up = topology.replicas.stream().filter(r -> Boolean.TRUE.equals(r.reachable)).count();
    return (int) Math.min(all / 2 + 1, Math.max(1, up));
  }
}
