package postgres_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
)

// consentRuleMismatches compares, for every victim, partner and purpose, the categories consent_grants
// answers (from the victims' consent_grants, kept by triggers) with the consent rule evaluated on consents
// and their provisions directly (consent_provision_in_force), and returns the triples on which they differ.
const consentRuleMismatches = `
WITH want AS (
    SELECT c.victim_id, pa.id AS partner_id, pu AS purpose, bit_or(p.category_bits) AS bits
    FROM consents c JOIN consent_provisions p ON p.consent_id = c.id
    CROSS JOIN partners pa CROSS JOIN unnest(enum_range(NULL::purpose)) pu
    WHERE consent_provision_in_force(c.withdrawn_at, c.needs_confirmation, c.confirmed_at, p.period_start, p.period_end)
      AND pu = ANY (p.purposes) AND (p.grantee_partner_id = pa.id OR p.grantee_type = pa.type)
    GROUP BY 1, 2, 3),
got AS (
    SELECT g.victim_id, pa.id AS partner_id, pu AS purpose, bit_or(g.category_bits) AS bits
    FROM partners pa CROSS JOIN unnest(enum_range(NULL::purpose)) pu
    CROSS JOIN LATERAL consent_grants(pu, pa.id, pa.type) g
    GROUP BY 1, 2, 3)
SELECT coalesce(want.victim_id, got.victim_id)::text || ' ' || coalesce(want.partner_id, got.partner_id)::text
    || ' ' || coalesce(want.purpose, got.purpose)::text || ': ' || coalesce(want.bits, 0) || ' != ' || coalesce(got.bits, 0)
FROM want FULL JOIN got USING (victim_id, partner_id, purpose)
WHERE want.bits IS DISTINCT FROM got.bits`

// TestConsentGrantsFollowConsent: the grants stored with each victim answer exactly as the consent rule
// does, on the demo data and after every kind of change a consent goes through: withdrawal, a consent
// recorded waiting for a confirmation and then confirmed, provisions that ended or start later, and a
// provision removed. The triggers keep them in the transaction of the change, so each check runs right
// after its statement.
func TestConsentGrantsFollowConsent(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	grants := func(victim string) string {
		return ownerStrings(t, f.db, `SELECT cardinality(consent_grants)::text FROM victims WHERE id = $1`, victim)[0]
	}
	check := func(step string) {
		t.Helper()
		if n := ownerStrings(t, f.db, `SELECT sum(cardinality(consent_grants))::text FROM victims`); n[0] == "0" {
			t.Fatalf("%s: no victim holds a grant: the comparison would prove nothing", step)
		}
		if bad := ownerStrings(t, f.db, consentRuleMismatches); len(bad) > 0 {
			t.Fatalf("%s: %d (victim, partner, purpose) differ, e.g. %v", step, len(bad), bad[:min(len(bad), 5)])
		}
	}
	check("demo data")

	mustExec(t, f.db, `UPDATE consents SET withdrawn_at = greatest(now(), recorded_at)
		WHERE id IN (SELECT id FROM consents WHERE withdrawn_at IS NULL ORDER BY id LIMIT 40)`)
	check("forty consents withdrawn")

	victim := ownerStrings(t, f.db, `SELECT victim_id::text FROM consents ORDER BY id LIMIT 1`)[0]
	recorder := ownerStrings(t, f.db, `SELECT recorded_by_user_id::text FROM consents ORDER BY id LIMIT 1`)[0]
	other := ownerStrings(t, f.db, `SELECT id::text FROM users WHERE id <> $1 ORDER BY id LIMIT 1`, recorder)[0]
	before := grants(victim)
	consent := ownerStrings(t, f.db, `INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation,
			recorded_by_user_id, language, method, needs_confirmation)
		VALUES ($1, $1, 'SELF', $2, 'ms', 'VERBAL', true) RETURNING id::text`, victim, recorder)[0]
	mustExec(t, f.db, `INSERT INTO consent_provisions (consent_id, position, grantee_type, categories, purposes, period_start, period_end)
		VALUES ($1, 0, 'NGO', '{HEALTH,COUNSELLING}', '{SERVICE_DELIVERY,CASE_MANAGEMENT}', now() - interval '1 day', NULL),
		       ($1, 1, 'GOVERNMENT', '{LEGAL}', '{PROSECUTION}', now() - interval '10 days', now() - interval '1 day'),
		       ($1, 2, 'PRIVATE', '{EMPLOYMENT}', '{EMPLOYMENT_CHECK}', now() + interval '1 day', NULL)`, consent)
	check("a consent waiting for its confirmation")
	if got := grants(victim); got != before {
		t.Fatalf("a consent waiting for confirmation changed the victim's grants from %s to %s", before, got)
	}

	mustExec(t, f.db, `UPDATE consents SET confirmed_by_user_id = $2, confirmed_at = now() WHERE id = $1`, consent, other)
	check("the consent confirmed")
	if got, want := grants(victim), addInt(t, before, 4); got != want {
		t.Fatalf("the confirmed consent leaves the victim %s grants, want %s (one per provision and purpose)", got, want)
	}

	mustExec(t, f.db, `DELETE FROM consent_provisions WHERE consent_id = $1 AND position = 0`, consent)
	check("a provision removed")

	mustExec(t, f.db, `UPDATE consents SET withdrawn_at = now() WHERE id = $1`, consent)
	check("the consent withdrawn")
	if got := grants(victim); got != before {
		t.Fatalf("after the withdrawal the victim holds %s grants, want %s", got, before)
	}
}

func addInt(t *testing.T, s string, n int) string {
	t.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(v + n)
}

// TestConsentGrantsUnderConcurrentChanges: one transaction withdraws a victim's consent while another adds
// a provision to a second consent of the same victim and commits after it. The second recomputes the
// victim's grants; it must read the withdrawal, not write the withdrawn consent back.
func TestConsentGrantsUnderConcurrentChanges(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	victim := ownerStrings(t, f.db, `SELECT c.victim_id::text FROM consents c
		WHERE c.withdrawn_at IS NULL AND NOT c.needs_confirmation
		  AND EXISTS (SELECT 1 FROM consent_provisions p WHERE p.consent_id = c.id AND p.period_end IS NULL AND p.period_start < now())
		ORDER BY c.id LIMIT 1`)[0]
	withdrawn := ownerStrings(t, f.db, `SELECT id::text FROM consents WHERE victim_id = $1 AND withdrawn_at IS NULL
		AND NOT needs_confirmation ORDER BY id LIMIT 1`, victim)[0]
	recorder := ownerStrings(t, f.db, `SELECT recorded_by_user_id::text FROM consents WHERE id = $1`, withdrawn)[0]
	second := ownerStrings(t, f.db, `INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation,
			recorded_by_user_id, language, method, document_ref)
		VALUES ($1, $1, 'SELF', $2, 'en', 'WRITTEN', 'DOC-RACE') RETURNING id::text`, victim, recorder)[0]

	// Two connections of the superuser's pool: one holds the withdrawal open, the other adds the provision.
	pool := admin(t, f.db).Pool
	txA, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(context.Background())
	if _, err := txA.Exec(ctx, `UPDATE consents SET withdrawn_at = now() WHERE id = $1`, withdrawn); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, `INSERT INTO consent_provisions (consent_id, position, grantee_type, categories, purposes, period_start)
			VALUES ($1, 0, 'NGO', '{FAMILY}', '{SERVICE_DELIVERY}', now() - interval '1 hour')`, second)
		done <- err
	}()
	mustWait(t, done, "the second change")
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if bad := ownerStrings(t, f.db, consentRuleMismatches); len(bad) > 0 {
		t.Fatalf("after concurrent changes %d (victim, partner, purpose) differ, e.g. %v", len(bad), bad[:min(len(bad), 5)])
	}

	// A transaction that only refers to the victim (a referral in progress: the foreign key's key-share
	// lock on the victim, held to its end) must not hold up a change of the victim's consent: with a lock
	// that conflicted with key-share (FOR UPDATE, migration 012 before 018) the consent change waited for
	// it, and deadlocked with it if the first then changed the victim's consent or scope itself.
	txB, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txB.Rollback(context.Background())
	var from, to string
	if err := txB.QueryRow(ctx, `SELECT (SELECT id::text FROM partners WHERE slug = $1), (SELECT id::text FROM partners WHERE slug = $2)`,
		demo.SlugKPWKM, demo.SlugNGOCahaya).Scan(&from, &to); err != nil {
		t.Fatal(err)
	}
	if _, err := txB.Exec(ctx, `INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, due_on)
		VALUES ($1, $2, $3, 'LEGAL', '{LEGAL}', current_date + 7)`, victim, from, to); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := pool.Exec(ctx, `UPDATE consents SET withdrawn_at = now() WHERE id = $1`, second)
		done <- err
	}()
	mustNotWait(t, done, "a change of the victim's consent")
	if err := txB.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if bad := ownerStrings(t, f.db, consentRuleMismatches); len(bad) > 0 {
		t.Fatalf("after the withdrawal beside a referral %d (victim, partner, purpose) differ, e.g. %v", len(bad), bad[:min(len(bad), 5)])
	}
}

// mustWait fails the test unless the change whose result done carries is still waiting after a while: a
// change that did not wait for the transaction holding the victim would make a test of their order prove
// nothing.
func mustWait(t *testing.T, done <-chan error, change string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s did not wait for the first (err %v): the test would prove nothing", change, err)
	case <-time.After(300 * time.Millisecond):
	}
}

// mustNotWait fails the test unless the change whose result done carries succeeds promptly: beside a
// transaction that only refers to the victim (the foreign key's key-share lock), it must not queue.
func mustNotWait(t *testing.T, done <-chan error, change string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("%s waited for a transaction that only referred to the victim", change)
	}
}

// TestConsentGrantsNotWritableByTheHub: the runtime login cannot give a victim consent by writing its
// grants: a victim it creates starts with none whatever the INSERT says, and it may not update the column.
func TestConsentGrantsNotWritableByTheHub(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	s := session(t, f.db, scopeCase{"partner kpwkm", demo.SlugKPWKM, lindung.ScopePartner, lindung.PurposeCaseManagement})
	forged := `ARRAY[ROW('CASE_MANAGEMENT', NULL, 'GOVERNMENT', 2147483647, now() - interval '1 day', NULL)::consent_grant]`
	if err := s.ExecForTest(ctx, `INSERT INTO victims (case_ref, owner_partner_id, identified_on, consent_grants)
		VALUES ('KPW-2026-999999', $1, current_date, `+forged+`)`, f.partners[demo.SlugKPWKM].ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueryForTest(ctx, `SELECT cardinality(consent_grants)::text FROM victims WHERE case_ref = 'KPW-2026-999999'`)
	if err != nil || len(got) != 1 || got[0] != "0" {
		t.Fatalf("a victim inserted with forged grants holds %v (%v), want 0", got, err)
	}
	s2 := session(t, f.db, scopeCase{"partner kpwkm", demo.SlugKPWKM, lindung.ScopePartner, lindung.PurposeCaseManagement})
	err = s2.ExecForTest(ctx, `UPDATE victims SET consent_grants = `+forged+` WHERE owner_partner_id = $1`, f.partners[demo.SlugKPWKM].ID)
	if err == nil {
		t.Fatal("the runtime login updated consent_grants")
	}
}
