package postgres_test

import (
	"testing"

	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// TestRetention makes cases of each kind the rules distinguish, runs retention dry and for real, and checks
// that only the quiet case without a hold loses its personal data, that the audit is untouched, and that
// the dry run touched nothing. Retention runs through the owner login; the hub's runtime login is refused.
func TestRetention(t *testing.T) {
	url := pgtest.New(t)
	if _, err := open(t, url).Retention(ctx, postgres.RetentionRules{}, true); err == nil {
		t.Error("the runtime login ran retention")
	}
	db := open(t, pgtest.OwnerURL(url))
	mustExec(t, db, `INSERT INTO partners (slug, name, type, state) VALUES ('kpwkm', 'Ministry', 'GOVERNMENT', 'PUTRAJAYA'),
		('pdrm', 'Police', 'GOVERNMENT', 'KUALA_LUMPUR')`)
	newCase := func(ref string, ageYears int) string {
		return ownerStrings(t, db, `INSERT INTO victims (case_ref, owner_partner_id, legal_name, phone, medical_needs,
			identified_on, created_at, updated_at)
			VALUES ($1, (SELECT id FROM partners WHERE slug = 'kpwkm'), 'Name of ' || $1, '0123456', 'notes',
				current_date - make_interval(years => $2), now() - make_interval(years => $2), now() - make_interval(years => $2))
			RETURNING id::text`, ref, ageYears)[0]
	}
	quiet := newCase("RET-2010-000001", 8)
	prosecuted := newCase("RET-2010-000002", 8)
	ordered := newCase("RET-2010-000003", 12)
	recent := newCase("RET-2020-000004", 2)
	mustExec(t, db, `INSERT INTO case_links (victim_id, partner_id, role) VALUES ($1, (SELECT id FROM partners WHERE slug = 'pdrm'), 'PROSECUTING')`, prosecuted)
	mustExec(t, db, `INSERT INTO protection_orders (victim_id, type, court, order_number, starts_on, ends_on)
		VALUES ($1, 'PO', 'Court', 'PO/1', current_date - interval '4 years', current_date - interval '2 years')`, ordered)
	mustExec(t, db, `INSERT INTO access_records (request_id, username, partner_id, roles, purpose, victim_id, disclosed, withheld, policy_version)
		SELECT 'seed', 'seed', owner_partner_id, '{protection_officer}', 'CASE_MANAGEMENT', id, '{IDENTITY}', '{}', 'test' FROM victims`)
	mustExec(t, db, `INSERT INTO idempotency_keys (partner_id, key, operation, input_hash, created_at)
		SELECT id, 'old', 'recordConsent', '\x00', now() - interval '60 days' FROM partners WHERE slug = 'kpwkm'`)

	counts := func(rows []postgres.RetentionCount) map[string]int64 {
		out := map[string]int64{}
		for _, r := range rows {
			out[r.Table+" "+r.Action] += r.Rows
		}
		return out
	}
	want := map[string]int64{"victims erase": 1, "change_records insert": 1, "idempotency_keys delete": 1,
		"access_records keep (append-only; due for archiving)": 0}
	dry, err := db.Retention(ctx, postgres.RetentionRules{}, true)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range want {
		if got := counts(dry)[k]; got != n {
			t.Errorf("dry run: %s = %d, want %d (%v)", k, got, n, dry)
		}
	}
	var named, keys, changes int
	mustScan(t, db, []any{&named}, `SELECT count(*) FROM victims WHERE legal_name IS NOT NULL`)
	mustScan(t, db, []any{&keys}, `SELECT count(*) FROM idempotency_keys`)
	mustScan(t, db, []any{&changes}, `SELECT count(*) FROM change_records`)
	if named != 4 || keys != 1 || changes != 0 {
		t.Fatalf("the dry run changed the database: %d named victims, %d keys, %d change records", named, keys, changes)
	}

	real, err := db.Retention(ctx, postgres.RetentionRules{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if counts(real)["victims erase"] != 1 {
		t.Errorf("real run: %v", real)
	}
	for id, erased := range map[string]bool{quiet: true, prosecuted: false, ordered: false, recent: false} {
		var name *string
		var isErased bool
		mustScan(t, db, []any{&name, &isErased}, `SELECT legal_name, erased_at IS NOT NULL FROM victims WHERE id = $1`, id)
		if (name == nil) != erased || isErased != erased {
			t.Errorf("victim %s: legal name %v, erased %v; want erased %v", id, name, isErased, erased)
		}
	}
	var audit int
	mustScan(t, db, []any{&audit}, `SELECT count(*) FROM access_records`)
	mustScan(t, db, []any{&changes}, `SELECT count(*) FROM change_records WHERE action = 'erase' AND victim_id = $1`, quiet)
	if audit != 4 || changes != 1 {
		t.Errorf("after retention: %d access records (want 4, untouched), %d erase change records (want 1)", audit, changes)
	}
	again, err := db.Retention(ctx, postgres.RetentionRules{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := counts(again)["victims erase"]; n != 0 {
		t.Errorf("a second run erased %d cases again", n)
	}
}
