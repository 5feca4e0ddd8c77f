package dev.housekeeper.operator;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader fences itself when it cannot show that its lease is still renewed. fabric8's elector
 * checks its renew deadline only between two renew attempts, and one attempt against an API server
 * that cannot be reached blocks much longer than the lease (the client's retries with backoff, its
 * connect and request timeouts): an old leader then went on writing to ClickHouse for 46 s after its
 * API connection was cut, while the standby led after 10 s. The fence reads the Lease every retry
 * period on its own thread and, on another, stops the work once the last renewal it has seen is older
 * than the renew deadline, however long the API calls hang. The elector writes {@code renewTime} from
 * this process's clock, so the comparison needs no clock agreement between machines.
 */
final class LeaseFence implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LeaseFence.class);

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private final String identity;
  private final Duration renewDeadline;
  private final Duration period;
  private final Runnable onLost;
  private final Clock clock;
  private final AtomicBoolean fired = new AtomicBoolean();
  private final ScheduledExecutorService reader = Executors.newSingleThreadScheduledExecutor(
      HttpListener.daemon("housekeeper-lease-reader"));
  private final ScheduledExecutorService checker = Executors.newSingleThreadScheduledExecutor(
      HttpListener.daemon("housekeeper-lease-fence"));
  /** The newest renewal of this replica's lease seen so far; null while not leading. */
  private volatile Instant lastRenewal;

  LeaseFence(KubernetesClient client, String namespace, String name, String identity, Duration renewDeadline,
      Duration period, Clock clock, Runnable onLost) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
    this.identity = identity;
    this.renewDeadline = renewDeadline;
    this.period = period;
    this.clock = clock;
    this.onLost = onLost;
  }

  /** This replica just acquired the lease: from now on it must keep showing renewals. */
  void leading() {
    lastRenewal = clock.instant();
    reader.scheduleWithFixedDelay(this::read, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    checker.scheduleWithFixedDelay(this::check, 100, 100, TimeUnit.MILLISECONDS);
  }

  private void read() {
    try {
      Lease lease = client.leases().inNamespace(namespace).withName(name).get();
      if (lease == null || lease.getSpec() == null || !identity.equals(lease.getSpec().getHolderIdentity())) {
        return; // not renewed by this replica: the deadline runs on
      }
      if (lease.getSpec().getRenewTime() != null) {
        Instant renewed = lease.getSpec().getRenewTime().toInstant();
        Instant seen = lastRenewal;
        if (seen == null || renewed.isAfter(seen)) {
          lastRenewal = renewed;
        }
      }
    } catch (RuntimeException e) {
      LOG.debug("cannot read lease {}/{}: {}", namespace, name, e.getMessage());
    }
  }

  private void check() {
    Instant seen = lastRenewal;
    if (seen != null && clock.instant().isAfter(seen.plus(renewDeadline)) && fired.compareAndSet(false, true)) {
      LOG.error("lease {}/{} last seen renewed at {}, more than the renew deadline ({} s) ago: fencing this replica",
          namespace, name, seen, renewDeadline.toSeconds());
      onLost.run();
    }
  }

  @Override
  public void close() {
    lastRenewal = null;
    reader.shutdownNow();
    checker.shutdownNow();
  }
}
