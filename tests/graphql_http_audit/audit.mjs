// Runs every graphql-http server audit (GraphQL over HTTP spec conformance)
// against a live endpoint and prints ONE JSON array to stdout:
//
//   [{"id": "4655", "name": "MUST accept application/json and match the content-type",
//     "status": "ok" | "notice" | "warn" | "error", "reason": string | null}, ...]
//
// status follows graphql-http: a failed MUST is "error", a failed SHOULD is
// "warn", a failed MAY is "notice"; "reason" is null when the audit passed.
// Response bodies are dropped. Exit code 0 whenever the audit ran (the caller
// judges the results), 1 when the runner itself failed (bad usage or URL, the
// server unreachable, a crash), with the cause on stderr.
//
// Usage: node audit.mjs <url>

import { auditServer } from 'graphql-http';

function fail(message) {
  process.stderr.write(`graphql-http audit: ${message}\n`);
  process.exit(1);
}

async function main(argv) {
  if (argv.length !== 1) fail('usage: node audit.mjs <url>');
  let url;
  try {
    url = new URL(argv[0]);
  } catch {
    fail(`not a valid URL: ${JSON.stringify(argv[0])}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fail(`URL must be http or https: ${url.href}`);
  }

  const results = await auditServer({ url: url.href });
  const out = results.map((r) => ({
    id: r.id,
    name: r.name,
    status: r.status,
    reason: r.status === 'ok' ? null : String(r.reason ?? ''),
  }));
  // Exit explicitly once stdout is flushed: the audits leave unread response
  // bodies (and keep-alive sockets) behind that would otherwise hold the loop.
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
}

main(process.argv.slice(2)).catch((err) => {
  const cause = err && err.cause ? ` (cause: ${err.cause.message ?? err.cause})` : '';
  fail(`${err && err.stack ? err.stack : String(err)}${cause}`);
});
