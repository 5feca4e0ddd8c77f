package dev.housekeeper.backup;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A table's partition loads, a few at a time: each is one INSERT stream, parsed by its own server
 * thread. After the first failure the loads not yet begun are left out (the staging table is dropped
 * anyway), and every load has ended when {@link #runAll} returns or throws.
 */
final class RestoreLoads {

  private RestoreLoads() {}

  /** Runs the loads, {@code parallelism} at a time; the rows they loaded, or the first failure. */
  static long runAll(List<Callable<Long>> loads, int parallelism) throws IOException {
    if (parallelism <= 1 || loads.size() <= 1) {
      return oneByOne(loads);
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(parallelism, loads.size()), r -> {
      Thread th = new Thread(r, "restore-load");
      th.setDaemon(true);
      return th;
    });
    try {
      return collect(submitAll(pool, loads));
    } finally {
      pool.shutdown();
    }
  }

  private static long oneByOne(List<Callable<Long>> loads) throws IOException {
    long sum = 0;
    for (var load : loads) {
      try {
        sum += load.call();
      } catch (IOException | RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IOException(e);
      }
    }
    return sum;
  }

  private static List<Future<Long>> submitAll(ExecutorService pool, List<Callable<Long>> loads) {
    AtomicBoolean failed = new AtomicBoolean();
    List<Future<Long>> futures = new ArrayList<>();
    for (var load : loads) {
      futures.add(pool.submit(() -> {
        if (failed.get()) {
          return 0L; // another partition failed: the staging table is dropped anyway
        }
        try {
          return load.call();
        } catch (Exception e) {
          failed.set(true);
          throw e;
        }
      }));
    }
    return futures;
  }

  /** Waits for every load; their sum, or the first failure as it was. */
  private static long collect(List<Future<Long>> futures) throws IOException {
    long sum = 0;
    Exception first = null;
    for (var f : futures) {
      try {
        sum += f.get();
      } catch (ExecutionException e) {
        first = first == null ? (e.getCause() instanceof Exception x ? x : new IOException(e.getCause())) : first;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("the restore was interrupted");
      }
    }
    LogicalBackup.rethrow(first);
    return sum;
  }
}
