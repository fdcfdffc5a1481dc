package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// Break-glass emergency access (migration 013, docs/access.md). Reading under the EMERGENCY purpose
// reuses every victim query of the store, changed in two places only, both here:
//
//   - emergencyVisible cuts the row scope to the victims with a grant in effect for the caller's user;
//   - bitsFunction (rows.go) joins emergency_bits where the store's statements join viewer_bits, so the
//     grant's categories take the place of consent in the same statement that reads the victim.
//
// Both hold only under EMERGENCY, and the database holds the first again (a restrictive policy on
// victims), so a query that forgets it still sees no victim without a grant.

// emergencyVisible narrows a row-scope condition on victims v to the victims with a grant in effect for
// the transaction's user, under EMERGENCY; any other purpose is left as it is.
func (s *Session) emergencyVisible(scope string) string {
	if s.scope.Purpose != lindung.PurposeEmergency {
		return scope
	}
	return `(` + scope + `) AND emergency_in_effect(v.id)`
}

// grantColumns reads a grant with who opened, approved, revoked and reviewed it, and its state now.
const grantColumns = `SELECT g.id::text, g.victim_id::text, u.username, g.partner_id::text, p.name, g.roles,
	category_bits(g.categories), g.need, g.reason, g.opened_at, g.expires_at,
	au.username, g.approved_at, ru.username, g.revoked_at, vu.username, g.reviewed_at, g.finding,
	CASE WHEN g.revoked_at IS NOT NULL THEN 'REVOKED' WHEN now() >= g.expires_at THEN 'EXPIRED'
	     WHEN g.need <> 'review' AND g.approved_by IS NULL THEN 'AWAITING_APPROVAL' ELSE 'IN_EFFECT' END
	FROM emergency_grants g JOIN users u ON u.id = g.opened_by JOIN partners p ON p.id = g.partner_id
	LEFT JOIN users au ON au.id = g.approved_by LEFT JOIN users ru ON ru.id = g.revoked_by
	LEFT JOIN users vu ON vu.id = g.reviewed_by`

func scanGrant(r pgx.Row) (*lindung.EmergencyGrant, error) {
	g := &lindung.EmergencyGrant{}
	var bits int32
	var need, state string
	err := r.Scan(&g.ID, &g.VictimID, &g.OpenedBy, &g.PartnerID, &g.PartnerName, &g.Roles, &bits, &need,
		&g.Reason, &g.OpenedAt, &g.ExpiresAt, &g.ApprovedBy, &g.ApprovedAt, &g.RevokedBy, &g.RevokedAt,
		&g.ReviewedBy, &g.ReviewedAt, &g.Finding, &state)
	g.Categories, g.State = lindung.CategorySet(bits), lindung.EmergencyState(state)
	g.Need, _ = lindung.ParseEmergencyNeed(need)
	return g, err
}

// findGrant reads one grant visible to the caller with the reads made under it, as the mutations answer
// with it; ErrNotFound for any other.
func (s *Session) findGrant(ctx context.Context, tx querier, id string) (*lindung.EmergencyGrant, error) {
	if !canonicalUUID(id) {
		return nil, lindung.ErrNotFound
	}
	g, err := scanGrant(tx.QueryRow(ctx, grantColumns+` WHERE g.id = @id::uuid AND `+s.visibleGrants(), s.grantArgs(id)))
	if err != nil {
		return nil, err
	}
	return g, attachReads(ctx, tx, []*lindung.EmergencyGrant{g})
}

// attachReads gives each grant the access records made under it that the caller may read, oldest first,
// in one statement for them all.
func attachReads(ctx context.Context, tx querier, grants []*lindung.EmergencyGrant) error {
	ids := make([]string, len(grants))
	byID := make(map[string]*lindung.EmergencyGrant, len(grants))
	for i, g := range grants {
		ids[i], byID[g.ID] = g.ID, g
	}
	rows, err := tx.Query(ctx, `SELECT a.emergency_grant_id::text, a.at, a.request_id, a.username, p.name,
			category_bits(a.disclosed)
		FROM access_records a JOIN partners p ON p.id = a.partner_id
		WHERE a.emergency_grant_id = ANY($1::uuid[]) ORDER BY a.at, a.id`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var grant string
		var bits int32
		r := &lindung.EmergencyRead{}
		if err := rows.Scan(&grant, &r.At, &r.RequestID, &r.Username, &r.PartnerName, &bits); err != nil {
			return err
		}
		r.Disclosed = lindung.CategorySet(bits)
		if g := byID[grant]; g != nil {
			g.ReadsUnderGrant = append(g.ReadsUnderGrant, r)
		}
	}
	return rows.Err()
}

// lockGrant locks one grant visible to the caller for the rest of the transaction and scans cols of it
// into dest; ErrNotFound for any other id. An id that is no uuid is refused before it reaches the
// database, where the failed cast would abort the request's transaction and with it the audit.
func (s *Session) lockGrant(ctx context.Context, tx querier, id, cols string, dest ...any) error {
	if !canonicalUUID(id) {
		return lindung.ErrNotFound
	}
	err := tx.QueryRow(ctx, `SELECT `+cols+` FROM emergency_grants g WHERE g.id = @id::uuid AND `+s.visibleGrants()+`
		FOR UPDATE OF g`, s.grantArgs(id)).Scan(dest...)
	if err == pgx.ErrNoRows {
		return lindung.ErrNotFound
	}
	return err
}

// OpenEmergency writes a grant for a victim in the request's row scope, in effect for the caller's user
// from now for o.Minutes (the caller checked the policy's maximum; the database holds 24 h). A victim out
// of scope is NOT_FOUND, as a missing one; a caller with a grant of the victim still open (in effect or
// awaiting approval) is CONFLICT: revoke it and open a new one, so that every read has one grant.
func (s *Session) OpenEmergency(ctx context.Context, o lindung.EmergencyOpen) (*lindung.EmergencyGrant, error) {
	if !canonicalUUID(o.VictimID) {
		return nil, lindung.ErrNotFound
	}
	var g *lindung.EmergencyGrant
	err := s.query(ctx, func(tx querier) error {
		// One grant at a time per user and victim, even when two requests open at once.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 13))`, s.scope.UserID+"|"+o.VictimID); err != nil {
			return err
		}
		var id string
		err := tx.QueryRow(ctx, `INSERT INTO emergency_grants (victim_id, opened_by, partner_id, roles, categories, need, reason, expires_at)
			SELECT v.id, @user::uuid, @partner::uuid, @roles, string_to_array(@cats, ',')::data_category[], @need, @reason,
			       now() + make_interval(mins => @minutes)
			FROM victims v WHERE v.id = @victim::uuid AND `+s.visibleVictims()+`
			  AND NOT EXISTS (SELECT 1 FROM emergency_grants g WHERE g.victim_id = v.id AND g.opened_by = @user::uuid
			                  AND g.revoked_at IS NULL AND now() < g.expires_at)
			RETURNING id::text`,
			s.args(pgx.NamedArgs{"user": s.scope.UserID, "roles": o.Roles, "cats": strings.Join(o.Categories.Names(), ","),
				"need": o.Need.String(), "reason": o.Reason, "minutes": o.Minutes, "victim": o.VictimID})).Scan(&id)
		if err == pgx.ErrNoRows {
			if err := s.requireVisible(ctx, tx, o.VictimID); err != nil {
				return err
			}
			return lindung.Errorf(lindung.ECONFLICT, "you already have emergency access to this victim open: revoke it before opening another")
		}
		if err != nil {
			return err
		}
		g, err = s.findGrant(ctx, tx, id)
		return err
	})
	return g, mapError(err, "open emergency access")
}

// ApproveEmergency approves a grant awaiting approval. The opener cannot approve their own grant, nor a
// user of the opener's partner one that needs another partner (FORBIDDEN); the database refuses both too.
func (s *Session) ApproveEmergency(ctx context.Context, id string) (*lindung.EmergencyGrant, error) {
	var g *lindung.EmergencyGrant
	err := s.query(ctx, func(tx querier) error {
		var openedBy, partner, need string
		var approved, closed bool
		if err := s.lockGrant(ctx, tx, id, `opened_by::text, partner_id::text, need, approved_by IS NOT NULL,
				revoked_at IS NOT NULL OR now() >= expires_at`, &openedBy, &partner, &need, &approved, &closed); err != nil {
			return err
		}
		switch {
		case openedBy == s.scope.UserID:
			return lindung.Errorf(lindung.EFORBIDDEN, "a second user must approve emergency access: the user who opened it cannot")
		case need == lindung.EmergencyApproveOtherPartner.String() && partner == s.scope.PartnerID:
			return lindung.Errorf(lindung.EFORBIDDEN, "this emergency access must be approved by a user of another partner")
		case need == lindung.EmergencyReview.String():
			return lindung.Errorf(lindung.ECONFLICT, "this emergency access needs no approval: it is reviewed afterwards")
		case approved:
			return lindung.Errorf(lindung.ECONFLICT, "this emergency access is already approved")
		case closed:
			return lindung.Errorf(lindung.ECONFLICT, "this emergency access has expired or was revoked: it can no longer be approved")
		}
		if _, err := tx.Exec(ctx, `UPDATE emergency_grants SET approved_by = $2::uuid, approver_partner_id = $3::uuid,
			approved_at = now() WHERE id = $1::uuid`, id, s.scope.UserID, s.scope.PartnerID); err != nil {
			return err
		}
		var err error
		g, err = s.findGrant(ctx, tx, id)
		return err
	})
	return g, mapError(err, "approve emergency access")
}

// RevokeEmergency ends a grant from this request's transaction on: the opener, a user of the opener's
// partner, a caller the policy lets approve grants (any grant it sees: those of the victims its partner
// holds), or one it lets review them (any grant: the reviewer's setting shows every one, as it does to
// FindEmergencyGrants). Revoking a revoked grant changes nothing.
func (s *Session) RevokeEmergency(ctx context.Context, id string, approver, reviewer bool) (*lindung.EmergencyGrant, error) {
	var g *lindung.EmergencyGrant
	err := s.query(ctx, func(tx querier) error {
		if reviewer {
			if err := s.asReviewer(ctx, tx); err != nil {
				return err
			}
		}
		var openedBy, partner string
		var revoked bool
		if err := s.lockGrant(ctx, tx, id, `opened_by::text, partner_id::text, revoked_at IS NOT NULL`,
			&openedBy, &partner, &revoked); err != nil {
			return err
		}
		if openedBy != s.scope.UserID && partner != s.scope.PartnerID && !approver && !reviewer {
			return lindung.Errorf(lindung.EFORBIDDEN, "emergency access is revoked by its opener, the opener's partner, an approver or a reviewer")
		}
		if !revoked {
			if _, err := tx.Exec(ctx, `UPDATE emergency_grants SET revoked_by = $2::uuid, revoked_at = now()
				WHERE id = $1::uuid`, id, s.scope.UserID); err != nil {
				return err
			}
		}
		var err error
		g, err = s.findGrant(ctx, tx, id)
		return err
	})
	return g, mapError(err, "revoke emergency access")
}

// CloseEmergencyReview records a reviewer's finding on a grant that can no longer be used (expired or
// revoked). The reviewer is neither its opener nor its approver (FORBIDDEN); a review is closed once.
func (s *Session) CloseEmergencyReview(ctx context.Context, id, finding string) (*lindung.EmergencyGrant, error) {
	var g *lindung.EmergencyGrant
	err := s.query(ctx, func(tx querier) error {
		if err := s.asReviewer(ctx, tx); err != nil {
			return err
		}
		var openedBy string
		var approvedBy *string
		var reviewed, usable bool
		if err := s.lockGrant(ctx, tx, id, `opened_by::text, approved_by::text, reviewed_at IS NOT NULL,
				revoked_at IS NULL AND now() < expires_at`, &openedBy, &approvedBy, &reviewed, &usable); err != nil {
			return err
		}
		switch {
		case openedBy == s.scope.UserID || (approvedBy != nil && *approvedBy == s.scope.UserID):
			return lindung.Errorf(lindung.EFORBIDDEN, "emergency access is reviewed by someone who neither opened nor approved it")
		case reviewed:
			return lindung.Errorf(lindung.ECONFLICT, "the review of this emergency access is already closed")
		case usable:
			return lindung.Errorf(lindung.ECONFLICT, "this emergency access can still be used: revoke it, or wait until it expires, before closing its review")
		}
		if _, err := tx.Exec(ctx, `UPDATE emergency_grants SET reviewed_by = $2::uuid, reviewed_at = now(), finding = $3
			WHERE id = $1::uuid`, id, s.scope.UserID, finding); err != nil {
			return err
		}
		var err error
		g, err = s.findGrant(ctx, tx, id)
		return err
	})
	return g, mapError(err, "close emergency review")
}

// asReviewer lets the rest of the request's transaction see every grant and the access records made
// under them (the policies of migration 013 read the setting). The caller has checked review_emergency.
func (s *Session) asReviewer(ctx context.Context, tx querier) error {
	_, err := tx.Exec(ctx, `SELECT set_config('lindung.emergency_review', 'on', true)`)
	s.reviewing = err == nil
	return err
}

// visibleGrants is the first wall around emergency grants, as a condition on grants g: the read policy of
// migration 013 written into SQL, as visibleVictims is for victims, so that a grant query that row
// security did not hold would still answer only what the caller may see: the grants its user opened, its
// partner's, those of victims in its row scope for the agency holding the case (partner scope), and every
// grant for a reviewer. Its arguments are grantArgs'.
func (s *Session) visibleGrants() string {
	if s.reviewing {
		return `true`
	}
	c := `(g.opened_by = nullif(@user, '')::uuid OR g.partner_id = @partner::uuid`
	if s.scope.Rows == lindung.ScopePartner {
		c += ` OR EXISTS (SELECT 1 FROM victims v WHERE v.id = g.victim_id AND ` + s.visibleVictims() + `)`
	}
	return c + `)`
}

// grantArgs are the arguments of a statement on the grant id that visibleGrants guards.
func (s *Session) grantArgs(id string) pgx.NamedArgs {
	return s.args(pgx.NamedArgs{"id": id, "user": s.scope.UserID})
}

// maxGrantsListed bounds one answer of the review queue.
const maxGrantsListed = 500

// FindEmergencyGrants lists the grants the caller may see (every grant for a reviewer), newest first, at
// most 500, whose review is closed (reviewed) or open, each with the access records made under it.
func (s *Session) FindEmergencyGrants(ctx context.Context, reviewed, reviewer bool) ([]*lindung.EmergencyGrant, error) {
	var out []*lindung.EmergencyGrant
	err := s.query(ctx, func(tx querier) error {
		if reviewer {
			if err := s.asReviewer(ctx, tx); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, grantColumns+` WHERE (g.reviewed_at IS NOT NULL) = @reviewed AND `+s.visibleGrants()+`
			ORDER BY g.opened_at DESC, g.id LIMIT @limit`, s.args(pgx.NamedArgs{"user": s.scope.UserID, "reviewed": reviewed, "limit": maxGrantsListed}))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.EmergencyGrant, error) { return scanGrant(r) })
		if err != nil || len(out) == 0 {
			return err
		}
		return attachReads(ctx, tx, out)
	})
	return out, mapError(err, "find emergency grants")
}
