package dev.housekeeper.api.common;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** Names the ClickHouseConnection, in the same namespace, that a resource works through. */
public class ConnectionRef {

  @Required
  @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
  @JsonPropertyDescription("Name of a ClickHouseConnection in the same namespace.")
  private String name;

  public ConnectionRef() {}

  public ConnectionRef(String name) {
    this.name = name;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }
}
