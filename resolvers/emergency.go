package resolvers

import (
	"context"
	"fmt"
	"strings"

	"github.com/lindung/lindung"
)

// Break-glass access (docs/access.md, Break-glass): the policy says what a role may open and what a grant
// needs (lindung.EmergencyPolicy), the store writes and reads grants (lindung.EmergencySession); these
// helpers only join the two and write the change log.

// minReason is the shortest reason a grant is opened with: at least a sentence, as the database holds.
const minReason = 20

// emergencyStore returns the request's session as a store of emergency grants.
func emergencyStore(req *Request) (lindung.EmergencySession, error) {
	s, ok := req.Session.(lindung.EmergencySession)
	if !ok {
		return nil, lindung.Errorf(lindung.EUNAVAILABLE, "emergency access is not available on this store")
	}
	return s, nil
}

// openEmergency checks the request against the policy's emergency terms for the caller's roles and
// writes the grant. A category the roles may not open (or that any role held denies) is FORBIDDEN; a
// victim outside the caller's scope is NOT_FOUND, as one that does not exist.
func openEmergency(ctx context.Context, victimID string, categories []lindung.Category, reason string, minutes int) (*lindung.EmergencyGrant, error) {
	req, err := authorize(ctx, lindung.ActionOpenEmergency)
	if err != nil {
		return nil, err
	}
	ep, ok := req.Decision.(lindung.EmergencyPolicy)
	if !ok || req.Viewer.UserID == "" {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "emergency access is opened by a registered user under a policy that allows it")
	}
	terms := ep.EmergencyTerms()
	cats := lindung.SetOf(categories...)
	if cats == 0 {
		return nil, lindung.Invalid("categories", "name at least one category to open")
	}
	for _, c := range cats.List() {
		if _, ok := terms.Needs[c]; !ok {
			return nil, lindung.Errorf(lindung.EFORBIDDEN, "the policy does not let your role open %s in an emergency", c)
		}
	}
	need, _ := terms.Need(cats)
	if len(strings.TrimSpace(reason)) < minReason || len(reason) > 2000 {
		return nil, lindung.Invalid("reason", "say why in at least %d characters (at most 2000)", minReason)
	}
	if maxMinutes := int(terms.Max.Minutes()); minutes < 1 || minutes > maxMinutes {
		return nil, lindung.Invalid("minutes", "emergency access lasts 1 to %d minutes for your role", maxMinutes)
	}
	store, err := emergencyStore(req)
	if err != nil {
		return nil, err
	}
	g, err := store.OpenEmergency(ctx, lindung.EmergencyOpen{VictimID: victimID, Categories: cats, Need: need,
		Roles: req.Viewer.Roles, Reason: reason, Minutes: minutes})
	if err != nil {
		return nil, err
	}
	return g, req.changed(ctx, g.VictimID, "emergency_grant", g.ID, "opened", "categories", "reason", "expiresAt")
}

// approveEmergency approves another user's grant (approve_emergency); the store refuses the opener, and
// the opener's partner where another partner must approve.
func approveEmergency(ctx context.Context, id string) (*lindung.EmergencyGrant, error) {
	req, err := authorize(ctx, lindung.ActionApproveEmergency)
	if err != nil {
		return nil, err
	}
	store, err := emergencyStore(req)
	if err != nil {
		return nil, err
	}
	g, err := store.ApproveEmergency(ctx, id)
	if err != nil {
		return nil, err
	}
	return g, req.changed(ctx, g.VictimID, "emergency_grant", g.ID, "approved", "approvedBy", "approvedAt")
}

// revokeEmergency ends a grant at once: a caller who may open, approve or review grants; the store
// limits an opener to their own partner's grants.
func revokeEmergency(ctx context.Context, id string) (*lindung.EmergencyGrant, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	approver, reviewer := req.Decision.May(lindung.ActionApproveEmergency), req.Decision.May(lindung.ActionReviewEmergency)
	if !approver && !reviewer && !req.Decision.May(lindung.ActionOpenEmergency) {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "your role may not revoke emergency access")
	}
	store, err := emergencyStore(req)
	if err != nil {
		return nil, err
	}
	g, err := store.RevokeEmergency(ctx, id, approver, reviewer)
	if err != nil {
		return nil, err
	}
	return g, req.changed(ctx, g.VictimID, "emergency_grant", g.ID, "revoked", "revokedBy", "revokedAt")
}

// closeEmergencyReview records the reviewer's finding (review_emergency).
func closeEmergencyReview(ctx context.Context, id, finding string) (*lindung.EmergencyGrant, error) {
	req, err := authorize(ctx, lindung.ActionReviewEmergency)
	if err != nil {
		return nil, err
	}
	if n := len(strings.TrimSpace(finding)); n < 10 || len(finding) > 4000 {
		return nil, lindung.Invalid("finding", "write the finding in 10 to 4000 characters")
	}
	store, err := emergencyStore(req)
	if err != nil {
		return nil, err
	}
	g, err := store.CloseEmergencyReview(ctx, id, finding)
	if err != nil {
		return nil, err
	}
	return g, req.changed(ctx, g.VictimID, "emergency_grant", g.ID, "reviewed", "reviewedBy", "reviewedAt", "finding")
}

// emergencyGrants lists grants for a reviewer (all of them), or for a user who may open or approve grants
// (those the store's row security shows them). Listing a grant is an access to its victim's record, and
// is audited as one that disclosed the case reference.
func emergencyGrants(ctx context.Context, reviewed bool) ([]*lindung.EmergencyGrant, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	reviewer := req.Decision.May(lindung.ActionReviewEmergency)
	if !reviewer && !req.Decision.May(lindung.ActionApproveEmergency) && !req.Decision.May(lindung.ActionOpenEmergency) {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "your role may not %s", strings.ReplaceAll(string(lindung.ActionReviewEmergency), "_", " "))
	}
	store, err := emergencyStore(req)
	if err != nil {
		return nil, err
	}
	gs, err := store.FindEmergencyGrants(ctx, reviewed, reviewer)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		req.disclose(g.VictimID, 0)
	}
	return gs, nil
}

// emergencyWords is the disclosure report's phrase for an access made in an emergency.
func emergencyWords(reason *string) string {
	if reason == nil {
		return "in an emergency"
	}
	return fmt.Sprintf("in an emergency (the reason given: %q)", strings.TrimSpace(*reason))
}

// listsAddressedRecords reports whether the request's root lists of records addressed to its partner
// (referrals, overdue referrals) may list anything. Under EMERGENCY they list nothing: a grant opens its
// victim's categories, reached through the victim, and a list of the partner's referrals, detached from
// their victims, would record emergency accesses to victims no grant names.
func (r *Request) listsAddressedRecords() bool {
	return r.SeesRows() && r.Viewer.Purpose != lindung.PurposeEmergency
}
