package resolvers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph/model"
)

// codeAlphabet has 32 letters and digits without look-alikes (no 0/O, 1/I): a byte's low five bits pick one
// uniformly. A code of codeLength letters holds 50 random bits.
const (
	codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	codeLength   = 10
)

// newCode returns a fresh code from crypto/rand, written as two groups of five for reading aloud.
func newCode() (string, error) {
	b := make([]byte, codeLength)
	if _, err := rand.Read(b); err != nil {
		return "", lindung.Internal(err, "random code")
	}
	for i := range b {
		b[i] = codeAlphabet[b[i]&31]
	}
	return string(b[:5]) + "-" + string(b[5:]), nil
}

// codeHash returns the SHA-256 of a code as typed, normalised (case, spaces and hyphens), and whether the
// input could be a code at all. The hash is computed either way, so that the work does not depend on it.
func codeHash(code string) ([]byte, bool) {
	norm := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	sum := sha256.Sum256([]byte(norm))
	ok := len(norm) == codeLength
	for i := 0; ok && i < len(norm); i++ {
		ok = strings.IndexByte(codeAlphabet, norm[i]) >= 0
	}
	return sum[:], ok
}

// recordEligibility records an officer's decision on permission to work. The PO condition is the hub's
// own: a Protection Order in force today.
func recordEligibility(ctx context.Context, in model.EligibilityDecisionInput) (*lindung.WorkEligibility, error) {
	req, err := authorize(ctx, lindung.ActionDecideEligibility)
	if err != nil {
		return nil, err
	}
	if _, err := visibleVictim(ctx, req, in.VictimID); err != nil {
		return nil, err
	}
	if err := req.Session.LockVictims(ctx, []string{in.VictimID}); err != nil {
		return nil, err
	}
	orders, err := req.Session.FindOrdersByVictimIDs(ctx, []string{in.VictimID})
	if err != nil {
		return nil, err
	}
	day := today()
	po := lindung.OrderInForce(orders[0], day)
	if po != nil && po.Type != "PO" {
		po = nil
	}
	w := &lindung.WorkEligibility{Owned: lindung.Owned{VictimID: in.VictimID}, ProtectionOrderHeld: po != nil,
		MedicalScreeningPassed: in.MedicalScreeningPassed, RiskAssessmentPassed: in.RiskAssessmentPassed,
		Decision: "NOT_ELIGIBLE", DecidedOn: &day}
	if w.ProtectionOrderHeld && w.MedicalScreeningPassed && w.RiskAssessmentPassed {
		until := lindung.Day(po.EndsOn)
		if in.ValidUntil != nil {
			if in.ValidUntil.Before(day) || in.ValidUntil.After(until) {
				return nil, lindung.Invalid("validUntil", "permission to work ends between today and the Protection Order's end, %s", until.Format(time.DateOnly))
			}
			until = lindung.Day(*in.ValidUntil)
		}
		w.Decision, w.ValidUntil = "ELIGIBLE", &until
	}
	if err := req.Session.SaveWorkEligibility(ctx, w); err != nil {
		return nil, err
	}
	if err := req.changed(ctx, in.VictimID, "workEligibility", in.VictimID, "decided", "protectionOrderHeld",
		"medicalScreeningPassed", "riskAssessmentPassed", "decision", "decidedOn", "validUntil"); err != nil {
		return nil, err
	}
	forget(ctx, in.VictimID)
	ws, err := req.Session.FindWorkEligibilityByVictimIDs(ctx, []string{in.VictimID})
	if err != nil {
		return nil, err
	}
	return ws[0], nil
}

// issueCode issues an eligibility code, with the victim's consent and an ELIGIBLE decision. The code is in
// this answer only; a replay of the request answers the same code's record without it.
func issueCode(ctx context.Context, in model.IssueEligibilityCodeInput, key *string) (*lindung.EligibilityCode, error) {
	req, err := authorize(ctx, lindung.ActionDecideEligibility)
	if err != nil {
		return nil, err
	}
	days := 30
	if in.ValidDays != nil {
		days = *in.ValidDays
		if days < 1 || days > 90 {
			return nil, lindung.Invalid("validDays", "a code is valid for 1 to 90 days")
		}
	}
	c := &lindung.EligibilityCode{Owned: lindung.Owned{VictimID: in.VictimID}}
	if in.EmployerSlug != nil {
		p, err := partnerBySlug(ctx, req, "employerSlug", *in.EmployerSlug)
		if err != nil {
			return nil, err
		}
		if p.Type != lindung.PartnerPrivate {
			return nil, lindung.Invalid("employerSlug", "a code is checked by an employer (a PRIVATE partner)")
		}
		c.EmployerPartnerID = &p.ID
	}
	if _, err := visibleVictim(ctx, req, in.VictimID); err != nil {
		return nil, err
	}
	var code string
	ref, _, err := idempotent(ctx, req, key, "issueEligibilityCode", in, func() (string, error) {
		ws, err := req.Session.FindWorkEligibilityByVictimIDs(ctx, []string{in.VictimID})
		if err != nil {
			return "", err
		}
		w := ws[0]
		if w == nil || w.Decision != "ELIGIBLE" || w.ValidUntil == nil || w.ValidUntil.Before(today()) {
			return "", lindung.Errorf(lindung.ECONFLICT, "NOT_ELIGIBLE: the victim has no current ELIGIBLE decision; record one first")
		}
		ok, err := req.Session.HasEmploymentConsent(ctx, in.VictimID, c.EmployerPartnerID)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", lindung.Errorf(lindung.ECONFLICT, "NO_CONSENT: the victim's active consent does not grant EMPLOYMENT for EMPLOYMENT_CHECK to this employer or to private employers")
		}
		c.ExpiresAt = time.Now().Add(time.Duration(days) * 24 * time.Hour)
		if end := lindung.Day(*w.ValidUntil).AddDate(0, 0, 1); end.Before(c.ExpiresAt) {
			c.ExpiresAt = end
		}
		if code, err = newCode(); err != nil {
			return "", err
		}
		hash, _ := codeHash(code)
		if err := req.Session.CreateEligibilityCode(ctx, c, hash); err != nil {
			return "", err
		}
		return c.ID, req.changed(ctx, in.VictimID, "eligibilityCode", c.ID, "issued", "employer", "expiresAt")
	})
	if err != nil {
		return nil, err
	}
	out, err := req.Session.FindEligibilityCodeForUpdate(ctx, ref)
	if err != nil {
		return nil, err
	}
	if code != "" {
		out.Code = &code
	}
	return out, nil
}

// revokeCode ends a code.
func revokeCode(ctx context.Context, id string) (*lindung.EligibilityCode, error) {
	req, err := authorize(ctx, lindung.ActionDecideEligibility)
	if err != nil {
		return nil, err
	}
	c, err := req.Session.FindEligibilityCodeForUpdate(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.RevokedAt != nil {
		return nil, lindung.Errorf(lindung.ECONFLICT, "the code is revoked already")
	}
	if err := req.Session.RevokeEligibilityCode(ctx, id); err != nil {
		return nil, err
	}
	if err := req.changed(ctx, c.VictimID, "eligibilityCode", id, "revoked", "revokedAt"); err != nil {
		return nil, err
	}
	return req.Session.FindEligibilityCodeForUpdate(ctx, id)
}

// checkCode answers an employer's check: eligible and until when, nothing else. Unknown, expired, revoked
// and ineligible codes answer the same, after the same work: one hash, one statement. The policy decides
// the disclosure like any other: the store is given the categories the caller's decision opens, and a
// policy that does not open EMPLOYMENT answers every code as unknown. A positive answer discloses the
// victim's EMPLOYMENT category to the employer, and the request's audit records it.
func checkCode(ctx context.Context, code string) (*lindung.WorkPermit, error) {
	req, err := authorize(ctx, lindung.ActionCheckEligibility)
	if err != nil {
		return nil, err
	}
	hash, ok := codeHash(code)
	if !ok {
		hash = nil
	}
	legal, withConsent := req.Decision.Grants()
	res, err := req.Session.CheckEligibilityCode(ctx, hash, legal, withConsent, req.RequestID, req.Viewer.Username)
	if err != nil {
		return nil, err
	}
	if !res.Eligible {
		return &lindung.WorkPermit{}, nil
	}
	req.disclose(res.VictimID, lindung.SetOf(lindung.Employment))
	return &lindung.WorkPermit{Eligible: true, ValidUntil: res.ValidUntil}, nil
}

// recordTraining records a training completion of a user. The hub operator's.
func recordTraining(ctx context.Context, in model.RecordTrainingInput) (*lindung.TrainingCompletion, error) {
	req, err := authorize(ctx, lindung.ActionAdminister)
	if err != nil {
		return nil, err
	}
	t := &lindung.TrainingCompletion{CompletedOn: lindung.Day(in.CompletedOn)}
	if t.Username, err = text("username", in.Username, 200); err != nil {
		return nil, err
	}
	if t.ModuleVersion, err = text("moduleVersion", in.ModuleVersion, 50); err != nil {
		return nil, err
	}
	if t.CompletedOn.After(today()) {
		return nil, lindung.Invalid("completedOn", "a completion is recorded once it happened")
	}
	if in.ExpiresOn != nil {
		e := lindung.Day(*in.ExpiresOn)
		if !e.After(t.CompletedOn) {
			return nil, lindung.Invalid("expiresOn", "a completion expires after it was completed")
		}
		t.ExpiresOn = &e
	}
	if err := req.Session.RecordTraining(ctx, t.Username, t); err != nil {
		return nil, err
	}
	// A user's training read earlier in this operation is out of date now.
	loaders(ctx).Training.ClearAll()
	return t, req.changed(ctx, "", "trainingCompletion", t.UserID+"/"+t.ModuleVersion, "recorded",
		"moduleVersion", "completedOn", "expiresOn")
}
