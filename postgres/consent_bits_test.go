package postgres_test

import (
	"testing"
)

// consentRuleMismatches compares, for every victim, partner and purpose, the categories consent_grants
// answers (from consent_bits, kept by triggers) with the consent rule evaluated on consents and their
// provisions directly (consent_provision_in_force), and returns the triples on which they differ.
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

// TestConsentBitsFollowConsent: the stored bits answer exactly as the consent rule does, on the demo data and
// after every kind of change a consent goes through: withdrawal, a consent recorded waiting for a
// confirmation and then confirmed, a provision added, provisions that ended or start later, and a
// provision removed. The triggers keep them in the transaction of the change, so each check runs right
// after its statement.
func TestConsentBitsFollowConsent(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	check := func(step string) {
		t.Helper()
		if n := ownerStrings(t, f.db, `SELECT count(*)::text FROM consent_bits`); n[0] == "0" {
			t.Fatalf("%s: consent_bits is empty: the comparison would prove nothing", step)
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
	consent := ownerStrings(t, f.db, `INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation,
			recorded_by_user_id, language, method, needs_confirmation)
		VALUES ($1, $1, 'SELF', $2, 'ms', 'VERBAL', true) RETURNING id::text`, victim, recorder)[0]
	mustExec(t, f.db, `INSERT INTO consent_provisions (consent_id, position, grantee_type, categories, purposes, period_start, period_end)
		VALUES ($1, 0, 'NGO', '{HEALTH,COUNSELLING}', '{SERVICE_DELIVERY,CASE_MANAGEMENT}', now() - interval '1 day', NULL),
		       ($1, 1, 'GOVERNMENT', '{LEGAL}', '{PROSECUTION}', now() - interval '10 days', now() - interval '1 day'),
		       ($1, 2, 'PRIVATE', '{EMPLOYMENT}', '{EMPLOYMENT_CHECK}', now() + interval '1 day', NULL)`, consent)
	check("a consent waiting for its confirmation")
	if n := ownerStrings(t, f.db, `SELECT count(*)::text FROM consent_bits WHERE consent_id = $1`, consent); n[0] != "0" {
		t.Fatalf("a consent waiting for confirmation has %s bit rows", n[0])
	}

	mustExec(t, f.db, `UPDATE consents SET confirmed_by_user_id = $2, confirmed_at = now() WHERE id = $1`, consent, other)
	check("the consent confirmed")
	if n := ownerStrings(t, f.db, `SELECT count(*)::text FROM consent_bits WHERE consent_id = $1`, consent); n[0] != "4" {
		t.Fatalf("the confirmed consent has %s bit rows, want 4 (one per provision and purpose)", n[0])
	}

	mustExec(t, f.db, `DELETE FROM consent_provisions WHERE consent_id = $1 AND position = 0`, consent)
	check("a provision removed")

	mustExec(t, f.db, `UPDATE consents SET withdrawn_at = now() WHERE id = $1`, consent)
	check("the consent withdrawn")
	if n := ownerStrings(t, f.db, `SELECT count(*)::text FROM consent_bits WHERE consent_id = $1`, consent); n[0] != "0" {
		t.Fatalf("a withdrawn consent has %s bit rows", n[0])
	}
}
