package dev.housekeeper.migration;

import dev.housekeeper.migration.Ledger.VersionState;
import dev.housekeeper.migration.MigrationRunner.Outcome;
import dev.housekeeper.migration.MigrationRunner.Report;
import dev.housekeeper.migration.MigrationRunner.Request;
import dev.housekeeper.migration.MigrationRunner.Step;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a run does, decided from the ledger and the declared scripts: nothing when an applied
 * migration drifted; a failed or interrupted migration first (a failed one only on request); then
 * up to the target, or down to it through the down scripts.
 */
final class MigrationPlan {

  private final Request request;
  private final Map<Long, VersionState> state;
  private final TreeMap<Long, MigrationScript> scripts = new TreeMap<>();
  private final List<Step> plan = new ArrayList<>();
  private List<Long> drifted = List.of();

  private MigrationPlan(Request request, Map<Long, VersionState> state) {
    this.request = request;
    this.state = state;
    request.scripts().forEach(s -> scripts.put(s.version(), s));
  }

  /** The plan (outcome READY, maybe empty), or the reason there is none (DRIFT, DIRTY, BLOCKED). */
  static Report decide(Request request, Map<Long, VersionState> state) {
    return new MigrationPlan(request, state).decide();
  }

  private Report decide() {
    long latest = scripts.isEmpty() ? 0 : scripts.lastKey();
    long target = request.targetVersion() != null ? request.targetVersion() : latest;
    drifted = state.values().stream()
        .filter(s -> s.applied() && scripts.containsKey(s.version)
            && !scripts.get(s.version).checksum().equals(s.checksum))
        .map(s -> s.version).toList();
    if (!drifted.isEmpty() && !request.allowDrift()) {
      return report(Outcome.DRIFT, "applied migration(s) " + drifted + " changed since they were applied (checksum"
          + " differs from the ledger). Restore their text, or set spec.allowDrift: true to go on.");
    }
    VersionState unfinished = state.values().stream()
        .filter(s -> "failed".equals(s.state) || "in_progress".equals(s.state)).findFirst().orElse(null);
    if (unfinished != null) {
      Report stop = resume(unfinished);
      if (stop != null) {
        return stop;
      }
    }
    long current = state.values().stream().filter(VersionState::applied).mapToLong(s -> s.version).max().orElse(0);
    if (target >= current) {
      up(target, unfinished);
    } else {
      List<Long> missingDown = down(target, unfinished);
      if (!missingDown.isEmpty()) {
        return report(Outcome.BLOCKED, "cannot roll back to version " + target + ": no down script for version(s) "
            + missingDown + ". Add a 'down' (or a V<version>__<name>.down.sql file), or choose a higher"
            + " targetVersion. Nothing was run.");
      }
    }
    return report(Outcome.READY, plan.isEmpty() ? "nothing to do"
        : plan.size() + " step(s) to reach version " + target);
  }

  /** A failed or interrupted migration goes on from the statement after the last one done; null: planned. */
  private Report resume(VersionState unfinished) {
    MigrationScript script = scripts.get(unfinished.version);
    if ("failed".equals(unfinished.state) && !request.retryRequested()) {
      return report(Outcome.DIRTY, "version " + unfinished.version + " (" + unfinished.name + ") failed at"
          + " statement " + unfinished.failedIndex + ": " + unfinished.error + ". Fix the migration, then set the"
          + " annotation housekeeper.dev/retry to a new value to run it again from that statement.");
    }
    if (script == null) {
      return report(Outcome.BLOCKED, "version " + unfinished.version + " is unfinished in the ledger but no"
          + " longer declared; declare it again to finish or roll it back.");
    }
    List<String> statements = "down".equals(unfinished.direction) ? script.downStatements() : script.upStatements();
    int from = unfinished.doneIndex + 1;
    for (Map.Entry<Integer, String> done : unfinished.doneChecksums.entrySet()) {
      int i = done.getKey();
      if (i >= statements.size() || !MigrationScript.sha256(statements.get(i)).equals(done.getValue())) {
        return report(Outcome.DIRTY, "version " + unfinished.version + ": statement " + i + " already ran but"
            + " its text changed; only the statements from " + from + " on may change before a retry.");
      }
    }
    plan.add(new Step(script, unfinished.direction, from, statements.size()));
    return null;
  }

  private void up(long target, VersionState unfinished) {
    for (MigrationScript s : scripts.values()) {
      VersionState vs = state.get(s.version());
      boolean applied = vs != null && vs.applied();
      boolean first = unfinished != null && unfinished.version == s.version();
      if (s.version() <= target && !applied && !first) {
        plan.add(new Step(s, "up", 0, s.upStatements().size()));
      }
    }
  }

  /** Plans the roll-backs, newest first; returns the versions that have no down script. */
  private List<Long> down(long target, VersionState unfinished) {
    List<Long> missingDown = new ArrayList<>();
    List<VersionState> toUndo = state.values().stream().filter(s -> s.applied() && s.version > target)
        .sorted(Comparator.comparingLong((VersionState s) -> s.version).reversed()).toList();
    for (VersionState vs : toUndo) {
      MigrationScript s = scripts.get(vs.version);
      if (s == null || !s.hasDown()) {
        missingDown.add(vs.version);
      } else if (unfinished == null || unfinished.version != vs.version) {
        plan.add(new Step(s, "down", 0, s.downStatements().size()));
      }
    }
    return missingDown;
  }

  private Report report(Outcome outcome, String message) {
    List<Step> steps = outcome == Outcome.DIRTY || outcome == Outcome.DRIFT ? List.of() : List.copyOf(plan);
    return new Report(request, outcome, message, state, steps, List.of(), drifted);
  }
}
