package resolvers

import (
	"context"

	"github.com/lindung/lindung"
)

// setUserDisabled disables or enables a user for the operator, and logs the change. An operator may not
// disable their own account: the hub would be left without anyone to enable it again.
func setUserDisabled(ctx context.Context, username string, disabled bool) (*lindung.User, error) {
	req, err := authorize(ctx, lindung.ActionAdminister)
	if err != nil {
		return nil, err
	}
	if disabled && username == req.Viewer.Username {
		return nil, lindung.Errorf(lindung.ECONFLICT, "you may not disable your own account")
	}
	u, err := req.Session.SetUserDisabled(ctx, username, disabled)
	if err != nil {
		return nil, err
	}
	action := "enabled"
	if disabled {
		action = "disabled"
	}
	return u, req.changed(ctx, "", "user", u.ID, action, "disabled")
}

// setPartnerSuspended suspends or reinstates a partner for the operator, and logs the change. An operator
// may not suspend their own partner, for the same reason.
func setPartnerSuspended(ctx context.Context, slug string, suspended bool) (*lindung.Partner, error) {
	req, err := authorize(ctx, lindung.ActionAdminister)
	if err != nil {
		return nil, err
	}
	if suspended && slug == req.Viewer.PartnerSlug {
		return nil, lindung.Errorf(lindung.ECONFLICT, "you may not suspend your own partner")
	}
	p, err := req.Session.SetPartnerSuspended(ctx, slug, suspended)
	if err != nil {
		return nil, err
	}
	action := "reinstated"
	if suspended {
		action = "suspended"
	}
	return p, req.changed(ctx, "", "partner", p.ID, action, "suspended")
}
