package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lindung/lindung/demo"
)

// listedUser is a user as the users query returns them, flattened for comparison with the database.
type listedUser struct {
	Username string
	Roles    []string
	Disabled bool
	Partner  struct{ Slug string }
	Training []struct {
		Username, ModuleVersion string
		CompletedOn             string
		ExpiresOn               *string
		Current                 bool
	}
}

const usersQuery = `query($p: String) { users(partnerSlug: $p) { username roles disabled partner { slug }
	training { username moduleVersion completedOn expiresOn current } } }`

// line is a user's listing in one comparable line: name, partner, roles, disabled and each completion.
func (u listedUser) line() string {
	var tr []string
	for _, t := range u.Training {
		exp := "-"
		if t.ExpiresOn != nil {
			exp = *t.ExpiresOn
		}
		tr = append(tr, fmt.Sprintf("%s %s %s %s", t.Username, t.ModuleVersion, t.CompletedOn, exp))
	}
	return fmt.Sprintf("%s %s %v %v [%s]", u.Username, u.Partner.Slug, u.Roles, u.Disabled, strings.Join(tr, "; "))
}

// dbUsers reads the same listing straight from the database, past its row security, for partnerSlug ("" for
// all).
func (h *careHub) dbUsers(t *testing.T, partnerSlug string) []string {
	t.Helper()
	rows, err := h.adminPool().Query(t.Context(), `SELECT u.username || ' ' || p.slug || ' [' || array_to_string(u.roles, ' ')
		|| '] ' || (u.disabled_at IS NOT NULL)::text || ' [' || coalesce((SELECT string_agg(u.username || ' ' ||
		c.module_version || ' ' || c.completed_on::text || ' ' || coalesce(c.expires_on::text, '-'), '; '
		ORDER BY c.module_version) FROM training_completions c WHERE c.user_id = u.id), '') || ']'
		FROM users u JOIN partners p ON p.id = u.partner_id WHERE $1 = '' OR p.slug = $1 ORDER BY u.username`, partnerSlug)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (h *careHub) listUsers(t *testing.T, token, partnerSlug string) []string {
	t.Helper()
	vars := map[string]any{"p": nil}
	if partnerSlug != "" {
		vars["p"] = partnerSlug
	}
	var out struct{ Users []listedUser }
	h.ok(t, token, usersQuery, vars, &out)
	lines := make([]string, len(out.Users))
	for i, u := range out.Users {
		lines[i] = u.line()
	}
	return lines
}

// TestOperatorListsUsers: the operator lists every registered user with partner, roles, disabled flag and
// training, exactly as the database holds them, also of one partner and after changes; a completion
// recorded earlier in the same operation shows; every other role is refused, whichever way it asks.
func TestOperatorListsUsers(t *testing.T) {
	h := newCareHub(t)
	all := h.listUsers(t, h.operator, "")
	if want := h.dbUsers(t, ""); !slices.Equal(all, want) {
		t.Fatalf("users:\n%s\nwant (database):\n%s", strings.Join(all, "\n"), strings.Join(want, "\n"))
	}
	has := func(lines []string, prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix+" ") {
				return l
			}
		}
		return ""
	}
	trained := has(all, demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM))
	untrained := has(all, demo.UntrainedOfficerUsername)
	if trained == "" || strings.HasSuffix(trained, "[]") || untrained == "" || !strings.HasSuffix(untrained, "[]") {
		t.Errorf("the demo officers are not listed with their training: %q, %q", trained, untrained)
	}
	for _, role := range []string{demo.RoleNGOCaseworker, demo.RoleEmployerHR, demo.RoleOperator} {
		if !slices.ContainsFunc(all, func(l string) bool { return strings.Contains(l, "["+role+"]") }) {
			t.Errorf("no user with role %s listed", role)
		}
	}

	one := h.listUsers(t, h.operator, demo.SlugNGOSuara)
	if want := h.dbUsers(t, demo.SlugNGOSuara); len(one) == 0 || !slices.Equal(one, want) {
		t.Errorf("users of %s: %q, want %q", demo.SlugNGOSuara, one, want)
	}
	if none := h.listUsers(t, h.operator, "no-such-partner"); len(none) != 0 {
		t.Errorf("users of an unknown partner: %q", none)
	}

	// After changes, through the API, the listing is still the database's; within one operation a
	// user's training read before a completion is recorded is read again after it.
	who := demo.UntrainedOfficerUsername
	var m struct {
		A struct {
			Training []struct{ ModuleVersion string }
		}
		C struct {
			Disabled bool
			Training []struct{ ModuleVersion string }
		}
	}
	h.ok(t, h.operator, `mutation($u: String!) {
		a: disableUser(username: $u) { training { moduleVersion } }
		b: recordTraining(input: {username: $u, moduleVersion: "PO-TEST.1", completedOn: "2026-01-05"}) { current }
		c: setUserRoles(username: $u, roles: ["protection_officer"]) { disabled training { moduleVersion } } }`,
		map[string]any{"u": who}, &m)
	if len(m.A.Training) != 0 || !m.C.Disabled || len(m.C.Training) != 1 || m.C.Training[0].ModuleVersion != "PO-TEST.1" {
		t.Errorf("one operation's users: %+v", m)
	}
	after := h.listUsers(t, h.operator, "")
	if want := h.dbUsers(t, ""); !slices.Equal(after, want) {
		t.Errorf("users after changes:\n%s\nwant:\n%s", strings.Join(after, "\n"), strings.Join(want, "\n"))
	}
	if l := has(after, who); !strings.Contains(l, " true [") || !strings.Contains(l, "PO-TEST.1 2026-01-05 -") {
		t.Errorf("changed user listed as %q", l)
	}

	// Nobody else may list users or read a user's training, by the root or by any mutation that
	// returns a user; nothing of the listing leaks into a refusal.
	analyst := h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst)
	router := h.token(demo.SlugOperator, demo.RoleRouter)
	for _, token := range []string{h.officer, h.harapan, h.suara, h.pdrm, h.employer, analyst, router} {
		res := h.fails(t, token, usersQuery, map[string]any{"p": nil}, "FORBIDDEN", "", "")
		if strings.Contains(string(res.Body), "@kpwkm") {
			t.Errorf("a refusal names a user: %s", res.Body)
		}
		h.fails(t, token, `{ a: users(partnerSlug: "kpwkm") { username } }`, nil, "FORBIDDEN", "", "")
		h.fails(t, token, `mutation { enableUser(username: "protection_officer@kpwkm") { training { moduleVersion } } }`,
			nil, "FORBIDDEN", "", "")
	}
}
