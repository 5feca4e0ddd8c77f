package dev.housekeeper.retention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.retention.RetentionPolicySpec;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A retention policy's tables.pattern: validated and matched by RE2 (RetentionValidation,
 * RetentionPlanner.select), catastrophic patterns answered in under 100 ms against a
 * 10,000-character name; names in any script match.
 */
class TablePatternTest {

  static final String LONG = "a".repeat(10_000) + "!";

  @BeforeAll
  static void loadTheEngine() {
    RetentionPlanner.select(selector("(b+)+$"), Set.of("b".repeat(50) + "!"));
  }

  static RetentionPolicySpec.TableSelector selector(String pattern) {
    RetentionPolicySpec.TableSelector s = new RetentionPolicySpec.TableSelector();
    s.setPattern(pattern);
    return s;
  }

  static Set<String> timed(String pattern, Set<String> existing) {
    long start = System.nanoTime();
    Set<String> out = RetentionPlanner.select(selector(pattern), existing);
    long micros = (System.nanoTime() - start) / 1000;
    System.out.println("TablePatternTest " + pattern + ": " + micros + " us");
    assertThat(micros).as(pattern).isLessThan(100_000);
    return out;
  }

  static List<String> problems(String pattern) {
    RetentionPolicySpec spec = new RetentionPolicySpec();
    spec.setConnectionRef(new ConnectionRef());
    spec.getConnectionRef().setName("ch");
    spec.setKeep("12M");
    spec.setTables(selector(pattern));
    return RetentionValidation.problems(spec);
  }

  @Test
  void catastrophicPatternsSelectInLinearTime() {
    assertThat(timed("(a+)+$", Set.of(LONG, "events_1"))).isEmpty();
    assertThat(timed("(x+x+)+y", Set.of("x".repeat(10_000)))).isEmpty();
    assertThat(timed("(a|aa)+$", Set.of(LONG))).isEmpty();
    assertThat(timed("(.*a){20}", Set.of(LONG))).isEmpty();
    assertThat(timed("((a*)*)*b", Set.of(LONG))).isEmpty();
    assertThat(problems("(a+)+$")).isEmpty();
    assertThat(problems("(x+x+)+y")).isEmpty();
  }

  @Test
  void cyrillicNamesMatch() {
    assertThat(problems("отчёт_.*")).isEmpty();
    assertThat(timed("отчёт_.*", Set.of("отчёт_2024", "events_1"))).containsExactly("отчёт_2024");
    assertThat(timed("(?i)СОБЫТИЯ_[0-9]+", Set.of("события_7"))).containsExactly("события_7");
  }

  @Test
  void whatRe2CannotDoIsRefusedNamingTheField() {
    assertThat(problems("(a)\\1")).singleElement().asString().startsWith("spec.tables.pattern: ")
        .contains("backreference");
    assertThat(problems("(")).singleElement().asString().startsWith("spec.tables.pattern: ").contains("RE2");
    assertThat(problems("events_(?=x)")).singleElement().asString().startsWith("spec.tables.pattern: ");
    assertThat(problems("x'; DROP TABLE y")).singleElement().asString().contains("has characters no table");
  }
}
