package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// FindVictimsByCaseRefs returns the victims with the given case references, aligned to refs, nil where none
// is visible: how a federated router's representations of victims (keyed by case reference) are resolved.
// It reads under the same row scope and with the same consent and referral bits as FindVictimsByIDs, and
// looks the references up through victims_by_case_ref (migration 010), so a case reference outside the
// scope is exactly as absent as one that names no case, in answer and in work. Case references are unique
// per owning agency: a reference that two visible cases of different agencies carry names no one case,
// and resolves to nil rather than to either.
func (s *Session) FindVictimsByCaseRefs(ctx context.Context, refs []string) ([]*lindung.Victim, error) {
	out := make([]*lindung.Victim, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	byRef := make(map[string]*lindung.Victim, len(refs))
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `WITH found AS (SELECT v.id FROM victims v
				WHERE v.id IN (SELECT victims_by_case_ref(@refs::text[])) AND `+s.visibleVictims()+`)
			SELECT `+s.victimColumns()+` FROM victims v `+s.victimBitsJoin()+`
			WHERE v.id IN (SELECT id FROM found)`, s.args(pgx.NamedArgs{"refs": refs}))
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.Victim, error) { return scanVictim(r) })
		ambiguous := map[string]bool{}
		for _, v := range found {
			ambiguous[v.CaseRef] = byRef[v.CaseRef] != nil
			byRef[v.CaseRef] = v
		}
		for ref, twice := range ambiguous {
			if twice {
				delete(byRef, ref)
			}
		}
		return err
	})
	if err != nil {
		return nil, mapError(err, "find victims by case reference")
	}
	for i, ref := range refs {
		out[i] = byRef[ref]
	}
	return out, nil
}
