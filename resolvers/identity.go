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

// listUsers lists the registered users for the operator, of one partner when partnerSlug is given.
func listUsers(ctx context.Context, partnerSlug *string) ([]*lindung.User, error) {
	req, err := authorize(ctx, lindung.ActionAdminister)
	if err != nil {
		return nil, err
	}
	users, err := req.Session.FindUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*lindung.User, 0, len(users))
	for _, u := range users {
		if partnerSlug == nil || u.PartnerSlug == *partnerSlug {
			out = append(out, &u.User)
		}
	}
	return out, nil
}

// userTraining returns a user's training completions. A user is reached only through the operator's
// fields, and the field asks again: a staff member's training record is the operator's to see.
func userTraining(ctx context.Context, u *lindung.User) ([]*lindung.TrainingCompletion, error) {
	if _, err := authorize(ctx, lindung.ActionAdminister); err != nil {
		return nil, err
	}
	return orEmpty(load(ctx, loaders(ctx).Training, u.ID))
}

// trainingByUserIDs reads every training completion once and hands each user theirs, aligned to ids: one
// statement for a whole listing of users, whatever its length.
func trainingByUserIDs(s lindung.Session) func(context.Context, []string) ([][]*lindung.TrainingCompletion, error) {
	return func(ctx context.Context, ids []string) ([][]*lindung.TrainingCompletion, error) {
		all, err := s.FindTraining(ctx)
		if err != nil {
			return nil, err
		}
		byUser := map[string][]*lindung.TrainingCompletion{}
		for _, t := range all {
			byUser[t.UserID] = append(byUser[t.UserID], t)
		}
		out := make([][]*lindung.TrainingCompletion, len(ids))
		for i, id := range ids {
			out[i] = byUser[id]
		}
		return out, nil
	}
}
