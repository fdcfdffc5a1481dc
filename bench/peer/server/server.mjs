// PostGraphile 5, the peer the hub is measured against (go run ./bench/peer starts it). Every request runs
// in a transaction as the peer role with the caller's partner in jwt.claims.partner_id, which the
// row-level security policies of the peer's database copy read: the PostGraphile way of a row scope.
import { createServer } from "node:http";
import pg from "pg";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

const { DATABASE_URL, PORT, PEER_ROLE, PARTNER_ID } = process.env;
// Idle connections stay open, so the benchmark sees the same backends from start to end of a step.
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10, idleTimeoutMillis: 0 });

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ pool, schemas: ["public"] })],
  grafast: {
    explain: false,
    context: () => ({ pgSettings: { role: PEER_ROLE, "jwt.claims.partner_id": PARTNER_ID } }),
  },
  grafserv: { graphiql: false, watch: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (e) => { console.error(e); process.exit(1); });
serv.addTo(server).catch((e) => { console.error(e); process.exit(1); });
server.listen(Number(PORT), "127.0.0.1", () => console.log("listening"));
