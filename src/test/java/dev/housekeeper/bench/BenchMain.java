package dev.housekeeper.bench;

import dev.housekeeper.bench.Footprint.Row;
import dev.housekeeper.testing.OperatorHarness;
import java.util.ArrayList;
import java.util.List;

/** Runs every benchmark and prints one table. Argument: names of benchmarks to run (default: all). */
public final class BenchMain {

  private BenchMain() {}

  /** One benchmark: the rows it measures. */
  interface Bench {
    List<Row> measure() throws Exception;
  }

  public static void main(String[] args) throws Exception {
    List<String> only = List.of(args);
    java.util.Map<String, Bench> all = new java.util.LinkedHashMap<>();
    all.put("footprint", Footprint::measure);
    all.put("migration", () -> inHarness(MigrationBench::measure));
    all.put("retention", () -> inHarness(RetentionBench::measure));
    all.put("mart", () -> inHarness(MartBench::measure));
    all.put("convergence", ConvergenceBench::measure);
    all.put("convergence-real-api", ConvergenceBench::measureOnRealApi);
    all.put("backup", BackupBench::measure);
    List<Row> rows = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    for (var b : all.entrySet()) {
      if (!only.isEmpty() && !only.contains(b.getKey())) {
        continue;
      }
      try {
        rows.addAll(b.getValue().measure());
      } catch (Exception | Error e) {
        // the other benchmarks still run, and the table still prints: a failure is a row, and the exit status
        e.printStackTrace();
        failed.add(b.getKey());
        rows.add(new Row(b.getKey() + ": FAILED (" + e + ")", "-", "-", "-", "-"));
      }
    }
    System.out.printf("%nMachine: %d cores, %s, Java %s%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("os.name") + " " + System.getProperty("os.arch"), System.getProperty("java.version"));
    Footprint.print(rows);
    System.exit(failed.isEmpty() ? 0 : 1);
  }

  /** A benchmark that runs beside the in-process operator. */
  interface HarnessBench {
    List<Row> measure(OperatorHarness harness) throws Exception;
  }

  private static List<Row> inHarness(HarnessBench bench) throws Exception {
    try (OperatorHarness harness = OperatorHarness.start()) {
      return bench.measure(harness);
    }
  }

}
