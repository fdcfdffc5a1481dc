package postgres_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
)

// scopeRuleMismatches compares, for every victim and partner, the linked and referred scopes read from the
// victims' linked_partners and referred_partners (kept by triggers, migration 017) with the rules that
// linked_to and referred_to (migration 002) evaluated on case_links and referrals, and returns the pairs on
// which they differ.
const scopeRuleMismatches = `
SELECT v.id::text || ' ' || p.id::text || ': linked ' || want.linked || '/' || got.linked
    || ', referred ' || want.referred || '/' || got.referred
FROM victims v CROSS JOIN partners p
CROSS JOIN LATERAL (SELECT
    EXISTS (SELECT 1 FROM case_links l WHERE l.victim_id = v.id AND l.partner_id = p.id) AS linked,
    EXISTS (SELECT 1 FROM referrals r WHERE r.victim_id = v.id AND r.to_partner_id = p.id
        AND r.status = 'ACCEPTED') AS referred) want
CROSS JOIN LATERAL (SELECT p.id = ANY (v.linked_partners) AS linked, p.id = ANY (v.referred_partners) AS referred) got
WHERE want.linked <> got.linked OR want.referred <> got.referred
UNION ALL
SELECT v.id::text || ': unsorted or duplicated ' || v.linked_partners::text || ' ' || v.referred_partners::text
FROM victims v
WHERE v.linked_partners <> ARRAY(SELECT DISTINCT unnest(v.linked_partners) ORDER BY 1)
   OR v.referred_partners <> ARRAY(SELECT DISTINCT unnest(v.referred_partners) ORDER BY 1)`

// checkScopeColumns fails the test if the columns differ from the rules anywhere, or if they hold nothing
// (the comparison would then prove nothing).
func checkScopeColumns(t *testing.T, f *fixture, step string) {
	t.Helper()
	n := ownerStrings(t, f.db, `SELECT count(*) FILTER (WHERE cardinality(linked_partners) > 0)::text || ' '
		|| count(*) FILTER (WHERE cardinality(referred_partners) > 0)::text FROM victims`)[0]
	var linked, referred int
	if _, err := fmt.Sscan(n, &linked, &referred); err != nil || linked == 0 || referred == 0 {
		t.Fatalf("%s: %s victims linked / referred: the comparison would prove nothing", step, n)
	}
	if bad := ownerStrings(t, f.db, scopeRuleMismatches); len(bad) > 0 {
		t.Fatalf("%s: %d (victim, partner) differ, e.g. %v", step, len(bad), head(bad))
	}
}

// TestScopePartnersFollowLinksAndReferrals: the partners stored with each victim answer exactly as the
// linked and referred scopes' rules do, on the demo data and after every kind of change: a case link added,
// moved to another partner and removed; a referral sent (in progress), accepted, rejected, completed and
// withdrawn, one recorded as accepted, redirected and deleted; many referrals changed by one statement. The
// triggers keep the columns in the transaction of the change, so each check runs right after its statement.
// At the end the runtime, in each scope as each partner, sees exactly the victims the rules give.
func TestScopePartnersFollowLinksAndReferrals(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	check := func(step string) { t.Helper(); checkScopeColumns(t, f, step) }
	check("demo data")

	pdrm, jim, suara, cahaya := f.partners[demo.SlugPDRM].ID, f.partners[demo.SlugJIM].ID,
		f.partners[demo.SlugNGOSuara].ID, f.partners[demo.SlugNGOCahaya].ID
	kpwkm := f.partners[demo.SlugKPWKM].ID
	victim := ownerStrings(t, f.db, `SELECT v.id::text FROM victims v
		WHERE NOT EXISTS (SELECT 1 FROM case_links l WHERE l.victim_id = v.id)
		  AND NOT EXISTS (SELECT 1 FROM referrals r WHERE r.victim_id = v.id) ORDER BY v.id LIMIT 1`)[0]
	has := func(col, partner string) bool {
		t.Helper()
		return ownerStrings(t, f.db, `SELECT ($2::uuid = ANY (`+col+`))::text FROM victims WHERE id = $1`, victim, partner)[0] == "true"
	}

	mustExec(t, f.db, `INSERT INTO case_links (victim_id, partner_id, role) VALUES ($1, $2, 'INVESTIGATING')`, victim, pdrm)
	check("a case link added")
	if !has("linked_partners", pdrm) {
		t.Fatal("the police are not among the victim's linked partners after the link")
	}
	mustExec(t, f.db, `UPDATE case_links SET partner_id = $3 WHERE victim_id = $1 AND partner_id = $2`, victim, pdrm, jim)
	check("a case link moved to another partner")
	if has("linked_partners", pdrm) || !has("linked_partners", jim) {
		t.Fatal("a moved case link left the victim linked to the old partner or not to the new one")
	}
	mustExec(t, f.db, `DELETE FROM case_links WHERE victim_id = $1`, victim)
	check("a case link removed")
	mustExec(t, f.db, `DELETE FROM case_links WHERE victim_id IN (SELECT victim_id FROM case_links ORDER BY victim_id LIMIT 30)`)
	check("thirty victims' case links removed in one statement")

	referral := ownerStrings(t, f.db, `INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, due_on)
		VALUES ($1, $2, $3, 'COUNSELLING', '{COUNSELLING}', current_date + 7) RETURNING id::text`, victim, kpwkm, suara)[0]
	check("a referral sent")
	if has("referred_partners", suara) {
		t.Fatal("a referral in progress put the NGO among the victim's referred partners")
	}
	mustExec(t, f.db, `UPDATE referrals SET status = 'ACCEPTED' WHERE id = $1`, referral)
	check("the referral accepted")
	if !has("referred_partners", suara) {
		t.Fatal("an accepted referral left the NGO out of the victim's referred partners")
	}
	mustExec(t, f.db, `UPDATE referrals SET reason = 'changed', due_on = due_on + 1 WHERE id = $1`, referral)
	check("the accepted referral's reason changed")
	second := ownerStrings(t, f.db, `INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, due_on, status)
		VALUES ($1, $2, $3, 'HEALTH', '{HEALTH}', current_date + 7, 'ACCEPTED') RETURNING id::text`, victim, kpwkm, suara)[0]
	check("a second referral to the same NGO recorded as accepted")
	mustExec(t, f.db, `UPDATE referrals SET status = 'COMPLETED' WHERE id = $1`, referral)
	check("the first referral completed")
	if !has("referred_partners", suara) {
		t.Fatal("completing one of two accepted referrals to the NGO took the victim out of its scope")
	}
	mustExec(t, f.db, `UPDATE referrals SET to_partner_id = $2 WHERE id = $1`, second, cahaya)
	check("the second referral redirected")
	if has("referred_partners", suara) || !has("referred_partners", cahaya) {
		t.Fatal("a redirected accepted referral left the old NGO in or the new one out")
	}
	mustExec(t, f.db, `UPDATE referrals SET status = 'WITHDRAWN' WHERE id = $1`, second)
	check("the second referral withdrawn")
	mustExec(t, f.db, `UPDATE referrals SET status = 'ACCEPTED' WHERE id = $1`, second)
	mustExec(t, f.db, `UPDATE referrals SET status = 'REJECTED', rejection_reason = 'no capacity' WHERE id = $1`, second)
	check("the second referral accepted again, then rejected")
	mustExec(t, f.db, `UPDATE referrals SET status = 'ACCEPTED', rejection_reason = NULL WHERE id = $1`, second)
	mustExec(t, f.db, `DELETE FROM referrals WHERE id = $1`, second)
	check("an accepted referral deleted")
	if has("referred_partners", cahaya) {
		t.Fatal("a deleted accepted referral left its NGO among the victim's referred partners")
	}
	mustExec(t, f.db, `UPDATE referrals SET status = 'COMPLETED' WHERE id IN (SELECT id FROM referrals WHERE status = 'ACCEPTED' ORDER BY id LIMIT 25)`)
	mustExec(t, f.db, `UPDATE referrals SET status = 'ACCEPTED' WHERE id IN (SELECT id FROM referrals WHERE status = 'IN_PROGRESS' ORDER BY id LIMIT 25)`)
	check("fifty referrals changed by two statements")

	// What the runtime sees in each scope, as each partner, through every path that reads the scope: the
	// read policy alone, the store's listing (the scope written into SQL, the first wall, against the
	// columns), and the lookup by case reference (victims_by_case_ref, migration 010, which still reads
	// case_links and referrals themselves). A path that disagreed with the rule would show or hide a case.
	refs := ownerStrings(t, f.db, `SELECT case_ref FROM victims ORDER BY case_ref`)
	for _, p := range f.ds.Partners {
		for _, sc := range []struct {
			rows lindung.RowScope
			rule string
		}{
			{lindung.ScopeLinked, `SELECT victim_id::text FROM case_links WHERE partner_id = $1`},
			{lindung.ScopeReferred, `SELECT DISTINCT victim_id::text FROM referrals WHERE to_partner_id = $1 AND status = 'ACCEPTED'`},
		} {
			want := ownerStrings(t, f.db, sc.rule, p.ID)
			sort.Strings(want)
			for _, path := range []struct {
				name string
				read func(s *postgres.Session) ([]string, error)
			}{
				{"the policy", func(s *postgres.Session) ([]string, error) {
					return s.QueryForTest(ctx, `SELECT id::text FROM victims`)
				}},
				{"the listing", func(s *postgres.Session) ([]string, error) {
					page, err := s.FindVictims(ctx, lindung.VictimFilter{}, lindung.Page{First: len(refs) + 1})
					if err != nil {
						return nil, err
					}
					var ids []string
					for _, v := range page.Victims {
						ids = append(ids, v.ID)
					}
					return ids, nil
				}},
				{"the case references", func(s *postgres.Session) ([]string, error) {
					vs, err := s.FindVictimsByCaseRefs(ctx, refs)
					var ids []string
					for _, v := range vs {
						if v != nil {
							ids = append(ids, v.ID)
						}
					}
					return ids, err
				}},
			} {
				s := session(t, f.db, scopeCase{p.Slug, p.Slug, sc.rows, lindung.PurposeCaseManagement})
				got, err := path.read(s)
				s.Rollback(ctx)
				if err != nil {
					t.Fatalf("%s in the %s scope, %s: %v", p.Slug, sc.rows, path.name, err)
				}
				sort.Strings(got)
				if missing, extra := diff(got, want); len(missing)+len(extra) > 0 {
					t.Errorf("%s in the %s scope: %d victims missing, %d too many through %s, e.g. %v %v",
						p.Slug, sc.rows, len(missing), len(extra), path.name, head(missing), head(extra))
				}
			}
		}
	}
}

// TestScopePartnersUnderConcurrentChanges: one transaction links a victim to the police while another links
// it to immigration, and another accepts a referral of it, all committing after the first. Each rewrites
// the victim's columns; the later ones must wait for the first and then read its change, not write the
// victim back without it.
func TestScopePartnersUnderConcurrentChanges(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	victim := ownerStrings(t, f.db, `SELECT v.id::text FROM victims v
		WHERE NOT EXISTS (SELECT 1 FROM case_links l WHERE l.victim_id = v.id)
		  AND NOT EXISTS (SELECT 1 FROM referrals r WHERE r.victim_id = v.id) ORDER BY v.id LIMIT 1`)[0]
	referral := ownerStrings(t, f.db, `INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, due_on)
		VALUES ($1, $2, $3, 'COUNSELLING', '{COUNSELLING}', current_date + 7) RETURNING id::text`,
		victim, f.partners[demo.SlugKPWKM].ID, f.partners[demo.SlugNGOSuara].ID)[0]

	pool := admin(t, f.db).Pool
	txA, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(context.Background())
	if _, err := txA.Exec(ctx, `INSERT INTO case_links (victim_id, partner_id, role) VALUES ($1, $2, 'INVESTIGATING')`,
		victim, f.partners[demo.SlugPDRM].ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() {
		_, err := pool.Exec(ctx, `INSERT INTO case_links (victim_id, partner_id, role) VALUES ($1, $2, 'IMMIGRATION')`,
			victim, f.partners[demo.SlugJIM].ID)
		done <- err
	}()
	go func() {
		_, err := pool.Exec(ctx, `UPDATE referrals SET status = 'ACCEPTED' WHERE id = $1`, referral)
		done <- err
	}()
	mustWait(t, done, "a second change")
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	checkScopeColumns(t, f, "after concurrent changes")

	// A transaction that only refers to the victim (a referral in progress: the foreign key's key-share lock
	// on the victim, held to its end) must not hold up a change of the victim's scope, and may then change
	// the scope itself: with a lock that conflicted with key-share (FOR UPDATE) the second would wait for
	// the first's end, and the first's own change would then deadlock with it.
	txB, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txB.Rollback(context.Background())
	if _, err := txB.Exec(ctx, `INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, due_on)
		VALUES ($1, $2, $3, 'LEGAL', '{LEGAL}', current_date + 7)`,
		victim, f.partners[demo.SlugKPWKM].ID, f.partners[demo.SlugNGOCahaya].ID); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := pool.Exec(ctx, `DELETE FROM case_links WHERE victim_id = $1 AND partner_id = $2`, victim, f.partners[demo.SlugJIM].ID)
		done <- err
	}()
	mustNotWait(t, done, "a change of the victim's scope")
	if _, err := txB.Exec(ctx, `UPDATE referrals SET status = 'ACCEPTED' WHERE victim_id = $1 AND to_partner_id = $2`,
		victim, f.partners[demo.SlugNGOCahaya].ID); err != nil {
		t.Fatal(err)
	}
	if err := txB.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	checkScopeColumns(t, f, "after a change beside a transaction holding the victim's key")
	got := ownerStrings(t, f.db, `SELECT cardinality(linked_partners)::text || ' ' || cardinality(referred_partners)::text
		FROM victims WHERE id = $1`, victim)[0]
	if got != "1 2" {
		t.Fatalf("the victim holds %s linked and referred partners after the changes, want 1 2", got)
	}
}

// TestScopePartnersNotWritableByTheHub: the runtime login cannot put a victim in a partner's linked or
// referred scope by writing the columns: a victim it creates starts with neither whatever the INSERT says,
// and it may not update them.
func TestScopePartnersNotWritableByTheHub(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	pc := scopeCase{"partner kpwkm", demo.SlugKPWKM, lindung.ScopePartner, lindung.PurposeCaseManagement}
	forged := `ARRAY['` + f.partners[demo.SlugNGOSuara].ID + `'::uuid]`
	s := session(t, f.db, pc)
	if err := s.ExecForTest(ctx, `INSERT INTO victims (case_ref, owner_partner_id, identified_on, linked_partners, referred_partners)
		VALUES ('KPW-2026-999998', $1, current_date, `+forged+`, `+forged+`)`, f.partners[demo.SlugKPWKM].ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueryForTest(ctx, `SELECT cardinality(linked_partners)::text || ' ' || cardinality(referred_partners)::text
		FROM victims WHERE case_ref = 'KPW-2026-999998'`)
	if err != nil || len(got) != 1 || got[0] != "0 0" {
		t.Fatalf("a victim inserted with forged scopes holds %v linked and referred partners (%v), want 0 0", got, err)
	}
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"linked_partners", "referred_partners"} {
		s := session(t, f.db, pc)
		if err := s.ExecForTest(ctx, `UPDATE victims SET `+col+` = `+forged+` WHERE owner_partner_id = $1`,
			f.partners[demo.SlugKPWKM].ID); err == nil {
			t.Fatalf("the runtime login updated %s", col)
		}
	}
	for _, fn := range []string{`victims_scope_refresh(ARRAY[$1::uuid])`} {
		s := session(t, f.db, pc)
		if err := s.ExecForTest(ctx, `SELECT `+fn, f.foreign); err == nil {
			t.Fatalf("the runtime login called %s", fn)
		}
	}
	// The NGO, which sees the forged victim in no scope, still does not.
	ngo := session(t, f.db, scopeCase{"referred suara", demo.SlugNGOSuara, lindung.ScopeReferred, lindung.PurposeServiceDelivery})
	if ids, err := ngo.QueryForTest(ctx, `SELECT id::text FROM victims WHERE case_ref = 'KPW-2026-999998'`); err != nil || len(ids) != 0 {
		t.Fatalf("the NGO sees the victim inserted with forged scopes: %v (%v)", ids, err)
	}
}
