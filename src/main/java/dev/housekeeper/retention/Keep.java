package dev.housekeeper.retention;

import dev.housekeeper.clickhouse.Sql;
import java.time.LocalDate;
import java.time.Period;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A retention duration: 90d, 12w, 18M, 2y. */
public record Keep(int amount, char unit) {

  private static final Pattern FORM = Pattern.compile("^([0-9]{1,5})(d|w|M|y)$");

  public static Keep parse(String field, String text) {
    Matcher m = FORM.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(field + ": \"" + text + "\" is not a retention duration; use a number and d,"
          + " w, M or y, for example 90d, 12w, 18M");
    }
    int amount = Integer.parseInt(m.group(1));
    if (amount < 1) {
      throw new IllegalArgumentException(field + ": must keep at least 1 " + m.group(2));
    }
    return new Keep(amount, m.group(2).charAt(0));
  }

  public Period period() {
    return switch (unit) {
      case 'd' -> Period.ofDays(amount);
      case 'w' -> Period.ofWeeks(amount);
      case 'M' -> Period.ofMonths(amount);
      default -> Period.ofYears(amount);
    };
  }

  /** The first day kept: data dated before it is removed. */
  public LocalDate cutoff(LocalDate today) {
    return today.minus(period());
  }

  /** The interval as the server writes it back in a table's definition, for example toIntervalMonth(6). */
  public String function() {
    return "toInterval" + switch (unit) {
      case 'd' -> "Day";
      case 'w' -> "Week";
      case 'M' -> "Month";
      default -> "Year";
    } + "(" + amount + ")";
  }

  /** The INTERVAL clause for a TTL. */
  public Sql.Fragment interval() {
    return Sql.fragment("INTERVAL ? " + switch (unit) {
      case 'd' -> "DAY";
      case 'w' -> "WEEK";
      case 'M' -> "MONTH";
      default -> "YEAR";
    }, amount);
  }
}
