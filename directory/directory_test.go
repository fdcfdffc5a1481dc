package directory_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/directory"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

const good = `partners:
  - slug: jtk-selangor
    name: Jabatan Tenaga Kerja Selangor
    type: GOVERNMENT
    state: SELANGOR
  - slug: tenaganita
    name: Tenaganita
    type: NGO
    state: KUALA_LUMPUR
users:
  - username: aminah@jtk-selangor
    partner: jtk-selangor
    displayName: Aminah
    roles: [protection_officer]
    training:
      - module: "2026.1"
        completed: 2026-01-15
        expires: 2030-01-15
  - username: siti@tenaganita
    partner: tenaganita
    roles: [ngo_caseworker]
`

func load(t *testing.T, text string) *directory.File {
	t.Helper()
	f, err := directory.Parse("dir.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func apply(t *testing.T, db *postgres.DB, pol *policy.Policy, f *directory.File, commit bool) (string, int, error) {
	t.Helper()
	var out bytes.Buffer
	var n int
	err := db.Administer(context.Background(), commit, func(s *postgres.Session) error {
		changes, err := f.Apply(context.Background(), s, pol, &out)
		n = len(changes)
		return err
	})
	return out.String(), n, err
}

// TestApply: a file is made true once, printing each change; applied again it changes nothing; a dry run
// prints and changes nothing; a change of roles is one line.
func TestApply(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.OwnerURL(pgtest.New(t)), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pol, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	f := load(t, good)

	out, n, err := apply(t, db, pol, f, false)
	if err != nil || n != 5 {
		t.Fatalf("dry run: %d changes, %v\n%s", n, err, out)
	}
	if _, n, _ := apply(t, db, pol, f, false); n != 5 {
		t.Fatalf("the dry run changed something: a second dry run plans %d changes, want 5", n)
	}
	out, n, err = apply(t, db, pol, f, true)
	if err != nil || n != 5 || !strings.Contains(out, "+ user aminah@jtk-selangor of jtk-selangor, roles protection_officer") {
		t.Fatalf("apply: %d changes, %v\n%s", n, err, out)
	}
	if out, n, err := apply(t, db, pol, f, true); err != nil || n != 0 {
		t.Fatalf("apply again: %d changes, %v\n%s", n, err, out)
	}
	changed := load(t, strings.Replace(good, "roles: [ngo_caseworker]", "roles: [ngo_caseworker, ministry_analyst]", 1))
	out, n, err = apply(t, db, pol, changed, true)
	if err != nil || n != 1 || !strings.Contains(out, "~ user siti@tenaganita: roles ngo_caseworker, ministry_analyst (was ngo_caseworker)") {
		t.Fatalf("role change: %d changes, %v\n%s", n, err, out)
	}
}

// TestBadEntries: each bad entry is reported with the file's line, and nothing of the file is applied.
func TestBadEntries(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.OwnerURL(pgtest.New(t)), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pol, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"forbidden pair", "roles: [protection_officer]", "roles: [protection_officer, operator]",
			"dir.yaml:11: users[0] (aminah@jtk-selangor): the roles operator and protection_officer must never be held together (separation of duties)"},
		{"unknown role", "roles: [ngo_caseworker]", "roles: [caseworker]", `dir.yaml:19: users[1] (siti@tenaganita): roles: "caseworker" is not a role of this hub`},
		{"bad type", "type: NGO", "type: CHARITY", `dir.yaml:6: partners[1] (tenaganita): type: "CHARITY" is not a partner type`},
		{"unknown partner", "partner: tenaganita", "partner: tenaganitaa", `dir.yaml:19: users[1] (siti@tenaganita): partner: no partner has the slug "tenaganitaa"`},
		{"bad state", "state: KUALA_LUMPUR", "state: GOTHAM", `dir.yaml:6: partners[1] (tenaganita): state: "GOTHAM" is not a Malaysian state or federal territory; they are JOHOR,`},
		{"bad date", "completed: 2026-01-15", "completed: 15/01/2026", `dir.yaml:11: users[0] (aminah@jtk-selangor): training: completed "15/01/2026" is not a date`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(good, c.old) {
				t.Fatalf("%q not in the file", c.old)
			}
			f := load(t, strings.Replace(good, c.old, c.new, 1))
			_, _, err := apply(t, db, pol, f, true)
			var errs directory.Errors
			if !errors.As(err, &errs) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was applied") {
				t.Fatalf("got %v\nwant %s", err, c.want)
			}
			var partners []string
			db.Administer(ctx, false, func(s *postgres.Session) error {
				ps, err := s.FindPartners(ctx, lindung.PartnerFilter{})
				for _, p := range ps {
					partners = append(partners, p.Slug)
				}
				return err
			})
			if len(partners) != 0 {
				t.Fatalf("a bad file applied partners %v", partners)
			}
		})
	}
}

// TestParseErrors: a misspelt key is an error with its line, not a user without roles.
func TestParseErrors(t *testing.T) {
	_, err := directory.Parse("dir.yaml", []byte(strings.Replace(good, "roles: [ngo_caseworker]", "rolse: [ngo_caseworker]", 1)))
	if err == nil || !strings.Contains(err.Error(), "dir.yaml: [21:5]") || !strings.Contains(err.Error(), "rolse") {
		t.Fatalf("got %v", err)
	}
}
