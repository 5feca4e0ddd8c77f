package dev.housekeeper.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.housekeeper.clickhouse.ClickHouseException;
import dev.housekeeper.testing.FakeClickHouseClient;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The catalog snapshots previews share: read once per server and database while fresh, forgotten after a run. */
class PreviewCatalogsTest {

  final AtomicLong nanos = new AtomicLong();
  final PreviewCatalogs catalogs = new PreviewCatalogs(nanos::get);
  final FakeClickHouseClient server = new FakeClickHouseClient();
  final PreviewCatalogs.Key shop = new PreviewCatalogs.Key("ns/ch/uid/shard-0", "shop");

  @BeforeEach
  void catalog() {
    server.answer("SELECT name, engine FROM system.tables", List.of(Map.of("name", "events", "engine", "MergeTree")));
    server.answer("sum\\(rows\\) AS rows", List.of(Map.of("table", "events", "partition_id", "202601", "rows", 1,
        "bytes", 1, "uncompressed", 1, "compressed", 1, "parts", 1, "newest", "2026-01-12")));
  }

  int reads() {
    return server.sent("FROM system.parts").size();
  }

  @Test
  void aFreshSnapshotIsSharedAndAnOldOneReadAgain() {
    var first = catalogs.get(shop, server);
    assertThat(first.tables()).containsEntry("events", "MergeTree");
    assertThat(first.partitions().get("events")).extracting(RetentionCatalog.Partition::id).containsExactly("202601");
    nanos.addAndGet(PreviewCatalogs.FRESH.toNanos());
    assertThat(catalogs.get(shop, server)).isSameAs(first);
    assertThat(reads()).isEqualTo(1);
    nanos.addAndGet(1);
    assertThat(catalogs.get(shop, server)).isNotSameAs(first);
    assertThat(reads()).isEqualTo(2);
  }

  @Test
  void anotherDatabaseOrServerIsReadOnItsOwnAndARunForgetsItsDatabase() {
    catalogs.get(shop, server);
    catalogs.get(new PreviewCatalogs.Key("ns/ch/uid/shard-0", "other"), server);
    catalogs.get(new PreviewCatalogs.Key("ns/ch/uid/shard-2", "shop"), server);
    assertThat(reads()).isEqualTo(3);
    catalogs.forget("other");
    catalogs.get(shop, server);
    assertThat(reads()).isEqualTo(3);
    catalogs.forget("shop");
    catalogs.get(shop, server);
    assertThat(reads()).isEqualTo(4);
    catalogs.forgetAll();
    catalogs.get(shop, server);
    assertThat(reads()).isEqualTo(5);
  }

  @Test
  void aFailedReadIsNotSharedTheNextAsksAgain() {
    server.failNext("FROM system.parts", 1, FakeClickHouseClient.failure(ClickHouseException.Kind.CONNECTION,
        "Connection refused"));
    assertThatThrownBy(() -> catalogs.get(shop, server)).isInstanceOf(ClickHouseException.class)
        .hasMessageContaining("Connection refused");
    assertThat(catalogs.get(shop, server).tables()).containsKey("events");
    assertThat(reads()).isEqualTo(2);
  }
}
