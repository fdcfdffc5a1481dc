package policy

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/lindung/lindung"
)

// The rules ship inside the binary so that a server can never start without a policy, and a policy
// version always names text that was reviewed with the code.
var (
	//go:embed model.conf
	embeddedModel string
	//go:embed policy.csv
	embeddedPolicy string
)

// ModelFile and PolicyFile are the names Load reads from a policy directory, the same names as the
// embedded defaults so that a deployment can start from a copy of them.
const (
	ModelFile  = "model.conf"
	PolicyFile = "policy.csv"
)

// Basis is the ground on which a category may be disclosed to a role for a purpose. The zero value is
// Deny, so that a Basis nobody set fails closed.
type Basis uint8

// The bases. Precedence is Deny over Legal over Consent, which is not their numeric order: Deny is first
// only so that it is the zero value.
const (
	// Deny: never disclosed for this purpose, whatever the victim consented to.
	Deny Basis = iota
	// Legal: disclosed on a legal basis, because the role's task cannot be done without it.
	Legal
	// Consent: disclosed only where the victim's active consent covers it.
	Consent
)

// basisNames are the spellings of the bases in policy.csv; the index is the Basis.
var basisNames = [...]string{Deny: "deny", Legal: "legal", Consent: "consent"}

// String returns the basis as policy.csv spells it, so that logs and the policy read the same.
func (b Basis) String() string {
	if int(b) < len(basisNames) {
		return basisNames[b]
	}
	return fmt.Sprintf("Basis(%d)", uint8(b))
}

// The reasons a category is withheld, as reported to clients in extensions.withheld. They say what the
// caller could do about it without revealing policy internals.
const (
	// ReasonNotPermitted: the policy never discloses the category to these roles for this purpose.
	ReasonNotPermitted = "NOT_PERMITTED"
	// ReasonNoConsent: the policy would disclose it, but only with the victim's consent (or, for a role
	// limited to its referrals, only where a referral asks for it), and that is missing.
	ReasonNoConsent = "NO_CONSENT"
)

// The values of p2 and p3 rows, as policy.csv spells them.
const (
	useDefault      = "default"
	useAllowed      = "allowed"
	attrScope       = "scope"
	attrTraining    = "training"
	attrLimit       = "limit"
	attrMay         = "may"
	trainingNeeded  = "required"
	limitToReferral = "referral"
	everyPurpose    = "*" // a p row's purpose that denies for every purpose
)

// Decision is what the policy lets one set of roles see for one purpose. It is compiled once per (sorted
// roles, purpose, policy version), never changed afterwards and shared by every request with that key, so
// callers must not modify it (Roles included).
type Decision struct {
	// Roles are the roles the decision was made for, sorted and without duplicates, for the audit.
	Roles []string
	// Purpose is the purpose decided for: the declared one, or the roles' default when none was declared.
	Purpose lindung.Purpose
	// Version is the version of the policy that decided, recorded with every disclosure.
	Version string
	// Legal holds the categories disclosed on a legal basis, whatever the victim consented to.
	Legal lindung.CategorySet
	// WithConsent holds the categories disclosed only where the victim consented to them.
	WithConsent lindung.CategorySet
	// Rows says which victims' rows may be seen at all; the store enforces it.
	Rows lindung.RowScope
	// RequiresTraining says the caller must hold current protection-officer training; the caller of
	// Decide checks it, since training is data the policy does not query.
	RequiresTraining bool
	// LimitToReferral says disclosure is bounded by the categories the caller's referrals ask for, even
	// where consent would allow more.
	LimitToReferral bool
	// Actions are what the roles may do beyond reading, such as registering victims: only the actions of
	// the roles that may declare the purpose, so that a role never acts under another role's purpose.
	Actions []lindung.Action

	policy    *Policy                // the policy that decided, for Assignable
	emergency lindung.EmergencyTerms // what the roles may open in an emergency (emergency.go)
}

// Mask returns the categories of one victim's record that may be disclosed: the legal ones, plus the
// consent ones the victim consented to, and for a role limited to its referrals, no more than they ask
// for. A record whose victim is outside the request's row scope (a referral shown to the partners it is
// between) discloses nothing: row scope, category mask and consent are one decision. It is a few bit
// operations, because the field guard calls it for every object.
func (d *Decision) Mask(o *lindung.Owned) lindung.CategorySet {
	if d.Rows == lindung.ScopeNone || !o.InScope {
		return 0 // a role without victim rows sees no victim field, whatever reaches it
	}
	m := d.Legal | d.WithConsent&o.Consented
	if d.LimitToReferral {
		m &= o.Referred
	}
	return m
}

// Grants returns the categories disclosed on a legal basis and on consent, before the row scope applies:
// a role without rows (the analyst) still counts cases by them in aggregate statistics.
func (d *Decision) Grants() (legal, withConsent lindung.CategorySet) { return d.Legal, d.WithConsent }

// May reports whether the decision's roles may take action a under the decided purpose.
func (d *Decision) May(a lindung.Action) bool { return slices.Contains(d.Actions, a) }

// Assignable reports whether a user may be registered with roles, by the policy that made the decision:
// createUser and role changes ask it, so that the rule lives in the policy and not in a resolver.
func (d *Decision) Assignable(roles []string) error {
	if d.policy == nil {
		return lindung.Internal(errors.New("decision made by no policy"), "check roles")
	}
	return d.policy.Assignable(roles)
}

// Assignable reports whether a user may be registered with roles: INVALID when one is not a role of this
// hub, CONFLICT naming the pair when two of them must never be held together (separation of duties). The
// operator's GraphQL mutations and `lindung init` and `lindung directory apply` all ask it, so that a
// directory file cannot register what the operator could not.
func (p *Policy) Assignable(roles []string) error {
	if len(roles) == 0 {
		return lindung.Invalid("roles", "at least one role is required")
	}
	for _, r := range roles {
		if !p.KnowsRole(r) {
			return lindung.Invalid("roles", "%q is not a role of this hub; the roles are %s", r,
				strings.Join(p.names, ", "))
		}
	}
	if pair, ok := p.Conflict(roles); ok {
		return lindung.Errorf(lindung.ECONFLICT, "%s", conflictMessage(pair))
	}
	return nil
}

// conflictMessage says which combination of roles is forbidden, in words a client may be shown.
func conflictMessage(pair [2]string) string {
	return fmt.Sprintf("the roles %s and %s must never be held together (separation of duties)", pair[0], pair[1])
}

// Reason says why a category outside Mask was withheld, in a form a client may be shown: ReasonNoConsent
// where consent (or a referral) could open it, ReasonNotPermitted where nothing can.
func (d *Decision) Reason(c lindung.Category) string {
	if d.Rows != lindung.ScopeNone && (d.Legal | d.WithConsent).Has(c) {
		return ReasonNoConsent
	}
	return ReasonNotPermitted
}

// Basis returns the basis on which the decision discloses c, for reports such as the policy matrix.
func (d *Decision) Basis(c lindung.Category) Basis {
	switch {
	case d.Legal.Has(c):
		return Legal
	case d.WithConsent.Has(c):
		return Consent
	}
	return Deny
}

// role is what p2 and p3 rows say about one role, read once at load.
type role struct {
	purposes []lindung.Purpose // in file order
	defaults []lindung.Purpose // exactly one in a policy that passes Check
	scopes   []lindung.RowScope
	training bool
	referral bool
	actions  []lindung.Action
}

func (r *role) allows(p lindung.Purpose) bool { return slices.Contains(r.purposes, p) }

// scope returns the role's row scope; a role without exactly one never loads, and fails closed here.
func (r *role) scope() lindung.RowScope {
	if len(r.scopes) != 1 {
		return lindung.ScopeNone
	}
	return r.scopes[0]
}

// Policy is a loaded, checked rule set. It is safe for concurrent use.
type Policy struct {
	enf               *casbin.Enforcer
	enforceMu         sync.Mutex // Casbin's plain Enforcer is not documented as safe for concurrent use
	version           string
	roles             map[string]*role
	names             []string                  // sorted role names
	conflicts         [][2]string               // p4: role pairs no user may hold together
	emergency         map[string]*emergencyRole // p5 and the emergency p3 attributes, per role (emergency.go)
	emergencyProblems []string
	loadErrs          []string    // policy lines Casbin could not take
	source            []sourceRow // the rows as written, with their lines, to name the rule that decided
	text              [2]string   // model.conf and policy.csv as loaded, from which the version is computed
	cache             sync.Map    // cache key -> *Decision
	enforces          atomic.Uint64
}

// Load reads model.conf and policy.csv from dir, or uses the embedded ones when dir is "". Both files
// must be present in dir: a half-overridden policy is a mistake, not a configuration. The policy is
// checked before it is returned, and the error lists every problem so that one run fixes them all.
func Load(dir string) (*Policy, error) {
	modelText, policyText := embeddedModel, embeddedPolicy
	where := "embedded policy"
	if dir != "" {
		where = "policy in " + dir
		m, err := os.ReadFile(filepath.Join(dir, ModelFile))
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", where, err)
		}
		p, err := os.ReadFile(filepath.Join(dir, PolicyFile))
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", where, err)
		}
		modelText, policyText = string(m), string(p)
	}
	p, err := newPolicy(modelText, policyText)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", where, err)
	}
	if problems := p.Check(); len(problems) > 0 {
		return nil, fmt.Errorf("load %s: %d problem(s):\n  - %s", where, len(problems),
			strings.Join(problems, "\n  - "))
	}
	return p, nil
}

func newPolicy(modelText, policyText string) (*Policy, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ModelFile, err)
	}
	for _, sec := range []struct{ sec, key string }{{"p", "p"}, {"p", "p2"}, {"p", "p3"}, {"g", "g"}} {
		if _, err := m.GetAssertion(sec.sec, sec.key); err != nil {
			return nil, fmt.Errorf("%s: the policy package needs a %q definition", ModelFile, sec.key)
		}
	}
	a := &textAdapter{text: policyText}
	enf, err := casbin.NewEnforcer(m, a)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PolicyFile, err)
	}
	sum := sha256.Sum256([]byte(modelText + "\x00" + policyText))
	p := &Policy{enf: enf, version: hex.EncodeToString(sum[:6]), loadErrs: a.problems, source: a.rows,
		text: [2]string{modelText, policyText}}
	p.roles, p.conflicts, _ = p.lint()
	p.emergency, p.emergencyProblems = p.readEmergency()
	for name := range p.roles {
		p.names = append(p.names, name)
	}
	slices.Sort(p.names)
	return p, nil
}

// textAdapter feeds policy text to Casbin. Casbin's string adapter drops lines it cannot parse without a
// word; this one records them, so that a typo fails the load instead of silently denying.
type textAdapter struct {
	text     string
	problems []string
	rows     []sourceRow
}

// LoadPolicy adds every well-formed line to m and records the others.
func (a *textAdapter) LoadPolicy(m model.Model) error {
	for i, line := range strings.Split(a.text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := persist.LoadPolicyLine(line, m); err != nil {
			a.problems = append(a.problems, fmt.Sprintf("%s line %d: %v", PolicyFile, i+1, err))
			continue
		}
		a.rows = append(a.rows, parseSourceRow(i+1, line))
	}
	return nil
}

var errReadOnly = errors.New("policy: the policy is read-only at run time; edit policy.csv")

// SavePolicy refuses: the policy changes by review and deployment, never at run time.
func (a *textAdapter) SavePolicy(model.Model) error { return errReadOnly }

// AddPolicy refuses, as SavePolicy.
func (a *textAdapter) AddPolicy(string, string, []string) error { return errReadOnly }

// RemovePolicy refuses, as SavePolicy.
func (a *textAdapter) RemovePolicy(string, string, []string) error { return errReadOnly }

// RemoveFilteredPolicy refuses, as SavePolicy.
func (a *textAdapter) RemoveFilteredPolicy(string, string, int, ...string) error { return errReadOnly }

// Version identifies the policy text (model and rules), so that every disclosure can be traced to the
// rules that allowed it. It is a short hex SHA-256.
func (p *Policy) Version() string { return p.version }

// Text returns the policy's model.conf and policy.csv as loaded, whose hash is the version: the hub
// records them with the version, so that the rules behind any access record can be read later.
func (p *Policy) Text() (model, rules string) { return p.text[0], p.text[1] }

// KnowsRole reports whether role is one a user may hold, so that authentication can refuse a token with
// a role the policy does not know before it reaches a resolver. Base roles are not roles a user may hold.
func (p *Policy) KnowsRole(role string) bool {
	_, ok := p.roles[role]
	return ok
}

// Roles lists the roles a user may hold, sorted, for tooling and the matrix.
func (p *Policy) Roles() []string { return slices.Clone(p.names) }

// Conflict returns the first pair among roles that the policy says must never be held together, so that
// authentication can refuse a user registered with such a combination whatever role a token narrows to.
func (p *Policy) Conflict(roles []string) (pair [2]string, found bool) {
	for _, c := range p.conflicts {
		if slices.Contains(roles, c[0]) && slices.Contains(roles, c[1]) {
			return c, true
		}
	}
	return pair, false
}

// Decisions returns how many times Casbin has been asked so far. Tests use it to show that the number of
// questions per request does not grow with the rows and fields returned.
func (p *Policy) Decisions() uint64 { return p.enforces.Load() }

// Decide returns what roles may see for purpose, or for the roles' default purpose when purpose is "".
// The result is cached, so Casbin is asked only the first time a (roles, purpose) pair is seen.
//
// Errors, all safe to show: UNAUTHENTICATED for no role or a role the policy does not know (the token is
// not one this hub issues for); INVALID for an unknown purpose, or no purpose where the roles' defaults
// differ; FORBIDDEN for a purpose none of the roles may declare, roles that see different sets of
// victims (the scope of such a token would be ambiguous, so the caller must use a token with one role),
// or roles that must never be held together (separation of duties).
func (p *Policy) Decide(roles []string, purpose lindung.Purpose) (*Decision, error) {
	if len(roles) == 0 {
		return nil, lindung.Errorf(lindung.EUNAUTHENTICATED, "the token carries no role")
	}
	for _, r := range roles {
		if !p.KnowsRole(r) {
			return nil, lindung.Errorf(lindung.EUNAUTHENTICATED, "unknown role %q", r)
		}
	}
	// Known role names are checked by lint to hold no '|', so the key cannot be forged by a role name.
	// One role, the common case, needs no sorting and no copy.
	var key string
	if len(roles) == 1 {
		key = p.version + "|" + string(purpose) + "|" + roles[0]
	} else {
		roles = sortedRoles(roles)
		key = p.version + "|" + string(purpose) + "|" + strings.Join(roles, "|")
	}
	if d, ok := p.cache.Load(key); ok {
		return d.(*Decision), nil
	}
	if len(roles) == 1 {
		roles = sortedRoles(roles) // the Decision keeps its own copy
	}
	d, err := p.compile(roles, purpose)
	if err != nil {
		return nil, err
	}
	got, _ := p.cache.LoadOrStore(key, d)
	return got.(*Decision), nil
}

func sortedRoles(roles []string) []string {
	out := slices.Clone(roles)
	slices.Sort(out)
	return slices.Compact(out)
}

// compile refuses a forbidden combination of roles, and otherwise decides.
func (p *Policy) compile(roles []string, purpose lindung.Purpose) (*Decision, error) {
	if pair, ok := p.Conflict(roles); ok {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "%s", conflictMessage(pair))
	}
	return p.decide(roles, purpose)
}

// decide asks Casbin about every category: denies of every role held, grants of the roles that may
// declare the purpose. The policy check calls it for forbidden combinations too, to prove they would see
// nothing even if the refusal were lifted.
func (p *Policy) decide(roles []string, purpose lindung.Purpose) (*Decision, error) {
	var scope lindung.RowScope = lindung.ScopeNone
	for _, r := range roles {
		s := p.roles[r].scope()
		if s == lindung.ScopeNone {
			continue
		}
		if scope != lindung.ScopeNone && s != scope {
			return nil, lindung.Errorf(lindung.EFORBIDDEN,
				"the roles %s see different sets of victims; use a token with one role",
				strings.Join(roles, ", "))
		}
		scope = s
	}

	if purpose == "" {
		var defaults []lindung.Purpose
		for _, r := range roles {
			defaults = append(defaults, p.roles[r].defaults...)
		}
		slices.Sort(defaults)
		defaults = slices.Compact(defaults)
		if len(defaults) != 1 {
			return nil, lindung.Invalid("purpose",
				"declare a purpose: the roles %s have different default purposes", strings.Join(roles, ", "))
		}
		purpose = defaults[0]
		// The default's own key may already be compiled.
		if d, ok := p.cache.Load(p.version + "|" + string(purpose) + "|" + strings.Join(roles, "|")); ok {
			return d.(*Decision), nil
		}
	}
	if !purpose.Valid() {
		return nil, lindung.Invalid("purpose", "unknown purpose %q", purpose)
	}

	var active []string
	for _, r := range roles {
		if p.roles[r].allows(purpose) {
			active = append(active, r)
		}
	}
	if len(active) == 0 {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "the purpose %s is not open to the role(s) %s",
			purpose, strings.Join(roles, ", "))
	}

	d := &Decision{Roles: roles, Purpose: purpose, Version: p.version, Rows: lindung.ScopeNone, policy: p}
	for _, r := range active {
		ri := p.roles[r]
		if s := ri.scope(); s != lindung.ScopeNone {
			d.Rows = s
		}
		d.RequiresTraining = d.RequiresTraining || ri.training
		d.LimitToReferral = d.LimitToReferral || ri.referral
		d.Actions = append(d.Actions, ri.actions...)
	}

	p.enforceMu.Lock()
	defer p.enforceMu.Unlock()
	d.emergency = p.emergencyTerms(roles)
	if purpose == lindung.PurposeEmergency {
		return p.decideEmergency(d), nil
	}
	for _, c := range lindung.Categories() {
		b, err := p.basisOf(roles, active, c, purpose)
		if err != nil {
			return nil, lindung.Internal(err, "policy decision")
		}
		switch b {
		case Legal:
			d.Legal |= lindung.SetOf(c)
		case Consent:
			d.WithConsent |= lindung.SetOf(c)
		}
	}
	if d.Legal|d.WithConsent == 0 {
		// A decision that discloses no category needs no rows: without this, an operator account that
		// also holds a case role would keep the case role's scope while its denies close every category,
		// and would be served the case references of the whole scope.
		d.Rows = lindung.ScopeNone
	}
	return d, nil
}

// basisOf applies the precedence deny > legal > consent > absent (deny): a deny of any role held, then a
// grant of an active role (one that may declare the purpose). The caller holds enforceMu.
func (p *Policy) basisOf(held, active []string, c lindung.Category, purpose lindung.Purpose) (Basis, error) {
	for _, r := range held {
		ok, err := p.enforce(r, c, purpose, Deny)
		if err != nil || ok {
			return Deny, err
		}
	}
	for _, b := range [...]Basis{Legal, Consent} {
		for _, r := range active {
			ok, err := p.enforce(r, c, purpose, b)
			if err != nil {
				return Deny, err
			}
			if ok {
				return b, nil
			}
		}
	}
	return Deny, nil
}

func (p *Policy) enforce(role string, c lindung.Category, purpose lindung.Purpose, b Basis) (bool, error) {
	p.enforces.Add(1)
	return p.enf.Enforce(role, c.String(), string(purpose), b.String())
}
