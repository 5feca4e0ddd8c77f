package dev.housekeeper.migration;

import dev.housekeeper.clickhouse.Sql;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Adds {@code ON CLUSTER <cluster>} to the DDL forms that take it (CREATE/DROP/ALTER/TRUNCATE/
 * OPTIMIZE/RENAME of tables, views, dictionaries and databases), right after the object name.
 * Statements that already say ON CLUSTER, and statements of other kinds (INSERT, SELECT, SYSTEM
 * ...), are left as they are.
 */
public final class OnCluster {

  private static final String NAME_PART = "(?:`(?:[^`\\\\]|\\\\.)+`|\"(?:[^\"\\\\]|\\\\.)+\"|[A-Za-z_][A-Za-z0-9_]*)";
  private static final String NAME = NAME_PART + "(?:\\s*\\.\\s*" + NAME_PART + ")?";
  private static final List<Pattern> FORMS = List.of(
      Pattern.compile("^(CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:TABLE|DATABASE|(?:MATERIALIZED\\s+)?VIEW|DICTIONARY)\\s+"
          + "(?:IF\\s+NOT\\s+EXISTS\\s+)?" + NAME + ")", Pattern.CASE_INSENSITIVE),
      Pattern.compile("^(ALTER\\s+TABLE\\s+" + NAME + ")", Pattern.CASE_INSENSITIVE),
      Pattern.compile("^(DROP\\s+(?:TABLE|DATABASE|VIEW|DICTIONARY)\\s+(?:IF\\s+EXISTS\\s+)?" + NAME + ")",
          Pattern.CASE_INSENSITIVE),
      Pattern.compile("^(TRUNCATE\\s+(?:TABLE\\s+)?(?:IF\\s+EXISTS\\s+)?" + NAME + ")", Pattern.CASE_INSENSITIVE),
      Pattern.compile("^(OPTIMIZE\\s+TABLE\\s+" + NAME + ")", Pattern.CASE_INSENSITIVE),
      Pattern.compile("^(RENAME\\s+TABLE\\s+" + NAME + "\\s+TO\\s+" + NAME + "(?:\\s*,\\s*" + NAME + "\\s+TO\\s+" + NAME
          + ")*)", Pattern.CASE_INSENSITIVE));
  private static final Pattern LEADING = Pattern.compile("^(\\s*(?:--[^\\n]*\\n|#[^\\n]*\\n|/\\*.*?\\*/)?)*", Pattern.DOTALL);
  private static final Pattern ALREADY = Pattern.compile("\\bON\\s+CLUSTER\\b", Pattern.CASE_INSENSITIVE);

  private OnCluster() {}

  public static String rewrite(String statement, String cluster) {
    if (cluster == null || ALREADY.matcher(statement).find()) {
      return statement;
    }
    Matcher lead = LEADING.matcher(statement);
    int start = lead.lookingAt() ? lead.end() : 0;
    String body = statement.substring(start);
    for (Pattern form : FORMS) {
      Matcher m = form.matcher(body);
      if (m.lookingAt()) {
        return statement.substring(0, start) + m.group(1) + Sql.onCluster(cluster).text()
            + body.substring(m.end(1));
      }
    }
    return statement;
  }
}
