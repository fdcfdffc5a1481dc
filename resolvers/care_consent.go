package resolvers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph/model"
	"github.com/lindung/lindung/receipt"
)

// recordConsent validates and records a consent. The grantor is the victim, or the mother of a child
// victim as the family links record her; the hub never infers one.
func recordConsent(ctx context.Context, in model.RecordConsentInput, key *string) (*lindung.Consent, error) {
	req, err := authorize(ctx, lindung.ActionRecordConsent)
	if err != nil {
		return nil, err
	}
	if req.Viewer.UserID == "" {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "consent is recorded by a user registered with the hub")
	}
	c := &lindung.Consent{Owned: lindung.Owned{VictimID: in.VictimID}, GrantorRelation: in.Grantor, Method: in.Method,
		GrantorVictimID: in.VictimID}
	if c.Language, err = text("language", in.Language, 35); err != nil {
		return nil, err
	}
	switch in.Grantor {
	case "MOTHER":
		if in.GrantorVictimID == nil || *in.GrantorVictimID == in.VictimID {
			return nil, lindung.Invalid("grantorVictimId", "a mother's consent for her child names the mother's victim id")
		}
		c.GrantorVictimID = *in.GrantorVictimID
	default:
		if in.GrantorVictimID != nil && *in.GrantorVictimID != in.VictimID {
			return nil, lindung.Invalid("grantorVictimId", "a victim's own consent (SELF) has no other grantor")
		}
	}
	if in.DocumentRef != nil {
		ref := strings.TrimSpace(*in.DocumentRef)
		if ref == "" || len(ref) > 200 {
			return nil, lindung.Invalid("documentRef", "a document reference has 1 to 200 characters")
		}
		c.DocumentRef = &ref
	}
	if in.Method == "WRITTEN" && c.DocumentRef == nil {
		return nil, lindung.Invalid("documentRef", "written consent needs the reference of the signed form")
	}
	if len(in.Provisions) == 0 {
		return nil, lindung.Invalid("provisions", "a consent grants at least one provision")
	}
	now := time.Now()
	for i, p := range in.Provisions {
		field := fmt.Sprintf("provisions[%d]", i)
		cp := lindung.ConsentProvision{Owned: c.Owned, GranteeType: p.GranteeType, PeriodEnd: p.PeriodEnd}
		if (p.GranteeSlug == nil) == (p.GranteeType == nil) {
			return nil, lindung.Invalid(field+".granteeSlug", "a provision grants either one partner (granteeSlug) or a partner type (granteeType)")
		}
		if len(p.Categories) == 0 {
			return nil, lindung.Invalid(field+".categories", "a provision grants at least one data category")
		}
		if len(p.Purposes) == 0 {
			return nil, lindung.Invalid(field+".purposes", "a provision grants at least one purpose")
		}
		if slices.Contains(p.Purposes, lindung.PurposeEmergency) {
			// Emergency access is opened by a grant, never by consent; a consent to it would mean nothing.
			return nil, lindung.Invalid(field+".purposes", "EMERGENCY is opened by emergency access, not by consent")
		}
		cp.Categories = lindung.SetOf(p.Categories...)
		cp.Purposes = p.Purposes
		start := now
		if p.PeriodStart != nil {
			start = *p.PeriodStart
			cp.PeriodStart = start
		}
		if p.PeriodEnd != nil && !p.PeriodEnd.After(start) {
			return nil, lindung.Invalid(field+".periodEnd", "a provision's period ends after it starts")
		}
		if p.GranteeSlug != nil {
			partner, err := partnerBySlug(ctx, req, field+".granteeSlug", *p.GranteeSlug)
			if err != nil {
				return nil, err
			}
			cp.GranteePartnerID = &partner.ID
		}
		c.Provisions = append(c.Provisions, cp)
	}
	if in.InterpreterSlug != nil {
		partner, err := partnerBySlug(ctx, req, "interpreterSlug", *in.InterpreterSlug)
		if err != nil {
			return nil, err
		}
		c.InterpreterPartnerID = &partner.ID
	}
	// Four eyes: a consent that widens what the recorder's own partner may see takes effect only with
	// evidence (a document reference) or a second user's confirmation (confirmConsent).
	c.NeedsConfirmation = c.DocumentRef == nil && c.Widens(req.Viewer.PartnerID, req.Viewer.PartnerType)
	if _, err := visibleVictim(ctx, req, in.VictimID); err != nil {
		return nil, err
	}
	if in.Grantor == "MOTHER" {
		family, err := req.Session.FindFamilyByVictimIDs(ctx, []string{in.VictimID})
		if err != nil {
			return nil, err
		}
		isMother := false
		for _, f := range family[0] {
			isMother = isMother || (f.Relationship == "MOTHER" && f.RelatedVictimID == c.GrantorVictimID)
		}
		if !isMother {
			return nil, lindung.Invalid("grantorVictimId", "the grantor is not recorded as the victim's mother")
		}
	}
	ref, _, err := idempotent(ctx, req, key, "recordConsent", in, func() (string, error) {
		if err := req.Session.CreateConsent(ctx, c); err != nil {
			return "", err
		}
		fields := []string{"grantorRelation", "language", "method", "provisions"}
		if c.NeedsConfirmation {
			fields = append(fields, "needsConfirmation")
		}
		if c.InterpreterPartnerID != nil {
			fields = append(fields, "interpreter")
		}
		if c.DocumentRef != nil {
			fields = append(fields, "documentRef")
		}
		return in.VictimID + "/" + c.ID, req.changed(ctx, in.VictimID, "consent", c.ID, "recorded", fields...)
	})
	if err != nil {
		return nil, err
	}
	victimID, id := victimAndID(ref)
	return reloadOne(ctx, req.Session.FindConsentsByVictimIDs, victimID, id, func(c *lindung.Consent) string { return c.ID })
}

// withdrawConsent records the withdrawal of a consent; it counts from the next request.
func withdrawConsent(ctx context.Context, id string) (*lindung.Consent, error) {
	req, err := authorize(ctx, lindung.ActionRecordConsent)
	if err != nil {
		return nil, err
	}
	victimID, err := req.Session.WithdrawConsent(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := req.changed(ctx, victimID, "consent", id, "withdrawn", "withdrawnAt"); err != nil {
		return nil, err
	}
	return reloadOne(ctx, req.Session.FindConsentsByVictimIDs, victimID, id, func(c *lindung.Consent) string { return c.ID })
}

// confirmConsent records a second user's confirmation of a pending consent; it counts from the next
// request. The user who recorded it cannot confirm it (the store refuses).
func confirmConsent(ctx context.Context, id string) (*lindung.Consent, error) {
	req, err := authorize(ctx, lindung.ActionRecordConsent)
	if err != nil {
		return nil, err
	}
	if req.Viewer.UserID == "" {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "consent is confirmed by a user registered with the hub")
	}
	victimID, err := req.Session.ConfirmConsent(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := req.changed(ctx, victimID, "consent", id, "confirmed", "confirmedBy", "confirmedAt"); err != nil {
		return nil, err
	}
	return reloadOne(ctx, req.Session.FindConsentsByVictimIDs, victimID, id, func(c *lindung.Consent) string { return c.ID })
}

// consentReceipt writes the victim's receipt of a consent, for the users who record consent: it names
// the grantees, so it is not for every role that may see the consent's case category.
func consentReceipt(ctx context.Context, c *lindung.Consent, language string) (*string, error) {
	if _, err := authorize(ctx, lindung.ActionRecordConsent); err != nil {
		return nil, err
	}
	rc := receipt.Consent{Consent: c, GranteeNames: map[string]string{}}
	var ids []string
	for _, p := range c.Provisions {
		if p.GranteePartnerID != nil {
			ids = append(ids, *p.GranteePartnerID)
		}
	}
	if c.InterpreterPartnerID != nil {
		ids = append(ids, *c.InterpreterPartnerID)
	}
	partners, err := loadMany(ctx, loaders(ctx).Partner, ids)
	if err != nil {
		return nil, err
	}
	for _, p := range partners {
		rc.GranteeNames[p.ID] = p.Name
	}
	if c.InterpreterPartnerID != nil {
		rc.InterpreterName = rc.GranteeNames[*c.InterpreterPartnerID]
	}
	text, err := receipt.Render(language, rc)
	if err != nil {
		return nil, lindung.Internal(err, "consent receipt")
	}
	return &text, nil
}
