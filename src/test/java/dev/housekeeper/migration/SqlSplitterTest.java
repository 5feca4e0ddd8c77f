package dev.housekeeper.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.housekeeper.api.migration.ClickHouseMigrationSpec;
import dev.housekeeper.clickhouse.SqlSplitter;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SqlSplitterTest {

  @Test
  void splitsAtTopLevelSemicolonsOnly() {
    String script = """
        -- first; a comment
        CREATE TABLE a (s String DEFAULT 'x;y') ENGINE = Memory;
        /* block; comment */ INSERT INTO a VALUES ('it''s; here'), ('back\\\\slash\\'; quote');
        # hash comment;
        SELECT `odd;name`, "dq;id" FROM a;;
        ;  -- trailing comment only
        """;
    List<String> parts = SqlSplitter.split(script);
    assertEquals(3, parts.size(), parts::toString);
    assertThat(parts.get(0)).startsWith("-- first; a comment").endsWith("ENGINE = Memory");
    assertThat(parts.get(1)).contains("'it''s; here'").contains("quote')");
    assertThat(parts.get(2)).contains("`odd;name`").contains("\"dq;id\"").startsWith("# hash comment;");
  }

  @Test
  void noStatementsInCommentsOnly() {
    assertEquals(List.of(), SqlSplitter.split("-- nothing;\n/* still; nothing */ ;"));
    assertEquals(List.of("SELECT 1"), SqlSplitter.split("SELECT 1"));
  }

  @Test
  void duplicateVersionsAndBadFileNamesAreProblems() {
    var spec = new ClickHouseMigrationSpec();
    spec.setMigrations(List.of(new ClickHouseMigrationSpec.Migration(2, "b", "SELECT 1", null),
        new ClickHouseMigrationSpec.Migration(1, "a", "SELECT 1", null)));
    spec.setConfigMaps(List.of(new ClickHouseMigrationSpec.ConfigMapSource("files")));
    var cm = new ConfigMapBuilder().withNewMetadata().withName("files").endMetadata().withData(Map.of(
        "V2__again.sql", "SELECT 2", "V10__ten.sql", "SELECT 10", "V10__ten.down.sql", "SELECT -10",
        "README.md", "x", "V3__orphan.down.sql", "SELECT 3")).build();
    var collected = MigrationSource.collect(spec, name -> "files".equals(name) ? cm : null);
    assertThat(collected.problems()).anyMatch(p -> p.contains("version 2 is declared twice"))
        .anyMatch(p -> p.contains("README.md")).anyMatch(p -> p.contains("V3__orphan.down.sql has no"));
    assertEquals(List.of(1L, 2L, 10L), collected.scripts().stream().map(MigrationScript::version).toList());
    assertThat(collected.scripts().get(2).hasDown()).isTrue();
  }
}
