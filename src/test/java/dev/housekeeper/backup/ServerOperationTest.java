package dev.housekeeper.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ServerOperationTest {

  @Test
  void aShortOperationIsReadEvery50MsALongOneOnceASecondAndBetweenAtATwentiethOfItsTime() {
    assertEquals(Duration.ofMillis(50), ServerOperation.pollAfter(Duration.ZERO));
    assertEquals(Duration.ofMillis(50), ServerOperation.pollAfter(Duration.ofMillis(900)));
    assertEquals(Duration.ofMillis(150), ServerOperation.pollAfter(Duration.ofSeconds(3)));
    assertEquals(Duration.ofMillis(500), ServerOperation.pollAfter(Duration.ofSeconds(10)));
    assertEquals(Duration.ofSeconds(1), ServerOperation.pollAfter(Duration.ofSeconds(20)));
    assertEquals(Duration.ofSeconds(1), ServerOperation.pollAfter(Duration.ofHours(5)));
  }

  @Test
  void aBackupOfKnownSizeIsReadAtHalfTheTimeItsRateSaysIsLeft() {
    // 8 of 52 MB after 250 ms: 1.4 s left at that rate, read again after 0.69 s
    assertEquals(Duration.ofMillis(687), ServerOperation.pollAfter(Duration.ofMillis(250), 8_000_000, 52_000_000)
        .truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
    // 48 of 52 MB after 1 s: 83 ms left, read after 42 ms, which is less than the shortest wait
    assertEquals(Duration.ofMillis(50), ServerOperation.pollAfter(Duration.ofSeconds(1), 48_000_000, 52_000_000));
    // more than expected (parts written since they were listed): the end is near, read often
    assertEquals(Duration.ofMillis(50), ServerOperation.pollAfter(Duration.ofSeconds(1), 53_000_000, 52_000_000));
    // a long backup early on: at most once a second
    assertEquals(Duration.ofSeconds(1), ServerOperation.pollAfter(Duration.ofSeconds(10), 1_000_000, 52_000_000));
  }
}
