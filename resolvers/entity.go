package resolvers

import (
	"context"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/lindung/lindung"
)

// Entities reached through Query._entities (a federated router resolving references from other agencies'
// subgraphs) are served exactly like the root fields that reach the same records: the caller is the
// request's viewer (the router forwards the caller's token and purpose), only the key of a representation
// is read (gqlgen's federation code unmarshals nothing else, so forged fields such as a legalName or a
// partnerId never reach a resolver), rows come from the same scoped store methods, and every field of a
// victim passes the same guard and lands in the same audit. A reference outside the scope is null, like
// one that names nothing.

// MaxRepresentations bounds the representations of one entity type in one _entities call, like a page:
// an entity fetch is a listing whose size the router, not the hub, chose.
const MaxRepresentations = MaxPageSize

// entityRequest returns the request of an _entities call for n representations of one type.
func entityRequest(ctx context.Context, n int) (*Request, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	if n > MaxRepresentations {
		return nil, lindung.Invalid("representations", "at most %d representations of one type per request; ask for fewer", MaxRepresentations)
	}
	return req, nil
}

// loadAligned reads keys through a loader in one batch, now, with the results aligned to keys (nil where a
// record is missing or out of scope) and the first error returned.
func loadAligned[V any](ctx context.Context, l *dataloader.Loader[string, V], keys []string) ([]V, error) {
	thunks := make([]dataloader.Thunk[V], len(keys))
	for i, k := range keys {
		thunks[i] = l.Load(ctx, k)
	}
	l.Flush()
	out := make([]V, len(keys))
	for i, th := range thunks {
		v, err := th()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
