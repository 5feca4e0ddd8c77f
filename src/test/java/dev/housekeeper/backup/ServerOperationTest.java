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
}
