package resolvers

import (
	"context"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/lindung/lindung"
)

// loaderWait is how long a loader gathers keys before it queries. Loopback queries take tens of
// microseconds, so a millisecond is enough for every resolver at one level of the response to join the
// batch, and it keeps a nested response from waiting the library's default of 16 ms per level.
const loaderWait = time.Millisecond

// Loaders batch the loads of one request: whatever the number of records in a response, each relation is
// read with one statement per level. They are per request because a batch runs with its first caller's
// context, which carries that request's session and scope.
type Loaders struct {
	Victim          *dataloader.Loader[string, *lindung.Victim]
	Placements      *dataloader.Loader[string, []*lindung.Placement]
	Orders          *dataloader.Loader[string, []*lindung.ProtectionOrder]
	ServiceRecords  *dataloader.Loader[string, []*lindung.ServiceRecord]
	Referrals       *dataloader.Loader[string, []*lindung.Referral]
	Consents        *dataloader.Loader[string, []*lindung.Consent]
	Family          *dataloader.Loader[string, []*lindung.FamilyLink]
	WorkEligibility *dataloader.Loader[string, *lindung.WorkEligibility]
	Residents       *dataloader.Loader[string, []string]
	Shelter         *dataloader.Loader[string, *lindung.Shelter]
	Partner         *dataloader.Loader[string, *lindung.Partner]
	FamilyContacts  *dataloader.Loader[string, []*lindung.FamilyContact]
	Training        *dataloader.Loader[string, []*lindung.TrainingCompletion]
}

// NewLoaders returns the loaders of one request, reading through s.
func NewLoaders(s lindung.Session) *Loaders {
	return &Loaders{
		Victim:          newLoader(s.FindVictimsByIDs),
		Placements:      newLoader(s.FindPlacementsByVictimIDs),
		Orders:          newLoader(s.FindOrdersByVictimIDs),
		ServiceRecords:  newLoader(s.FindServiceRecordsByVictimIDs),
		Referrals:       newLoader(s.FindReferralsByVictimIDs),
		Consents:        newLoader(s.FindConsentsByVictimIDs),
		Family:          newLoader(s.FindFamilyByVictimIDs),
		WorkEligibility: newLoader(s.FindWorkEligibilityByVictimIDs),
		Residents:       newLoader(s.FindResidentIDsByShelterIDs),
		Shelter:         newLoader(s.FindSheltersByIDs),
		Partner:         newLoader(s.FindPartnersByIDs),
		FamilyContacts:  newLoader(s.FindFamilyContactsByVictimIDs),
		Training:        newLoader(trainingByUserIDs(s)),
	}
}

// newLoader wraps a store method that returns results aligned to its ids.
func newLoader[V any](find func(context.Context, []string) ([]V, error)) *dataloader.Loader[string, V] {
	batch := func(ctx context.Context, ids []string) []*dataloader.Result[V] {
		values, err := find(ctx, ids)
		out := make([]*dataloader.Result[V], len(ids))
		for i := range ids {
			if err != nil {
				out[i] = &dataloader.Result[V]{Error: err}
			} else {
				out[i] = &dataloader.Result[V]{Data: values[i]}
			}
		}
		return out
	}
	return dataloader.NewBatchedLoader(batch, dataloader.WithWait[string, V](loaderWait))
}

// loadNow reads one key through a loader without waiting for the batch window: for a root field, which
// no sibling will join.
func loadNow[V any](ctx context.Context, l *dataloader.Loader[string, V], key string) (V, error) {
	thunk := l.Load(ctx, key)
	l.Flush()
	return thunk()
}

// load reads one key through a loader.
func load[V any](ctx context.Context, l *dataloader.Loader[string, V], key string) (V, error) {
	return l.Load(ctx, key)()
}

// loadMany reads keys through a loader, dropping missing records (nil): a record outside the scope is
// not there.
func loadMany[V comparable](ctx context.Context, l *dataloader.Loader[string, V], keys []string) ([]V, error) {
	values, errs := l.LoadMany(ctx, keys)()
	var zero V
	out := make([]V, 0, len(values))
	for i, v := range values {
		if len(errs) > i && errs[i] != nil {
			return nil, errs[i]
		}
		if v != zero {
			out = append(out, v)
		}
	}
	return out, nil
}

// orEmpty turns a victim's missing list of services or referrals into an empty one: the list was disclosed
// and holds nothing, which null (withheld) would not say.
func orEmpty[T any](list []T, err error) ([]T, error) {
	if list == nil && err == nil {
		list = []T{}
	}
	return list, err
}
