package dev.housekeeper.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.LintResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Helm chart, linted and rendered by Helm's library with its defaults and with non-default values
 * (namespaced mode, ServiceMonitor and PrometheusRule on); the rendered manifests are parsed and checked.
 */
class HelmChartTest {

  static final List<String> KINDS = List.of("clickhouseconnections", "clickhousemigrations", "retentionpolicies",
      "clickhousebackups", "clickhouserestores", "reportmarts");
  static final Map<String, Object> NAMESPACED = new LinkedHashMap<>();

  static {
    NAMESPACED.put("watchNamespaces", List.of("team-a", "team-b"));
    NAMESPACED.put("metrics", Map.of("serviceMonitor", Map.of("enabled", true, "labels", Map.of("release", "prom"))));
    NAMESPACED.put("prometheusRule", Map.of("enabled", true, "backupMaxAgeSeconds", 7200));
    NAMESPACED.put("image", Map.of("tag", "9.9.9"));
    NAMESPACED.put("replicaCount", 1);
    NAMESPACED.put("resources", Map.of("limits", Map.of("memory", "1Gi")));
  }

  static final Map<String, Object> NAMESPACED_SET = Map.of(
      "watchNamespaces[0]", "team-a", "watchNamespaces[1]", "team-b",
      "metrics.serviceMonitor.enabled", true, "metrics.serviceMonitor.labels.release", "prom",
      "prometheusRule.enabled", true, "prometheusRule.backupMaxAgeSeconds", 7200,
      "image.tag", "9.9.9", "replicaCount", 1, "resources.limits.memory", "1Gi");

  static List<JsonNode> defaults;
  static List<JsonNode> namespaced;

  @BeforeAll
  static void render() throws Exception {
    defaults = HelmChart.render(Map.of());
    namespaced = HelmChart.render(NAMESPACED_SET);
  }

  static List<JsonNode> kind(List<JsonNode> docs, String kind) {
    return HelmChart.ofKind(docs, kind);
  }

  static List<String> strings(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }

  @Test
  void lintsCleanWithDefaultsAndWithNonDefaultValues() throws Exception {
    LintResult plain = HelmChart.lint(Map.of());
    assertThat(plain.isFailed()).as("helm lint --strict: %s", plain.getMessages()).isFalse();
    LintResult other = HelmChart.lint(NAMESPACED);
    assertThat(other.isFailed()).as("helm lint --strict (namespaced, monitoring on): %s", other.getMessages())
        .isFalse();
    // lint does fail on bad values (values.schema.json): the check is not vacuous
    LintResult notAList = HelmChart.lint(Map.of("watchNamespaces", "team-a"));
    assertThat(notAList.isFailed()).as("lint of watchNamespaces given as a string").isTrue();
    assertThat(String.join("\n", notAList.getMessages())).contains("watchNamespaces");
    LintResult noName = HelmChart.lint(Map.of("serviceAccount", Map.of("create", false, "name", "")));
    assertThat(noName.isFailed()).as("lint of serviceAccount.create=false without a name").isTrue();
  }

  @Test
  void defaultsRenderTheOperatorWithClusterWideLeastPrivilege() {
    Set<String> kinds = defaults.stream().map(d -> d.path("kind").asText()).collect(Collectors.toCollection(TreeSet::new));
    assertThat(kinds).contains("ServiceAccount", "ClusterRole", "ClusterRoleBinding",
        "Role", "RoleBinding", "Deployment", "Service", "ConfigMap", "PodDisruptionBudget")
        .doesNotContain("ServiceMonitor", "PrometheusRule");
    JsonNode operatorRole = kind(defaults, "ClusterRole").stream()
        .filter(r -> r.path("metadata").path("name").asText().equals("housekeeper")).findFirst().orElseThrow();
    assertLeastPrivilege(operatorRole.path("rules"));
    JsonNode binding = kind(defaults, "ClusterRoleBinding").get(0);
    assertEquals("housekeeper", binding.path("subjects").get(0).path("name").asText());
    assertEquals(HelmChart.NAMESPACE, binding.path("subjects").get(0).path("namespace").asText());
    // leader election: leases, in the operator's namespace only
    JsonNode lease = kind(defaults, "Role").get(0);
    assertEquals(HelmChart.NAMESPACE, lease.path("metadata").path("namespace").asText());
    assertEquals(List.of("leases"), strings(lease.path("rules").get(0).path("resources")));

    JsonNode container = deploymentContainer(defaults);
    assertEquals("/healthz", container.path("livenessProbe").path("httpGet").path("path").asText());
    assertEquals("/readyz", container.path("readinessProbe").path("httpGet").path("path").asText());
    assertHardened(deployment(defaults), container);
    assertEquals("ghcr.io/housekeeper-dev/housekeeper:0.1.0", container.path("image").asText());
    assertEquals("", env(container, "WATCH_NAMESPACES"));
    assertEquals("true", env(container, "LEADER_ELECTION"));
    assertThat(env(container, "JAVA_TOOL_OPTIONS")).startsWith("-XX:MaxRAMPercentage=60 ")
        .contains("-XX:+ExitOnOutOfMemoryError");
    assertEquals("512Mi", container.path("resources").path("limits").path("memory").asText());
    assertEquals(2, deployment(defaults).path("spec").path("replicas").asInt());

    JsonNode service = kind(defaults, "Service").get(0);
    assertEquals("http", service.path("spec").path("ports").get(0).path("targetPort").asText());
  }

  @Test
  void namespacedModeGrantsRolesOnlyInTheWatchedNamespacesAndTurnsOnMonitoring() {
    List<JsonNode> roles = kind(namespaced, "Role");
    Set<String> roleNamespaces = roles.stream()
        .filter(r -> !r.path("metadata").path("name").asText().endsWith("-leader-election"))
        .map(r -> r.path("metadata").path("namespace").asText()).collect(Collectors.toSet());
    assertEquals(Set.of("team-a", "team-b"), roleNamespaces);
    for (JsonNode role : roles) {
      if (!role.path("metadata").path("name").asText().endsWith("-leader-election")) {
        assertLeastPrivilege(role.path("rules"));
      }
    }
    assertEquals(Set.of("team-a", "team-b", HelmChart.NAMESPACE), kind(namespaced, "RoleBinding").stream()
        .map(b -> b.path("metadata").path("namespace").asText()).collect(Collectors.toSet()));
    // no cluster-wide rights for the operator: only the user-facing aggregated roles remain
    assertThat(kind(namespaced, "ClusterRoleBinding")).isEmpty();
    assertThat(kind(namespaced, "ClusterRole")).allSatisfy(r -> assertThat(r.path("metadata").path("labels")
        .fieldNames()).toIterable().anyMatch(l -> l.startsWith("rbac.authorization.k8s.io/aggregate-to-")));

    JsonNode container = deploymentContainer(namespaced);
    assertEquals("team-a,team-b", env(container, "WATCH_NAMESPACES"));
    assertEquals("ghcr.io/housekeeper-dev/housekeeper:9.9.9", container.path("image").asText());
    assertEquals("1Gi", container.path("resources").path("limits").path("memory").asText());
    assertHardened(deployment(namespaced), container);
    assertThat(kind(namespaced, "PodDisruptionBudget")).as("no PDB for a single replica").isEmpty();

    JsonNode monitor = kind(namespaced, "ServiceMonitor").get(0);
    assertEquals("prom", monitor.path("metadata").path("labels").path("release").asText());
    assertEquals("/metrics", monitor.path("spec").path("endpoints").get(0).path("path").asText());
    JsonNode service = kind(namespaced, "Service").get(0);
    monitor.path("spec").path("selector").path("matchLabels").fields().forEachRemaining(e ->
        assertEquals(e.getValue().asText(), service.path("metadata").path("labels").path(e.getKey()).asText(),
            "the ServiceMonitor selects the metrics Service by " + e.getKey()));

    JsonNode rules = kind(namespaced, "PrometheusRule").get(0).path("spec").path("groups").get(0).path("rules");
    Set<String> alerts = StreamSupport.stream(rules.spliterator(), false).map(r -> r.path("alert").asText())
        .collect(Collectors.toSet());
    assertThat(alerts).contains("HousekeeperBackupFailed", "HousekeeperNoRecentBackup",
        "HousekeeperMigrationDirtyOrDrifted", "HousekeeperRetentionRunFailed", "HousekeeperMartRefreshLate",
        "HousekeeperConnectionNotReady");
    String noRecent = StreamSupport.stream(rules.spliterator(), false)
        .filter(r -> r.path("alert").asText().equals("HousekeeperNoRecentBackup")).findFirst().orElseThrow()
        .path("expr").asText();
    assertThat(noRecent).contains("> 7200");
  }

  @Test
  void aggregatedRolesGiveUsersViewAndEditOnEveryKind() {
    JsonNode view = clusterRole(defaults, "housekeeper-view");
    JsonNode edit = clusterRole(defaults, "housekeeper-edit");
    assertEquals("true", view.path("metadata").path("labels").path("rbac.authorization.k8s.io/aggregate-to-view").asText());
    assertEquals("true", edit.path("metadata").path("labels").path("rbac.authorization.k8s.io/aggregate-to-edit").asText());
    assertEquals("true", edit.path("metadata").path("labels").path("rbac.authorization.k8s.io/aggregate-to-admin").asText());
    assertEquals(Set.copyOf(KINDS), Set.copyOf(strings(view.path("rules").get(0).path("resources"))));
    assertEquals(List.of("get", "list", "watch"), strings(view.path("rules").get(0).path("verbs")));
    assertThat(strings(edit.path("rules").get(0).path("verbs"))).contains("create", "delete", "patch")
        .doesNotContain("*");
    assertThat(strings(edit.path("rules").get(0).path("resources"))).noneMatch(r -> r.contains("/status"));
  }

  @Test
  void theChartsCrdsAreIdenticalToCrdsAndRenderForEveryKind() throws Exception {
    try (Stream<Path> crds = Files.list(HelmChart.PROJECT.resolve("crds"))) {
      List<Path> files = crds.sorted().toList();
      assertEquals(6, files.size());
      for (Path crd : files) {
        assertArrayEquals(Files.readAllBytes(crd), Files.readAllBytes(HelmChart.CHART.resolve("crds")
            .resolve(crd.getFileName())), crd.getFileName() + " in helm/housekeeper/crds differs from crds/"
            + " (mvn -Pupdate-crds process-classes)");
      }
    }
    try (Stream<Path> chart = Files.list(HelmChart.CHART.resolve("crds"))) {
      assertEquals(6, chart.count(), "no stale CRD in the chart");
    }
    // what Helm itself loads from crds/ (helm show crds; helm-java joins the files without separators)
    List<JsonNode> shown = new ArrayList<>();
    for (String file : new com.marcnuri.helm.Helm(HelmChart.CHART).show().crds().call().split("(?m)^(?=apiVersion:)")) {
      shown.addAll(HelmChart.documents(file));
    }
    assertEquals(Set.copyOf(KINDS), kind(shown, "CustomResourceDefinition").stream()
        .map(c -> c.path("spec").path("names").path("plural").asText()).collect(Collectors.toSet()));
  }

  @Test
  void theDashboardIsValidJsonInAConfigMapWithTheSidecarLabel() throws Exception {
    JsonNode cm = kind(defaults, "ConfigMap").get(0);
    assertEquals("1", cm.path("metadata").path("labels").path("grafana_dashboard").asText());
    JsonNode dashboard = new ObjectMapper().readTree(cm.path("data").path("housekeeper.json").asText());
    assertEquals("housekeeper-overview", dashboard.path("uid").asText());
    assertThat(dashboard.path("panels").size()).isGreaterThanOrEqualTo(8);
    for (JsonNode panel : dashboard.path("panels")) {
      assertThat(panel.path("targets").size()).as(panel.path("title").asText()).isPositive();
    }
    assertThat(HelmChart.render(Map.of("grafanaDashboard.enabled", false)).stream()
        .filter(d -> d.path("kind").asText().equals("ConfigMap")).toList()).isEmpty();
  }

  @Test
  void metricNamesAreReadFromPromQl() {
    assertEquals(Set.of("housekeeper_last_success_timestamp_seconds", "housekeeper_next_run_timestamp_seconds"),
        HelmChart.metricNames("(time() - max by (namespace, name) (housekeeper_last_success_timestamp_seconds"
            + "{kind=\"ClickHouseBackup\"}) > 93600) and on (namespace, name) max by (namespace, name)"
            + " (housekeeper_next_run_timestamp_seconds{kind=\"ClickHouseBackup\"})"));
    assertEquals(Set.of("housekeeper_actions_total"), HelmChart.metricNames(
        "sum by (kind, action, outcome) (rate(housekeeper_actions_total{namespace=~\"$namespace\"}[$__rate_interval]))"));
    assertEquals(Set.of("a_bytes", "b_total"), HelmChart.metricNames("a_bytes / ignoring(x) b_total or vector(0)"));
    assertEquals(Set.of("created_seconds", "last_success_seconds"), HelmChart.metricNames(
        "(time() - max by (namespace, name) (created_seconds{kind=\"ReportMart\"}) > 1800"
            + " unless on (namespace, name) last_success_seconds{kind=\"ReportMart\"})"));
  }

  @Test
  void theKubectlBundleGrantsExactlyWhatTheChartGrants() throws Exception {
    JsonNode bundle = null;
    for (JsonNode d : HelmChart.documents(Files.readString(HelmChart.PROJECT.resolve("deploy/kubectl/20-rbac.yaml")))) {
      if (d.path("kind").asText().equals("ClusterRole")) {
        bundle = d;
      }
    }
    assertEquals(grants(clusterRole(defaults, "housekeeper").path("rules")), grants(bundle.path("rules")));
  }

  /** Rules as group/resource:verb triples. */
  static Set<String> grants(JsonNode rules) {
    Set<String> out = new TreeSet<>();
    for (JsonNode r : rules) {
      for (String g : strings(r.path("apiGroups"))) {
        for (String res : strings(r.path("resources"))) {
          for (String v : strings(r.path("verbs"))) {
            out.add(g + "/" + res + ":" + v);
          }
        }
      }
    }
    return out;
  }

  static JsonNode clusterRole(List<JsonNode> docs, String name) {
    return kind(docs, "ClusterRole").stream().filter(r -> r.path("metadata").path("name").asText().equals(name))
        .findFirst().orElseThrow(() -> new AssertionError("no ClusterRole " + name));
  }

  static JsonNode deployment(List<JsonNode> docs) {
    return kind(docs, "Deployment").get(0);
  }

  static JsonNode deploymentContainer(List<JsonNode> docs) {
    return deployment(docs).path("spec").path("template").path("spec").path("containers").get(0);
  }

  static String env(JsonNode container, String name) {
    for (JsonNode e : container.path("env")) {
      if (name.equals(e.path("name").asText())) {
        return e.path("value").asText();
      }
    }
    throw new AssertionError("no env " + name);
  }

  /** Own kinds with status and finalizers; Secrets and ConfigMaps read-only; Events; no wildcards. */
  static void assertLeastPrivilege(JsonNode rules) {
    Map<String, Set<String>> verbs = new LinkedHashMap<>();
    List<String> groups = new ArrayList<>();
    for (JsonNode rule : rules) {
      groups.addAll(strings(rule.path("apiGroups")));
      assertThat(strings(rule.path("verbs"))).doesNotContain("*");
      assertThat(strings(rule.path("resources"))).doesNotContain("*").noneMatch(r -> r.endsWith("/*"));
      assertThat(strings(rule.path("apiGroups"))).doesNotContain("*");
      for (String resource : strings(rule.path("resources"))) {
        verbs.computeIfAbsent(resource, k -> new TreeSet<>()).addAll(strings(rule.path("verbs")));
      }
    }
    for (String k : KINDS) {
      assertThat(verbs.get(k)).as(k).contains("get", "list", "watch").doesNotContain("create", "delete");
      assertThat(verbs.get(k + "/status")).as(k + "/status").contains("patch", "update");
      assertThat(verbs.get(k + "/finalizers")).as(k + "/finalizers").contains("update");
    }
    assertEquals(Set.of("get", "list", "watch"), verbs.get("secrets"));
    assertEquals(Set.of("get", "list", "watch"), verbs.get("configmaps"));
    assertThat(verbs.get("events")).contains("create");
    assertThat(verbs.keySet()).doesNotContain("pods", "nodes", "clusterroles", "leases");
  }

  /**
   * backupVolumes: each is mounted at its mountPath and is a volume root (HOUSEKEEPER_VOLUME_ROOTS, one folder
   * per namespace); by default there is none and /tmp is never one.
   */
  @Test
  void backupVolumesAreMountedAsTheVolumeRootsAndTmpIsNeverOne() throws Exception {
    JsonNode plain = deploymentContainer(defaults);
    assertThat(plain.path("env").findValuesAsText("name")).doesNotContain("HOUSEKEEPER_VOLUME_ROOTS",
        "HOUSEKEEPER_SHARED_VOLUME_ROOTS");

    List<JsonNode> docs = HelmChart.render(Map.of(
        "backupVolumes[0].name", "scratch", "backupVolumes[0].mountPath", "/backups",
        "backupVolumes[0].emptyDir.sizeLimit", "10Gi",
        "backupVolumes[1].name", "archive", "backupVolumes[1].mountPath", "/archive",
        "backupVolumes[1].persistentVolumeClaim.claimName", "housekeeper-backups"));
    JsonNode container = deploymentContainer(docs);
    assertEquals("/backups,/archive", env(container, "HOUSEKEEPER_VOLUME_ROOTS"));
    assertThat(container.path("volumeMounts").findValuesAsText("mountPath")).containsExactly("/tmp", "/backups",
        "/archive");
    JsonNode volumes = deployment(docs).path("spec").path("template").path("spec").path("volumes");
    assertEquals("10Gi", volumes.get(1).path("emptyDir").path("sizeLimit").asText());
    assertEquals("backup-scratch", volumes.get(1).path("name").asText());
    assertEquals("housekeeper-backups", volumes.get(2).path("persistentVolumeClaim").path("claimName").asText());
    assertThat(volumes.get(2).has("mountPath")).isFalse();

    Map<String, Object> ok = Map.of("backupVolumes", List.of(Map.of("name", "scratch", "mountPath", "/backups",
        "emptyDir", Map.of("sizeLimit", "10Gi"))));
    LintResult good = HelmChart.lint(ok);
    assertThat(good.isFailed()).as("helm lint --strict with a backup volume: %s", good.getMessages()).isFalse();
    // /tmp (the JVM's scratch space) cannot be offered as backup storage, nor a volume without a source
    LintResult tmp = HelmChart.lint(Map.of("backupVolumes", List.of(Map.of("name", "t", "mountPath", "/tmp",
        "emptyDir", Map.of()))));
    assertThat(tmp.isFailed()).as("lint of a backup volume at /tmp").isTrue();
    assertThat(String.join("\n", tmp.getMessages())).contains("backupVolumes");
    LintResult noSource = HelmChart.lint(Map.of("backupVolumes", List.of(Map.of("name", "b", "mountPath",
        "/backups"))));
    assertThat(noSource.isFailed()).as("lint of a backup volume without a source").isTrue();
    assertThat(String.join("\n", noSource.getMessages())).contains("backupVolumes");
  }

  static void assertHardened(JsonNode deployment, JsonNode container) {
    JsonNode pod = deployment.path("spec").path("template").path("spec").path("securityContext");
    assertThat(pod.path("runAsNonRoot").asBoolean()).isTrue();
    assertEquals("RuntimeDefault", pod.path("seccompProfile").path("type").asText());
    JsonNode sc = container.path("securityContext");
    assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).isTrue();
    assertThat(sc.path("allowPrivilegeEscalation").asBoolean()).isFalse();
    assertEquals(List.of("ALL"), strings(sc.path("capabilities").path("drop")));
    assertThat(container.path("volumeMounts").findValuesAsText("mountPath")).contains("/tmp");
  }
}
