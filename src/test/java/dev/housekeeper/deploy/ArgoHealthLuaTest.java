package dev.housekeeper.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Argo CD health script (deploy/argocd/health.lua) run by a real Lua 5.4 interpreter against
 * sample statuses of each kind, as Argo CD runs it: {@code obj} is the resource, the script
 * returns {@code {status, message}}.
 */
class ArgoHealthLuaTest {

  static final Path SCRIPT = Path.of(System.getProperty("housekeeper.projectDir", "."), "deploy/argocd/health.lua");
  static final ObjectMapper JSON = new ObjectMapper();

  /** A Lua table literal of a JSON value. */
  static String lua(Object v) {
    if (v == null) {
      return "nil";
    }
    if (v instanceof Map<?, ?> m) {
      StringBuilder out = new StringBuilder("{");
      m.forEach((k, value) -> out.append("[").append(lua(String.valueOf(k))).append("]=").append(lua(value)).append(","));
      return out.append("}").toString();
    }
    if (v instanceof List<?> l) {
      StringBuilder out = new StringBuilder("{");
      l.forEach(value -> out.append(lua(value)).append(","));
      return out.append("}").toString();
    }
    if (v instanceof String s) {
      return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }
    return String.valueOf(v);
  }

  /** Runs the script on a resource given as JSON; returns "status|message". */
  static String health(String resourceJson) throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/lua5.4")), "lua5.4 is installed by bin/setup-debian");
    Object obj = JSON.readValue(resourceJson, Object.class);
    Path driver = Files.createTempFile("hk-health-", ".lua");
    try {
      Files.writeString(driver, "obj = " + lua(obj) + "\n"
          + "local f = assert(loadfile(" + lua(SCRIPT.toAbsolutePath().toString()) + ", 't', setmetatable({obj = obj},"
          + " {__index = _G})))\nlocal hs = f()\nio.write(hs.status, '|', hs.message or '')\n");
      Process p = new ProcessBuilder("lua5.4", driver.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError("lua failed: " + out);
      }
      return out;
    } finally {
      Files.deleteIfExists(driver);
    }
  }

  static String resource(String kind, String spec, String status) {
    return "{\"apiVersion\":\"housekeeper.dev/v1alpha1\",\"kind\":\"" + kind + "\",\"metadata\":{\"name\":\"x\","
        + "\"generation\":2},\"spec\":" + spec + (status == null ? "" : ",\"status\":" + status) + "}";
  }

  static String conditions(String ready, String readyReason, String progressing, String degraded, String message) {
    return "\"observedGeneration\":2,\"conditions\":[{\"type\":\"Ready\",\"status\":\"" + ready + "\",\"reason\":\""
        + readyReason + "\",\"message\":\"" + message + "\"},{\"type\":\"Progressing\",\"status\":\"" + progressing
        + "\",\"reason\":\"x\",\"message\":\"" + ("True".equals(progressing) ? "working: " + message : "") + "\"},"
        + "{\"type\":\"Degraded\",\"status\":\"" + degraded + "\",\"reason\":\"x\",\"message\":\"" + message + "\"}]";
  }

  static String status(String head) {
    return head.substring(0, head.indexOf('|'));
  }

  @Test
  void readyKindsAreHealthy() throws Exception {
    for (String kind : List.of("ClickHouseConnection", "ClickHouseMigration", "RetentionPolicy", "ClickHouseBackup",
        "ClickHouseRestore", "ReportMart")) {
      String phase = switch (kind) {
        case "ClickHouseBackup", "ClickHouseRestore" -> "Succeeded";
        default -> "Ready";
      };
      String out = health(resource(kind, "{}", "{\"phase\":\"" + phase + "\","
          + conditions("True", "Ready", "False", "False", "all good") + "}"));
      assertEquals("Healthy|all good", out, kind);
    }
  }

  @Test
  void workingOrWaitingIsProgressing() throws Exception {
    assertEquals("Progressing|working: applying version 3", health(resource("ClickHouseMigration", "{}",
        "{\"phase\":\"Progressing\"," + conditions("False", "Applying", "True", "False", "applying version 3") + "}")));
    assertEquals("Progressing", status(health(resource("ClickHouseBackup", "{}", "{\"phase\":\"Running\","
        + conditions("False", "Running", "True", "False", "backup b-1: partition 202401") + "}"))));
    // waiting for its connection: not Ready, nothing failed
    assertEquals("Progressing|ClickHouseConnection ch is not Ready", health(resource("ReportMart", "{}",
        "{\"phase\":\"Pending\"," + conditions("False", "ConnectionNotReady", "False", "False",
            "ClickHouseConnection ch is not Ready") + "}")));
    // no status yet, or a spec the operator has not seen
    assertEquals("Progressing", status(health(resource("ClickHouseRestore", "{}", null))));
    assertEquals("Progressing", status(health(resource("RetentionPolicy", "{}", "{\"phase\":\"Ready\","
        + conditions("True", "Ready", "False", "False", "ok").replace("\"observedGeneration\":2",
            "\"observedGeneration\":1") + "}"))));
  }

  @Test
  void failedDirtyAndDriftAreDegraded() throws Exception {
    assertEquals("Degraded|statement 1 failed: Code: 62", health(resource("ClickHouseMigration", "{}",
        "{\"phase\":\"Dirty\"," + conditions("False", "MigrationFailed", "False", "True",
            "statement 1 failed: Code: 62") + "}")));
    assertEquals("Degraded", status(health(resource("ClickHouseMigration", "{}", "{\"phase\":\"Drift\","
        + conditions("False", "Drift", "False", "True", "version 2 changed") + "}"))));
    // a backup whose last run failed, though an older one is complete (Ready stays True)
    assertEquals("Degraded", status(health(resource("ClickHouseBackup", "{}", "{\"phase\":\"Failed\","
        + conditions("True", "BackupFailed", "False", "True", "S3 unreachable") + "}"))));
    assertEquals("Degraded", status(health(resource("ReportMart", "{}", "{\"phase\":\"Failed\","
        + conditions("False", "SourceQueryFailed", "False", "True", "syntax error") + "}"))));
    // a retention policy that refused some tables: Ready, but Degraded
    assertEquals("Degraded|PartitionLimitExceeded on events", health(resource("RetentionPolicy", "{}",
        "{\"phase\":\"Degraded\"," + conditions("True", "PartitionLimitExceeded", "False", "True",
            "PartitionLimitExceeded on events") + "}")));
    assertEquals("Degraded", status(health(resource("ClickHouseConnection", "{}", "{\"phase\":\"Failed\","
        + conditions("False", "AuthenticationFailed", "False", "True", "wrong password") + "}"))));
  }

  @Test
  void suspendedScheduleIsSuspended() throws Exception {
    assertEquals("Suspended", status(health(resource("ClickHouseBackup", "{\"suspend\":true}",
        "{\"phase\":\"Succeeded\"," + conditions("True", "BackupComplete", "False", "False", "suspended") + "}"))));
    assertEquals("Suspended", status(health(resource("ReportMart", "{\"refresh\":{\"suspend\":true}}",
        "{\"phase\":\"Ready\"," + conditions("True", "Refreshed", "False", "False", "ok") + "}"))));
  }
}
