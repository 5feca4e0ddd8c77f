package dev.housekeeper.clickhouse;

import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that writes and rewrites a Replicated*MergeTree engine's ZooKeeper path: the
 * operator's own replicated tables (ledger, lock), and the path of a table built again elsewhere (a
 * mart's new build, a table restored into another database), which must not meet the original's
 * replicas.
 */
public final class ReplicatedEngine {

  private static final Pattern PATH = Pattern.compile("(Replicated\\w*MergeTree\\s*\\(\\s*')([^']*)(')");

  private ReplicatedEngine() {}

  /** {@code MergeTree} on one server, or {@code ReplicatedMergeTree('<zkPath>', '{replica}')} on a cluster. */
  public static Sql.Fragment mergeTree(boolean replicated, String zkPath) {
    return replicated ? Sql.fragment("ReplicatedMergeTree(?, '{replica}')", zkPath) : Sql.fragment("MergeTree");
  }

  /** Whether the engine text (from the ENGINE clause on) starts with a replicated engine that names its path. */
  public static boolean namesPath(String engine) {
    Matcher m = PATH.matcher(engine);
    return m.lookingAt();
  }

  /**
   * The text with its first replicated engine's ZooKeeper path changed by {@code change}; the text as it
   * is when it has none.
   */
  public static String withPath(String text, UnaryOperator<String> change) {
    Matcher m = PATH.matcher(text);
    if (!m.find()) {
      return text;
    }
    return text.substring(0, m.start(2)) + change.apply(m.group(2)) + text.substring(m.end(2));
  }

  /** The replicated engine's ZooKeeper path in the text, or null. */
  public static String path(String text) {
    Matcher m = PATH.matcher(text);
    return m.find() ? m.group(2) : null;
  }
}
