package dev.housekeeper.api.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * What every Housekeeper status carries: the generation last acted upon and the standard
 * conditions ({@code Ready}, {@code Progressing}, {@code Degraded}). Each kind adds its own phase.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public abstract class HousekeeperStatus {

  @JsonPropertyDescription("The metadata.generation of the spec that this status describes.")
  private Long observedGeneration;

  @JsonPropertyDescription(
      "Standard conditions: Ready, Progressing and Degraded, each with a CamelCase reason and a"
          + " message that says what failed and what to do.")
  private List<Condition> conditions = new ArrayList<>();

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions == null ? new ArrayList<>() : conditions;
  }
}
