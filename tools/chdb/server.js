#!/usr/bin/env node
// ClickHouse's HTTP interface over chDB: a current ClickHouse engine (26.7, libchdb from the npm
// package `chdb`) behind the protocol that clickhouse-server speaks on its HTTP port, so that
// Housekeeper's unmodified client (client-v2 over HTTP) can be tested against ClickHouse 26.7.
//
//   node tools/chdb/server.js --port N --data DIR --user U --password P
//        [--host 127.0.0.1] [--config FILE] [--display-name NAME]
//
// DIR holds everything: data/ (the chDB session path), config.xml (written at start unless
// --config names another file), backups/ (the local disk `backups`), backup_files/ (allowed_path
// of File(...) backups), spool/ (INSERT bodies on their way into the engine), user_files/.
// BACKUP ... TO Disk('backups', 'x/'), TO File('x/') and TO S3('http://...', 'key', 'secret')
// (credentials in the statement, e.g. s3rver) are allowed.
//
// What it answers like clickhouse-server 26.7:
// - GET and POST on /, /ping and /replicas_status ("Ok.\n"), GET / without a query ("Ok.\n").
// - The statement in the `query` URL parameter, in the body, or both: then, as on the real
//   server, the body follows the parameter. When the parameter ends with FORMAT <name> the body is
//   INSERT data: it is spooled to a file and inserted with INSERT ... FROM INFILE (chDB's inline
//   insert of binary bodies fails past ~2,570 rows), so Native, RowBinary and text formats work at
//   any size. Request bodies with Content-Encoding gzip, deflate or br are decompressed.
// - query_id (URL parameter, else X-ClickHouse-Query-Id), database (X-ClickHouse-Database header,
//   else the URL parameter: the header wins, as on the real server), default_format
//   (X-ClickHouse-Format header, else the URL parameter), param_<name> query parameters, and any
//   other URL parameter as a setting of the query (unknown ones fail with code 115, like the real
//   server); HTTP-only parameters (wait_end_of_query, buffer_size, stacktrace, ...) are accepted.
//   GET runs read-only (readonly=2), as on the real server.
// - Authentication by Basic auth, X-ClickHouse-User/X-ClickHouse-Key or user/password parameters;
//   mixing two is refused. A wrong user or password: HTTP 403, code 516 (AUTHENTICATION_FAILED).
// - Errors: the HTTP status of ClickHouse's exceptionCodeToHTTPStatus (syntax 400, unknown table
//   404, timeout 408, ...), X-ClickHouse-Exception-Code, body "Code: N. DB::Exception: ... (NAME)
//   (version 26.7.2.1)\n". The first 1 MiB of a result is held back, so an error before that is a
//   proper error response (a result that ends within it is sent with a Content-Length); a later one
//   is sent as the real server does: a last chunk "__exception__\r\n<message>\n", then the
//   connection is closed without the final empty chunk, so a truncated result never looks complete.
// - Response headers X-ClickHouse-Query-Id, -Format, -Timezone, -Server-Display-Name, -Summary.
// - Queries run concurrently: one chDB Session (connection) per request on the same data path,
//   results streamed chunk by chunk with back-pressure, nothing blocks the event loop.
// - KILL QUERY WHERE <condition> [SYNC|ASYNC|TEST] with the client's query ids, and SELECTs from
//   system.processes that show the client's query ids (see below). A client that disconnects
//   cancels its query, like the real server.
// - max_execution_time and other limits are the engine's own.
//
// Limits (what differs from a real 26.7 server):
// - Query ids are emulated: chDB makes its own. Each statement carries a comment
//   /*hk_qid:<id>*/ (URL-encoded id); system.processes (in any statement) is replaced by a view whose
//   query_id is the client's id and whose query has the tag removed; KILL QUERY is evaluated on that
//   view and run as KILL ... ASYNC on chDB's own ids, SYNC then waits until they are gone (chDB's
//   KILL ... SYNC hangs). Ids of other running queries (internal ones) are chDB's UUIDs.
// - No system.query_log (nor any system log table): queries on it fail with code 60.
// - One user (the one given), no access control: every statement runs as chDB's `default` user
//   (currentUser() and system.processes.user say `default`), GRANT/CREATE USER do not apply.
// - The `default` database is chDB's Overlay engine, not Atomic (EXCHANGE TABLES needs a database
//   created with CREATE DATABASE, which is Atomic).
// - No replication, no ON CLUSTER, no Keeper; ReplicatedMergeTree fails (code 225).
// - No HTTP sessions (session_id: code 48), no ClickHouse-framed compression (compress=1,
//   decompress=1: code 48); response compression only gzip/deflate/br with enable_http_compression=1;
//   no progress headers (send_progress_in_http_headers is accepted and ignored).
// - X-ClickHouse-Summary: result_rows/result_bytes and elapsed_ns are exact, written_rows is the
//   number of rows of an inserted body; read_rows/read_bytes are 0 (chDB does not report them).
// - A body holding several statements is run whole (chDB runs them one after another); the real
//   server refuses multi-statements over HTTP.
// - A query whose result stays under 1 MiB is answered only when it ends (the real server sends
//   headers as soon as its first buffer is flushed or progress is reported).
"use strict";

// Every running query holds a libuv thread while the engine works on it: give the pool room
// (it must be sized before its first use).
if (!process.env.UV_THREADPOOL_SIZE) {
  process.env.UV_THREADPOOL_SIZE = "128";
}

const http = require("http");
const fs = require("fs");
const os = require("os");
const path = require("path");
const zlib = require("zlib");
const crypto = require("crypto");
const { pipeline } = require("stream/promises");
const { Session } = require("chdb");

const MAX_CONCURRENT_QUERIES = 100;
/** Result bytes held back before the response starts, as the real server's first write buffer. */
const HOLD_BACK = 1 << 20;
const KILL_POLL_MS = 50;
const KILL_SYNC_WAIT_MS = 300_000;

/**
 * Settings that clickhouse-local (so chDB) changes from the server's defaults, set back on every
 * query connection: implicit_select=1 would run a bare "1 + 1" that a server refuses.
 */
const SERVER_DEFAULTS = ["--implicit_select=0", "--allow_introspection_functions=0",
  "--storage_file_read_method=pread", "--output_format_arrow_use_native_writer=1"];

/** URL parameters the HTTP handler consumes itself; never settings. */
const RESERVED = new Set(["query", "compress", "decompress", "user", "password", "quota_key", "query_id",
  "stacktrace", "role", "buffer_size", "wait_end_of_query", "session_id", "session_timeout", "session_check",
  "client_protocol_version", "close_session", "database", "default_format"]);

/** exceptionCodeToHTTPStatus of ClickHouse's src/Server/HTTP, by error name. */
const STATUS_BY_NAME = new Map([
  ["REQUIRED_PASSWORD", 401],
  ...["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"]
    .map((n) => [n, 403]),
  ...["BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
    "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
    "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_UUID",
    "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "THERE_IS_NO_COLUMN",
    "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "TOO_DEEP_AST", "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE",
    "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH"].map((n) => [n, 400]),
  ...["UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
    "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
    "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"].map((n) => [n, 404]),
  ["QUERY_IS_TOO_LARGE", 413],
  ["NOT_IMPLEMENTED", 501],
  ["SOCKET_TIMEOUT", 503],
  ["CANNOT_OPEN_FILE", 503],
  ["CANNOT_SCHEDULE_TASK", 503],
  ["HTTP_LENGTH_REQUIRED", 411],
  ["TIMEOUT_EXCEEDED", 408],
  ["UNSUPPORTED_MEDIA_TYPE", 415],
]);

// ---------------------------------------------------------------------------------------------
// Start

const args = parseArgs(process.argv.slice(2));
const ROOT = path.resolve(args.data);
const DATA = path.join(ROOT, "data");
const SPOOL = path.join(ROOT, "spool");
const DISPLAY_NAME = args["display-name"] || os.hostname();
for (const d of [DATA, SPOOL, path.join(ROOT, "backups"), path.join(ROOT, "backup_files"),
  path.join(ROOT, "user_files")]) {
  fs.mkdirSync(d, { recursive: true });
}
for (const f of fs.readdirSync(SPOOL)) {
  fs.rmSync(path.join(SPOOL, f), { force: true });
}
const CONFIG = args.config ? path.resolve(args.config) : writeConfig();

// The first connection starts the process-wide engine with the config; it stays open so that the
// engine lives as long as the server. Queries use connections of their own.
const anchor = new Session(DATA, { connectionArgs: ["--config-file=" + CONFIG] });
const [VERSION, TIMEZONE] = anchor.query("SELECT version(), timezone()", "TSV").trim().split("\t");

/** Queries in flight by the client's query id. */
const running = new Map();
let stopping = false;

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    log("internal error: " + (e && e.stack || e));
    if (!res.headersSent) {
      sendError(res, asChError(e), null);
    } else {
      res.destroy();
    }
  });
});
server.keepAliveTimeout = 30_000;
server.headersTimeout = 60_000;
server.requestTimeout = 0; // uploads and results may take as long as they take
server.on("error", (e) => {
  if (e.code === "EADDRINUSE") {
    log(`cannot listen on ${args.host}:${args.port}: Address already in use`);
  } else {
    log("cannot listen: " + e.message);
  }
  anchor.close();
  process.exit(1);
});
server.listen(Number(args.port), args.host, () => {
  log(`chDB ${VERSION} serving ClickHouse's HTTP interface on http://${args.host}:${server.address().port}`
    + ` (data ${DATA}, config ${CONFIG})`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => shutdown(signal));
}

function parseArgs(argv) {
  const out = { host: "127.0.0.1" };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) {
      usage("unexpected argument " + argv[i]);
    }
    out[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
  }
  for (const required of ["port", "data", "user"]) {
    if (out[required] === undefined) {
      usage("--" + required + " is required");
    }
  }
  out.password = out.password || "";
  return out;
}

function usage(message) {
  process.stderr.write(message + "\nusage: node server.js --port N --data DIR --user U --password P"
    + " [--host H] [--config FILE] [--display-name NAME]\n");
  process.exit(2);
}

function writeConfig() {
  const file = path.join(ROOT, "config.xml");
  const x = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  fs.writeFileSync(file, `<?xml version="1.0"?>
<clickhouse>
  <timezone>UTC</timezone>
  <display_name>${x(DISPLAY_NAME)}</display_name>
  <user_files_path>${x(path.join(ROOT, "user_files"))}/</user_files_path>
  <storage_configuration>
    <disks>
      <backups><type>local</type><path>${x(path.join(ROOT, "backups"))}/</path></backups>
    </disks>
  </storage_configuration>
  <backups>
    <allowed_disk>backups</allowed_disk>
    <allowed_path>${x(path.join(ROOT, "backup_files"))}/</allowed_path>
  </backups>
</clickhouse>
`);
  return file;
}

async function shutdown(signal) {
  if (stopping) {
    return;
  }
  stopping = true;
  log(`${signal}: stopping`);
  server.close();
  for (const q of running.values()) {
    q.cancel();
  }
  const deadline = Date.now() + 5000;
  while (running.size > 0 && Date.now() < deadline) {
    await sleep(50);
  }
  server.closeAllConnections();
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Requests

async function handle(req, res) {
  res.setHeader("X-ClickHouse-Server-Display-Name", DISPLAY_NAME);
  const url = new URL(req.url, "http://server");
  const params = url.searchParams;
  const route = url.pathname.replace(/\/+$/, "") || "/";
  if (route === "/ping" || route === "/replicas_status") {
    await drain(req);
    return plain(res, 200, "Ok.\n");
  }
  if (route !== "/") {
    await drain(req);
    return plain(res, 404, `There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`);
  }
  if ((req.method === "GET" || req.method === "HEAD") && !params.has("query")) {
    return plain(res, 200, "Ok.\n");
  }
  if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") {
    await drain(req);
    return plain(res, 405, "");
  }

  const qid = sanitizeQueryId(params.get("query_id") || req.headers["x-clickhouse-query-id"] || crypto.randomUUID());
  try {
    const user = authenticate(req, params);
    await runRequest(req, res, params, qid, user);
  } catch (e) {
    await drain(req).catch(() => {});
    if (!res.headersSent) {
      sendError(res, asChError(e), qid);
    } else {
      res.destroy();
    }
  }
}

function authenticate(req, params) {
  const headerUser = req.headers["x-clickhouse-user"] || "";
  const headerKey = req.headers["x-clickhouse-key"] || "";
  const authorization = req.headers.authorization || "";
  const inParams = params.has("user") || params.has("password");
  let user;
  let password;
  if (headerUser || headerKey) {
    if (authorization) {
      throw chError(516, "AUTHENTICATION_FAILED", "Invalid authentication: it is not allowed to use X-ClickHouse HTTP"
        + " headers and Authorization HTTP header simultaneously");
    }
    if (inParams) {
      throw chError(516, "AUTHENTICATION_FAILED", "Invalid authentication: it is not allowed to use X-ClickHouse HTTP"
        + " headers and authentication via parameters simultaneously");
    }
    user = headerUser;
    password = headerKey;
  } else if (authorization) {
    if (inParams) {
      throw chError(516, "AUTHENTICATION_FAILED", "Invalid authentication: it is not allowed to use Authorization"
        + " HTTP header and authentication via parameters simultaneously");
    }
    const m = /^Basic\s+(.*)$/i.exec(authorization);
    if (!m) {
      throw chError(516, "AUTHENTICATION_FAILED", `Invalid authentication: '${authorization.split(" ")[0]}' HTTP`
        + " Authorization scheme is not supported");
    }
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    user = colon < 0 ? decoded : decoded.slice(0, colon);
    password = colon < 0 ? "" : decoded.slice(colon + 1);
  } else {
    user = params.get("user") || "default";
    password = params.get("password") || "";
  }
  if (!user) {
    throw chError(516, "AUTHENTICATION_FAILED", "Got an empty user name");
  }
  if (!safeEqual(user, args.user) || !safeEqual(password, args.password)) {
    throw chError(516, "AUTHENTICATION_FAILED",
      `${user}: Authentication failed: password is incorrect, or there is no user with such name`);
  }
  return user;
}

/** One query: settings, statement, execution, response. */
async function runRequest(req, res, params, qid, user) {
  if (params.get("session_id")) {
    throw chError(48, "NOT_IMPLEMENTED", "HTTP sessions (session_id) are not supported by this chDB server");
  }
  if (isTrue(params.get("compress")) || isTrue(params.get("decompress"))) {
    throw chError(48, "NOT_IMPLEMENTED", "ClickHouse-framed compression (compress/decompress) is not supported by"
      + " this chDB server; use HTTP compression (Content-Encoding, enable_http_compression)");
  }
  if (stopping) {
    throw chError(210, "NETWORK_ERROR", "the server is shutting down");
  }
  if (running.has(qid)) {
    throw chError(216, "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING", `Query with id = ${qid} is already running.`);
  }
  if (running.size >= MAX_CONCURRENT_QUERIES) {
    throw chError(202, "TOO_MANY_SIMULTANEOUS_QUERIES",
      `Too many simultaneous queries. Maximum: ${MAX_CONCURRENT_QUERIES}`);
  }

  const database = req.headers["x-clickhouse-database"] || params.get("database") || "";
  const defaultFormat = req.headers["x-clickhouse-format"] || params.get("default_format") || "TabSeparated";
  const prelude = [];
  if (req.method !== "POST") {
    prelude.push("SET readonly = 2");
  }
  for (const [key, value] of params) {
    if (!key || RESERVED.has(key)) {
      continue;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw chError(115, "UNKNOWN_SETTING", `Unknown setting '${key}'`);
    }
    prelude.push(`SET ${key} = ${literal(value)}`);
  }
  if (database) {
    prelude.push("USE " + identifier(database));
  }

  const query = {
    qid, user, started: process.hrtime.bigint(), session: null, stream: null, spool: null,
    cancelled: false, done: false, writtenRows: 0,
    cancel: () => cancelQuery(query),
  };
  running.set(qid, query);
  const onClose = () => {
    if (!query.done) {
      query.cancel();
    }
  };
  res.on("close", onClose);
  try {
    const { sql, inserts } = await readStatement(req, params, query);
    if (query.cancelled) {
      throw chError(394, "QUERY_WAS_CANCELLED", "Query was cancelled.");
    }
    query.session = new Session(DATA, { connectionArgs: SERVER_DEFAULTS });
    if (prelude.length > 0) {
      await engine(() => query.session.queryAsync(prelude.join("; "), { format: "TSV" }));
    }
    const kill = parseKill(sql);
    if (kill) {
      await runKill(res, query, kill, defaultFormat);
    } else {
      await runStatement(res, query, sql, inserts, defaultFormat, params);
    }
  } finally {
    query.done = true;
    res.removeListener("close", onClose);
    running.delete(qid);
    if (query.session) {
      query.session.close();
    }
    if (query.spool) {
      fs.rm(query.spool, { force: true }, () => {});
    }
  }
}

/**
 * The statement of a request. A `query` parameter ending with FORMAT <name> makes the body INSERT
 * data, spooled to a file; otherwise the body is SQL text (after the parameter, if any). A body
 * whose first line is INSERT ... FORMAT <name> followed by data is split the same way.
 */
async function readStatement(req, params, query) {
  const head = params.get("query") || "";
  const body = decompressed(req);
  if (head && insertFormat(head)) {
    query.spool = path.join(SPOOL, crypto.randomUUID() + ".bin");
    await pipeline(body, fs.createWriteStream(query.spool));
    return { sql: infileInsert(head, query.spool), inserts: true };
  }
  const chunks = [];
  for await (const c of body) {
    chunks.push(c);
  }
  const raw = Buffer.concat(chunks);
  if (!head) {
    const newline = raw.indexOf(10);
    if (newline > 0 && newline < raw.length - 1) {
      const first = raw.subarray(0, newline).toString("utf8");
      if (insertFormat(first)) {
        query.spool = path.join(SPOOL, crypto.randomUUID() + ".bin");
        await fs.promises.writeFile(query.spool, raw.subarray(newline + 1));
        return { sql: infileInsert(first, query.spool), inserts: true };
      }
    }
  }
  const sql = head ? (raw.length > 0 ? head + "\n" + raw.toString("utf8") : head) : raw.toString("utf8");
  if (!sql.trim()) {
    throw chError(62, "SYNTAX_ERROR", "Empty query");
  }
  return { sql, inserts: false };
}

function decompressed(req) {
  const encoding = String(req.headers["content-encoding"] || "").trim().toLowerCase();
  if (!encoding || encoding === "identity" || encoding === "none") {
    return req;
  }
  const make = { gzip: zlib.createGunzip, "x-gzip": zlib.createGunzip, deflate: zlib.createInflate,
    br: zlib.createBrotliDecompress }[encoding];
  if (!make) {
    throw chError(48, "NOT_IMPLEMENTED", `Content-Encoding ${encoding} is not supported by this chDB server`
      + " (gzip, deflate and br are)");
  }
  const stream = make();
  req.pipe(stream);
  req.on("error", (e) => stream.destroy(e));
  return stream;
}

/** The format of an INSERT whose data follows the statement, or null. */
function insertFormat(statement) {
  const s = stripComments(statement).trim().replace(/;\s*$/, "");
  if (!/^INSERT\s/i.test(s)) {
    return null;
  }
  const m = /\sFORMAT\s+([A-Za-z0-9_]+)$/i.exec(s);
  return m ? m[1] : null;
}

/** INSERT INTO t [(cols)] [SETTINGS ...] FORMAT X  ->  INSERT INTO t [(cols)] FROM INFILE 'f' [SETTINGS ...] FORMAT X */
function infileInsert(statement, file) {
  const s = statement.trim().replace(/;\s*$/, "");
  const m = /^([\s\S]*?)(\s+SETTINGS\s+[\s\S]*?)?\s+FORMAT\s+([A-Za-z0-9_]+)$/i.exec(s);
  return `${m[1]} FROM INFILE ${literal(file)}${m[2] || ""} FORMAT ${m[3]}`;
}

async function runStatement(res, query, sql, inserts, defaultFormat, params) {
  const keyword = firstKeyword(sql);
  const text = tag(inserts ? sql : rewriteProcesses(sql), query.qid, keyword);
  const format = outputFormat(sql) || defaultFormat;
  const reply = new Reply(res, query, params, inserts ? null : format);
  let stream = null;
  if (!inserts && (keyword === "SELECT" || keyword === "WITH" || keyword === "(")) {
    try {
      stream = query.session.queryStream(text, { format });
    } catch (e) {
      if (!/Streaming query is not supported/.test(String(e && e.message))) {
        throw e;
      }
    }
  }
  try {
    if (stream) {
      query.stream = stream;
      for await (const chunk of stream) {
        await reply.write(chunk.raw(), chunk.numRows);
      }
    } else {
      const result = await engine(() => query.session.queryAsync(text, { format }));
      if (inserts) {
        query.writtenRows = result.rowsRead;
      }
      const bytes = result.bytes();
      if (bytes.length > 0) {
        await reply.write(bytes, inserts ? 0 : result.rowsRead);
      }
    }
  } catch (e) {
    if (query.cancelled && !res.destroyed) {
      return reply.fail(asChError(chError(394, "QUERY_WAS_CANCELLED", "Query was cancelled.")));
    }
    return reply.fail(asChError(e));
  }
  reply.finish();
}

/**
 * KILL QUERY on the client's query ids: the condition is evaluated on system.processes as the
 * client sees it, the matching queries are killed by chDB's own ids (ASYNC), and SYNC waits until
 * they are gone (chDB's KILL ... SYNC never returns).
 */
async function runKill(res, query, kill, defaultFormat) {
  const format = kill.format || defaultFormat;
  const reply = new Reply(res, query, null, format);
  try {
    const found = await engine(() => query.session.queryAsync(
      "SELECT hk_internal_id, query_id, query /*hk_kill_probe*/ FROM " + processesView(true)
      + ` WHERE (${kill.where}) AND hk_raw_query NOT LIKE '%hk\\_kill\\_probe%'`, { format: "JSONEachRow" }));
    const victims = jsonRows(found.text());
    for (const v of victims) {
      v.user = running.has(v.query_id) ? running.get(v.query_id).user : "default";
    }
    const ids = victims.map((v) => literal(v.hk_internal_id)).join(", ");
    if (victims.length > 0 && kill.mode !== "TEST") {
      await internal(`KILL QUERY WHERE query_id IN (${ids}) ASYNC`);
      if (kill.mode === "SYNC") {
        const deadline = Date.now() + KILL_SYNC_WAIT_MS;
        while (!query.cancelled && Date.now() < deadline) {
          const left = await internal(`SELECT count() FROM system.processes WHERE query_id IN (${ids})`);
          if (Number(left.trim()) === 0) {
            break;
          }
          await sleep(KILL_POLL_MS);
        }
      }
    }
    const status = kill.mode === "SYNC" ? "finished" : "waiting";
    const out = await engine(() => query.session.queryAsync(killOutput(victims, status, format), { format }));
    await reply.write(out.bytes(), victims.length);
  } catch (e) {
    return reply.fail(asChError(e));
  }
  reply.finish();
}

function parseKill(sql) {
  const s = stripComments(sql).trim();
  const m = /^KILL\s+QUERY\s+WHERE\s+([\s\S]+?)(?:\s+(SYNC|ASYNC|TEST))?(?:\s+FORMAT\s+([A-Za-z0-9_]+))?\s*;?\s*$/i
    .exec(s);
  if (!m) {
    return null;
  }
  return { where: m[1], mode: (m[2] || "ASYNC").toUpperCase(), format: m[3] };
}

function killOutput(victims, status, format) {
  if (victims.length === 0) {
    return "SELECT '' AS kill_status, '' AS query_id, '' AS user, '' AS query WHERE 0 FORMAT " + format;
  }
  const rows = victims.map((v) => JSON.stringify({
    kill_status: status,
    query_id: v.query_id,
    user: v.user,
    query: v.query,
  })).join("\n");
  return "SELECT * FROM format(JSONEachRow, 'kill_status String, query_id String, user String, query String', "
    + literal(rows) + ") FORMAT " + format;
}

/** Stops a query: its chDB twin is killed (ASYNC), a spool in progress is abandoned. */
function cancelQuery(query) {
  if (query.cancelled || query.done) {
    return;
  }
  query.cancelled = true;
  internal("KILL QUERY WHERE query_id IN (SELECT hk_internal_id FROM " + processesView(true)
    + ` WHERE hk_tag = ${literal(encodeTag(query.qid))}) ASYNC`)
    .catch((e) => log(`cannot kill query ${query.qid}: ${e.message}`));
}

// ---------------------------------------------------------------------------------------------
// Query ids

function sanitizeQueryId(id) {
  return String(id).replace(/[\x00-\x1f\x7f]/g, "");
}

function encodeTag(id) {
  return encodeURIComponent(id).replace(/[*'!()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/**
 * Tags a statement with the client's query id, at its end (so that syntax error positions stay
 * those of the client's text), or at its start for an INSERT with inline data.
 */
function tag(sql, qid, keyword) {
  const t = `/*hk_qid:${encodeTag(qid)}*/`;
  if (keyword === "INSERT" && !/\bFROM\s+INFILE\b/i.test(sql)) {
    return t + " " + sql;
  }
  return sql.replace(/[\s;]+$/, "") + " " + t;
}

/**
 * system.processes with the client's query ids: query_id is the id of the tag (chDB's own id when
 * there is none), query is the text without the tag. With internals, hk_internal_id (chDB's id),
 * hk_tag and hk_raw_query are kept too.
 */
function processesView(internals) {
  const tagExpr = "extract(query, '/\\\\*hk_qid:([^*]*)\\\\*/')";
  const inner = `SELECT *, query_id AS hk_internal_id, ${tagExpr} AS hk_tag, query AS hk_raw_query`
    + " FROM system.processes";
  const replaced = "SELECT * " + (internals ? "" : "EXCEPT (hk_internal_id, hk_tag, hk_raw_query) ")
    + "REPLACE (if(hk_tag = '', query_id, decodeURLComponent(hk_tag)) AS query_id,"
    + " trimBoth(replaceRegexpAll(query, '\\\\s*/\\\\*hk_qid:[^*]*\\\\*/\\\\s*', ' ')) AS query)";
  return `(${replaced} FROM (${inner}))`;
}

function rewriteProcesses(sql) {
  return sql.replace(/(?<![\w.`"])`?system`?\s*\.\s*`?processes`?(?![\w`"])/gi, () => processesView(false));
}

// ---------------------------------------------------------------------------------------------
// Responses

/** A response that holds back its first HOLD_BACK bytes, so that an early error is a proper error. */
class Reply {
  constructor(res, query, params, format) {
    this.res = res;
    this.query = query;
    this.format = format;
    this.held = [];
    this.heldBytes = 0;
    this.rows = 0;
    this.bytes = 0;
    this.out = null;
    this.compression = params ? responseCompression(res.req, params) : null;
  }

  async write(buf, rows) {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.rows += rows;
    this.bytes += b.length;
    if (!this.out) {
      this.held.push(Buffer.from(b)); // the engine may reuse its memory
      this.heldBytes += b.length;
      if (this.heldBytes < HOLD_BACK) {
        return;
      }
      this.start();
      const held = Buffer.concat(this.held);
      this.held = [];
      return this.send(held);
    }
    return this.send(b);
  }

  send(b) {
    if (this.res.destroyed) {
      return;
    }
    if (!this.out.write(b)) {
      return new Promise((resolve) => {
        const done = () => {
          this.out.removeListener("drain", done);
          this.res.removeListener("close", done);
          resolve();
        };
        this.out.once("drain", done);
        this.res.once("close", done);
      });
    }
  }

  start() {
    const res = this.res;
    res.statusCode = 200;
    res.setHeader("X-ClickHouse-Query-Id", this.query.qid);
    if (this.format) {
      res.setHeader("X-ClickHouse-Format", this.format);
    }
    res.setHeader("X-ClickHouse-Timezone", TIMEZONE);
    res.setHeader("Content-Type", this.format ? contentType(this.format) : "text/plain; charset=UTF-8");
    res.setHeader("X-ClickHouse-Summary", summary(this.query, this.rows, this.bytes));
    if (this.compression) {
      res.setHeader("Content-Encoding", this.compression.name);
      this.out = this.compression.make();
      this.out.pipe(res);
    } else {
      this.out = res;
    }
  }

  finish() {
    if (!this.out) {
      this.start();
      const held = Buffer.concat(this.held);
      this.held = [];
      this.out.end(held);
    } else {
      this.out.end();
    }
  }

  /** An error: a proper error response while nothing was sent, else text after the data and a broken body. */
  fail(error) {
    if (this.res.destroyed) {
      return;
    }
    if (!this.out) {
      sendError(this.res, error, this.query.qid);
      return;
    }
    // as HTTP1ServerResponse::cancelWithException: a chunk "__exception__\r\n<message>\n", and no final chunk
    const text = Buffer.from("__exception__\r\n" + errorText(error));
    if (this.compression) {
      this.out.end(text);
      this.out.once("end", () => setImmediate(() => this.res.destroy()));
    } else {
      this.res.write(text, () => this.res.destroy());
    }
  }
}

function responseCompression(req, params) {
  if (!isTrue(params.get("enable_http_compression"))) {
    return null;
  }
  const accepted = String(req.headers["accept-encoding"] || "").toLowerCase();
  for (const [name, make] of [["gzip", zlib.createGzip], ["deflate", zlib.createDeflate],
    ["br", zlib.createBrotliCompress]]) {
    if (new RegExp(`(^|[\\s,])${name}($|[\\s,;])`).test(accepted)) {
      return { name, make };
    }
  }
  return null;
}

function summary(query, rows, bytes) {
  const elapsed = process.hrtime.bigint() - query.started;
  return JSON.stringify({
    read_rows: "0", read_bytes: "0", written_rows: String(query.writtenRows), written_bytes: "0",
    total_rows_to_read: "0", result_rows: String(rows), result_bytes: String(bytes), elapsed_ns: String(elapsed),
  });
}

function contentType(format) {
  const f = format.toLowerCase();
  if (f.startsWith("tabseparated") || f.startsWith("tsv")) {
    return "text/tab-separated-values; charset=UTF-8";
  }
  if (f.startsWith("csv")) {
    return `text/csv; charset=UTF-8; header=${f.includes("withnames") ? "present" : "absent"}`;
  }
  if (f === "jsoneachrow" || f === "jsonlines" || f === "ndjson" || f.startsWith("jsoncompacteachrow")) {
    return "application/x-ndjson; charset=UTF-8";
  }
  if (f.startsWith("json")) {
    return "application/json; charset=UTF-8";
  }
  if (f === "xml") {
    return "application/xml; charset=UTF-8";
  }
  if (f === "pretty" || f.startsWith("pretty") || f === "values" || f === "vertical" || f === "markdown") {
    return "text/plain; charset=UTF-8";
  }
  return "application/octet-stream";
}

function plain(res, status, text) {
  res.writeHead(status, { "Content-Type": "text/html; charset=UTF-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res, error, qid) {
  const status = STATUS_BY_NAME.get(error.name) || 500;
  const text = errorText(error);
  const headers = {
    "Content-Type": "text/plain; charset=UTF-8",
    "X-ClickHouse-Exception-Code": String(error.code),
    "X-ClickHouse-Server-Display-Name": DISPLAY_NAME,
    "Content-Length": Buffer.byteLength(text),
  };
  if (qid) {
    headers["X-ClickHouse-Query-Id"] = qid;
  }
  res.writeHead(status, headers);
  res.end(text);
}

function errorText(error) {
  return `Code: ${error.code}. DB::Exception: ${error.text} (version ${VERSION})\n`;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A ClickHouse error: code, name and the text after "DB::Exception: ", which ends with "(NAME)". */
function chError(code, name, message) {
  const e = new Error(message);
  e.ch = { code, name, text: `${message.replace(/\.$/, "")}. (${name})` };
  return e;
}

function asChError(e) {
  if (e && e.ch) {
    return e.ch;
  }
  if (e && typeof e.code === "number" && typeof e.text === "string") {
    return e; // already one
  }
  const message = String(e && e.message || e);
  const m = /Code: (\d+)\. DB::Exception: ([\s\S]*)$/.exec(message);
  if (m) {
    // the query id tag is the server's, not the client's text
    const text = m[2].replace(/\s*\/\*hk_qid:[^*]*\*\/\s*/g, "").trim();
    const name = /\(([A-Z0-9_]+)\)$/.exec(text);
    return { code: Number(m[1]), name: name ? name[1] : "", text };
  }
  return { code: 1001, name: "STD_EXCEPTION", text: `${message.replace(/\.$/, "")}. (STD_EXCEPTION)` };
}

// ---------------------------------------------------------------------------------------------
// Engine helpers

/** Runs a statement on a connection of its own (server-internal work: kills and their polls). */
async function internal(sql) {
  const session = new Session(DATA);
  try {
    const r = await engine(() => session.queryAsync(sql, { format: "TSV" }));
    return r.text();
  } finally {
    session.close();
  }
}

/** Awaits an engine call, turning a synchronous throw into a rejection. */
async function engine(call) {
  return call();
}

function jsonRows(text) {
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

function firstKeyword(sql) {
  const s = stripComments(sql).trimStart();
  if (s.startsWith("(")) {
    return "(";
  }
  const m = /^[A-Za-z]+/.exec(s);
  return m ? m[0].toUpperCase() : "";
}

/** The text without leading comments. */
function stripComments(sql) {
  let s = sql;
  for (;;) {
    s = s.replace(/^\s+/, "");
    if (s.startsWith("--") || s.startsWith("#")) {
      const nl = s.indexOf("\n");
      s = nl < 0 ? "" : s.slice(nl + 1);
    } else if (s.startsWith("/*")) {
      const end = s.indexOf("*/");
      s = end < 0 ? "" : s.slice(end + 2);
    } else {
      return s;
    }
  }
}

/** The FORMAT clause at the end of a statement, or null. */
function outputFormat(sql) {
  const m = /\sFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(sql);
  return m ? m[1] : null;
}

function literal(s) {
  return "'" + String(s).replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

function identifier(s) {
  return "`" + String(s).replace(/\\/g, "\\\\").replace(/`/g, "\\`") + "`";
}

function isTrue(v) {
  return v !== null && v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

async function drain(req) {
  if (req.readableEnded || req.complete || req.destroyed) {
    return;
  }
  req.resume();
  await new Promise((resolve) => {
    req.once("end", resolve);
    req.once("close", resolve);
    req.once("error", resolve);
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function log(message) {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}
