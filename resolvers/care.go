package resolvers

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/lindung/lindung"
)

// The care workflows' mutations share three habits: they validate the whole input before they write,
// they write a change-log line per record in the request's transaction, and those a client may retry
// take an idempotency key.

// changed writes a change-log line: who changed which record of which victim, naming the fields written.
func (r *Request) changed(ctx context.Context, victimID, entity, recordID, action string, fields ...string) error {
	return r.Session.RecordChanges(ctx, []*lindung.ChangeRecord{{RequestID: r.RequestID, UserID: r.Viewer.UserID,
		Username: r.Viewer.Username, PartnerID: r.Viewer.PartnerID, Roles: r.Viewer.Roles, Purpose: r.Viewer.Purpose,
		VictimID: victimID, Entity: entity, RecordID: recordID, Action: action, Fields: fields}})
}

// idempotent runs do once per idempotency key: a repeat of the same operation with the same input returns
// the reference do returned the first time, without running it again; the key used with another input is a
// CONFLICT. Without a key, do simply runs. The key's record commits or rolls back with the request.
func idempotent(ctx context.Context, req *Request, key *string, operation string, input any, do func() (string, error)) (ref string, replay bool, err error) {
	if key == nil {
		ref, err = do()
		return ref, false, err
	}
	if k := strings.TrimSpace(*key); k == "" || len(*key) > 200 {
		return "", false, lindung.Invalid("idempotencyKey", "an idempotency key has 1 to 200 characters")
	}
	body, err := json.Marshal(input)
	if err != nil {
		return "", false, lindung.Internal(err, "hash input")
	}
	sum := sha256.Sum256(append([]byte(operation+"\x00"), body...))
	claim, err := req.Session.ClaimIdempotencyKey(ctx, *key, operation, sum[:])
	if err != nil {
		return "", false, err
	}
	if !claim.Claimed {
		if claim.Operation != operation || string(claim.InputHash) != string(sum[:]) || claim.Result == "" {
			return "", false, lindung.Errorf(lindung.ECONFLICT, "the idempotency key was used for a different request; use a new key")
		}
		return claim.Result, true, nil
	}
	if ref, err = do(); err != nil {
		return "", false, err
	}
	return ref, false, req.Session.SetIdempotencyResult(ctx, *key, ref)
}

// forget drops what the request's loaders hold of a victim, so that a record read after a write is read
// again, as it now is.
func forget(ctx context.Context, victimID string) {
	l := loaders(ctx)
	l.Victim.Clear(ctx, victimID)
	l.Placements.Clear(ctx, victimID)
	l.Orders.Clear(ctx, victimID)
	l.ServiceRecords.Clear(ctx, victimID)
	l.Referrals.Clear(ctx, victimID)
	l.Consents.Clear(ctx, victimID)
	l.Family.Clear(ctx, victimID)
	l.WorkEligibility.Clear(ctx, victimID)
	l.FamilyContacts.Clear(ctx, victimID)
}

// reloadOne reads a victim's records of one kind again and returns the one with id.
func reloadOne[T any](ctx context.Context, find func(context.Context, []string) ([][]*T, error), victimID, id string, idOf func(*T) string) (*T, error) {
	forget(ctx, victimID)
	groups, err := find(ctx, []string{victimID})
	if err != nil {
		return nil, err
	}
	for _, x := range groups[0] {
		if idOf(x) == id {
			return x, nil
		}
	}
	return nil, lindung.ErrNotFound
}

// partnerBySlug returns the partner with slug, or an INVALID error about field.
func partnerBySlug(ctx context.Context, req *Request, field, slug string) (*lindung.Partner, error) {
	p, err := req.Session.FindPartnerBySlug(ctx, slug)
	if lindung.CodeOf(err) == lindung.ENOTFOUND {
		return nil, lindung.Invalid(field, "no partner has the slug %q", slug)
	}
	return p, err
}

// visibleVictim returns the victim with id in the request's scope; outside it, NOT_FOUND.
func visibleVictim(ctx context.Context, req *Request, id string) (*lindung.Victim, error) {
	forget(ctx, id)
	return req.Session.FindVictimByID(ctx, id)
}

// today is the current day, as dates are stored.
func today() time.Time { return lindung.Day(time.Now()) }

// text checks a required free-text field: trimmed, 1 to max characters.
func text(field, value string, max int) (string, error) {
	v := strings.TrimSpace(value)
	if v == "" || len(v) > max {
		return "", lindung.Invalid(field, "%s has 1 to %d characters", field, max)
	}
	return v, nil
}

// splitRefs and joinRefs store several record ids as one idempotency result.
func joinRefs(ids []string) string  { return strings.Join(ids, ",") }
func splitRefs(ref string) []string { return strings.Split(ref, ",") }
func victimAndID(ref string) (string, string) {
	v, id, _ := strings.Cut(ref, "/")
	return v, id
}
