package resolvers

import (
	"context"
	"sync"
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
	Victim          *loader[*lindung.Victim]
	Placements      *loader[[]*lindung.Placement]
	Orders          *loader[[]*lindung.ProtectionOrder]
	ServiceRecords  *loader[[]*lindung.ServiceRecord]
	Referrals       *loader[[]*lindung.Referral]
	Consents        *loader[[]*lindung.Consent]
	Family          *loader[[]*lindung.FamilyLink]
	WorkEligibility *loader[*lindung.WorkEligibility]
	Residents       *loader[[]string]
	Shelter         *loader[*lindung.Shelter]
	Partner         *loader[*lindung.Partner]
	FamilyContacts  *loader[[]*lindung.FamilyContact]
	Training        *loader[[]*lindung.TrainingCompletion]
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

// loader batches the reads of one relation within a request. A field resolver reads through the
// dataloader, whose batch gathers the keys that arrive within loaderWait. A prefetch (read) knows all its
// keys at once and asks the store for those not cached yet in exactly one call, with no timer: queued
// through the dataloader one by one, a batch could be cut by the window's end whenever the goroutine
// queuing it was held up for a millisecond (a busy machine, a garbage collection), and one level of a
// response would then cost two statements.
type loader[V any] struct {
	*dataloader.Loader[string, V]
	find  func(context.Context, []string) ([]V, error)
	cache *dataloader.InMemoryCache[string, V] // the dataloader's own: what read caches, Load finds

	mu sync.Mutex // orders the reads' cache lookups, so that two reads never ask for one key twice
}

// newLoader wraps a store method that returns results aligned to its ids.
func newLoader[V any](find func(context.Context, []string) ([]V, error)) *loader[V] {
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
	cache := dataloader.NewCache[string, V]()
	return &loader[V]{
		Loader: dataloader.NewBatchedLoader(batch, dataloader.WithWait[string, V](loaderWait), dataloader.WithCache[string, V](cache)),
		find:   find,
		cache:  cache,
	}
}

// read returns the values of keys, aligned with them (nil where a record is missing or out of scope), and
// the first error. The keys not cached yet are read with one call of the store, now, and cached, error
// included, so that the field resolvers find them when they load.
func (l *loader[V]) read(ctx context.Context, keys []string) ([]V, error) {
	var (
		missing []string
		found   []V
		err     error
		done    = make(chan struct{})
	)
	l.mu.Lock()
	for _, k := range keys {
		if _, ok := l.cache.Get(ctx, k); ok {
			continue // cached, or being read
		}
		i := len(missing)
		missing = append(missing, k)
		l.cache.Set(ctx, k, func() (V, error) {
			<-done
			if err != nil {
				var zero V
				return zero, err
			}
			return found[i], nil
		})
	}
	l.mu.Unlock()
	if len(missing) > 0 {
		found, err = l.find(ctx, missing)
	}
	close(done)
	out := make([]V, len(keys))
	for i, k := range keys {
		thunk, ok := l.cache.Get(ctx, k)
		if !ok { // cleared since (a mutation): read through the dataloader
			thunk = l.Load(ctx, k)
		}
		v, err := thunk()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// loadNow reads one key through a loader without waiting for the batch window: for a root field, which
// no sibling will join.
func loadNow[V any](ctx context.Context, l *loader[V], key string) (V, error) {
	thunk := l.Load(ctx, key)
	l.Flush()
	return thunk()
}

// load reads one key through a loader.
func load[V any](ctx context.Context, l *loader[V], key string) (V, error) {
	return l.Load(ctx, key)()
}

// loadMany reads keys through a loader, dropping missing records (nil): a record outside the scope is
// not there.
func loadMany[V comparable](ctx context.Context, l *loader[V], keys []string) ([]V, error) {
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
