package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/translog"
)

// accessInsert returns the statement that appends a request's access records, one per victim, and its
// arguments; Session.CommitWithAccess sends it in one pipeline with the transaction's COMMIT, so the
// records commit with the request or not at all. Each record carries its transparency-log leaf hash,
// computed here from its canonical encoding (translog.HashAccess) with the time the hub gives it: hashing
// needs no shared state, so requests never wait on one another for the log; the background sequencer
// (translog.go) gives the committed records their leaf indexes.
//
// What the records share is sent once, as parameters; per victim only its id and category lists travel,
// and the leaf hashes as one byte string cut in 32-byte pieces. A page of 100 victims used to send thirteen
// arrays of 100 values each, and encoding them cost more than the rest of the page's store work.
func accessInsert(a *lindung.RequestAccess) (string, []any) {
	at := time.Now().UTC().Truncate(time.Microsecond)
	hashes := translog.HashAccess(a, at)
	victims, disclosed, withheld := make([]string, len(a.Victims)), make([]string, len(a.Victims)), make([]string, len(a.Victims))
	for i, v := range a.Victims {
		victims[i], disclosed[i], withheld[i] = v.VictimID, categoryList(v.Disclosed), categoryList(v.Withheld)
	}
	return `INSERT INTO access_records (request_id, user_id, username, partner_id, roles,
			purpose, victim_id, disclosed, withheld, policy_version, operation_name, at, leaf_hash)
			SELECT $1, nullif($2, '')::uuid, $3, $4::uuid, string_to_array($5, ','), $6::purpose, v::uuid,
				string_to_array(d, ',')::data_category[], string_to_array(w, ',')::data_category[], $7, $8, $9,
				substring($10::bytea FROM i::integer * 32 - 31 FOR 32)
			FROM unnest($11::text[], $12::text[], $13::text[]) WITH ORDINALITY AS t(v, d, w, i)`,
		[]any{a.RequestID, a.UserID, a.Username, a.PartnerID, strings.Join(a.Roles, ","), string(a.Purpose),
			a.PolicyVersion, a.OperationName, at, hashes, victims, disclosed, withheld}
}

// categoryLists holds the names of every category set joined by commas, as the access records' INSERT
// splits them, indexed by the set: a request writes two per victim, and a lookup costs nothing.
var categoryLists = func() []string {
	lists := make([]string, lindung.AllCategories+1)
	for set := range lists {
		lists[set] = strings.Join(lindung.CategorySet(set).Names(), ",")
	}
	return lists
}()

// categoryList returns the names of the categories in set joined by commas; like Names, it knows only
// the categories there are.
func categoryList(set lindung.CategorySet) string { return categoryLists[set&lindung.AllCategories] }

// FindDisclosures returns the victim's disclosure report: who saw which categories of their data, for
// what purpose and when, newest first, merged per partner, purpose and day. Every access is in it, one
// that disclosed only the case reference (no category) included: being looked up is itself a disclosure.
// Partners are told apart by id: two organisations may share a name, and one's disclosures must not read
// as the other's.
func (s *Session) FindDisclosures(ctx context.Context, victimID string) ([]*lindung.Disclosure, error) {
	if len(validUUIDs([]string{victimID})) == 0 {
		return nil, lindung.ErrNotFound
	}
	var out []*lindung.Disclosure
	err := s.query(ctx, func(tx querier) error {
		if err := s.requireVisible(ctx, tx, victimID); err != nil {
			return err
		}
		// An access under EMERGENCY is a line of its own per grant, with the grant's reason (migration 013).
		rows, err := tx.Query(ctx, `SELECT date_trunc('day', a.at), p.name, p.type::text, a.purpose::text,
				bit_or(category_bits(a.disclosed)), g.reason
			FROM access_records a JOIN partners p ON p.id = a.partner_id
			LEFT JOIN emergency_grants g ON g.id = a.emergency_grant_id
			WHERE a.victim_id = $1::uuid
			GROUP BY 1, p.id, 2, 3, 4, g.id, g.reason ORDER BY 1 DESC, 2, 4, p.id, g.id`, victimID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.Disclosure, error) {
			d := &lindung.Disclosure{}
			var at time.Time
			var bits int32
			err := r.Scan(&at, &d.PartnerName, &d.PartnerType, &d.Purpose, &bits, &d.EmergencyReason)
			d.At, d.Categories = at, lindung.CategorySet(bits)
			return d, err
		})
		return err
	})
	return out, mapError(err, "find disclosures")
}
