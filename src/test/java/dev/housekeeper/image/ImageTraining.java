package dev.housekeeper.image;

import dev.housekeeper.local.LocalRun;
import dev.housekeeper.testing.KubernetesApi;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The API for the image's training run (bin/build-image): the operator in the unpacked image starts
 * against it, reconciles every example once, and the classes it loaded on the way become the image's
 * class-data-sharing archive. The examples' ClickHouse, S3 and PostgreSQL hosts do not resolve in the
 * build, so every resource ends in its error path: that path, the start-up and the status writes are
 * what is trained.
 *
 * <p>Arguments: the kubeconfig to write (its server is this API on loopback), the examples folder.
 * Prints {@code reconciled <n>} once every resource has a status condition (or after 60 s), then
 * serves until stdin closes.
 */
public final class ImageTraining {

  private ImageTraining() {}

  public static void main(String[] args) throws Exception {
    Path kubeconfig = Path.of(args[0]);
    Path examples = Path.of(args[1]);
    try (KubernetesApi api = KubernetesApi.start()) {
      List<HasMetadata> applied = new ArrayList<>();
      for (Path file : LocalRun.exampleFiles(examples)) {
        try (InputStream in = Files.newInputStream(file)) {
          for (HasMetadata item : api.client().load(in).items()) {
            item.getMetadata().setNamespace(LocalRun.NAMESPACE);
            applied.add(api.client().resource(item).inNamespace(LocalRun.NAMESPACE)
                .createOr(NonDeletingOperation::update));
          }
        }
      }
      Path written = api.writeKubeconfig(kubeconfig.resolveSibling(kubeconfig.getFileName() + ".tmp"));
      Files.move(written, kubeconfig, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      System.out.println("serving " + api.url() + " with " + applied.size() + " example objects");
      List<HasMetadata> housekeeper = applied.stream()
          .filter(r -> r.getApiVersion().startsWith("housekeeper.dev/")).toList();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      long reconciled = 0;
      while (System.nanoTime() < deadline) {
        reconciled = housekeeper.stream().filter(r -> hasCondition(api, r)).count();
        if (reconciled == housekeeper.size()) {
          break;
        }
        Thread.sleep(200);
      }
      System.out.println("reconciled " + reconciled + " of " + housekeeper.size());
      System.out.flush();
      byte[] ignored = System.in.readAllBytes(); // serves until the build closes stdin
      System.out.println("stopping" + (ignored.length > 0 ? " (" + new String(ignored, StandardCharsets.UTF_8).strip() + ")" : ""));
    }
  }

  private static boolean hasCondition(KubernetesApi api, HasMetadata resource) {
    var live = api.client().genericKubernetesResources(resource.getApiVersion(), resource.getKind())
        .inNamespace(LocalRun.NAMESPACE).withName(resource.getMetadata().getName()).get();
    if (live == null || !(live.getAdditionalProperties().get("status") instanceof java.util.Map<?, ?> status)) {
      return false;
    }
    return status.get("conditions") instanceof List<?> conditions && !conditions.isEmpty();
  }
}
