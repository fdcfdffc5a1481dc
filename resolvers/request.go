package resolvers

import (
	"context"
	"sort"
	"sync"

	"github.com/lindung/lindung"
)

// Request is the state of one GraphQL operation: who asks, what the policy decided for them, the
// store session, the dataloaders, and the tally of what was disclosed and withheld, for the audit and
// for extensions.withheld.
type Request struct {
	Viewer   *lindung.Viewer
	Decision lindung.Decision
	// Rows is the row scope the request runs under. A request without victim rows is served no
	// victim-owned record by any path, not even by reference: see SeesRows.
	Rows    lindung.RowScope
	Session lindung.Session
	Loaders *Loaders
	// RequestID is the hub's id of the HTTP request, written with every change the request makes.
	RequestID string

	servicesOnce sync.Once
	services     []*lindung.Service
	servicesErr  error

	mu       sync.Mutex
	victims  map[string]*VictimTally
	withheld map[withheldKey][]string
}

// VictimTally is what one response disclosed and withheld of one victim.
type VictimTally struct {
	Disclosed lindung.CategorySet
	Withheld  lindung.CategorySet
}

type withheldKey struct {
	reason   string
	category lindung.Category
}

// NewRequest returns the state of an operation run by viewer under decision, seeing the victims' rows
// that rows allows, on session.
func NewRequest(viewer *lindung.Viewer, decision lindung.Decision, rows lindung.RowScope, session lindung.Session) *Request {
	return &Request{
		Viewer:   viewer,
		Decision: decision,
		Rows:     rows,
		Session:  session,
		Loaders:  NewLoaders(session),
		victims:  map[string]*VictimTally{},
		withheld: map[withheldKey][]string{},
	}
}

type requestKey struct{}

// WithRequest returns a context carrying r.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the operation's state, or nil when ctx carries none.
func RequestFrom(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// request returns the operation's state or an error that stops the field: no victim data is served
// outside an authenticated request.
func request(ctx context.Context) (*Request, error) {
	r := RequestFrom(ctx)
	if r == nil || r.Viewer == nil || r.Decision == nil || r.Session == nil {
		return nil, lindung.Errorf(lindung.EUNAUTHENTICATED, "authentication required")
	}
	return r, nil
}

// SeesRows reports whether the request may be served victim-owned records at all. It fails closed: a
// scope that is not one of the scopes with rows counts as none.
func (r *Request) SeesRows() bool {
	return r.Rows != lindung.ScopeNone && r.Rows.Valid()
}

func (r *Request) tally(victimID string) *VictimTally {
	t := r.victims[victimID]
	if t == nil {
		t = &VictimTally{}
		r.victims[victimID] = t
	}
	return t
}

func (r *Request) disclose(victimID string, c lindung.CategorySet) {
	r.mu.Lock()
	t := r.tally(victimID)
	t.Disclosed |= c
	r.mu.Unlock()
}

func (r *Request) withhold(victimID string, c lindung.Category, reason, path string) {
	r.mu.Lock()
	r.tally(victimID).Withheld |= 1 << c
	k := withheldKey{reason, c}
	r.withheld[k] = append(r.withheld[k], path)
	r.mu.Unlock()
}

// Tallies returns, per victim id, what the response disclosed and withheld of them. A victim appears as
// soon as any of its records was served, even by reference only.
func (r *Request) Tallies() map[string]VictimTally {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]VictimTally, len(r.victims))
	for id, t := range r.victims {
		out[id] = *t
	}
	return out
}

// Withheld is one entry of extensions.withheld: the paths where fields of one category were withheld
// for one reason.
type Withheld struct {
	Reason   string   `json:"reason"`
	Category string   `json:"category"`
	Paths    []string `json:"paths"`
}

// WithheldList returns the withheld fields grouped by reason and category, paths sorted, for the
// response's extensions. It is nil when nothing was withheld.
func (r *Request) WithheldList() []Withheld {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.withheld) == 0 {
		return nil
	}
	out := make([]Withheld, 0, len(r.withheld))
	for k, paths := range r.withheld {
		p := append([]string(nil), paths...)
		sort.Strings(p)
		out = append(out, Withheld{Reason: k.reason, Category: k.category.String(), Paths: p})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Reason != out[j].Reason {
			return out[i].Reason < out[j].Reason
		}
		return out[i].Category < out[j].Category
	})
	return out
}
