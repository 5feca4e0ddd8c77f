package dev.housekeeper.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The kubectl bundle (deploy/kubectl/), parsed: least-privilege RBAC, a hardened Deployment, current CRDs. */
class KubectlBundleTest {

  static final Path PROJECT = Path.of(System.getProperty("housekeeper.projectDir", "."));
  static final Path BUNDLE = PROJECT.resolve("deploy/kubectl");
  static final List<HasMetadata> ITEMS = new ArrayList<>();

  @BeforeAll
  static void load() throws Exception {
    try (Stream<Path> files = Files.list(BUNDLE)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted()
          .toList()) {
        try (InputStream in = Files.newInputStream(f)) {
          Object parsed = Serialization.unmarshal(in);
          if (parsed instanceof List<?> list) {
            list.forEach(o -> ITEMS.add((HasMetadata) o));
          } else {
            ITEMS.add((HasMetadata) parsed);
          }
        }
      }
    }
  }

  static <T> List<T> all(Class<T> type) {
    return ITEMS.stream().filter(type::isInstance).map(type::cast).toList();
  }

  static Set<String> plurals() {
    return all(CustomResourceDefinition.class).stream().map(c -> c.getSpec().getNames().getPlural())
        .collect(Collectors.toSet());
  }

  @Test
  void theBundleCarriesTheCurrentCrdsForEveryKind() throws Exception {
    try (Stream<Path> crds = Files.list(PROJECT.resolve("crds"))) {
      List<Path> files = crds.sorted().toList();
      assertEquals(6, files.size());
      for (Path crd : files) {
        assertArrayEquals(Files.readAllBytes(crd), Files.readAllBytes(BUNDLE.resolve(crd.getFileName())),
            crd.getFileName() + " in deploy/kubectl differs from crds/ (mvn -Pupdate-crds process-classes)");
      }
    }
    assertEquals(6, plurals().size());
  }

  @Test
  void rbacHasNoWildcardsAndGrantsStatusAndFinalizers() {
    List<PolicyRule> rules = new ArrayList<>();
    all(ClusterRole.class).forEach(r -> rules.addAll(r.getRules()));
    all(Role.class).forEach(r -> rules.addAll(r.getRules()));
    assertThat(rules).isNotEmpty();
    for (PolicyRule r : rules) {
      assertThat(r.getVerbs()).doesNotContain("*");
      assertThat(r.getResources()).doesNotContain("*");
      assertThat(r.getApiGroups()).doesNotContain("*");
    }
    Set<String> granted = rules.stream().filter(r -> r.getApiGroups().contains("housekeeper.dev"))
        .flatMap(r -> r.getResources().stream()).collect(Collectors.toSet());
    for (String plural : plurals()) {
      assertThat(granted).contains(plural, plural + "/status", plural + "/finalizers");
    }
    PolicyRule secrets = rules.stream().filter(r -> r.getResources().contains("secrets")).findFirst().orElseThrow();
    assertThat(secrets.getVerbs()).containsExactlyInAnyOrder("get", "list", "watch");
    assertThat(rules).anyMatch(r -> r.getResources().contains("events") && r.getVerbs().contains("create"));
    Role leases = all(Role.class).stream().filter(r -> r.getRules().stream()
        .anyMatch(x -> x.getResources().contains("leases"))).findFirst().orElseThrow();
    assertEquals("housekeeper-system", leases.getMetadata().getNamespace(), "leases only in its own namespace");
  }

  @Test
  void theDeploymentIsProbedAndHardened() {
    Deployment d = all(Deployment.class).get(0);
    var pod = d.getSpec().getTemplate().getSpec();
    assertEquals("housekeeper", pod.getServiceAccountName());
    assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot());
    var c = pod.getContainers().get(0);
    assertEquals("/healthz", c.getLivenessProbe().getHttpGet().getPath());
    assertEquals("/readyz", c.getReadinessProbe().getHttpGet().getPath());
    assertEquals(Boolean.TRUE, c.getSecurityContext().getReadOnlyRootFilesystem());
    assertEquals(Boolean.FALSE, c.getSecurityContext().getAllowPrivilegeEscalation());
    assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop());
    assertNotNull(c.getResources().getLimits().get("memory"));
    assertThat(c.getEnv()).anyMatch(e -> e.getName().equals("JAVA_TOOL_OPTIONS")
        && e.getValue().contains("MaxRAMPercentage"));
    assertThat(c.getVolumeMounts()).anyMatch(m -> m.getMountPath().equals("/tmp"));
  }
}
