package dev.housekeeper.clickhouse;

import com.clickhouse.client.api.ConnectionInitiationException;
import com.clickhouse.client.api.ServerException;
import dev.housekeeper.clickhouse.ClickHouseException.Kind;
import java.io.EOFException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps what the HTTP client throws (server answers with a ClickHouse error code and HTTP status,
 * or transport failures) to a typed {@link ClickHouseException}, and decides whether it is safe to
 * try again.
 */
final class ErrorClassifier {

  private static final Set<Integer> AUTHENTICATION = Set.of(192, 193, 194, 516);
  private static final Set<Integer> PERMISSION = Set.of(164, 291, 497);
  private static final Set<Integer> TIMEOUT = Set.of(159, 160);
  /** Server errors after which the same statement may succeed: overload, network, replica state. */
  private static final Set<Integer> TRANSIENT = Set.of(202, 203, 209, 210, 242, 252, 285, 319, 425, 999);

  private static final Pattern CODE = Pattern.compile("Code: (\\d+)");

  private ErrorClassifier() {}

  /**
   * Whether a throwable is a transport failure before the request reached the server. Signs that
   * the request went out (no answer, a reset connection) win over the wrapper's name: client-v2
   * wraps NoHttpResponseException in ConnectionInitiationException.
   */
  static boolean notSent(Throwable t) {
    if (hasClassNamed(t, "NoHttpResponseException") || hasClassNamed(t, "ConnectionClosedException")
        || hasClassNamed(t, "MalformedChunkCodingException") || hasClassNamed(t, "TruncatedChunkException")) {
      return false;
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SocketException && !(c instanceof ConnectException) && !(c instanceof NoRouteToHostException)) {
        return false; // reset or broken pipe on an open connection
      }
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConnectException || c instanceof UnknownHostException || c instanceof NoRouteToHostException
          || c instanceof ConnectionInitiationException
          || c.getClass().getName().endsWith("ConnectTimeoutException")) {
        return true;
      }
    }
    return false;
  }

  static ClickHouseException classify(Throwable error, String endpoint, String queryId, boolean idempotent) {
    Throwable t = unwrap(error);
    if (t instanceof ClickHouseException ce) {
      return ce;
    }
    ServerException server = find(t, ServerException.class);
    if (server != null) {
      int code = server.getCode();
      if (code <= 0) {
        // client-v2 parses "Code: N." but 18.16 writes "Code: N, e.displayText() = ...".
        Matcher m = CODE.matcher(String.valueOf(server.getMessage()));
        code = m.find() ? Integer.parseInt(m.group(1)) : 0;
      }
      return fromServer(code, server.getTransportProtocolCode(), server.getMessage(), endpoint, queryId, server);
    }
    if (notSent(t)) {
      return new ClickHouseException(Kind.CONNECTION, 0, true, endpoint, queryId,
          "cannot connect to " + endpoint + ": " + rootMessage(t), t);
    }
    if (find(t, CancellationException.class) != null || find(t, InterruptedException.class) != null
        || (t instanceof InterruptedIOException && !(t instanceof SocketTimeoutException))) {
      return new ClickHouseException(Kind.CANCELLED, 0, false, endpoint, queryId, "query " + queryId + " was cancelled", t);
    }
    if (find(t, SocketTimeoutException.class) != null || find(t, java.util.concurrent.TimeoutException.class) != null) {
      return new ClickHouseException(Kind.TIMEOUT, 0, false, endpoint, queryId,
          "no answer from " + endpoint + " within the query timeout (query " + queryId + ")", t);
    }
    if (find(t, SocketException.class) != null || find(t, EOFException.class) != null
        || hasClassNamed(t, "NoHttpResponseException") || hasClassNamed(t, "ConnectionClosedException")
        || hasClassNamed(t, "MalformedChunkCodingException") || hasClassNamed(t, "TruncatedChunkException")) {
      // The request was sent and the connection broke: safe to resend only an idempotent statement.
      return new ClickHouseException(Kind.CONNECTION, 0, idempotent, endpoint, queryId,
          "connection to " + endpoint + " dropped during query " + queryId + ": " + rootMessage(t), t);
    }
    // client-v2 reads no body for some statuses; 501 is ClickHouse's NOT_IMPLEMENTED (code 48).
    if (String.valueOf(t.getMessage()).contains("Unexpected result status 501")) {
      return new ClickHouseException(Kind.SERVER, 48, false, endpoint, queryId, "Code: 48, ClickHouse answered 501"
          + " Not Implemented: the server does not support this statement here (for example ALTER on a Memory"
          + " table, or a feature of a newer version)", t);
    }
    // A server error that reached us in some other wrapping still carries its code in the text.
    Matcher m = CODE.matcher(String.valueOf(t.getMessage()));
    if (m.find()) {
      return fromServer(Integer.parseInt(m.group(1)), 0, t.getMessage(), endpoint, queryId, t);
    }
    return new ClickHouseException(Kind.SERVER, 0, false, endpoint, queryId,
        "query " + queryId + " on " + endpoint + " failed: " + rootMessage(t), t);
  }

  static ClickHouseException fromServer(int code, int httpStatus, String message, String endpoint, String queryId,
      Throwable cause) {
    Kind kind;
    boolean retriable = false;
    if (AUTHENTICATION.contains(code) || (code == 0 && httpStatus == 401)) {
      kind = Kind.AUTHENTICATION;
    } else if (PERMISSION.contains(code) || (code == 0 && httpStatus == 403)) {
      kind = Kind.PERMISSION_DENIED;
    } else if (code == 62) {
      kind = Kind.SYNTAX;
    } else if (code == 81) {
      kind = Kind.UNKNOWN_DATABASE;
    } else if (code == 60) {
      kind = Kind.UNKNOWN_TABLE;
    } else if (TIMEOUT.contains(code)) {
      kind = Kind.TIMEOUT;
    } else if (code == 394) {
      kind = Kind.CANCELLED;
    } else {
      kind = Kind.SERVER;
      retriable = TRANSIENT.contains(code);
    }
    return new ClickHouseException(kind, code, retriable, endpoint, queryId, clean(message), cause);
  }

  /** The server's text without the "e.what() = DB::Exception" tail that 18.16 appends. */
  static String clean(String message) {
    if (message == null) {
      return "";
    }
    String m = message.strip();
    int what = m.indexOf(", e.what() = ");
    if (what > 0) {
      m = m.substring(0, what);
    }
    return m.replace("e.displayText() = ", "");
  }

  private static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  private static <T extends Throwable> T find(Throwable t, Class<T> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return null;
  }

  private static boolean hasClassNamed(Throwable t, String simpleName) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c.getClass().getSimpleName().equals(simpleName)) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    String m = c.getMessage();
    return c.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
