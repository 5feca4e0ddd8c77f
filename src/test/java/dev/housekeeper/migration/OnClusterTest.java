package dev.housekeeper.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class OnClusterTest {

  @Test
  void addsOnClusterAfterTheObjectName() {
    assertEquals("CREATE TABLE IF NOT EXISTS db.t ON CLUSTER `c` (x UInt8) ENGINE = Memory",
        OnCluster.rewrite("CREATE TABLE IF NOT EXISTS db.t (x UInt8) ENGINE = Memory", "c"));
    assertEquals("-- note\nALTER TABLE `db`.`t` ON CLUSTER `c` ADD COLUMN y UInt8",
        OnCluster.rewrite("-- note\nALTER TABLE `db`.`t` ADD COLUMN y UInt8", "c"));
    assertEquals("drop table if exists t ON CLUSTER `c`", OnCluster.rewrite("drop table if exists t", "c"));
    assertEquals("RENAME TABLE a TO b, c TO d ON CLUSTER `c`", OnCluster.rewrite("RENAME TABLE a TO b, c TO d", "c"));
    assertEquals("CREATE MATERIALIZED VIEW mv ON CLUSTER `c` TO t AS SELECT 1",
        OnCluster.rewrite("CREATE MATERIALIZED VIEW mv TO t AS SELECT 1", "c"));
  }

  @Test
  void leavesOtherStatementsAndExplicitOnCluster() {
    assertEquals("INSERT INTO t VALUES (1)", OnCluster.rewrite("INSERT INTO t VALUES (1)", "c"));
    assertEquals("ALTER TABLE t ON CLUSTER x DROP COLUMN y", OnCluster.rewrite("ALTER TABLE t ON CLUSTER x DROP COLUMN y", "c"));
    assertEquals("CREATE TABLE t (x UInt8) ENGINE = Memory", OnCluster.rewrite("CREATE TABLE t (x UInt8) ENGINE = Memory", null));
  }
}
