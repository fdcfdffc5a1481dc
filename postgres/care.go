package postgres

import (
	"context"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// RecordChanges appends change-log lines in one statement, in the request's transaction: they commit
// with the change they describe or not at all.
func (s *Session) RecordChanges(ctx context.Context, records []*lindung.ChangeRecord) error {
	if len(records) == 0 {
		return nil
	}
	n := len(records)
	reqIDs, userIDs, usernames, partners := make([]string, n), make([]*string, n), make([]string, n), make([]string, n)
	roles, purposes, victims := make([]string, n), make([]string, n), make([]*string, n)
	entities, recordIDs, actions, fields := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range records {
		reqIDs[i], usernames[i], partners[i] = r.RequestID, r.Username, r.PartnerID
		if r.UserID != "" {
			id := r.UserID
			userIDs[i] = &id
		}
		if r.VictimID != "" {
			id := r.VictimID
			victims[i] = &id
		}
		roles[i], purposes[i] = strings.Join(r.Roles, ","), string(r.Purpose)
		entities[i], recordIDs[i], actions[i], fields[i] = r.Entity, r.RecordID, r.Action, strings.Join(r.Fields, ",")
	}
	err := s.query(ctx, func(tx querier) error {
		_, err := tx.Exec(ctx, `INSERT INTO change_records (request_id, user_id, username, partner_id, roles, purpose,
			victim_id, entity, record_id, action, fields)
			SELECT r, u, n, p::uuid, string_to_array(ro, ','), pu::purpose, v, e, id, a, string_to_array(f, ',')
			FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::text[],
				$9::text[], $10::text[], $11::text[]) AS t(r, u, n, p, ro, pu, v, e, id, a, f)`,
			reqIDs, userIDs, usernames, partners, roles, purposes, victims, entities, recordIDs, actions, fields)
		return err
	})
	return mapError(err, "record changes")
}

// ClaimIdempotencyKey takes the caller's partner's key for this request, or returns what it was first
// used for. A concurrent request with the same key waits for the first to commit or roll back.
func (s *Session) ClaimIdempotencyKey(ctx context.Context, key, operation string, inputHash []byte) (*lindung.IdempotencyClaim, error) {
	c := &lindung.IdempotencyClaim{}
	err := s.query(ctx, func(tx querier) error {
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (partner_id, key, operation, input_hash)
			VALUES (@partner::uuid, @key, @op, @hash) ON CONFLICT (partner_id, key) DO NOTHING`,
			s.args(pgx.NamedArgs{"key": key, "op": operation, "hash": inputHash}))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			c.Claimed = true
			return nil
		}
		return tx.QueryRow(ctx, `SELECT operation, input_hash, coalesce(result, '') FROM idempotency_keys
			WHERE partner_id = @partner::uuid AND key = @key`, s.args(pgx.NamedArgs{"key": key})).
			Scan(&c.Operation, &c.InputHash, &c.Result)
	})
	if err != nil {
		return nil, mapError(err, "claim idempotency key")
	}
	return c, nil
}

// SetIdempotencyResult stores the reference of the result of the request that claimed key.
func (s *Session) SetIdempotencyResult(ctx context.Context, key, result string) error {
	err := s.query(ctx, func(tx querier) error {
		_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET result = @result WHERE partner_id = @partner::uuid AND key = @key`,
			s.args(pgx.NamedArgs{"key": key, "result": result}))
		return err
	})
	return mapError(err, "set idempotency result")
}

// FindPartnerBySlug returns the partner with slug, ErrNotFound when there is none.
func (s *Session) FindPartnerBySlug(ctx context.Context, slug string) (*lindung.Partner, error) {
	var p *lindung.Partner
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT `+partnerColumns+` FROM partners p WHERE p.slug = $1`, slug)
		if err != nil {
			return err
		}
		p, err = pgx.CollectExactlyOneRow(rows, scanPartner)
		return err
	})
	return p, mapError(err, "find partner by slug")
}

// LockVictims locks the visible victims among ids until the request ends, in id order so that two
// requests locking overlapping households cannot deadlock. Placements lock the household they move, so
// that two requests cannot place the same people at once. A victim not visible is ErrNotFound.
func (s *Session) LockVictims(ctx context.Context, ids []string) error {
	valid := validUUIDs(ids)
	if len(valid) != len(ids) {
		return lindung.ErrNotFound
	}
	sorted := append([]string(nil), valid...)
	sort.Strings(sorted)
	sorted = compactStrings(sorted)
	var n int
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT v.id FROM victims v WHERE v.id = ANY(@ids::uuid[]) AND `+s.visibleVictims()+`
			ORDER BY v.id FOR UPDATE`, s.args(pgx.NamedArgs{"ids": sorted}))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n++
		}
		return rows.Err()
	})
	if err != nil {
		return mapError(err, "lock victims")
	}
	if n != len(sorted) {
		return lindung.ErrNotFound
	}
	return nil
}

func compactStrings(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// visibleVictim is the condition that @victim is a visible victim, for INSERT ... SELECT statements that
// must write nothing for a victim outside the scope.
func (s *Session) visibleVictim() string {
	return `EXISTS (SELECT 1 FROM victims v WHERE v.id = @victim::uuid AND ` + s.visibleVictims() + `)`
}

// CreateFamilyLink records that the visible victim childID is the child of the visible victim motherID.
// A link recorded already is a CONFLICT; a child has one mother.
func (s *Session) CreateFamilyLink(ctx context.Context, childID, motherID string) error {
	if !canonicalUUID(childID) || !canonicalUUID(motherID) {
		return lindung.ErrNotFound
	}
	var n int64
	err := s.query(ctx, func(tx querier) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM family_links WHERE victim_id = $1::uuid)`, childID).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return lindung.Errorf(lindung.ECONFLICT, "the child's mother is recorded already")
		}
		tag, err := tx.Exec(ctx, `INSERT INTO family_links (victim_id, related_victim_id, relationship)
			SELECT v.id, @mother::uuid, 'MOTHER' FROM victims v WHERE v.id = @child::uuid AND `+s.visibleVictims()+`
			AND EXISTS (SELECT 1 FROM victims v WHERE v.id = @mother::uuid AND `+s.visibleVictims()+`)`,
			s.args(pgx.NamedArgs{"child": childID, "mother": motherID}))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return mapError(err, "create family link")
	}
	if n == 0 {
		return lindung.ErrNotFound
	}
	return nil
}
