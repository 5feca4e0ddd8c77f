package dev.housekeeper.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The user and password values are taken out of ClickHouse's answers as 18.16 and 26.7 word them. */
class RedactionTest {

  static final String USER = HttpClickHouseClient.USER_PLACEHOLDER;

  @Test
  void theUserNamedInAnAnswerOf18Or26IsReplaced() {
    assertEquals("Code: 193, e.displayText() = DB::Exception: Wrong password for user " + USER + ", e.what() = x",
        HttpClickHouseClient.redact("Code: 193, e.displayText() = DB::Exception: Wrong password for user hk-token-1,"
            + " e.what() = x", "hk-token-1", "pw"));
    assertEquals("Code: 192, e.displayText() = DB::Exception: Unknown user " + USER + ", e.what() = x",
        HttpClickHouseClient.redact("Code: 192, e.displayText() = DB::Exception: Unknown user hk-token-1, e.what() = x",
            "hk-token-1", "pw"));
    assertEquals("Code: 516. DB::Exception: " + USER + ": Authentication failed: password is incorrect. (AUTHENTICATION_FAILED)",
        HttpClickHouseClient.redact("Code: 516. DB::Exception: hk-token-1: Authentication failed: password is"
            + " incorrect. (AUTHENTICATION_FAILED)", "hk-token-1", "pw"));
    assertEquals("no such user '" + USER + "'", HttpClickHouseClient.redact("no such user 'hk-token-1'", "hk-token-1",
        "pw"));
  }

  @Test
  void otherWordsEqualToTheUserAndShortPasswordsAreLeftAlone() {
    assertEquals("Code: 81. DB::Exception: Database default doesn't exist",
        HttpClickHouseClient.redact("Code: 81. DB::Exception: Database default doesn't exist", "default", "abc"));
    assertEquals("user defaults", HttpClickHouseClient.redact("user defaults", "default", "x"));
    assertEquals("sent [password] by mistake", HttpClickHouseClient.redact("sent s3cr3t by mistake", "u", "s3cr3t"));
  }

  @Test
  void aLongUserNameIsReplacedWhereverItAppears() {
    assertEquals("query by " + USER + " in " + USER + "_db failed",
        HttpClickHouseClient.redact("query by planted-0123 in planted-0123_db failed", "planted-0123", "pw"));
  }
}
