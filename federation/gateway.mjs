// The supergraph gateway of the federation test (server/gateway_test.go), and a worked example of running
// Lindung behind a router (docs/federation.md):
//   1. compose Lindung's subgraph SDL (fetched from _service { sdl } with the router's token, given in the
//      file LINDUNG_SDL_FILE) with the immigration subgraph (permits.mjs);
//   2. serve the supergraph on 127.0.0.1 at a random port with the gateway GATEWAY names, "apollo"
//      (@apollo/gateway on @apollo/server, the default) or "hive" (@graphql-hive/gateway), forwarding each
//      caller's Authorization header and X-Lindung-Purpose header to Lindung, and nothing to the other
//      agency's service;
//   3. print one JSON line, {"gateway": URL} or {"errors": [...]}, for the test to read.
// Environment: GATEWAY, LINDUNG_URL (the hub's /graphql), LINDUNG_SDL_FILE, PERMIT_CASE_REFS (comma-separated
// case references the immigration service holds permits for).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { startPermits, typeDefs as permitsTypeDefs } from './permits.mjs';

const lindungURL = process.env.LINDUNG_URL;
const caseRefs = (process.env.PERMIT_CASE_REFS ?? '').split(',').filter(Boolean);
const permitsURL = await startPermits(caseRefs);

const composed = composeServices([
  { name: 'lindung', url: lindungURL, typeDefs: parse(readFileSync(process.env.LINDUNG_SDL_FILE, 'utf8')) },
  { name: 'permits', url: permitsURL, typeDefs: permitsTypeDefs },
]);
if (composed.errors) {
  console.log(JSON.stringify({ errors: composed.errors.map((e) => e.message) }));
  process.exit(1);
}

// Lindung decides every request for the caller who made it: the router forwards the caller's credentials
// and declared purpose to Lindung only. Without them Lindung answers 401 and discloses nothing.
const gateways = {
  async apollo() {
    const { ApolloGateway, RemoteGraphQLDataSource } = await import('@apollo/gateway');
    const { ApolloServer } = await import('@apollo/server');
    const { startStandaloneServer } = await import('@apollo/server/standalone');
    class LindungDataSource extends RemoteGraphQLDataSource {
      willSendRequest({ request, context }) {
        if (this.url !== lindungURL) return;
        if (context.authorization) request.http.headers.set('authorization', context.authorization);
        if (context.purpose) request.http.headers.set('x-lindung-purpose', context.purpose);
        if (context.traceparent) request.http.headers.set('traceparent', context.traceparent);
      }
    }
    const gateway = new ApolloGateway({
      supergraphSdl: composed.supergraphSdl,
      buildService: ({ url }) => new LindungDataSource({ url }),
    });
    const server = new ApolloServer({ gateway });
    const { url } = await startStandaloneServer(server, {
      listen: { host: '127.0.0.1', port: 0 },
      context: async ({ req }) => ({
        authorization: req.headers.authorization,
        purpose: req.headers['x-lindung-purpose'],
        traceparent: req.headers.traceparent,
      }),
    });
    return url;
  },
  async hive() {
    const { createGatewayRuntime } = await import('@graphql-hive/gateway');
    const gateway = createGatewayRuntime({
      supergraph: composed.supergraphSdl,
      logging: false,
      propagateHeaders: {
        fromClientToSubgraphs({ request, subgraphName }) {
          if (subgraphName !== 'lindung') return {};
          return {
            authorization: request.headers.get('authorization'),
            'x-lindung-purpose': request.headers.get('x-lindung-purpose'),
            traceparent: request.headers.get('traceparent'),
          };
        },
      },
    });
    const server = createServer(gateway);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${server.address().port}/graphql`;
  },
};

const start = gateways[process.env.GATEWAY ?? 'apollo'];
if (!start) {
  console.log(JSON.stringify({ errors: [`unknown GATEWAY ${process.env.GATEWAY}`] }));
  process.exit(1);
}
console.log(JSON.stringify({ gateway: await start(), permits: permitsURL }));
