package dev.housekeeper.connection;

import dev.housekeeper.api.common.ConnectionRef;
import dev.housekeeper.api.connection.ClickHouseConnection;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The informer every kind that names a connection uses: a change of a ClickHouseConnection (for
 * example it becoming Ready) reconciles the resources of its namespace whose connectionRef names it.
 */
public final class ConnectionEventSource {

  private ConnectionEventSource() {}

  public static <P extends HasMetadata> InformerEventSource<ClickHouseConnection, P> create(Class<P> kind,
      EventSourceContext<P> ctx, Function<P, ConnectionRef> connectionRef) {
    return new InformerEventSource<>(InformerEventSourceConfiguration
        .from(ClickHouseConnection.class, kind)
        .withNamespacesInheritedFromController()
        .withSecondaryToPrimaryMapper(c -> ctx.getPrimaryCache().list(c.getMetadata().getNamespace())
            .filter(p -> {
              ConnectionRef ref = connectionRef.apply(p);
              return ref != null && c.getMetadata().getName().equals(ref.getName());
            })
            .map(ResourceID::fromResource).collect(Collectors.toSet()))
        .build(), ctx);
  }
}
