package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/translog"
)

// RecordAccess appends the request's access records in one statement. It runs in the request's
// transaction, so the records commit with it or not at all. Each record carries its transparency-log
// leaf hash, computed here from its canonical encoding (translog.Leaf) with the time the hub gives it:
// hashing needs no shared state, so requests never wait on one another for the log; the background
// sequencer (translog.go) gives the committed records their leaf indexes.
func (s *Session) RecordAccess(ctx context.Context, records []*lindung.AccessRecord) error {
	if len(records) == 0 {
		return nil
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	c := newAccessColumns(records)
	hashes := make([][]byte, len(records))
	for i, r := range records {
		hashes[i] = translog.HashRecord(r, at)
	}
	err := s.query(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO access_records (request_id, user_id, username, partner_id, roles,
			purpose, victim_id, disclosed, withheld, policy_version, operation_name, at, leaf_hash)
			SELECT r, u, n, p::uuid, string_to_array(ro, ','), pu::purpose, v::uuid,
				string_to_array(d, ',')::data_category[], string_to_array(w, ',')::data_category[], pv, op, $12, h
			FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::text[], $9::text[], $10::text[], $11::text[], $13::bytea[]) AS t(r, u, n, p, ro, pu, v, d, w, pv, op, h)`,
			c.requestIDs, c.userIDs, c.usernames, c.partnerIDs, c.roles, c.purposes, c.victimIDs, c.disclosed, c.withheld,
			c.versions, c.ops, at, hashes)
		return err
	})
	return mapError(err, "record access")
}

// accessColumns are access records as the column arrays that one INSERT … SELECT FROM unnest(…) takes.
type accessColumns struct {
	requestIDs, usernames, partnerIDs, roles, purposes, victimIDs []string
	disclosed, withheld, versions, ops                            []string
	userIDs                                                       []*string
}

func newAccessColumns(records []*lindung.AccessRecord) accessColumns {
	n := len(records)
	c := accessColumns{
		requestIDs: make([]string, n), usernames: make([]string, n), partnerIDs: make([]string, n),
		roles: make([]string, n), purposes: make([]string, n), victimIDs: make([]string, n),
		disclosed: make([]string, n), withheld: make([]string, n), versions: make([]string, n), ops: make([]string, n),
		userIDs: make([]*string, n),
	}
	for i, r := range records {
		c.requestIDs[i], c.usernames[i], c.partnerIDs[i] = r.RequestID, r.Username, r.PartnerID
		if r.UserID != "" {
			id := r.UserID
			c.userIDs[i] = &id
		}
		c.roles[i] = strings.Join(r.Roles, ",")
		c.purposes[i], c.victimIDs[i] = string(r.Purpose), r.VictimID
		// Category names joined by commas: the database splits and casts them, which is far cheaper than
		// turning bit masks into enum arrays row by row.
		c.disclosed[i], c.withheld[i] = strings.Join(r.Disclosed.Names(), ","), strings.Join(r.Withheld.Names(), ",")
		c.versions[i], c.ops[i] = r.PolicyVersion, r.OperationName
	}
	return c
}

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
	err := s.query(ctx, func(tx pgx.Tx) error {
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
