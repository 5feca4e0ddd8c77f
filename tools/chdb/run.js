// Executes SQL statements on chDB, a current ClickHouse engine in-process.
// Input (stdin, JSON): {"statements": ["...", ...], "format": "TSV", "path": "optional session dir",
//                       "config": "optional ClickHouse config file"}
// Output (stdout, JSON): {"version": "26.x", "results": ["...", ...]}
//   or, with exit code 1: {"error": "...", "index": N} where N is the statement that failed.
const { Session } = require("chdb");
const fs = require("fs");
const os = require("os");
const path = require("path");

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const dir = input.path || fs.mkdtempSync(path.join(os.tmpdir(), "hk-chdb-"));
const opts = input.config ? { connectionArgs: ["--config-file=" + input.config] } : undefined;
const session = opts ? new Session(dir, opts) : new Session(dir);
const results = [];
let exitCode = 0;
let out;
try {
  const version = session.query("SELECT version()", "TSV").trim();
  let index = 0;
  try {
    for (; index < input.statements.length; index++) {
      results.push(session.query(input.statements[index], input.format || "TSV"));
    }
    out = { version, results };
  } catch (e) {
    out = { version, results, error: String(e.message || e), index };
    exitCode = 1;
  }
} finally {
  session.close();
  if (!input.path) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
process.stdout.write(JSON.stringify(out));
process.exitCode = exitCode;
