// Package directory makes a declarative directory file true in the hub: the partners, their users, the
// users' roles and their training completions. A ministry keeps the file under version control and
// `lindung directory apply FILE` applies it in one transaction, idempotently, printing each change; a file
// with a bad entry is reported with the entry's line and nothing of it is applied.
//
// The file is YAML:
//
//	partners:
//	  - slug: jtk-selangor
//	    name: Jabatan Tenaga Kerja Selangor
//	    type: GOVERNMENT
//	    state: SELANGOR
//	users:
//	  - username: aminah@jtk-selangor
//	    partner: jtk-selangor
//	    displayName: Aminah binti Yusof
//	    roles: [protection_officer]
//	    training:
//	      - module: "2026.1"
//	        completed: 2026-01-15
//	        expires: 2027-01-15
//
// What the file does not name is left as it is: applying a file never deletes a partner or user (the
// operator disables and suspends through GraphQL, or with `disabled: true` / `suspended: true`).
package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/postgres"
)

// File is a directory file as written: the partners and users the hub must have.
type File struct {
	Partners []Partner `yaml:"partners"`
	Users    []User    `yaml:"users"`

	name  string
	lines map[string]int // "partners[0]" -> line of the entry
}

// Partner is a partner organisation the hub must have.
type Partner struct {
	Slug  string `yaml:"slug"`
	Name  string `yaml:"name"`
	Type  string `yaml:"type"`
	State string `yaml:"state"`
	// Suspended, when given, suspends (true) or reinstates (false) the partner; when not given, the
	// partner's suspension stays as the operator last set it.
	Suspended *bool `yaml:"suspended"`
}

// User is a person the hub must have registered, with their roles and training.
type User struct {
	Username    string     `yaml:"username"`
	Partner     string     `yaml:"partner"`
	DisplayName string     `yaml:"displayName"`
	Roles       []string   `yaml:"roles"`
	Training    []Training `yaml:"training"`
	// Disabled, when given, disables (true) or enables (false) the user; when not given, it stays as
	// the operator last set it, so that an emergency disable is not undone by the next apply.
	Disabled *bool `yaml:"disabled"`
}

// Training is one completion of the protection-officer training module; dates are YYYY-MM-DD.
type Training struct {
	Module    string `yaml:"module"`
	Completed string `yaml:"completed"`
	Expires   string `yaml:"expires"`
}

// Parse reads a directory file strictly: an unknown key is an error (a misspelt "rolse" would otherwise
// register a user with no roles), reported with its line.
func Parse(name string, data []byte) (*File, error) {
	f := &File{name: name, lines: map[string]int{}}
	if err := yaml.UnmarshalWithOptions(data, f, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, true))
	}
	tree, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i := range f.Partners {
		f.lines[fmt.Sprintf("partners[%d]", i)] = lineOf(tree, fmt.Sprintf("$.partners[%d]", i))
	}
	for i := range f.Users {
		f.lines[fmt.Sprintf("users[%d]", i)] = lineOf(tree, fmt.Sprintf("$.users[%d]", i))
	}
	return f, nil
}

// lineOf returns the line of the node at path, 0 when it cannot be found.
func lineOf(tree *ast.File, path string) int {
	p, err := yaml.PathString(path)
	if err != nil {
		return 0
	}
	n, err := p.FilterFile(tree)
	if err != nil || n == nil || n.GetToken() == nil {
		return 0
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		return m.Values[0].GetToken().Position.Line // the entry's first key, where "- " stands
	}
	return n.GetToken().Position.Line
}

// Roles is what the directory asks of the policy: whether a combination of roles may be registered.
type Roles interface {
	Assignable(roles []string) error
}

// EntryError is a bad entry of a directory file, at its line.
type EntryError struct {
	File  string
	Line  int
	Entry string // e.g. users[2] (aminah@jtk-selangor)
	Err   error
}

func (e *EntryError) Error() string {
	msg := e.Err.Error()
	var le *lindung.Error
	if errors.As(e.Err, &le) && le.Message != "" {
		msg = le.Message
		if le.Field != "" {
			msg = le.Field + ": " + msg
		}
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Entry, msg)
}

func (e *EntryError) Unwrap() error { return e.Err }

// Errors is every bad entry of a file; none of the file was applied.
type Errors []*EntryError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n") + fmt.Sprintf("\n%d bad entries; nothing was applied", len(es))
}

// states are the values of the database's malaysian_state type, checked here so that a bad one is named
// with its line before the database would refuse it.
var states = []string{"JOHOR", "KEDAH", "KELANTAN", "MELAKA", "NEGERI_SEMBILAN", "PAHANG", "PERAK", "PERLIS",
	"PULAU_PINANG", "SABAH", "SARAWAK", "SELANGOR", "TERENGGANU", "KUALA_LUMPUR", "LABUAN", "PUTRAJAYA"}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// Check reports every entry of f that could never be applied, whatever the database holds: malformed
// slugs, types and dates, duplicates, and roles the policy does not allow together.
func (f *File) Check(roles Roles) error {
	var errs Errors
	bad := func(key, label string, err error) {
		errs = append(errs, &EntryError{File: f.name, Line: f.lines[key], Entry: label, Err: err})
	}
	slugs := map[string]bool{}
	for i, p := range f.Partners {
		key := fmt.Sprintf("partners[%d]", i)
		label := fmt.Sprintf("%s (%s)", key, p.Slug)
		switch {
		case !slugPattern.MatchString(p.Slug):
			bad(key, label, lindung.Invalid("slug", "a slug is 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit"))
		case slugs[p.Slug]:
			bad(key, label, lindung.Invalid("slug", "the partner %q is listed twice", p.Slug))
		case strings.TrimSpace(p.Name) == "" || len(p.Name) > 200:
			bad(key, label, lindung.Invalid("name", "a name of 1 to 200 characters is required"))
		case !lindung.PartnerType(p.Type).Valid():
			bad(key, label, lindung.Invalid("type", "%q is not a partner type; the types are GOVERNMENT, NGO, PRIVATE and OPERATOR", p.Type))
		case !slices.Contains(states, p.State):
			bad(key, label, lindung.Invalid("state", "%q is not a Malaysian state or federal territory; they are %s", p.State, strings.Join(states, ", ")))
		}
		slugs[p.Slug] = true
	}
	names := map[string]bool{}
	for i, u := range f.Users {
		key := fmt.Sprintf("users[%d]", i)
		label := fmt.Sprintf("%s (%s)", key, u.Username)
		if err := u.check(roles, names); err != nil {
			bad(key, label, err)
		}
		names[u.Username] = true
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (u *User) check(roles Roles, seen map[string]bool) error {
	switch {
	case strings.TrimSpace(u.Username) == "" || len(u.Username) > 200:
		return lindung.Invalid("username", "a username of 1 to 200 characters is required")
	case seen[u.Username]:
		return lindung.Invalid("username", "the user %q is listed twice", u.Username)
	case u.Partner == "":
		return lindung.Invalid("partner", "the partner's slug is required")
	}
	if err := roles.Assignable(u.Roles); err != nil {
		return err
	}
	modules := map[string]bool{}
	for _, t := range u.Training {
		if _, _, err := t.dates(); err != nil {
			return err
		}
		if t.Module == "" || modules[t.Module] {
			return lindung.Invalid("training", "each training entry names a module, once")
		}
		modules[t.Module] = true
	}
	return nil
}

func (t Training) dates() (completed time.Time, expires *time.Time, err error) {
	completed, err = time.Parse(time.DateOnly, t.Completed)
	if err != nil {
		return completed, nil, lindung.Invalid("training", "completed %q is not a date such as 2026-01-15", t.Completed)
	}
	if t.Expires != "" {
		e, err := time.Parse(time.DateOnly, t.Expires)
		if err != nil || !e.After(completed) {
			return completed, nil, lindung.Invalid("training", "expires %q is not a date after completed", t.Expires)
		}
		expires = &e
	}
	return completed, expires, nil
}

// entryError reports the first entry the database refused: the transaction is aborted from there on, so
// later entries could not be tried.
func entryError(f *File, key, label string, err error) error {
	return Errors{{File: f.name, Line: f.lines[key], Entry: label, Err: err}}
}

// Apply makes f true on the session, printing each change to out, and returns the changes it made as
// change-log lines naming the record, the action and the fields written (as the operator's GraphQL
// mutations log them), for the caller to stamp with its actor and record. The caller runs it in one
// transaction (postgres.DB.Administer), so that on any error nothing is applied. Entries that fail in the
// database (a state that is not one, a user of a partner that does not exist) are reported with their
// line too.
func (f *File) Apply(ctx context.Context, s *postgres.Session, roles Roles, out io.Writer) ([]*lindung.ChangeRecord, error) {
	if err := f.Check(roles); err != nil {
		return nil, err
	}
	partners, err := s.FindPartners(ctx, lindung.PartnerFilter{})
	if err != nil {
		return nil, err
	}
	users, err := s.FindUsers(ctx)
	if err != nil {
		return nil, err
	}
	training, err := s.FindTraining(ctx)
	if err != nil {
		return nil, err
	}
	var changes []*lindung.ChangeRecord
	say := func(c change, format string, args ...any) {
		changes = append(changes, &lindung.ChangeRecord{Entity: c.entity, RecordID: c.id, Action: c.action, Fields: c.fields})
		fmt.Fprintf(out, format+"\n", args...)
	}
	bySlug := map[string]*lindung.Partner{}
	for _, p := range partners {
		bySlug[p.Slug] = p
	}
	for i, want := range f.Partners {
		key := fmt.Sprintf("partners[%d]", i)
		label := fmt.Sprintf("%s (%s)", key, want.Slug)
		if err := applyPartner(ctx, s, bySlug, want, say); err != nil {
			return nil, entryError(f, key, label, err)
		}
	}
	byName := map[string]*postgres.DirectoryUser{}
	for _, u := range users {
		byName[u.Username] = u
	}
	for i, want := range f.Users {
		key := fmt.Sprintf("users[%d]", i)
		label := fmt.Sprintf("%s (%s)", key, want.Username)
		if err := applyUser(ctx, s, bySlug, byName, training, want, say); err != nil {
			return nil, entryError(f, key, label, err)
		}
	}
	return changes, nil
}

// change is what a change-log line says of one change: the record, what was done to it, the fields written.
type change struct {
	entity, id, action string
	fields             []string
}

// sayFunc prints a change and logs it.
type sayFunc func(c change, format string, args ...any)

func applyPartner(ctx context.Context, s *postgres.Session, bySlug map[string]*lindung.Partner, want Partner, say sayFunc) error {
	have, ok := bySlug[want.Slug]
	if !ok {
		p := &lindung.Partner{Slug: want.Slug, Name: strings.TrimSpace(want.Name), Type: lindung.PartnerType(want.Type), State: want.State}
		if err := s.CreatePartner(ctx, p); err != nil {
			return err
		}
		bySlug[p.Slug] = p
		say(change{"partner", p.ID, "registered", []string{"name", "slug", "state", "type"}}, "+ partner %s (%s, %s, %s)", p.Slug, p.Type, p.State, p.Name)
		have = p
	} else {
		if string(have.Type) != want.Type {
			return lindung.Invalid("type", "the partner is registered as %s; a partner's type is not changed, register a new partner instead", have.Type)
		}
		if have.Name != strings.TrimSpace(want.Name) || have.State != want.State {
			p, err := s.UpdatePartner(ctx, want.Slug, strings.TrimSpace(want.Name), want.State)
			if err != nil {
				return err
			}
			say(change{"partner", p.ID, "updated", []string{"name", "state"}}, "~ partner %s: name %q, state %s (was %q, %s)", p.Slug, p.Name, p.State, have.Name, have.State)
			bySlug[p.Slug] = p
			have = p
		}
	}
	if want.Suspended != nil && *want.Suspended != have.Suspended {
		p, err := s.SetPartnerSuspended(ctx, want.Slug, *want.Suspended)
		if err != nil {
			return err
		}
		action := map[bool]string{true: "suspended", false: "reinstated"}[*want.Suspended]
		say(change{"partner", p.ID, action, []string{"suspended"}}, "~ partner %s: %s", want.Slug, action)
	}
	return nil
}

func applyUser(ctx context.Context, s *postgres.Session, bySlug map[string]*lindung.Partner, byName map[string]*postgres.DirectoryUser,
	training []*lindung.TrainingCompletion, want User, say sayFunc) error {
	partner, ok := bySlug[want.Partner]
	if !ok {
		return lindung.Invalid("partner", "no partner has the slug %q, in the file or the hub", want.Partner)
	}
	displayName := strings.TrimSpace(want.DisplayName)
	have, ok := byName[want.Username]
	switch {
	case !ok:
		u := &lindung.User{PartnerID: partner.ID, Username: want.Username, DisplayName: displayName, Roles: want.Roles}
		if err := s.CreateUser(ctx, u); err != nil {
			return err
		}
		say(change{"user", u.ID, "registered", []string{"displayName", "partnerSlug", "roles", "username"}},
			"+ user %s of %s, roles %s", u.Username, want.Partner, strings.Join(u.Roles, ", "))
	case have.PartnerSlug != want.Partner:
		return lindung.Invalid("partner", "the user is registered with partner %s; a user does not move between partners, register a new username", have.PartnerSlug)
	default:
		if !sameSet(have.Roles, want.Roles) {
			u, err := s.SetUserRoles(ctx, want.Username, want.Roles)
			if err != nil {
				return err
			}
			say(change{"user", u.ID, "roles set", []string{"roles"}}, "~ user %s: roles %s (was %s)", want.Username, strings.Join(want.Roles, ", "), strings.Join(have.Roles, ", "))
		}
		if have.DisplayName != displayName {
			u, err := s.SetUserDisplayName(ctx, want.Username, displayName)
			if err != nil {
				return err
			}
			say(change{"user", u.ID, "updated", []string{"displayName"}}, "~ user %s: display name %q", want.Username, displayName)
		}
	}
	if want.Disabled != nil && (!ok || have.Disabled != *want.Disabled) && (ok || *want.Disabled) {
		u, err := s.SetUserDisabled(ctx, want.Username, *want.Disabled)
		if err != nil {
			return err
		}
		action := map[bool]string{true: "disabled", false: "enabled"}[*want.Disabled]
		say(change{"user", u.ID, action, []string{"disabled"}}, "~ user %s: %s", want.Username, action)
	}
	for _, t := range want.Training {
		completed, expires, _ := t.dates() // checked
		if i := slices.IndexFunc(training, func(h *lindung.TrainingCompletion) bool {
			return h.Username == want.Username && h.ModuleVersion == t.Module
		}); i >= 0 && training[i].CompletedOn.Equal(completed) && sameDate(training[i].ExpiresOn, expires) {
			continue
		}
		tc := &lindung.TrainingCompletion{ModuleVersion: t.Module, CompletedOn: completed, ExpiresOn: expires}
		if err := s.RecordTraining(ctx, want.Username, tc); err != nil {
			return err
		}
		say(change{"trainingCompletion", tc.UserID + "/" + tc.ModuleVersion, "recorded", []string{"moduleVersion", "completedOn", "expiresOn"}},
			"+ training %s: module %s completed %s", want.Username, t.Module, t.Completed)
	}
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func sameDate(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
