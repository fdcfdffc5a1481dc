package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/server"
)

// TestErrorMessagesNameTheFix: the messages of a malformed body and an unknown purpose say what to
// change: where the JSON breaks, and which purposes exist.
func TestErrorMessagesNameTheFix(t *testing.T) {
	h := newHub(t)
	tok := h.token("kpwkm", "protection_officer")
	res := h.post(tok, "CASE_MANAGEMENT", "application/json", []byte("{\"query\":\n \"{ victims { id } }\" ,, }"))
	if res.Status != http.StatusBadRequest || len(res.Errors) == 0 || !strings.Contains(res.Errors[0].Message, "malformed JSON at line 2, column 24") {
		t.Fatalf("malformed JSON: %d %s", res.Status, res.Body)
	}
	res = h.post(tok, "GOSSIP", "application/json", []byte(`{"query":"{ victims { id } }"}`))
	if res.Status != http.StatusBadRequest || len(res.Errors) == 0 ||
		!strings.Contains(res.Errors[0].Message, `unknown purpose "GOSSIP" in the X-Lindung-Purpose header; the purposes are CASE_MANAGEMENT, SERVICE_DELIVERY, PROSECUTION, EMPLOYMENT_CHECK, STATISTICS, FAMILY_CONTACT`) {
		t.Fatalf("unknown purpose: %d %s", res.Status, res.Body)
	}
}

// readyz returns /readyz's status code and answer.
func readyz(t *testing.T, h *hub) (int, map[string]string) {
	t.Helper()
	res, err := http.Get(h.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]string
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("/readyz: %v: %s", err, b)
	}
	return res.StatusCode, out
}

// TestReadyz: /readyz names the build version; it reports not ready while the replica drains, and while
// the database refuses writes, when a write answers 503 UNAVAILABLE as a read does, not INTERNAL.
func TestReadyz(t *testing.T) {
	h := newHubWith(t, func(c *server.Config) { c.Version = "v1.2.3" })
	if code, out := readyz(t, h); code != 200 || out["version"] != "v1.2.3" || out["status"] != "ready" {
		t.Fatalf("/readyz: %d %v", code, out)
	}

	// The database is set read-only, as an administrator does when the disk fills; new sessions see it.
	dbName := h.DB.Pool.Config().ConnConfig.Database
	if _, err := h.adminPool().Exec(t.Context(), `ALTER DATABASE "`+dbName+`" SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	h.DB.Pool.Reset() // connections made from now on read the setting
	if code, out := readyz(t, h); code != http.StatusServiceUnavailable || out["status"] != "unavailable" {
		t.Fatalf("/readyz on a read-only database: %d %v", code, out)
	}
	res := h.do(request{Token: h.token("operator", "operator"),
		Query: `mutation { createPartner(input: {slug: "new-ngo", name: "New NGO", type: NGO, state: SABAH}) { id } }`})
	if res.Status != http.StatusServiceUnavailable && res.Code() != "UNAVAILABLE" {
		t.Fatalf("a write on a read-only database: %d %s", res.Status, res.Body)
	}
	if res.Code() != "UNAVAILABLE" || res.Errors[0].Extensions["requestId"] == nil {
		t.Fatalf("a write on a read-only database: want UNAVAILABLE with a requestId, got %s", res.Body)
	}
	if _, err := h.adminPool().Exec(t.Context(), `ALTER DATABASE "`+dbName+`" RESET default_transaction_read_only`); err != nil {
		t.Fatal(err)
	}
	h.DB.Pool.Reset()
	if code, _ := readyz(t, h); code != 200 {
		t.Fatalf("/readyz after the database accepts writes again: %d", code)
	}

	h.Handler.(*server.Server).Drain()
	if code, out := readyz(t, h); code != http.StatusServiceUnavailable || out["status"] != "draining" {
		t.Fatalf("/readyz while draining: %d %v", code, out)
	}
	// Draining still serves.
	if res := h.do(request{Token: h.token("kpwkm", "protection_officer"), Purpose: "CASE_MANAGEMENT", Query: `{ victims(first: 1) { edges { node { id } } } }`}); res.Status != 200 {
		t.Fatalf("a request while draining: %d %s", res.Status, res.Body)
	}
}

// TestClientErrorsAreNotLoggedAsErrors: a request refused for the client's own mistake (a bad token, a
// query that does not validate, an unknown purpose, malformed JSON, too many requests) is logged at INFO
// like any request, never at ERROR, so that an ERROR line means something for the operator to look at; a
// genuine INTERNAL error is logged at ERROR with the request id the client was given.
func TestClientErrorsAreNotLoggedAsErrors(t *testing.T) {
	logs := newSyncBuffer()
	h := newHubWith(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.RateLimits = server.RateLimits{UserRate: 0.001, UserBurst: 2, PartnerRate: 100, PartnerBurst: 100}
	})
	type line struct {
		Level, Msg, Code string
		RequestID        string `json:"request_id"`
		Status           int
	}
	read := func() []line {
		var out []line
		for _, l := range bytes.Split(logs.Bytes(), []byte("\n")) {
			var x line
			if json.Unmarshal(l, &x) == nil {
				out = append(out, x)
			}
		}
		return out
	}
	tok := h.token("kpwkm", "protection_officer")
	query := []byte(`{"query":"{ victims { totalCount } }"}`)
	unregistered, err := h.issuer.Issue(auth.Claims{Subject: "nobody@kpwkm", Partner: "kpwkm", Roles: []string{"protection_officer"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name          string
		token         string
		purpose, body string
		status        int
	}{
		{"bad token", tok[:len(tok)-4] + "AAAA", "", string(query), http.StatusUnauthorized},
		{"no token", "", "", string(query), http.StatusUnauthorized},
		{"unregistered user", unregistered, "", string(query), http.StatusUnauthorized},
		{"unknown purpose", tok, "GOSSIP", string(query), http.StatusBadRequest},
		{"bad query", tok, "", `{"query":"{ victims { noSuchField } }"}`, 0},
		{"malformed JSON", tok, "", `{"query": ,}`, http.StatusBadRequest},
		{"rate limited", tok, "", string(query), http.StatusTooManyRequests},
	} {
		before := len(read())
		res := h.post(c.token, c.purpose, "application/json", []byte(c.body))
		if res.Status < 400 || res.Status >= 500 || (c.status != 0 && res.Status != c.status) {
			t.Fatalf("%s: HTTP %d, want a client error %d: %s", c.name, res.Status, c.status, res.Body)
		}
		logged := read()[before:]
		if len(logged) == 0 {
			t.Errorf("%s: the request was not logged", c.name)
		}
		for _, l := range logged {
			if l.Level == "ERROR" || l.Level == "WARN" {
				t.Errorf("%s (HTTP %d) logged at %s: %+v", c.name, res.Status, l.Level, l)
			}
		}
	}

	// A genuine fault: the store's SQL names a column the database no longer has.
	if _, err := h.adminPool().Exec(t.Context(), `ALTER TABLE partners RENAME COLUMN name TO name_gone`); err != nil {
		t.Fatal(err)
	}
	before := len(read())
	res := h.do(request{Token: h.token("operator", "operator"), Query: `{ partners { slug name } }`})
	if res.Code() != "INTERNAL" {
		t.Fatalf("a query on a broken schema: want INTERNAL, got %s", res.Body)
	}
	id, _ := res.Errors[0].Extensions["requestId"].(string)
	found := false
	for _, l := range read()[before:] {
		found = found || (l.Level == "ERROR" && l.Code == "INTERNAL" && l.RequestID == id && id != "")
	}
	if !found {
		t.Errorf("an INTERNAL error was not logged at ERROR with its request id %q (%s):\n%+v", id, res.Body, read()[before:])
	}
}
