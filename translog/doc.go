// Package translog makes the access records a verifiable, append-only log in the manner of Certificate
// Transparency (RFC 6962) and Go's checksum database: every access record is a leaf of a Merkle tree, and
// the hub publishes signed checkpoints (origin, tree size, root hash) in the signed-note format of
// golang.org/x/mod/sumdb/note. Anyone who keeps a checkpoint can later demand a consistency proof that
// the log still extends it, and anyone shown an access record can demand an inclusion proof that it is in
// the log; a change to a past record, by the hub, its operators or a database administrator, breaks one
// of them.
//
// How leaves are written and sequenced, so that the log does not serialize the hub:
//
//   - A request writes its access records in its own transaction, before the response, as it always did.
//     Each record carries its leaf hash, computed at insert from its canonical encoding (Leaf.Encode):
//     hashing is per record and needs no shared state, so requests do not wait on each other.
//   - A background sequencer (postgres.DB.Sequence, one at a time across replicas under a PostgreSQL
//     advisory lock) takes the committed records that have no leaf index yet, in record id order, gives
//     them consecutive leaf indexes, stores the new perfect-subtree hashes of the tree (the tree state
//     that proofs are built from; rows are only ever added), and signs a checkpoint of the new size.
//   - A record is in a checkpoint only once a sequencer run after its commit has seen it: a client that
//     needs its own record covered asks for a fresh checkpoint (GraphQL auditCheckpoint(fresh: true)).
//
// Hashing (leaf and interior, RFC 6962 with SHA-256) and proofs come from github.com/transparency-dev/merkle;
// this package adds the leaf encoding, the checkpoint text, the signing key and the audit of a whole log
// (Audit), which `lindung audit verify` runs against a database or a restored pg_dump of one.
package translog
