package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/server"
)

// gatewayDir holds the gateway and the immigration subgraph (federation/), relative to this package.
const gatewayDir = "../federation"

// gateways are the two independent gateway implementations every federation test runs against, by the
// name federation/gateway.mjs knows them by, with the npm package each needs.
var gateways = []struct{ name, module string }{
	{"apollo", "@apollo/gateway"},
	{"hive", "@graphql-hive/gateway"},
}

// startGateway composes Lindung's subgraph SDL (read from _service with the router's token) with the
// immigration subgraph and starts the named gateway on loopback, returning its URL. The gateway's npm
// packages are installed by `npm ci --prefix federation` (.ci/run does it); without them the test is
// skipped on a developer's machine and fails in CI.
func startGateway(t *testing.T, h *hub, gateway string, permitCaseRefs []string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	module := ""
	for _, g := range gateways {
		if g.name == gateway {
			module = g.module
		}
	}
	_, modErr := os.Stat(filepath.Join(gatewayDir, "node_modules", filepath.FromSlash(module)))
	if err != nil || modErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the gateway test needs node and federation/node_modules (npm ci --prefix federation): %v %v", err, modErr)
		}
		t.Skip("node or federation/node_modules missing: run npm ci --prefix federation")
	}
	r := h.do(request{Token: h.token(demo.SlugOperator, "router"), Query: `{ _service { sdl } }`})
	var d struct {
		Service struct{ SDL string } `json:"_service"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || d.Service.SDL == "" {
		t.Fatalf("the router could not read the SDL: %s", r.Body)
	}
	sdl := filepath.Join(t.TempDir(), "lindung.graphqls")
	if err := os.WriteFile(sdl, []byte(d.Service.SDL), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "gateway.mjs")
	cmd.Dir = gatewayDir
	cmd.Env = append(os.Environ(), "GATEWAY="+gateway, "LINDUNG_URL="+h.URL+"/graphql", "LINDUNG_SDL_FILE="+sdl,
		"PERMIT_CASE_REFS="+strings.Join(permitCaseRefs, ","))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		// The first line that is a JSON object is the gateway's report; anything else is a notice.
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "{") {
				line <- l
				break
			}
		}
		close(line)
		io.Copy(io.Discard, out)
	}()
	var started struct {
		Gateway string
		Errors  []string
	}
	select {
	case l := <-line:
		if err := json.Unmarshal([]byte(l), &started); err != nil || started.Gateway == "" {
			t.Fatalf("the gateway did not start: %q %v\n%s", l, started.Errors, stderr.String())
		}
	case <-time.After(3 * time.Minute):
		// Hive's gateway loads a thousand modules: on a loaded CI machine that can take most of a minute.
		t.Fatalf("the gateway did not start within three minutes:\n%s", stderr.String())
	}
	return started.Gateway
}

// viaGateway sends a query to the gateway with the caller's token and purpose, as a dashboard would.
func viaGateway(t *testing.T, url, token, purpose, query string, vars map[string]any) *response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if purpose != "" {
		req.Header.Set(server.PurposeHeader, purpose)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := &response{Status: res.StatusCode}
	out.Body, _ = io.ReadAll(res.Body)
	if err := json.Unmarshal(out.Body, out); err != nil {
		t.Fatalf("gateway response is not JSON (%d): %s", res.StatusCode, out.Body)
	}
	return out
}

// decode parses JSON into generic values, for comparing two responses field by field.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// allNull reports whether data is null or an object of nulls.
func allNull(data json.RawMessage) bool {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return len(data) == 0 || string(data) == "null"
	}
	for _, v := range m {
		if string(v) != "null" {
			return false
		}
	}
	return true
}

// TestGateway runs cross-subgraph queries through each real gateway as several callers: the joined data
// arrives, and Lindung's part of every answer is exactly what Lindung answers the same caller directly.
func TestGateway(t *testing.T) {
	for _, g := range gateways {
		t.Run(g.name, func(t *testing.T) { testGateway(t, g.name) })
	}
}

func testGateway(t *testing.T, gateway string) {
	h := newHub(t)
	// linked: kpwkm's case, linked to pdrm, referred to ngo-harapan, with consents; private: kpwkm's alone.
	linked := h.newMarkerVictim(victimSpec{
		Links:     []string{demo.SlugPDRM},
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE", "DEMOGRAPHIC", "CONTACT", "HEALTH"}}},
		Consents: []consentSpec{
			{Grantee: demo.SlugNGOHarapan, Categories: []string{"CONTACT", "HEALTH"}, Purposes: []string{"SERVICE_DELIVERY"}},
			{Grantee: "GOVERNMENT", Categories: []string{"IDENTITY"}, Purposes: []string{"PROSECUTION"}},
		},
	})
	private := h.newMarkerVictim(victimSpec{})
	victims := []*markerVictim{linked, private}
	unknown := "MRK-2099-999999"
	gw := startGateway(t, h, gateway, []string{linked.CaseRef, private.CaseRef, unknown})

	// Immigration first: the permits come from the immigration service, each holder from Lindung's _entities.
	permitsQuery := `query Permits { workPermits { permitNumber status expiresOn holder { ...All } } }` + "\n" + allVictimFields
	// Lindung first: the victims come from Lindung, each workPermit from the immigration service.
	victimQuery := `query Cases($a: ID!, $b: ID!) { a: victim(id: $a) { ...All workPermit { permitNumber status } }
		b: victim(id: $b) { ...All workPermit { permitNumber status } } }` + "\n" + allVictimFields
	directVictimQuery := `query Cases($a: ID!, $b: ID!) { a: victim(id: $a) { ...All } b: victim(id: $b) { ...All } }` + "\n" + allVictimFields
	ids := map[string]any{"a": linked.ID, "b": private.ID}

	for _, tt := range []struct {
		name            string
		partner, role   string
		purpose         string
		sees            []*markerVictim // the victims Lindung shows this caller
		unauthenticated bool
	}{
		{name: "protection officer", partner: demo.SlugKPWKM, role: demo.RoleProtectionOfficer, sees: victims},
		{name: "ngo caseworker", partner: demo.SlugNGOHarapan, role: demo.RoleNGOCaseworker, sees: victims[:1]},
		{name: "enforcement officer", partner: demo.SlugPDRM, role: demo.RoleEnforcementOfficer, sees: victims[:1]},
		{name: "protection officer for service delivery", partner: demo.SlugKPWKM, role: demo.RoleProtectionOfficer,
			purpose: "SERVICE_DELIVERY", sees: victims},
		{name: "employer", partner: demo.SlugEmployerLadang, role: demo.RoleEmployerHR},
		{name: "no token", unauthenticated: true},
		{name: "bad token", unauthenticated: true, partner: "forged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			token := ""
			switch {
			case !tt.unauthenticated:
				token = h.token(tt.partner, tt.role)
			case tt.partner == "forged":
				token = h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
				token = token[:len(token)-4] + "AAAA"
			}

			// Immigration first.
			via := viaGateway(t, gw, token, tt.purpose, permitsQuery, nil)
			var permits struct {
				WorkPermits []struct {
					PermitNumber string
					Holder       json.RawMessage
				}
			}
			if err := json.Unmarshal(via.Data, &permits); err != nil || len(permits.WorkPermits) != 3 {
				t.Fatalf("the immigration service's permits did not arrive: %s", via.Body)
			}
			for i, p := range permits.WorkPermits {
				ref := []string{linked.CaseRef, private.CaseRef, unknown}[i]
				want := json.RawMessage("null")
				if !tt.unauthenticated {
					direct := h.do(request{Token: token, Purpose: tt.purpose, Query: `query($f: VictimFilter) { victims(filter: $f) { edges { node { ...All } } } }` + "\n" + allVictimFields,
						Variables: map[string]any{"f": map[string]any{"caseRef": ref}}})
					var d struct {
						Victims struct {
							Edges []struct{ Node json.RawMessage }
						}
					}
					if err := json.Unmarshal(direct.Data, &d); err != nil {
						t.Fatalf("%s", direct.Body)
					}
					if len(d.Victims.Edges) == 1 {
						want = d.Victims.Edges[0].Node
					}
				}
				if !reflect.DeepEqual(decode(t, p.Holder), decode(t, want)) {
					t.Errorf("permit %s (%s): the holder through the gateway differs from Lindung's direct answer:\ngateway %s\ndirect  %s",
						p.PermitNumber, ref, p.Holder, want)
				}
			}
			if tt.unauthenticated {
				checkOneUnauthenticated(t, gateway, via, len(permits.WorkPermits))
			}
			checkGatewayMarkers(t, via.Body, victims, tt.sees, token, tt.purpose, h)

			// Lindung first.
			via = viaGateway(t, gw, token, tt.purpose, victimQuery, ids)
			if tt.unauthenticated {
				if !allNull(via.Data) || !bytes.Contains(via.Body, []byte("UNAUTHENTICATED")) {
					t.Errorf("without a token: %s", via.Body)
				}
				// Lindung's part is its root fields a and b, refused with 401: Apollo reports the 401 once,
				// Hive once per root field it asked Lindung for.
				if n := len(via.Errors); n == 0 || n > 2 {
					t.Errorf("without a token, Lindung first: %d errors, want one per Lindung root field at most: %s", n, truncate(via.Body))
				}
				assertNoLeak(t, via.Body, append(linked.identifiers(), private.identifiers()...))
				return
			}
			direct := h.do(request{Token: token, Purpose: tt.purpose, Query: directVictimQuery, Variables: ids})
			got := decode(t, via.Data).(map[string]any)
			for alias, v := range got {
				if node, ok := v.(map[string]any); ok {
					wp, _ := node["workPermit"].(map[string]any)
					if wp == nil || !strings.HasPrefix(fmt.Sprint(wp["permitNumber"]), "IMM-WP-") {
						t.Errorf("%s: the immigration service's permit did not join: %v", alias, node["workPermit"])
					}
					delete(node, "workPermit")
				}
			}
			if !reflect.DeepEqual(got, decode(t, direct.Data)) {
				t.Errorf("Lindung's part through the gateway differs from the direct answer:\ngateway %s\ndirect  %s", via.Data, direct.Data)
			}
			checkGatewayMarkers(t, via.Body, victims, tt.sees, token, tt.purpose, h)
			if len(via.Extensions.Withheld) != 0 {
				t.Errorf("the gateway passed on Lindung's extensions.withheld, whose paths are the subgraph's: %s", via.Body)
			}
		})
	}

	// The audit records every disclosure made through the gateway, like a direct one.
	n := h.count(`SELECT count(*) FROM access_records WHERE victim_id = $1 AND operation_name LIKE 'Permits%' AND partner_id = $2`,
		linked.ID, h.partnerIDs()[demo.SlugPDRM])
	if n != 1 {
		t.Errorf("%d access records of the enforcement officer's Permits query through the gateway, want 1", n)
	}
}

// checkOneUnauthenticated checks a gateway's answer to a query joining entities from Lindung without a
// valid token: Lindung's error is shown once, carrying Lindung's message and code (Apollo's one error, or
// Hive's copy on the first entity it could not resolve), not once per entity. The only other errors are
// Hive's own, for the non-null field Victim.id of each further entity it could not resolve
// (docs/federation.md, Errors through a gateway).
func checkOneUnauthenticated(t *testing.T, gateway string, via *response, entities int) {
	t.Helper()
	lindungErrors := 0
	for _, e := range via.Errors {
		switch {
		case e.Extensions["code"] == "UNAUTHENTICATED" && e.Extensions["serviceName"] == "lindung" && strings.Contains(e.Message, "token"):
			lindungErrors++
		case gateway == "hive" && e.Message == "Unexpected error." && len(e.Path) > 0 && e.Path[len(e.Path)-1] == "id":
		default:
			t.Errorf("%s: an error other than Lindung's: %+v", gateway, e)
		}
	}
	if lindungErrors != 1 || (gateway == "apollo" && len(via.Errors) != 1) || len(via.Errors) > entities {
		t.Errorf("%s: %d errors (%d of them Lindung's), want Lindung's once: %s", gateway, len(via.Errors), lindungErrors, truncate(via.Body))
	}
}

// checkGatewayMarkers checks a gateway response for the markers of every victim: a category's marker is in
// the response exactly when Lindung discloses that category of that victim to the caller directly, and the
// victims the caller may not see leave no trace (their markers and ids; their case references are the
// immigration service's own data, which it shares with every caller of the supergraph).
func checkGatewayMarkers(t *testing.T, body []byte, all, sees []*markerVictim, token, purpose string, h *hub) {
	t.Helper()
	for _, v := range all {
		seen := false
		for _, s := range sees {
			seen = seen || s == v
		}
		if !seen {
			assertNoLeak(t, body, append(v.markers(lindung.AllCategories), v.ID))
			continue
		}
		direct := h.do(request{Token: token, Purpose: purpose, Query: directQuery, Variables: map[string]any{"id": v.ID}})
		var disclosed lindung.CategorySet
		for _, c := range lindung.Categories() {
			if m := v.marker(c); m != "" && bytes.Contains(direct.Body, []byte(m)) {
				disclosed |= 1 << c
			}
		}
		for _, p := range checkMarkers(body, v, disclosed) {
			t.Errorf("%s: %s", v.CaseRef, p)
		}
	}
}

// TestGatewayLargeBatch: each gateway joins 2,000 of the immigration service's permits to their holders
// in Lindung, sending every holder in one _entities call; the policy holds field by field for each, and one
// access record is written per victim disclosed. Past the hub's maximum the extra holders are null with
// one error, not one per entity and field.
func TestGatewayLargeBatch(t *testing.T) {
	h := newHubWith(t, func(c *server.Config) { c.MaxRepresentations = 2000 })
	refs, _ := h.bulkVictims(2010, demo.SlugPDRM)
	pdrm := h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer)
	q := `query Holders($n: Int) { workPermits(first: $n) { permitNumber holder { caseRef gender legalName phone medicalNeeds withheld { field reason } } } }`
	for _, g := range gateways {
		t.Run(g.name, func(t *testing.T) {
			gw := startGateway(t, h, g.name, refs)
			before := h.count(`SELECT count(*) FROM access_records`)
			r := viaGateway(t, gw, pdrm, "", q, map[string]any{"n": 2000})
			if len(r.Errors) != 0 {
				t.Fatalf("errors: %s", truncate(r.Body))
			}
			var d struct {
				WorkPermits []struct {
					Holder *struct {
						CaseRef                        string
						Gender                         *string
						LegalName, Phone, MedicalNeeds *string
						Withheld                       []struct{ Field, Reason string }
					}
				}
			}
			mustDecode(t, r.Data, &d)
			if len(d.WorkPermits) != 2000 {
				t.Fatalf("%d permits", len(d.WorkPermits))
			}
			for i, p := range d.WorkPermits {
				h := p.Holder
				withheld := map[string]bool{}
				if h != nil {
					for _, w := range h.Withheld {
						withheld[w.Field] = w.Reason != ""
					}
				}
				switch {
				case h == nil:
					t.Fatalf("permit %d: no holder", i)
				case i%2 == 0 && len(h.Withheld) != 0:
					t.Fatalf("permit %d: withheld fields of a case out of scope: %+v", i, h.Withheld)
				case i%2 == 1 && (!withheld["legalName"] || !withheld["phone"] || !withheld["medicalNeeds"] || withheld["gender"]):
					t.Fatalf("permit %d: the withheld fields did not come through the gateway in data: %+v", i, h.Withheld)
				case h.CaseRef != refs[i]:
					t.Fatalf("permit %d: holder %s, want %s", i, h.CaseRef, refs[i])
				case h.LegalName != nil || h.Phone != nil || h.MedicalNeeds != nil:
					t.Fatalf("permit %d: a withheld field arrived: %+v", i, *h)
				case (h.Gender != nil) != (i%2 == 1):
					t.Fatalf("permit %d (linked %v): gender %v", i, i%2 == 1, h.Gender)
				}
			}
			assertNoLeak(t, r.Body, []string{"BULK-IDENTITY-", "BULK-CONTACT-", "BULK-HEALTH-"})
			if n := h.count(`SELECT count(*) FROM access_records`) - before; n != 1000 {
				t.Errorf("%d access records, want 1000 (one per linked case disclosed)", n)
			}

			// Without a token: Lindung's error once, not once per entity. Apollo shows it once; Hive once on
			// each field of the first entity it pins it to (the five Lindung resolves here).
			r = viaGateway(t, gw, "", "", q, map[string]any{"n": 2000})
			for _, e := range r.Errors {
				if e.Extensions["code"] != "UNAUTHENTICATED" || !strings.Contains(e.Message, "missing bearer token") {
					t.Errorf("without a token: an error other than Lindung's: %+v", e)
				}
			}
			if n := len(r.Errors); n == 0 || (g.name == "apollo" && n != 1) || n > 5 {
				t.Errorf("without a token: %d errors for 2,000 entities, want Lindung's once (Hive: once per field of one entity): %s", n, truncate(r.Body))
			}
			assertNoLeak(t, r.Body, []string{"BULK-IDENTITY-", "BULK-CONTACT-", "BULK-HEALTH-", `"gender":"`})

			// All 2,010: the last ten are past the hub's maximum. Lindung reports it once, at _entities; Apollo
			// passes that on once, Hive once per field of the one entity it pins the error to (at most the
			// five fields Lindung resolves), never once per entity.
			r = viaGateway(t, gw, pdrm, "", q, nil)
			messages := map[string]bool{}
			for _, e := range r.Errors {
				messages[e.Message] = true
			}
			if len(messages) != 1 || len(r.Errors) > 5 || !bytes.Contains(r.Body, []byte("LIMIT_EXCEEDED")) {
				t.Errorf("want one LIMIT_EXCEEDED error past the maximum, got %d: %s", len(r.Errors), truncate(r.Body))
			}
		})
	}
}
