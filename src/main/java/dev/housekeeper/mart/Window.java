package dev.housekeeper.mart;

import dev.housekeeper.api.mart.ReportMartSpec;
import dev.housekeeper.clickhouse.SqlLiterals;
import java.time.LocalDate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The time window a refresh rebuilds, [start, end), and the one place where it enters a query:
 * {@code {window_start}} and {@code {window_end}} become typed date literals of the window's own
 * dates (ClickHouse's or PostgreSQL's), never text a user wrote.
 */
public record Window(LocalDate start, LocalDate end) {

  /** What a full refresh binds: the dates every server's Date handles (18.16's date tables end in 2105). */
  public static final Window ALL = new Window(LocalDate.of(1970, 1, 1), LocalDate.of(2100, 1, 1));

  private static final Pattern PLACEHOLDER = Pattern.compile("\\{(window_start|window_end)}");

  /** The last {@code periods} periods, the current one included, as of {@code today}. */
  public static Window last(ReportMartSpec.Period period, int periods, LocalDate today) {
    if (period == ReportMartSpec.Period.day) {
      return new Window(today.minusDays(periods - 1L), today.plusDays(1));
    }
    LocalDate month = today.withDayOfMonth(1);
    return new Window(month.minusMonths(periods - 1L), month.plusMonths(1));
  }

  /** The query for ClickHouse, with the placeholders rendered as toDate('...') literals. */
  public String bindClickHouse(String query) {
    return bind(query, SqlLiterals::render);
  }

  /**
   * The query for PostgreSQL, with the placeholders rendered as typed {@code DATE 'yyyy-mm-dd'}
   * literals: the source is read with {@code COPY (query) TO STDOUT}, which takes no parameters. The
   * text is the window's own dates, never text a user wrote.
   */
  public String bindPostgres(String query) {
    return bind(query, date -> "DATE '" + date + "'");
  }

  private String bind(String query, java.util.function.Function<LocalDate, String> literal) {
    Matcher m = PLACEHOLDER.matcher(query);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      LocalDate value = "window_start".equals(m.group(1)) ? start : end;
      m.appendReplacement(out, Matcher.quoteReplacement(literal.apply(value)));
    }
    m.appendTail(out);
    return out.toString();
  }
}
