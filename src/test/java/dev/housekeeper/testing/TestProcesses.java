package dev.housekeeper.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts the test servers so that none outlives the test run. Each server runs in a process group
 * of its own ({@code setsid}), which is listed in a folder watched by {@code tools/testing/reaper}:
 * a process started once per JVM, in its own session, that stops every listed group when the JVM is
 * gone, also after a SIGKILL (when no shutdown hook runs). Stopping a server here removes it from
 * the list.
 */
public final class TestProcesses {

  private static final Path REAPER = Path.of(System.getProperty("housekeeper.projectDir", "."), "tools/testing/reaper");
  private static Path groups;

  private TestProcesses() {}

  /** Starts {@code builder}'s command in a new process group that the reaper will stop. */
  public static Process start(ProcessBuilder builder) throws IOException {
    List<String> command = new ArrayList<>();
    command.add("setsid");
    command.addAll(builder.command());
    List<String> original = builder.command();
    builder.command(command);
    try {
      Process process = builder.start();
      // started by the JVM, the child is not a group leader, so setsid makes its own pid the group without forking
      watch(process.pid());
      return process;
    } finally {
      builder.command(original);
    }
  }

  /**
   * Lists a process group the harness did not start with {@link #start} (PostgreSQL's postmaster
   * makes its own group).
   */
  public static synchronized void watch(long processGroup) {
    try {
      Files.createFile(groupsFolder().resolve(String.valueOf(processGroup)));
    } catch (java.nio.file.FileAlreadyExistsException e) {
      // already watched
    } catch (IOException e) {
      throw new IllegalStateException("cannot register test process " + processGroup + " with the reaper", e);
    }
  }

  /** The group is gone (the harness stopped it): the reaper must not signal a reused number later. */
  public static synchronized void forget(long processGroup) {
    if (groups != null) {
      try {
        Files.deleteIfExists(groups.resolve(String.valueOf(processGroup)));
      } catch (IOException e) {
        // the reaper then signals a group that no longer exists, which is harmless
      }
    }
  }

  /**
   * Stops a process started by {@link #start} with its whole group: SIGTERM (SIGKILL when
   * {@code hard}), SIGKILL after {@code grace}, then forgets it.
   */
  public static void stop(Process process, boolean hard, Duration grace) {
    signalGroup(process.pid(), hard ? "KILL" : "TERM");
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        signalGroup(process.pid(), "KILL");
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // children that left their parent (a server's worker) die with the group
    signalGroup(process.pid(), "KILL");
    forget(process.pid());
  }

  /** Sends a signal to every process of a group. */
  public static void signalGroup(long processGroup, String signal) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, "--", "-" + processGroup).redirectErrorStream(true).start();
      kill.getInputStream().readAllBytes();
      kill.waitFor(10, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new IllegalStateException("cannot run kill", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Path groupsFolder() throws IOException {
    if (groups == null) {
      groups = Files.createTempDirectory("hk-test-groups-");
      new ProcessBuilder("setsid", REAPER.toAbsolutePath().toString(), String.valueOf(ProcessHandle.current().pid()),
          groups.toString())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
    }
    return groups;
  }
}
