package dev.housekeeper.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.common.HousekeeperStatus;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.api.connection.ClickHouseConnectionSpec;
import dev.housekeeper.api.mart.ReportMart;
import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.api.retention.RetentionPolicy;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import dev.housekeeper.common.Conditions;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.Specs;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.CustomResource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Spec patterns and the small checks through the real operator, on the real 18.16 server. A
 * retention policy and a backup whose table pattern is catastrophic for a backtracking engine
 * ({@code ((a*)*)*b}, with a table named by 150 letters a and {@code _x}: Java 17's engine took 4.5 s
 * for 26 letters, about twice as long for each letter more) do their work; the patterns RE2 cannot take, a mart's injected column
 * type, a probe interval of 0s and a cluster name with a dot end in ValidationError; a cluster name
 * with a hyphen passes the rule and reaches the server. Meanwhile a plain connection becomes Ready.
 */
class PatternHostileIT {

  static final String NS = "pattern-hostile";
  static final String DB = "pattern_hostile";
  /** The backup's database: its own copy of the tables, which the retention policy does not touch. */
  static final String BACKUP_DB = "pattern_hostile_backup";
  /** A name on which {@code ((a*)*)*b} makes a backtracking engine try more ways than it can count. */
  static final String TRAP = "a".repeat(150) + "_x";
  static OperatorHarness harness;
  static ClickHouseServer ch;
  static Path backups;

  @BeforeAll
  static void start() throws Exception {
    harness = OperatorHarness.start();
    ch = harness.clickhouse();
    harness.namespace(NS);
    harness.readyConnection(NS, Specs.CONNECTION);
    for (String db : List.of(DB, BACKUP_DB)) {
      ch.sql("DROP DATABASE IF EXISTS " + db + "; CREATE DATABASE " + db);
      for (String table : List.of("aab", TRAP, "events_1")) {
        ch.sql("CREATE TABLE " + db + ".`" + table + "` (d Date, id UInt64) ENGINE = MergeTree"
            + " PARTITION BY toYYYYMM(d) ORDER BY id");
        StringBuilder values = new StringBuilder();
        for (int m = 0; m < 24; m++) {
          values.append(values.isEmpty() ? "" : ",").append("('")
              .append(LocalDate.now(ZoneOffset.UTC).withDayOfMonth(10).minusMonths(m)).append("', ").append(m).append(")");
        }
        ch.sql("INSERT INTO " + db + ".`" + table + "` VALUES " + values);
      }
    }
    backups = Files.createTempDirectory("hk-pattern-backups-");
  }

  @AfterAll
  static void stop() {
    ch.sql("DROP DATABASE IF EXISTS " + DB + "; DROP DATABASE IF EXISTS " + BACKUP_DB);
    harness.close();
    dev.housekeeper.testing.TempDirs.delete(backups);
  }

  static <T extends CustomResource<?, ? extends HousekeeperStatus>> T awaitStatus(Class<T> kind, String name,
      Function<T, Boolean> done) {
    try {
      return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
          .until(() -> harness.client().resources(kind).inNamespace(NS).withName(name).get(),
              r -> r != null && r.getStatus() != null && done.apply(r));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      T now = harness.client().resources(kind).inNamespace(NS).withName(name).get();
      throw new AssertionError("timed out; status " + (now == null ? "(gone)"
          : io.fabric8.kubernetes.client.utils.Serialization.asJson(now.getStatus())), e);
    }
  }

  static Condition ready(CustomResource<?, ? extends HousekeeperStatus> r) {
    return Conditions.find(r.getStatus().getConditions(), Conditions.READY).orElseThrow();
  }

  static <T extends CustomResource<?, ? extends HousekeeperStatus>> Condition validationError(Class<T> kind,
      String name) {
    T r = awaitStatus(kind, name, x -> Conditions.find(x.getStatus().getConditions(), Conditions.READY)
        .map(c -> "ValidationError".equals(c.getReason())).orElse(false));
    Condition c = ready(r);
    assertThat(c.getStatus()).isEqualTo("False");
    return c;
  }

  static <T extends HasMetadata> T create(T resource) {
    return harness.client().resource(resource).create();
  }

  static RetentionPolicy policy(String name, String pattern) {
    RetentionPolicySpec spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef(Specs.CONNECTION));
    spec.setDatabase(DB);
    RetentionPolicySpec.TableSelector sel = new RetentionPolicySpec.TableSelector();
    sel.setPattern(pattern);
    spec.setTables(sel);
    spec.setKeep("6M");
    spec.setMaxPartitionsPerRun(30);
    RetentionPolicy p = new RetentionPolicy();
    p.setMetadata(Specs.meta(NS, name));
    p.setSpec(spec);
    return p;
  }

  static ClickHouseBackup backup(String name, String entry) {
    ClickHouseBackupSpec spec = Specs.backupSpec(Specs.volume(backups.resolve(name)), BACKUP_DB);
    spec.scope.tables = new ArrayList<>(List.of(entry));
    return Specs.backup(NS, name, spec);
  }

  static long partitions(String table) {
    return ch.sqlLong("SELECT count() FROM system.parts WHERE database = '" + DB + "' AND table = '" + table
        + "' AND active");
  }

  @Test
  void catastrophicPatternsWorkAndWhatRe2RefusesIsAValidationError() {
    long start = System.nanoTime();
    // the catastrophic ones first, then the refused ones, then a plain connection: all at once
    create(policy("catastrophic", "((a*)*)*b"));
    create(backup("catastrophic", "~((a*)*)*b"));
    create(policy("backreference", "(a)\\1"));
    create(backup("lookahead", "~(?=a)a+"));
    harness.readyConnection(NS, "meanwhile");
    long readyMillis = (System.nanoTime() - start) / 1_000_000;

    // asked to run (no schedule) once it is in force, as kubectl annotate does: a merge patch
    awaitStatus(RetentionPolicy.class, "catastrophic", x -> Conditions.isTrue(x.getStatus().getConditions(),
        Conditions.READY));
    harness.client().resources(RetentionPolicy.class).inNamespace(NS).withName("catastrophic").patch(
        io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
        "{\"metadata\":{\"annotations\":{\"" + RetentionPolicy.RUN_NOW_ANNOTATION + "\":\"run-1\"}}}");
    // the policy ran on "aab" alone (the trap does not match: it ends in _x) and dropped its old partitions
    RetentionPolicy p = awaitStatus(RetentionPolicy.class, "catastrophic", x -> "run-1".equals(
        x.getStatus().acknowledgedRunNow) && x.getStatus().lastRun != null && x.getStatus().lastRun.partitionsDroppedCount > 0);
    assertThat(p.getStatus().lastRun.tables).extracting(t -> t.table).containsExactly("aab");
    assertThat(partitions("aab")).isLessThan(24);
    assertThat(partitions(TRAP)).isEqualTo(24);
    assertThat(partitions("events_1")).isEqualTo(24);

    // the backup holds "aab" alone
    ClickHouseBackup b = awaitStatus(ClickHouseBackup.class, "catastrophic",
        x -> x.getStatus().phase == ClickHouseBackupStatus.Phase.Succeeded);
    assertThat(b.getStatus().lastSuccessful.tables).isEqualTo(1);
    assertThat(b.getStatus().lastSuccessful.rows).isEqualTo(24L);

    assertThat(validationError(RetentionPolicy.class, "backreference").getMessage())
        .contains("spec.tables.pattern").contains("RE2").contains("backreference");
    assertThat(validationError(ClickHouseBackup.class, "lookahead").getMessage())
        .contains("spec.scope.tables").contains("RE2").contains("lookahead");
    System.out.println("PatternHostileIT: a second connection Ready " + readyMillis + " ms after the catastrophic specs"
        + " were created; policy and backup done " + (System.nanoTime() - start) / 1_000_000 + " ms after");
  }

  @Test
  void aMartColumnTypeWithAColumnAfterItIsAValidationError() {
    ReportMartSpec spec = new ReportMartSpec();
    spec.connectionRef = new ConnectionRef(Specs.CONNECTION);
    spec.database = DB;
    spec.table = "injected_mart";
    spec.columns = new ArrayList<>(List.of(new ReportMartSpec.Column("k", "UInt64"),
        new ReportMartSpec.Column("v", "Nullable(String), x UInt8 DEFAULT (SELECT 1)")));
    spec.orderBy = "k";
    spec.source = new ReportMartSpec.Source();
    spec.source.clickhouse = new ReportMartSpec.ClickHouseSource();
    spec.source.clickhouse.query = "SELECT 1 AS k, 'x' AS v";
    ReportMart mart = new ReportMart();
    mart.setMetadata(Specs.meta(NS, "injected"));
    mart.setSpec(spec);
    create(mart);
    assertThat(validationError(ReportMart.class, "injected").getMessage())
        .contains("spec.columns[\"v\"].type has ',' at position 17 after the type's end");
    assertThat(harness.events(harness.client().resources(ReportMart.class).inNamespace(NS).withName("injected").get()))
        .anySatisfy(e -> assertThat(e.getReason()).isEqualTo("ValidationError"));
    assertThat(ch.sqlLong("SELECT count() FROM system.tables WHERE database = '" + DB + "' AND name LIKE 'injected%'"))
        .isZero();
  }

  static ClickHouseConnection connection(String name, java.util.function.Consumer<ClickHouseConnectionSpec> more) {
    harness.clickhouseSecret(NS, name + "-credentials");
    ClickHouseConnectionSpec spec = new ClickHouseConnectionSpec();
    spec.setEndpoints(List.of(ch.httpUrl()));
    ClickHouseConnectionSpec.Credentials creds = new ClickHouseConnectionSpec.Credentials();
    creds.setSecretName(name + "-credentials");
    spec.setCredentials(creds);
    more.accept(spec);
    ClickHouseConnection c = new ClickHouseConnection();
    c.setMetadata(Specs.meta(NS, name));
    c.setSpec(spec);
    return create(c);
  }

  @Test
  void probeIntervalZeroAndADottedClusterAreValidationErrorsAndAHyphenReachesTheServer() {
    connection("hot-probe", s -> s.setProbeInterval("0s"));
    connection("dotted", s -> s.setCluster("a.b"));
    connection("hyphen", s -> s.setCluster("a-b"));
    assertThat(validationError(ClickHouseConnection.class, "hot-probe").getMessage())
        .contains("spec.probeInterval: \"0s\" is shorter than the minimum of 1s");
    assertThat(validationError(ClickHouseConnection.class, "dotted").getMessage())
        .contains("spec.cluster").contains("dot");
    // a-b passes the rule, so the server is asked for it: this single server has no such cluster
    ClickHouseConnection hyphen = awaitStatus(ClickHouseConnection.class, "hyphen",
        x -> Conditions.find(x.getStatus().getConditions(), Conditions.READY)
            .map(c -> "ClusterNotFound".equals(c.getReason())).orElse(false));
    assertThat(ready(hyphen).getMessage()).contains("Cluster \"a-b\" is not in the server's remote_servers");
    await().atMost(Duration.ofSeconds(5)).until(() -> harness.events(harness.client()
        .resources(ClickHouseConnection.class).inNamespace(NS).withName("hot-probe").get()).stream()
        .anyMatch(e -> "ValidationError".equals(e.getReason())));
  }
}
