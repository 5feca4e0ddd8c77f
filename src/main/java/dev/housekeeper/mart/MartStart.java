package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.mart.ReportMartStatus;
import dev.housekeeper.clickhouse.ClickHouseClient;
import dev.housekeeper.clickhouse.ServerVersion;
import dev.housekeeper.common.Secrets;
import dev.housekeeper.common.WorkExecutor;
import dev.housekeeper.connection.ConnectionResolver;
import dev.housekeeper.connection.ConnectionSettings;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a refresh needs before it goes to the work pool (the source's credentials and address as this
 * operator reaches it, the ClickHouse clients it uses), and the work itself: a {@link MartRefresh}.
 */
final class MartStart {

  private MartStart() {}

  /** What a finished refresh hands back: the refresh for status, and the schema hash of what it built. */
  record Built(ReportMartStatus.Refresh refresh, String schemaHash) {}

  /** The jdbc source's user and password from their Secret; null for a clickhouse source. */
  static MartRefresh.JdbcCredentials credentials(KubernetesClient k8s, String ns, ReportMartSpec spec)
      throws Secrets.Problem {
    var jdbc = spec.source.jdbc;
    if (jdbc == null) {
      return null;
    }
    String field = "spec.source.jdbc.credentialsSecret";
    Secret secret = Secrets.get(k8s, ns, jdbc.credentialsSecret, field);
    return new MartRefresh.JdbcCredentials(Secrets.text(secret, jdbc.usernameKey, field),
        Secrets.text(secret, jdbc.passwordKey, field));
  }

  /** Why a mart on a cluster cannot be built through this connection (it names no cluster); null: it can. */
  static String clusterProblem(ReportMartSpec spec, ConnectionResolver.Resolved conn) {
    String cluster = conn.connection().getSpec().getCluster();
    if (!spec.onCluster || (cluster != null && !cluster.isBlank() && conn.topology() != null)) {
      return null;
    }
    return "spec.onCluster is true but ClickHouseConnection \"" + spec.connectionRef.getName()
        + "\" names no cluster (spec.cluster).";
  }

  /** The refresh to run on the work pool; {@link #clusterProblem} said it can be built. */
  static WorkExecutor.Work<Built> work(ReportMartSpec spec, ConnectionResolver.Resolved conn, String database,
      MartTiming.Plan plan, MartRefresh.JdbcCredentials credentials, Map<String, String> hostAliases, Clock clock) {
    String version = conn.connection().getStatus().getServerVersion();
    boolean exchange = version != null && ServerVersion.parse(version).atLeast(21, 8);
    ReportMartSpec source = aliased(spec, hostAliases);
    String hash = MartSql.schemaHash(spec);
    String cluster = spec.onCluster ? conn.connection().getSpec().getCluster() : null;
    List<ClickHouseClient> replicas = new ArrayList<>();
    if (spec.onCluster) {
      for (var r : conn.topology().replicas) {
        conn.replica(r).ifPresent(replicas::add);
      }
    }
    // on a cluster one node at a time: the build, the checks and the swap see each other's writes
    ClickHouseClient client = spec.onCluster ? conn.pinned() : conn.forJob();
    return progress -> {
      MartRefresh build = new MartRefresh(client, source, database, exchange, credentials, progress, clock);
      if (cluster != null) {
        build.onCluster(cluster, replicas);
      }
      return new Built(build.run(plan.mode(), plan.window(), plan.why()), hash);
    };
  }

  /** The spec with its jdbc URL as this operator reaches the source (the operator's host aliases applied). */
  private static ReportMartSpec aliased(ReportMartSpec spec, Map<String, String> hostAliases) {
    if (spec.source.jdbc == null) {
      return spec;
    }
    String url = ConnectionSettings.aliasJdbc(spec.source.jdbc.url, hostAliases);
    if (url.equals(spec.source.jdbc.url)) {
      return spec;
    }
    ReportMartSpec copy = Serialization.clone(spec);
    copy.source.jdbc.url = url;
    return copy;
  }
}
