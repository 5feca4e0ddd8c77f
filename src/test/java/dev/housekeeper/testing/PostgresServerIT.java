package dev.housekeeper.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.ResultSet;
import org.junit.jupiter.api.Test;

/** The PostgreSQL test server starts, answers with a password, stops and starts again with its data. */
class PostgresServerIT {

  @Test
  void startsAnswersAndRestartsWithItsData() throws Exception {
    try (PostgresServer pg = new PostgresServer().start()) {
      pg.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)");
      pg.stop();
      pg.start();
      try (var c = pg.connect(); var st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT sum(x) FROM t")) {
        rs.next();
        assertEquals(3, rs.getInt(1));
      }
    }
  }
}
