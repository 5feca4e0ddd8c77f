package dev.housekeeper.common;

import static org.assertj.core.api.Assertions.assertThat;

import dev.housekeeper.clickhouse.ClickHouseException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TransientTest {

  static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");

  static ClickHouseException failure(ClickHouseException.Kind kind) {
    return new ClickHouseException(kind, 0, false, "http://ch:8123", "q", kind + " happened", null);
  }

  @Test
  void passingFailuresAreToldByKindAndCauseChain() {
    assertThat(Transient.is(failure(ClickHouseException.Kind.CONNECTION))).isTrue();
    assertThat(Transient.is(failure(ClickHouseException.Kind.TIMEOUT))).isTrue();
    assertThat(Transient.is(new IOException("wrapped", new java.net.ConnectException("refused")))).isTrue();
    assertThat(Transient.is(new RuntimeException(new IOException(failure(ClickHouseException.Kind.CIRCUIT_OPEN)))))
        .isTrue();
    assertThat(Transient.is(failure(ClickHouseException.Kind.AUTHENTICATION))).isFalse();
    assertThat(Transient.is(failure(ClickHouseException.Kind.SYNTAX))).isFalse();
    assertThat(Transient.is(new IOException("checksum mismatch"))).isFalse();
  }

  @Test
  void boundedRetriesComeAt15And30And60SecondsThenStop() {
    List<RetryPolicy.Retry> seen = new ArrayList<>();
    Integer failures = null;
    for (int i = 0; i < 4; i++) {
      RetryPolicy.Retry r = RetryPolicy.BOUNDED.after(failures, true, NOW);
      seen.add(r);
      failures = r.failures();
    }
    assertThat(seen).extracting(RetryPolicy.Retry::failures).containsExactly(1, 2, 3, 4);
    assertThat(seen).extracting(RetryPolicy.Retry::at).containsExactly(NOW.plusSeconds(15), NOW.plusSeconds(30),
        NOW.plusSeconds(60), null);
    assertThat(seen.get(0).words("retrying")).isEqualTo("; retrying at 2026-11-22T10:00:15Z (retry 1 of 3)");
    assertThat(seen.get(3).words("retrying"))
        .isEqualTo(" (4 attempts in a row failed; no more automatic retries)");
  }

  @Test
  void aLastingFailureIsCountedButNotRetried() {
    RetryPolicy.Retry r = RetryPolicy.BOUNDED.after(1, false, NOW);
    assertThat(r.failures()).isEqualTo(2);
    assertThat(r.at()).isNull();
    assertThat(r.words("retrying")).isEmpty();
  }

  @Test
  void anUnboundedPolicyDoublesUpToItsCapAndNeverStops() {
    var policy = RetryPolicy.MART;
    assertThat(policy.after(null, true, NOW).at()).isEqualTo(NOW.plusSeconds(5));
    assertThat(policy.after(3, true, NOW).at()).isEqualTo(NOW.plusSeconds(40));
    RetryPolicy.Retry late = policy.after(500, true, NOW);
    assertThat(late.at()).isEqualTo(NOW.plus(Duration.ofMinutes(5)));
    assertThat(late.words("retrying")).endsWith("(attempt 502)");
  }

  @Test
  void afterWriteDoesItsEffectsOnlyOnceTheStatusIsWritten() {
    AfterWrite later = new AfterWrite(null);
    List<String> done = new ArrayList<>();
    later.then("ns/a", () -> done.add("counted"));
    later.dropped("ns/a"); // the status write was refused: the next pass folds the result again
    assertThat(done).isEmpty();
    later.then("ns/a", () -> done.add("counted"));
    later.then("ns/b", () -> done.add("other"));
    later.written("ns/a");
    later.written("ns/a");
    assertThat(done).containsExactly("counted");
  }
}
