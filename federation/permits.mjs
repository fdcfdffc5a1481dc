// A fictional immigration "work permits" subgraph: another agency's own GraphQL service, which extends
// Lindung's Victim (by its pseudonymous case reference) with the work permit the agency holds, and lists its
// permits with a reference to the holder's case. All its data is made up; it exists only so that the gateway
// test composes Lindung with a second subgraph, as the national supergraph will.
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

export const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  "The immigration service's queries."
  type Query {
    "The work permits the immigration service holds for trafficking cases: the first ones, or all."
    workPermits(first: Int): [ImmigrationPermit!]!
  }

  "A work permit issued by the immigration service (fictional data)."
  type ImmigrationPermit {
    "The permit's number."
    permitNumber: String!
    "VALID, EXPIRED or PENDING."
    status: String!
    "When the permit expires, YYYY-MM-DD."
    expiresOn: String
    "The holder's case in Lindung."
    holder: Victim
  }

  "A victim of trafficking, known to this service only by the case reference Lindung gave it."
  type Victim @key(fields: "caseRef") {
    "Lindung's pseudonymous case reference."
    caseRef: String!
    "The work permit the immigration service holds for this person, if any."
    workPermit: ImmigrationPermit
  }
`);

const statuses = ['VALID', 'EXPIRED', 'PENDING'];

// permitsFor makes one permit per case reference, deterministically.
export function permitsFor(caseRefs) {
  return new Map(caseRefs.map((caseRef, i) => [caseRef, {
    permitNumber: `IMM-WP-${String(i + 1).padStart(5, '0')}`,
    status: statuses[i % statuses.length],
    expiresOn: `2027-${String((i % 12) + 1).padStart(2, '0')}-28`,
    caseRef,
  }]));
}

// startPermits serves the subgraph on 127.0.0.1 at a random port and returns its URL.
export async function startPermits(caseRefs) {
  const permits = permitsFor(caseRefs);
  const resolvers = {
    Query: { workPermits: (_, { first }) => [...permits.values()].slice(0, first ?? undefined) },
    ImmigrationPermit: { holder: (p) => ({ __typename: 'Victim', caseRef: p.caseRef }) },
    Victim: {
      __resolveReference: (ref) => ({ caseRef: ref.caseRef }),
      workPermit: (v) => permits.get(v.caseRef) ?? null,
    },
  };
  const server = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs, resolvers }),
    plugins: [ApolloServerPluginInlineTraceDisabled()], // no usage reporting, and no notice on stdout
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  return url;
}
