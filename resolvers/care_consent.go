package resolvers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph/model"
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
