// Runs the graphql-http server audits (GraphQL over HTTP conformance)
// against the URL given and prints one JSON array of results:
// [{ id, name, status: "ok" | "notice" | "warn" | "error", reason }].
// "error" is a failed MUST; "warn" a failed SHOULD; "notice" a MAY.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}
const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  results.push({
    id: audit.id,
    name: audit.name,
    status: result.status,
    reason: result.reason ?? null,
  });
}
console.log(JSON.stringify(results));
