package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// CreateConsent records a consent of a visible victim with its provisions, and fills in its id and time.
// The recorder is the session's user. Consent rows are never changed afterwards, except to confirm or
// withdraw them. c.NeedsConfirmation is the caller's to set; the database refuses, at commit, a consent
// without evidence that widens its recorder's partner and is not waiting for confirmation.
func (s *Session) CreateConsent(ctx context.Context, c *lindung.Consent) error {
	err := s.query(ctx, func(tx querier) error {
		err := tx.QueryRow(ctx, `INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation,
				recorded_by_user_id, language, interpreter_partner_id, method, document_ref, needs_confirmation)
			SELECT @victim::uuid, @grantor::uuid, @relation::grantor_relation, @user::uuid, @language,
				@interpreter::uuid, @method::consent_method, @doc, @confirm
			WHERE `+s.visibleVictim()+` RETURNING id::text, recorded_at`,
			s.args(pgx.NamedArgs{"victim": c.VictimID, "grantor": c.GrantorVictimID, "relation": c.GrantorRelation,
				"user": s.scope.UserID, "language": c.Language, "interpreter": c.InterpreterPartnerID,
				"method": c.Method, "doc": c.DocumentRef, "confirm": c.NeedsConfirmation})).Scan(&c.ID, &c.RecordedAt)
		if err != nil {
			return err
		}
		for i, p := range c.Provisions {
			var typ *string
			if p.GranteeType != nil {
				t := string(*p.GranteeType)
				typ = &t
			}
			purposes := make([]string, len(p.Purposes))
			for j, pu := range p.Purposes {
				purposes[j] = string(pu)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO consent_provisions (consent_id, position, grantee_partner_id,
					grantee_type, categories, purposes, period_start, period_end)
				VALUES ($1::uuid, $2, $3::uuid, $4::partner_type, $5::text[]::data_category[], $6::text[]::purpose[],
					coalesce($7, now()), $8)`,
				c.ID, i+1, p.GranteePartnerID, typ, p.Categories.Names(), purposes, nullTime(p.PeriodStart), p.PeriodEnd); err != nil {
				return err
			}
		}
		return nil
	})
	return mapError(err, "create consent")
}

// WithdrawConsent marks a visible victim's consent withdrawn now and returns the victim's id. A consent
// withdrawn already is a CONFLICT: withdrawal is recorded once and never moved.
func (s *Session) WithdrawConsent(ctx context.Context, id string) (string, error) {
	if !canonicalUUID(id) {
		return "", lindung.ErrNotFound
	}
	var victimID string
	var withdrawn bool
	err := s.query(ctx, func(tx querier) error {
		err := tx.QueryRow(ctx, `SELECT x.victim_id::text, x.withdrawn_at IS NOT NULL FROM consents x
			JOIN victims v ON v.id = x.victim_id WHERE x.id = @id::uuid AND `+s.visibleVictims()+` FOR UPDATE OF x`,
			s.args(pgx.NamedArgs{"id": id})).Scan(&victimID, &withdrawn)
		if err != nil || withdrawn {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE consents SET withdrawn_at = greatest(now(), recorded_at) WHERE id = $1::uuid`, id)
		return err
	})
	if err != nil {
		return "", mapError(err, "withdraw consent")
	}
	if withdrawn {
		return "", lindung.Errorf(lindung.ECONFLICT, "the consent is withdrawn already")
	}
	return victimID, nil
}

// ConfirmConsent records the session's user as the second person confirming a visible victim's pending
// consent, and returns the victim's id. The recorder cannot confirm their own consent, and a consent that
// is withdrawn, confirmed already or not waiting for confirmation is a CONFLICT.
func (s *Session) ConfirmConsent(ctx context.Context, id string) (string, error) {
	if !canonicalUUID(id) {
		return "", lindung.ErrNotFound
	}
	var victimID, recorder string
	var needs, confirmed, withdrawn bool
	err := s.query(ctx, func(tx querier) error {
		err := tx.QueryRow(ctx, `SELECT x.victim_id::text, x.recorded_by_user_id::text, x.needs_confirmation,
				x.confirmed_at IS NOT NULL, x.withdrawn_at IS NOT NULL
			FROM consents x JOIN victims v ON v.id = x.victim_id
			WHERE x.id = @id::uuid AND `+s.visibleVictims()+` FOR UPDATE OF x`,
			s.args(pgx.NamedArgs{"id": id})).Scan(&victimID, &recorder, &needs, &confirmed, &withdrawn)
		if err != nil || !needs || confirmed || withdrawn || recorder == s.scope.UserID {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE consents SET confirmed_by_user_id = $2::uuid, confirmed_at = greatest(now(), recorded_at)
			WHERE id = $1::uuid`, id, s.scope.UserID)
		return err
	})
	switch {
	case err != nil:
		return "", mapError(err, "confirm consent")
	case withdrawn:
		return "", lindung.Errorf(lindung.ECONFLICT, "the consent is withdrawn")
	case !needs:
		return "", lindung.Errorf(lindung.ECONFLICT, "the consent is not waiting for a confirmation")
	case confirmed:
		return "", lindung.Errorf(lindung.ECONFLICT, "the consent is confirmed already")
	case recorder == s.scope.UserID:
		return "", lindung.Errorf(lindung.EFORBIDDEN, "a consent is confirmed by a second user, not by the user who recorded it")
	}
	return victimID, nil
}
