package dev.housekeeper.clickhouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Exact SQL of the statement builder, identifier quoting and literal rendering. */
class SqlTest {

  @Test
  void bindsValuesAndIdentifiersInOrder() {
    Sql sql = Sql.command("ALTER TABLE ? DROP PARTITION ? -- '?' stays", Sql.table("db", "events"), "202401");
    assertEquals("ALTER TABLE `db`.`events` DROP PARTITION '202401' -- '?' stays", sql.text());
    assertFalse(sql.idempotent());
    assertTrue(Sql.query("SELECT 1").idempotent());
  }

  @Test
  void placeholdersInsideQuotesAreLeftAlone() {
    assertEquals("SELECT '?', `a?`, 1", Sql.query("SELECT '?', `a?`, ?", 1).text());
    assertEquals("SELECT 'it\\'s ?', 2", Sql.query("SELECT 'it\\'s ?', ?", 2).text());
  }

  @Test
  void argumentCountMustMatch() {
    assertThrows(IllegalArgumentException.class, () -> Sql.query("SELECT ?, ?", 1));
    assertThrows(IllegalArgumentException.class, () -> Sql.query("SELECT ?", 1, 2));
  }

  @Test
  void stringsAreEscaped() {
    assertEquals("'a\\'b\\\\c\\n\\t\\0'", SqlLiterals.render("a'b\\c\n\t\0"));
    assertEquals("'x\\'); DROP TABLE t; --'", SqlLiterals.render("x'); DROP TABLE t; --"));
  }

  @Test
  void typedLiterals() {
    assertEquals("NULL", SqlLiterals.render(null));
    assertEquals("1", SqlLiterals.render(true));
    assertEquals("42", SqlLiterals.render(42L));
    assertEquals("1.5", SqlLiterals.render(1.5));
    assertEquals("nan", SqlLiterals.render(Double.NaN));
    assertEquals("123.450", SqlLiterals.render(new BigDecimal("123.450")));
    assertEquals("toDate('2024-02-29')", SqlLiterals.render(LocalDate.of(2024, 2, 29)));
    assertEquals("toDateTime('2024-02-29 13:05:00', 'UTC')", SqlLiterals.render(LocalDateTime.of(2024, 2, 29, 13, 5)));
    assertEquals("toDateTime('1970-01-01 00:00:10', 'UTC')", SqlLiterals.render(Instant.ofEpochSecond(10)));
    assertEquals("['a', 1]", SqlLiterals.render(List.of("a", 1)));
    assertThrows(ClickHouseException.class, () -> SqlLiterals.render(new Object()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "1abc", "a b", "a`b", "a;b", "a--b", "a/*b", "a'b", "a\"b", "таблица", "a.b",
      "a\nb", "a\u0000b"})
  void settingNamesArePlainIdentifiersOnly(String name) {
    assertFalse(Identifiers.isPlain(name));
  }

  @ParameterizedTest
  @ValueSource(strings = {"odd `name' \\ имя", "a\"b", "a b", "a-b", "a.b", "таблица", "表格", "1abc", ".inner.x",
      "x; DROP TABLE t --", "😀"})
  void anyNameClickHouseCanHoldIsAcceptedInASpec(String name) {
    assertNull(Identifiers.nameProblem(name));
  }

  @Test
  void aSpecNameIsRefusedForAControlCharacterOrAFileNameTooLong() {
    assertEquals("is empty", Identifiers.nameProblem(""));
    assertThat(Identifiers.nameProblem("a\nb")).contains("control character");
    assertThat(Identifiers.nameProblem("a\u0000b")).contains("control character");
    // ClickHouse stores a name as a file name, each byte that is not a letter, digit or _ as %XX
    assertEquals(206, Identifiers.fileNameLength("a".repeat(206)));
    assertEquals(6, Identifiers.fileNameLength("и"));
    assertEquals(9, Identifiers.fileNameLength("表"));
    assertEquals(3, Identifiers.fileNameLength("`"));
    assertNull(Identifiers.nameProblem("a".repeat(206)));
    assertThat(Identifiers.nameProblem("a".repeat(207))).contains("207 characters");
    assertNull(Identifiers.nameProblem("и".repeat(34)));
    assertThat(Identifiers.nameProblem("и".repeat(35))).contains("210 characters");
  }

  @Test
  void derivedNamesKeepTheirPrefixAndSuffixAndFitWhenTheBaseIsLong() {
    assertEquals("t_hk_staging", Identifiers.derived("default", "", "t", "_hk_staging"));
    assertEquals("_hk_restore_odd `name'", Identifiers.derived("default", "_hk_restore_", "odd `name'", ""));
    String longBase = "и".repeat(34);
    String staging = Identifiers.derived("default", "", longBase, "_hk_staging");
    assertThat(staging).startsWith("ииии").endsWith("_hk_staging");
    assertThat(Identifiers.fileNameLength(staging)).isLessThanOrEqualTo(206);
    assertEquals(staging, Identifiers.derived("default", "", longBase, "_hk_staging"));
    // two long bases that differ only at the end get two names
    String other = Identifiers.derived("default", "", "и".repeat(33) + "й", "_hk_staging");
    assertNotEquals(staging, other);
    String emoji = Identifiers.derived("default", "_hk_restore_", "😀".repeat(30), "");
    assertNull(Identifiers.nameProblem(emoji));
    // in a database with a longer name, ClickHouse 25.1+ allows shorter table names: 213 - its file name
    String db = "отчёты";
    assertEquals(213 - 36, Identifiers.maxTableFileName(db));
    assertThat(Identifiers.fileNameLength(Identifiers.derived(db, "", "t".repeat(170), "_hk_staging"))).isEqualTo(177);
  }

  @Test
  void aTableEntryIsANameOrDatabaseDotNameWithBackQuotedPartsAsInSql() {
    assertEquals(new Identifiers.TableName(null, "events"), Identifiers.parseTableName("events"));
    assertEquals(new Identifiers.TableName("shop", "events"), Identifiers.parseTableName("shop.events"));
    // bare: the first dot ends the database, the rest is the table as written
    assertEquals(new Identifiers.TableName("shop", "t.1"), Identifiers.parseTableName("shop.t.1"));
    assertEquals(new Identifiers.TableName("my.db", "t.1"), Identifiers.parseTableName("`my.db`.`t.1`"));
    assertEquals(new Identifiers.TableName(null, "t.1"), Identifiers.parseTableName("`t.1`"));
    assertEquals(new Identifiers.TableName("db", "a`b\\c"), Identifiers.parseTableName("db.`a\\`b\\\\c`"));
    assertEquals(new Identifiers.TableName(null, "a`b"), Identifiers.parseTableName("`a``b`"));
    assertEquals(new Identifiers.TableName("имя", "odd `name' \\ x"), Identifiers.parseTableName("имя.odd `name' \\ x"));
    assertTrue(Identifiers.parseTableName("`my.db`.t").names("my.db", "t"));
    assertTrue(Identifiers.parseTableName("t").names("any", "t"));
    assertFalse(Identifiers.parseTableName("my.db").names("my", "t"));
    for (String bad : List.of("", "`open", "`a`b", "a.`b`c", "`a\\nb`", ".t", "db.", "`a\nb`")) {
      assertThrows(IllegalArgumentException.class, () -> Identifiers.parseTableName(bad), bad);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a\nb", "a\u0000b", "a\u007fb", "a\ud800b"})
  void whatCannotBeANameIsRefusedByTheQuotingFunction(String name) {
    ClickHouseException e = assertThrows(ClickHouseException.class, () -> Identifiers.quote(name));
    assertEquals(ClickHouseException.Kind.INVALID_INPUT, e.kind());
    assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("\u0000");
  }

  @Test
  void anyOtherNameIsQuotedWithItsBackQuotesAndBackslashesEscaped() {
    assertEquals("`a\\`b`", Identifiers.quote("a`b"));
    assertEquals("`a\\\\b`", Identifiers.quote("a\\b"));
    assertEquals("`.inner.daily`", Identifiers.quote(".inner.daily"));
    assertEquals("`таблица`", Identifiers.quote("таблица"));
    assertEquals("`a'b; DROP TABLE x --`", Identifiers.quote("a'b; DROP TABLE x --"));
    assertEquals("`a`.`b.c`", Identifiers.qualified("a", "b.c"));
  }

  @Test
  void validIdentifiersAreQuoted() {
    assertEquals("`events_2024`", Identifiers.quote("events_2024"));
    assertEquals("`_x`", Identifiers.quote("_x"));
    assertEquals("`db`.`t`", Identifiers.qualified("db", "t"));
    assertTrue(Identifiers.isPlain("a".repeat(206)));
    assertFalse(Identifiers.isPlain("a".repeat(207)));
    assertThrows(ClickHouseException.class, () -> Identifiers.quote(null));
  }

  @Test
  void versionsCompare() {
    ServerVersion v = ServerVersion.parse("18.16.1");
    assertTrue(v.atLeast(18, 16));
    assertFalse(v.atLeast(19, 6));
    assertTrue(ServerVersion.parse("24.8.4.13").atLeast(22, 8));
    ServerCapabilities modern = ServerCapabilities.derive(ServerVersion.parse("24.8.4.13"), "Atomic", true, true);
    assertTrue(modern.nativeBackup() && modern.tableTtl() && modern.exchangeTables() && modern.lightweightDelete());
    assertFalse(ServerCapabilities.derive(ServerVersion.parse("24.8"), "Ordinary", false, true).exchangeTables());
  }

  @Test
  void serverErrorsAreClassifiedByCode() {
    assertEquals(ClickHouseException.Kind.AUTHENTICATION, ErrorClassifier.fromServer(516, 0, "x", "e", "q", null).kind());
    assertEquals(ClickHouseException.Kind.SYNTAX, ErrorClassifier.fromServer(62, 400, "x", "e", "q", null).kind());
    assertTrue(ErrorClassifier.fromServer(202, 500, "x", "e", "q", null).retriable());
    assertFalse(ErrorClassifier.fromServer(241, 500, "x", "e", "q", null).retriable());
    assertEquals("Code: 60, DB::Exception: Table x doesn't exist.",
        ErrorClassifier.clean("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist., e.what() = DB::Exception"));
  }
}
