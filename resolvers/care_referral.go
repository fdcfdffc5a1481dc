package resolvers

import (
	"context"
	"strings"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph/model"
)

// referVictim validates and records a referral from the caller's partner.
func referVictim(ctx context.Context, in model.ReferVictimInput, key *string) (*lindung.Referral, error) {
	req, err := authorize(ctx, lindung.ActionReferVictims)
	if err != nil {
		return nil, err
	}
	to, err := partnerBySlug(ctx, req, "toSlug", in.ToSlug)
	if err != nil {
		return nil, err
	}
	if to.ID == req.Viewer.PartnerID {
		return nil, lindung.Invalid("toSlug", "a referral goes to another partner")
	}
	if to.Type == lindung.PartnerOperator || to.Type == lindung.PartnerPrivate {
		return nil, lindung.Invalid("toSlug", "a referral goes to an agency or an NGO, not to a %s partner", to.Type)
	}
	if len(in.Categories) == 0 {
		return nil, lindung.Invalid("categories", "a referral asks for at least one data category")
	}
	if in.DueOn.Before(today()) {
		return nil, lindung.Invalid("dueOn", "the due date is today or later")
	}
	reason, err := text("reason", in.Reason, 500)
	if err != nil {
		return nil, err
	}
	if _, err := visibleVictim(ctx, req, in.VictimID); err != nil {
		return nil, err
	}
	r := &lindung.Referral{Owned: lindung.Owned{VictimID: in.VictimID}, ToPartnerID: to.ID, ServiceCode: in.Service,
		Categories: lindung.SetOf(in.Categories...), Reason: reason, DueOn: in.DueOn}
	id, _, err := idempotent(ctx, req, key, "referVictim", in, func() (string, error) {
		if err := req.Session.CreateReferral(ctx, r); err != nil {
			return "", err
		}
		return r.ID, req.changed(ctx, in.VictimID, "referral", r.ID, "referred", "to", "service", "categories", "dueOn", "reason")
	})
	if err != nil {
		return nil, err
	}
	return req.Session.FindReferralForUpdate(ctx, id)
}

// moveReferral takes a referral to status: accepted, rejected or completed by the receiving partner,
// withdrawn by the referring one, along the referral's status machine.
func moveReferral(ctx context.Context, id, status string, reason *string) (*lindung.Referral, error) {
	action, receiver := lindung.ActionAnswerReferrals, true
	if status == lindung.ReferralWithdrawn {
		action, receiver = lindung.ActionReferVictims, false
	}
	req, err := authorize(ctx, action)
	if err != nil {
		return nil, err
	}
	var rejection *string
	if reason != nil {
		r, err := text("reason", *reason, 500)
		if err != nil {
			return nil, err
		}
		rejection = &r
	}
	r, err := req.Session.FindReferralForUpdate(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case receiver && r.ToPartnerID != req.Viewer.PartnerID:
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "only the partner a referral was made to answers it")
	case !receiver && r.FromPartnerID != req.Viewer.PartnerID:
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "only the referring partner withdraws a referral")
	}
	if err := lindung.CheckReferralTransition(r.Status, status); err != nil {
		return nil, err
	}
	out, err := req.Session.SetReferralStatus(ctx, id, status, rejection)
	if err != nil {
		return nil, err
	}
	fields := []string{"status"}
	if rejection != nil {
		fields = append(fields, "rejectionReason")
	}
	forget(ctx, r.VictimID) // the case's visibility to the caller may have changed with the status
	return out, req.changed(ctx, r.VictimID, "referral", id, strings.ToLower(status), fields...)
}
