package bench

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// withdrawalFixture is a victim registered by the officer with a marker in HEALTH, and the officer's
// handler and token.
type withdrawalFixture struct {
	hub    variant
	token  string
	victim string
	marker string
}

func newWithdrawalFixture(tb testing.TB) *withdrawalFixture {
	hub, _, token, _ := setupHandwritten(tb)
	f := &withdrawalFixture{hub: hub, token: token, marker: fmt.Sprintf("MARKER-HEALTH-%d", time.Now().UnixNano())}
	var created struct {
		Data struct{ CreateVictim struct{ ID string } }
	}
	body := post(tb, hub.handler, token, `mutation($m: String!, $ref: String!) {
		createVictim(input: {caseRef: $ref, medicalNeeds: $m}) { id } }`,
		map[string]any{"m": f.marker, "ref": fmt.Sprintf("BNC-2026-%06d", time.Now().UnixNano()%1000000)})
	if err := json.Unmarshal(body, &created); err != nil || created.Data.CreateVictim.ID == "" {
		tb.Fatalf("createVictim: %s", body)
	}
	f.victim = created.Data.CreateVictim.ID
	return f
}

// consent records the victim's consent to HEALTH for case management by the officer's agency, with the
// reference of the signed form (without evidence it would wait for a second officer's confirmation), and
// returns its id.
func (f *withdrawalFixture) consent(tb testing.TB) string {
	var res struct {
		Data struct{ RecordConsent struct{ ID string } }
	}
	body := post(tb, f.hub.handler, f.token, `mutation($v: ID!) { recordConsent(input: {victimId: $v, grantor: SELF,
		language: "ms", method: WRITTEN, documentRef: "BNC/CONSENT/1", provisions: [{granteeSlug: "kpwkm", categories: [HEALTH],
		purposes: [CASE_MANAGEMENT]}]}) { id } }`, map[string]any{"v": f.victim})
	if err := json.Unmarshal(body, &res); err != nil || res.Data.RecordConsent.ID == "" {
		tb.Fatalf("recordConsent: %s", body)
	}
	return res.Data.RecordConsent.ID
}

func (f *withdrawalFixture) withdraw(tb testing.TB, id string) {
	body := post(tb, f.hub.handler, f.token, `mutation($id: ID!) { withdrawConsent(id: $id) { status } }`, map[string]any{"id": id})
	if !strings.Contains(string(body), `"WITHDRAWN"`) {
		tb.Fatalf("withdrawConsent: %s", body)
	}
}

// sees reports whether the officer's next request is served the HEALTH marker.
func (f *withdrawalFixture) sees(tb testing.TB) bool {
	body := post(tb, f.hub.handler, f.token, `query($v: ID!) { victim(id: $v) { medicalNeeds } }`, map[string]any{"v": f.victim})
	return strings.Contains(string(body), f.marker)
}

// TestWithdrawalTakesEffectOnTheNextRequest: consent withdrawn through the API withholds the field from
// the very next request, every time.
func TestWithdrawalTakesEffectOnTheNextRequest(t *testing.T) {
	f := newWithdrawalFixture(t)
	if f.sees(t) {
		t.Fatal("HEALTH disclosed before any consent")
	}
	for i := range 5 {
		id := f.consent(t)
		if !f.sees(t) {
			t.Fatalf("round %d: HEALTH withheld although consented", i)
		}
		f.withdraw(t, id)
		if f.sees(t) {
			t.Fatalf("round %d: HEALTH still disclosed on the request after the withdrawal", i)
		}
	}
}

// BenchmarkConsentWithdrawal measures the time from the response to withdrawConsent to the first response
// that withholds the field, and the number of requests that takes (always 1: the next request).
func BenchmarkConsentWithdrawal(b *testing.B) {
	f := newWithdrawalFixture(b)
	var total time.Duration
	requests := 0
	for b.Loop() {
		b.StopTimer()
		id := f.consent(b)
		if !f.sees(b) {
			b.Fatal("HEALTH withheld although consented")
		}
		f.withdraw(b, id)
		b.StartTimer()
		start := time.Now()
		for n := 1; ; n++ {
			if !f.sees(b) {
				requests += n
				break
			}
			if n == 10 {
				b.Fatal("still disclosed after 10 requests")
			}
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests-until-withheld")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-until-withheld")
}
