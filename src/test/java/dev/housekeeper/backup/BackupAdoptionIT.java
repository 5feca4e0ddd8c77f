package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.backup.ClickHouseBackup;
import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseBackupStatus;
import dev.housekeeper.api.backup.ClickHouseBackupStatus.BackupRecord;
import dev.housekeeper.api.backup.ClickHouseRestore;
import dev.housekeeper.api.backup.ClickHouseRestoreStatus;
import dev.housekeeper.api.connection.ClickHouseConnection;
import dev.housekeeper.backup.storage.S3ObjectStore;
import dev.housekeeper.operator.OperatorSettings;
import dev.housekeeper.testing.ChdbServer;
import dev.housekeeper.testing.ClickHouseServer;
import dev.housekeeper.testing.OperatorHarness;
import dev.housekeeper.testing.S3Server;
import dev.housekeeper.testing.Specs;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Backups that outlive the Kubernetes cluster that took them. A real operator on one mock API takes
 * two backups to a real S3 server (s3rver); then every Housekeeper resource is deleted (the backups'
 * data is kept, as by default) and that API and operator are gone. A fresh API and a fresh operator
 * see only the storage: a new ClickHouseBackup on the same prefix lists the old backups as adopted,
 * and a ClickHouseRestore of {@code latest} from the storage location restores the newer one into
 * another database, equal per partition to the original (rows and content hash). On 18.16 (logical
 * backups) and on 26.7 through chDB (native BACKUP to S3).
 */
class BackupAdoptionIT {

  static final String NS = "adopt-it";
  static S3Server s3server;

  /** A server as the connection reaches it, and SQL run on it outside the operator. */
  record Server(String name, String httpUrl, UnaryOperator<String> sql, String method) {
    @Override
    public String toString() {
      return name;
    }

    String tag() {
      return name.replace(".", "");
    }
  }

  static Stream<Arguments> servers() {
    ClickHouseServer old = ClickHouseServer.shared();
    ChdbServer modern = ChdbServer.shared();
    return Stream.of(Arguments.of(new Server("18.16", old.httpUrl(), old::sql, "logical")),
        Arguments.of(new Server("26.7", modern.httpUrl(), modern::sql, "native")));
  }

  @BeforeAll
  static void startStorage() throws Exception {
    s3server = new S3Server("backups").start();
  }

  @AfterAll
  static void stopStorage() {
    s3server.close();
  }

  /** Per partition: rows and an order-independent content hash. */
  static String fingerprint(Server s, String db) {
    return s.sql().apply("SELECT _partition_id, count(), sum(cityHash64(d, id, s)) FROM " + db + ".events"
        + " GROUP BY _partition_id ORDER BY _partition_id");
  }

  /** The cluster's API with the connection and the S3 Secret, before any backup resource. */
  static OperatorHarness cluster(Server s) {
    OperatorHarness h = OperatorHarness.start(OperatorSettings.forTests());
    h.namespace(NS);
    h.readyConnection(NS, Specs.CONNECTION, List.of(s.httpUrl()));
    h.secret(NS, "s3", Map.of("id", S3Server.ACCESS_KEY, "secret", S3Server.SECRET_KEY));
    return h;
  }

  static ClickHouseBackup awaitBackup(OperatorHarness h, String name, Predicate<ClickHouseBackupStatus> condition) {
    try {
      return await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(
          () -> h.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).get(),
          b -> b != null && b.getStatus() != null && condition.test(b.getStatus()));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      var now = h.client().resources(ClickHouseBackup.class).inNamespace(NS).withName(name).get();
      throw new AssertionError("timed out; status " + (now == null ? "(gone)" : Serialization.asJson(now.getStatus())),
          e);
    }
  }

  static void deleteAndAwaitGone(OperatorHarness h, HasMetadata resource) {
    h.client().resource(resource).delete();
    await().atMost(Duration.ofSeconds(60)).until(() -> h.client().resources(resource.getClass()).inNamespace(NS)
        .withName(resource.getMetadata().getName()).get() == null);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void aFreshClusterAdoptsTheBackupsOfALostOneAndRestoresTheLatest(Server s) throws Exception {
    String src = "adopt_src_" + s.tag();
    String dst = "adopt_dst_" + s.tag();
    String prefix = "lost-cluster-" + s.tag();
    s.sql().apply("DROP DATABASE IF EXISTS " + src);
    s.sql().apply("DROP DATABASE IF EXISTS " + dst);
    s.sql().apply("CREATE DATABASE " + src);
    s.sql().apply("CREATE TABLE " + src + ".events (d Date, id UInt64, s String) ENGINE = MergeTree"
        + " PARTITION BY toYYYYMM(d) ORDER BY id");
    s.sql().apply("INSERT INTO " + src + ".events SELECT toDate('2026-01-01') + number % 60, number,"
        + " concat('e', toString(number)) FROM system.numbers LIMIT 30000");

    // the first cluster: one backup when the resource is created, a second one asked for with run-now
    List<BackupRecord> taken;
    String expected;
    try (OperatorHarness first = cluster(s)) {
      ClickHouseBackupSpec spec = Specs.backupSpec(Specs.s3(s3server.endpoint(), "backups", prefix), src);
      spec.method = s.method();
      first.client().resource(Specs.backup(NS, "nightly", spec)).create();
      awaitBackup(first, "nightly", st -> st.completeBackups != null && st.completeBackups == 1);
      // a new partition and more rows in an old one: the second backup differs from the first
      s.sql().apply("INSERT INTO " + src + ".events SELECT toDate('2026-03-20') + number % 20, 100000 + number,"
          + " concat('f', toString(number)) FROM system.numbers LIMIT 8000");
      expected = fingerprint(s, src);
      first.client().resources(ClickHouseBackup.class).inNamespace(NS).withName("nightly").patch(
          PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\""
              + ClickHouseBackup.RUN_NOW_ANNOTATION + "\":\"second\"}}}");
      ClickHouseBackup two = awaitBackup(first, "nightly", st -> st.completeBackups != null
          && st.completeBackups == 2 && st.running == null);
      taken = two.getStatus().backups;
      assertThat(taken).extracting(b -> b.method).containsOnly(s.method());
      assertThat(taken.get(0).rows).isEqualTo(38000);
      assertThat(taken.get(1).rows).isEqualTo(30000);

      // the cluster is lost: every Housekeeper resource goes (the backups' data stays, the default), then the API
      deleteAndAwaitGone(first, two);
      deleteAndAwaitGone(first, first.client().resources(ClickHouseConnection.class).inNamespace(NS)
          .withName(Specs.CONNECTION).get());
    }
    try (S3ObjectStore store = new S3ObjectStore(s3server.endpoint(), "us-east-1", "backups", prefix,
        S3Server.ACCESS_KEY, S3Server.SECRET_KEY, true, S3ObjectStore.MIN_PART)) {
      for (BackupRecord r : taken) {
        assertThat(store.exists(r.id + "/" + Manifest.FILE)).as("kept: " + r.id).isTrue();
      }
      // a backup that was being written when the cluster went: newer than both, never finished. Its
      // object lies directly in its folder because s3rver lists a folder (delimiter /) only by such an
      // object (docs/testing-world.md); S3 and MinIO list it by any object below it
      try (var upload = store.create("nightly-20991231-000000/part-1")) {
        upload.write("half".getBytes(StandardCharsets.UTF_8));
      }
      assertThat(store.children("")).containsExactlyInAnyOrder(taken.get(0).id, taken.get(1).id,
          "nightly-20991231-000000");
    }

    // a fresh cluster: a new API and a new operator, knowing nothing but the storage
    try (OperatorHarness second = cluster(s)) {
      ClickHouseBackupSpec spec = Specs.backupSpec(Specs.s3(s3server.endpoint(), "backups", prefix), src);
      spec.method = s.method();
      spec.schedule = new ClickHouseBackupSpec.Schedule();
      spec.schedule.cron = "0 3 1 1 *"; // no backup when created: what is listed is what was found
      second.client().resource(Specs.backup(NS, "recovered", spec)).create();
      ClickHouseBackup recovered = awaitBackup(second, "recovered", st -> st.adoption != null);
      ClickHouseBackupStatus st = recovered.getStatus();
      assertThat(st.adoption.error).isNull();
      assertThat(st.adoption.adopted).isEqualTo(2);
      assertThat(st.adoption.incomplete).isEqualTo(1);
      assertThat(st.backups).extracting(b -> b.id).containsExactly(taken.get(0).id, taken.get(1).id);
      for (int i = 0; i < 2; i++) {
        BackupRecord found = st.backups.get(i);
        BackupRecord was = taken.get(i);
        assertThat(found.adopted).isTrue();
        assertThat(found.outcome).isEqualTo("Complete");
        assertEquals(was.rows, found.rows, "rows of " + was.id);
        assertEquals(was.storedBytes, found.storedBytes, "stored bytes of " + was.id);
        assertEquals(was.partitions, found.partitions);
        assertEquals(was.tables, found.tables);
        assertEquals(was.manifestSha256, found.manifestSha256, "the same manifest");
        assertEquals(was.location, found.location);
      }
      assertThat(st.lastSuccessful.id).isEqualTo(taken.get(0).id);
      assertThat(st.phase).isEqualTo(ClickHouseBackupStatus.Phase.Succeeded);
      var adopted = await().atMost(Duration.ofSeconds(10)).until(() -> second.events(recovered).stream()
          .filter(e -> "BackupsAdopted".equals(e.getReason())).toList(), e -> !e.isEmpty());
      assertThat(adopted).singleElement().satisfies(e -> assertThat(e.getMessage())
          .contains("Adopted 2 complete backup(s)").contains("1 incomplete (no manifest)"));

      // restore latest from the storage location: the newer backup, beside the original
      var restore = Specs.restore(NS, "from-storage", null, dst);
      restore.getSpec().source.storage = Specs.s3(s3server.endpoint(), "backups", prefix);
      restore.getSpec().source.backupId = "latest";
      second.client().resource(restore).create();
      ClickHouseRestore done;
      try {
        done = await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(
            () -> second.client().resources(ClickHouseRestore.class).inNamespace(NS).withName("from-storage").get(),
            r -> r.getStatus() != null && (r.getStatus().phase == ClickHouseRestoreStatus.Phase.Succeeded
                || r.getStatus().phase == ClickHouseRestoreStatus.Phase.Failed));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError("timed out; status " + Serialization.asJson(second.client()
            .resources(ClickHouseRestore.class).inNamespace(NS).withName("from-storage").get().getStatus()), e);
      }
      assertThat(done.getStatus().phase).as(Serialization.asJson(done.getStatus()))
          .isEqualTo(ClickHouseRestoreStatus.Phase.Succeeded);
      assertThat(done.getStatus().backupId).isEqualTo(taken.get(0).id);
      assertThat(done.getStatus().method).isEqualTo(s.method());
      assertEquals(expected, fingerprint(s, dst), "per partition: rows and content hash of the newer backup");
      assertThat(expected.lines().count()).as("partitions").isEqualTo(4);
    }
  }
}
