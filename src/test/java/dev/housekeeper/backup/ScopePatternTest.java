package dev.housekeeper.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.api.backup.ClickHouseBackupSpec;
import dev.housekeeper.api.backup.ClickHouseRestoreSpec;
import dev.housekeeper.api.common.ConnectionRef;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The {@code ~} table entries of a backup's scope and a restore's tables: validated and matched by
 * RE2 ({@code BackupScope}, which restores use through {@code RestoreTargets}), each catastrophic
 * pattern answered in under 100 ms against a 10,000-character name.
 */
class ScopePatternTest {

  static final String LONG = "a".repeat(10_000) + "!";

  @BeforeAll
  static void loadTheEngine() {
    BackupScope.matches(List.of("~(b+)+$"), "db", "b".repeat(50) + "!");
  }

  static boolean timed(String what, List<String> entries, String database, String table) {
    long start = System.nanoTime();
    boolean answer = BackupScope.matches(entries, database, table);
    long micros = (System.nanoTime() - start) / 1000;
    System.out.println("ScopePatternTest " + what + ": " + micros + " us");
    assertThat(micros).as(what).isLessThan(100_000);
    return answer;
  }

  @Test
  void backupScopeMatchesCatastrophicPatternsInLinearTime() {
    assertThat(timed("~(a+)+$", List.of("~(a+)+$"), "db", LONG)).isFalse();
    assertThat(timed("~(x+x+)+y", List.of("~(x+x+)+y"), "x".repeat(5_000), "x".repeat(5_000))).isFalse();
    assertThat(timed("~((a|aa)+)+$ with database", List.of("~((a|aa)+)+$"), "a".repeat(5_000), LONG)).isFalse();
    assertThat(timed("~((a*)*)*b", List.of("~((a*)*)*b"), "db", LONG)).isFalse();
    assertThat(timed("~(.*a){20}", List.of("~(.*a){20}"), "db", LONG)).isFalse();
    assertThat(timed("~events_.* still matches", List.of("~(a+)+$", "~events_.*"), "db", "events_1")).isTrue();
  }

  @Test
  void backupScopeValidationTakesCatastrophicPatternsAndRefusesBackreferences() {
    ClickHouseBackupSpec spec = new ClickHouseBackupSpec();
    spec.connectionRef = new ConnectionRef();
    spec.connectionRef.setName("ch");
    spec.scope = new ClickHouseBackupSpec.Scope();
    spec.scope.tables = List.of("~(a+)+$", "~(x+x+)+y");
    assertThat(BackupScope.validate("spec.scope.tables", spec.scope.tables)).isEmpty();
    assertThat(BackupScope.validate("spec.scope.tables", List.of("~(a)\\1", "~(?=x)y", "~(")))
        .hasSize(3).allSatisfy(p -> assertThat(p).startsWith("spec.scope.tables: ").contains("RE2"));
  }

  @Test
  void restoreTablesTakeTheSameRule() {
    ClickHouseRestoreSpec spec = new ClickHouseRestoreSpec();
    spec.tables = List.of("~(a)\\1");
    assertThat(RestoreValidation.validate(spec)).anySatisfy(p -> assertThat(p).startsWith("spec.tables: ")
        .contains("backreference"));
    spec.tables = List.of("~(a+)+$");
    assertThat(RestoreValidation.validate(spec)).noneSatisfy(p -> assertThat(p).startsWith("spec.tables"));
    assertThat(timed("restore ~(a+)+$", spec.tables, "db", LONG)).isFalse();
  }
}
