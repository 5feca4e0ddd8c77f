package dev.housekeeper.retention;

import dev.housekeeper.clickhouse.ClickHouseClient;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.LongSupplier;

/**
 * Catalog snapshots that previews share. Every policy of one database on one server reads the same
 * system.tables and system.parts (the whole database's, in two queries), which on a server with many
 * parts is work: 400 policies of one database read them 645 times in the convergence benchmark. A
 * snapshot younger than {@link #FRESH} is used again instead of read again, and policies that ask
 * while it is being read wait for that one read. A run always reads its own catalog; when a run ends,
 * the snapshots of its database are forgotten, so that the preview after it shows what it left.
 */
final class PreviewCatalogs {

  /** How long a snapshot serves the previews of its database: their statistics may be this old. */
  static final Duration FRESH = Duration.ofSeconds(2);

  /** Whose catalog: a server (or shard) of a connection, and a database. */
  record Key(String server, String database) {}

  private record Entry(FutureTask<RetentionCatalog.Snapshot> read, long startedNanos) {}

  private final Map<Key, Entry> entries = new ConcurrentHashMap<>();
  private final LongSupplier nanos;

  PreviewCatalogs() {
    this(System::nanoTime);
  }

  PreviewCatalogs(LongSupplier nanos) {
    this.nanos = nanos;
  }

  /** The snapshot of {@code key}: a fresh one shared, or read now through {@code client}. */
  RetentionCatalog.Snapshot get(Key key, ClickHouseClient client) {
    long now = nanos.getAsLong();
    entries.values().removeIf(e -> now - e.startedNanos() > FRESH.toNanos());
    Entry entry = entries.computeIfAbsent(key, k -> new Entry(
        new FutureTask<>(() -> RetentionCatalog.Snapshot.read(client, k.database())), now));
    entry.read().run(); // the first caller reads; the others find it started or done and wait below
    try {
      return entry.read().get();
    } catch (ExecutionException e) {
      entries.remove(key, entry); // a failed read is not shared: the next preview asks the server again
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the catalog of " + key.database() + " was read", e);
    }
  }

  /** Forgets every snapshot: a run changed a database that is not known here. */
  void forgetAll() {
    entries.clear();
  }

  /** Forgets every snapshot of the database: a run changed it. */
  void forget(String database) {
    entries.keySet().removeIf(k -> k.database().equals(database));
  }
}
