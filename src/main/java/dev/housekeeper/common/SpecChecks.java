package dev.housekeeper.common;

import dev.housekeeper.api.common.ConnectionRef;
import java.util.ArrayList;
import java.util.List;

/** The checks every kind that runs work through a ClickHouseConnection starts its validation with. */
public final class SpecChecks {

  private SpecChecks() {}

  /**
   * A connectionRef with a name, and a statementTimeout that parses. Returns a list the kind adds
   * its own problems to.
   */
  public static List<String> connectedWork(ConnectionRef connectionRef, String statementTimeout) {
    List<String> problems = new ArrayList<>();
    StatementTimeout.check(statementTimeout, problems);
    if (connectionRef == null || connectionRef.getName() == null) {
      problems.add("spec.connectionRef.name is required");
    }
    return problems;
  }
}
