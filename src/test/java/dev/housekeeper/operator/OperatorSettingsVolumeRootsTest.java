package dev.housekeeper.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The volume roots come from the environment; none by default (volume storage refused), a bad one stops the start. */
class OperatorSettingsVolumeRootsTest {

  @Test
  void noRootsByDefault() {
    assertThat(OperatorSettings.fromEnvironment(Map.of()).volumeRoots().isEmpty()).isTrue();
  }

  @Test
  void rootsAndSharedRootsAreRead() {
    var settings = OperatorSettings.fromEnvironment(Map.of("HOUSEKEEPER_VOLUME_ROOTS", "/backups,/archive",
        "HOUSEKEEPER_SHARED_VOLUME_ROOTS", "/srv/local"));
    assertThat(settings.volumeRoots().describe()).isEqualTo("/backups (as /backups/<namespace>), /archive (as"
        + " /archive/<namespace>), /srv/local (shared by all namespaces)");
  }

  @Test
  void aRootThatIsNotAnAbsolutePlainPathStopsTheStart() {
    var e = assertThrows(IllegalArgumentException.class, () -> OperatorSettings.fromEnvironment(
        Map.of("HOUSEKEEPER_VOLUME_ROOTS", "backups")));
    assertThat(e.getMessage()).startsWith("HOUSEKEEPER_VOLUME_ROOTS: \"backups\"");
  }
}
