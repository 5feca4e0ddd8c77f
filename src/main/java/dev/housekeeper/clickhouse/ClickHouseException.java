package dev.housekeeper.clickhouse;

/**
 * A typed failure of the client layer. {@link #kind()} says what class of failure it is,
 * {@link #retriable()} whether trying again can help.
 */
public class ClickHouseException extends RuntimeException {

  /** Classes of failure, mapped from ClickHouse error codes, HTTP status and transport errors. */
  public enum Kind {
    /** The endpoint could not be reached, or the connection dropped. */
    CONNECTION("Connection"),
    /** Wrong user or password. */
    AUTHENTICATION("Authentication"),
    /** The user lacks a privilege, or the profile is read-only. */
    PERMISSION_DENIED("PermissionDenied"),
    /** The server could not parse the statement. */
    SYNTAX("Syntax"),
    UNKNOWN_DATABASE("UnknownDatabase"),
    UNKNOWN_TABLE("UnknownTable"),
    /** The query ran longer than its limit. */
    TIMEOUT("Timeout"),
    /** The query was killed (KILL QUERY) or cancelled by the client. */
    CANCELLED("Cancelled"),
    /** Every endpoint's circuit breaker is open. */
    CIRCUIT_OPEN("CircuitOpen"),
    /** A retriable failure kept happening until the attempts ran out. */
    RETRIES_EXHAUSTED("RetriesExhausted"),
    /** Input refused before anything was sent: a bad identifier or value. */
    INVALID_INPUT("InvalidInput"),
    /** Any other error answered by the server; see {@link #code()}. */
    SERVER("ServerError");

    private final String reason;

    Kind(String reason) {
      this.reason = reason;
    }

    /** The CamelCase word used in conditions and status. */
    public String reason() {
      return reason;
    }
  }

  private final Kind kind;
  private final int code;
  private final boolean retriable;
  private final String endpoint;
  private final String queryId;

  public ClickHouseException(
      Kind kind, int code, boolean retriable, String endpoint, String queryId, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.code = code;
    this.retriable = retriable;
    this.endpoint = endpoint;
    this.queryId = queryId;
  }

  public static ClickHouseException invalidInput(String message) {
    return new ClickHouseException(Kind.INVALID_INPUT, 0, false, null, null, message, null);
  }

  public Kind kind() {
    return kind;
  }

  /** ClickHouse's error code, or 0 when the error did not come from the server. */
  public int code() {
    return code;
  }

  public boolean retriable() {
    return retriable;
  }

  /** The endpoint that gave this error, when known. */
  public String endpoint() {
    return endpoint;
  }

  public String queryId() {
    return queryId;
  }
}
