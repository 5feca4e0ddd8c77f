package dev.housekeeper.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Spec patterns run on RE2/J: the patterns that take Java's backtracking engine exponential time are
 * answered in well under the 100 ms each is allowed, and what RE2 cannot do is refused by name.
 */
class SpecPatternTest {

  /** 10,000 characters: a name no server holds, the longest input a test of the engine needs. */
  static final String LONG_A = "a".repeat(10_000) + "!";
  static final String LONG_X = "x".repeat(10_000);

  @BeforeAll
  static void loadTheEngine() {
    // the first match loads and compiles RE2/J's classes; the timings below are of matching only
    SpecPattern.compile("warm-up", "(b+)+$").matches("b".repeat(100) + "!");
  }

  /** Runs the match and returns its answer, failing when it took 100 ms or more. */
  static boolean within100ms(String what, BooleanSupplier match) {
    long start = System.nanoTime();
    boolean answer = match.getAsBoolean();
    long micros = (System.nanoTime() - start) / 1000;
    System.out.println("SpecPatternTest " + what + ": " + micros + " us");
    assertThat(micros).as(what + " took " + micros + " us").isLessThan(100_000);
    return answer;
  }

  @Test
  void catastrophicPatternsAnswerInLinearTime() {
    assertThat(within100ms("(a+)+$ on 10,000 a and !", () -> SpecPattern.compile("f", "(a+)+$").matches(LONG_A)))
        .isFalse();
    assertThat(within100ms("(x+x+)+y on 10,000 x", () -> SpecPattern.compile("f", "(x+x+)+y").matches(LONG_X)))
        .isFalse();
    assertThat(within100ms("(a|aa)+$ on 10,000 a and !", () -> SpecPattern.compile("f", "(a|aa)+$").matches(LONG_A)))
        .isFalse();
    assertThat(within100ms("((a*)*)*b on 10,000 a", () -> SpecPattern.compile("f", "((a*)*)*b").matches(LONG_A)))
        .isFalse();
    assertThat(within100ms("(.*a){20} on 10,000 a and !", () -> SpecPattern.compile("f", "(.*a){20}").matches(LONG_A)))
        .isFalse();
    assertThat(within100ms("(a+)+ matching 10,000 a", () -> SpecPattern.compile("f", "(a+)+").matches("a".repeat(10_000))))
        .isTrue();
  }

  @Test
  void backreferencesAndLookaroundAreRefusedNamingTheField() {
    assertThat(SpecPattern.problem("spec.tables.pattern", "(a)\\1")).startsWith("spec.tables.pattern: ")
        .contains("RE2").contains("backreference");
    assertThat(SpecPattern.problem("spec.scope.tables", "events_(?=x).*")).startsWith("spec.scope.tables: ")
        .contains("lookahead");
    assertThat(SpecPattern.problem("spec.tables", "(?<!x)y")).startsWith("spec.tables: ").contains("lookbehind");
    assertThat(SpecPattern.problem("f", "(")).startsWith("f: ").contains("missing closing )");
    assertThat(SpecPattern.problem("f", "")).isEqualTo("f: the pattern is empty");
    assertThat(SpecPattern.problem("f", "a".repeat(1025))).contains("at most 1024");
    assertThat(SpecPattern.problem("f", "\\\\1")).as("an escaped backslash, then 1: a pattern RE2 takes").isNull();
  }

  @Test
  void aPatternThatCompilesTooLargeIsRefused() {
    assertThat(SpecPattern.problem("f", "((a{100}){100}){100}")).isNotNull();
    assertThat(SpecPattern.problem("f", "events_[0-9]{1,8}")).isNull();
  }

  @Test
  void namesInAnyScriptMatch() {
    assertThat(SpecPattern.compile("f", "отчёт_.*").matches("отчёт_2024")).isTrue();
    assertThat(SpecPattern.compile("f", "(?i)ОТЧЁТ_[0-9]+").matches("отчёт_2024")).isTrue();
    assertThat(SpecPattern.compile("f", "\\p{L}+_\\d+").matches("таблица_7")).isTrue();
    assertThat(SpecPattern.compile("f", "[а-я]+").matches("events")).isFalse();
    assertThat(SpecPattern.compile("f", "表格.").matches("表格😀")).as("a code point, not a UTF-16 unit").isTrue();
  }

  @Test
  void theWholeNameMustMatch() {
    assertThat(SpecPattern.compile("f", "events_.*").matches("events_1")).isTrue();
    assertThat(SpecPattern.compile("f", "events").matches("events_1")).isFalse();
    assertThrows(IllegalArgumentException.class, () -> SpecPattern.compile("f", "[z-a]"));
  }
}
