package dev.housekeeper.bench;

/** The baseline of the footprint benchmark: a JVM that starts, says so, and sleeps. */
public final class Idle {
  private Idle() {}

  public static void main(String[] args) throws Exception {
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
