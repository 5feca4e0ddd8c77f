package dev.housekeeper.api;

/** Names shared by every kind of the API. */
public final class ApiGroup {
  public static final String GROUP = "housekeeper.dev";
  public static final String VERSION = "v1alpha1";
  public static final String API_VERSION = GROUP + "/" + VERSION;
  /** The category that makes {@code kubectl get housekeeper} list every kind. */
  public static final String CATEGORY = "housekeeper";

  private ApiGroup() {}
}
