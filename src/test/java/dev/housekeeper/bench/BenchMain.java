package dev.housekeeper.bench;

import dev.housekeeper.bench.Footprint.Row;
import dev.housekeeper.testing.OperatorHarness;
import java.util.ArrayList;
import java.util.List;

/** Runs every benchmark and prints one table. Argument: names of benchmarks to run (default: all). */
public final class BenchMain {

  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    List<String> only = List.of(args);
    List<Row> rows = new ArrayList<>();
    if (only.isEmpty() || only.contains("footprint")) {
      rows.addAll(Footprint.measure());
    }
    if (only.isEmpty() || only.contains("migration")) {
      try (OperatorHarness harness = OperatorHarness.start()) {
        rows.addAll(MigrationBench.measure(harness));
      }
    }
    if (only.isEmpty() || only.contains("retention")) {
      try (OperatorHarness harness = OperatorHarness.start()) {
        rows.addAll(RetentionBench.measure(harness));
      }
    }
    if (only.isEmpty() || only.contains("mart")) {
      try (OperatorHarness harness = OperatorHarness.start()) {
        rows.addAll(MartBench.measure(harness));
      }
    }
    if (only.isEmpty() || only.contains("convergence")) {
      rows.addAll(ConvergenceBench.measure());
    }
    if (only.isEmpty() || only.contains("backup")) {
      rows.addAll(BackupBench.measure());
    }
    System.out.printf("%nMachine: %d cores, %s, Java %s%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("os.name") + " " + System.getProperty("os.arch"), System.getProperty("java.version"));
    Footprint.print(rows);
    System.exit(0);
  }
}
