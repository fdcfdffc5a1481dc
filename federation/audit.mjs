// The GraphQL-over-HTTP conformance audit of server/conformance_test.go: graphql-http's own auditServer
// (the suite the GraphQL-over-HTTP specification's authors publish), run against a Lindung hub. Every audit
// request carries the bearer token in LINDUNG_TOKEN, because the hub answers nothing without one.
// Prints one JSON line: [{"id", "name", "status", "reason"}], status ok, notice, warn (a SHOULD not met) or
// error (a MUST not met). Environment: LINDUNG_URL (the hub's /graphql), LINDUNG_TOKEN.
import { auditServer } from 'graphql-http';

const token = process.env.LINDUNG_TOKEN;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url: process.env.LINDUNG_URL, fetchFn });
console.log(JSON.stringify(results.map(({ id, name, status, reason }) => ({ id, name, status, reason: reason ?? '' }))));
