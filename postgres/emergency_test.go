package postgres_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
)

// emergencyCaller is a registered demo user with the scope its role's decision gives it.
type emergencyCaller struct {
	slug, username string
	scope          lindung.Scope
}

var (
	officer = emergencyCaller{demo.SlugKPWKM, demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM),
		lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement, Legal: lindung.AllCategories &^ lindung.SetOf(lindung.Health, lindung.Counselling),
			WithConsent: lindung.SetOf(lindung.Health, lindung.Counselling)}}
	officerInEmergency = emergencyCaller{officer.slug, officer.username,
		lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeEmergency, WithConsent: lindung.SetOf(lindung.Health, lindung.Counselling)}}
	secondOfficer = emergencyCaller{demo.SlugKPWKM, demo.UntrainedOfficerUsername, officer.scope}
	police        = emergencyCaller{demo.SlugPDRM, demo.DemoUsername(demo.RoleEnforcementOfficer, demo.SlugPDRM),
		lindung.Scope{Rows: lindung.ScopeLinked, Purpose: lindung.PurposeProsecution, Legal: lindung.SetOf(lindung.Case, lindung.Legal, lindung.Demographic),
			WithConsent: lindung.SetOf(lindung.Identity, lindung.Contact, lindung.Location)}}
	policeInEmergency = emergencyCaller{police.slug, police.username,
		lindung.Scope{Rows: lindung.ScopeLinked, Purpose: lindung.PurposeEmergency, WithConsent: lindung.SetOf(lindung.Identity, lindung.Contact, lindung.Location)}}
	secondPolice = emergencyCaller{demo.SlugPDRM, "enforcement_officer.second@pdrm", police.scope}
	reviewer     = emergencyCaller{demo.SlugKPWKM, demo.DemoUsername(demo.RoleMinistryAnalyst, demo.SlugKPWKM),
		lindung.Scope{Rows: lindung.ScopeNone, Purpose: lindung.PurposeStatistics}}
)

// run runs fn in a session of c and commits it, as one request of c would.
func (c emergencyCaller) run(t *testing.T, db *postgres.DB, fn func(s *postgres.Session) error) error {
	t.Helper()
	s := db.NewSession(postgres.SessionRequest{PartnerSlug: c.slug, Username: c.username, Scope: c.scope})
	id, err := s.Start(ctx)
	if err != nil {
		t.Fatalf("start %s: %v", c.username, err)
	}
	if id.UserID == "" {
		t.Fatalf("%s is not a registered user", c.username)
	}
	defer s.Rollback(ctx)
	if err := fn(s); err != nil {
		return err
	}
	return s.Commit(ctx)
}

func code(err error) lindung.ErrorCode { return lindung.CodeOf(err) }

// TestEmergencyAccess drives grants through the store as the hub does, against a real database: open,
// read (the grant's categories only, of the granted victim only, by its opener only), the audit naming
// the grant, expiry, revocation, four eyes, the scope, the database's own checks and the review queue.
func TestEmergencyAccess(t *testing.T) {
	f := openDemo(t)
	kpwkm, pdrm := f.partners[demo.SlugKPWKM].ID, f.partners[demo.SlugPDRM].ID
	// V: a kpwkm case linked to the police; W: another kpwkm case.
	var v, w string
	for _, l := range f.ds.CaseLinks {
		if l.PartnerID == pdrm && v == "" {
			v = l.VictimID
		}
	}
	for _, x := range f.ds.Victims {
		if x.OwnerPartnerID == kpwkm && x.ID != v {
			w = x.ID
			break
		}
	}
	mustExec(t, f.db, `UPDATE victims SET medical_needs = 'asthma; inhaler in the office', counselling_notes = 'private notes' WHERE id IN ($1::uuid, $2::uuid)`, v, w)
	mustExec(t, f.db, `INSERT INTO users (partner_id, username, roles) VALUES ($1::uuid, $2, '{enforcement_officer}')`, pdrm, secondPolice.username)

	open := func(c emergencyCaller, victim string, cats lindung.CategorySet, need lindung.EmergencyNeed) (*lindung.EmergencyGrant, error) {
		var g *lindung.EmergencyGrant
		err := c.run(t, f.db, func(s *postgres.Session) (err error) {
			g, err = s.OpenEmergency(ctx, lindung.EmergencyOpen{VictimID: victim, Categories: cats, Need: need,
				Roles: []string{"test"}, Reason: "the victim collapsed at the shelter and is unconscious", Minutes: 60})
			return err
		})
		return g, err
	}
	var records int // the orders and placements the last read found
	read := func(c emergencyCaller) (got map[string]*lindung.Victim, total int) {
		got = map[string]*lindung.Victim{}
		err := c.run(t, f.db, func(s *postgres.Session) error {
			vs, err := s.FindVictimsByIDs(ctx, []string{v, w, f.foreign})
			if err != nil {
				return err
			}
			for _, x := range vs {
				if x != nil {
					got[x.ID] = x
				}
			}
			page, err := s.FindVictims(ctx, lindung.VictimFilter{}, lindung.Page{First: 10, Count: true})
			if err != nil {
				return err
			}
			total = page.TotalCount
			// A victim's records come with that victim's bits, and only a victim read above has any.
			ids := []string{w, v, f.foreign}
			orders, err := s.FindOrdersByVictimIDs(ctx, ids)
			if err != nil {
				return err
			}
			placements, err := s.FindPlacementsByVictimIDs(ctx, ids)
			if err != nil {
				return err
			}
			records = 0
			for i, id := range ids {
				owners := []lindung.Owned{}
				for _, o := range orders[i] {
					owners = append(owners, o.Owned)
				}
				for _, p := range placements[i] {
					owners = append(owners, p.Owned)
				}
				for _, o := range owners {
					x := got[id]
					if x == nil {
						t.Errorf("%s under EMERGENCY reads a record of %s, a victim it does not see", c.username, id)
					} else if o.VictimID != id || o.Consented != x.Consented || o.Referred != x.Referred {
						t.Errorf("%s under EMERGENCY reads a record of %s owned by %s with bits %s/%s, want %s/%s",
							c.username, id, o.VictimID, o.Consented, o.Referred, x.Consented, x.Referred)
					}
				}
				records += len(owners)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("read as %s: %v", c.username, err)
		}
		return got, total
	}

	// Open: a victim outside the scope, or none, is not found, alike.
	for _, id := range []string{f.foreign, "00000000-0000-4000-8000-000000000000", "not-a-uuid"} {
		if _, err := open(officer, id, lindung.SetOf(lindung.Health), lindung.EmergencyReview); !errors.Is(err, lindung.ErrNotFound) {
			t.Errorf("opening for %s: %v, want NOT_FOUND", id, err)
		}
	}
	if got, _ := read(officerInEmergency); len(got) != 0 {
		t.Fatalf("without a grant, EMERGENCY shows %d victims", len(got))
	}
	g, err := open(officer, v, lindung.SetOf(lindung.Health), lindung.EmergencyReview)
	if err != nil || g.State != lindung.EmergencyInEffect || g.Categories != lindung.SetOf(lindung.Health) {
		t.Fatalf("open: %+v %v", g, err)
	}
	if _, err := open(officer, v, lindung.SetOf(lindung.Counselling), lindung.EmergencyApprove); code(err) != lindung.ECONFLICT {
		t.Errorf("a second grant while one is open: %v, want CONFLICT", err)
	}

	// Read: only V, only HEALTH (counselling notes, open on consent to the officer, not read), only for
	// its opener.
	got, total := read(officerInEmergency)
	if len(got) != 1 || got[v] == nil || total != 1 {
		t.Fatalf("under EMERGENCY: %d victims (total %d), want V alone", len(got), total)
	}
	if records == 0 {
		t.Errorf("under EMERGENCY: no order or placement of V read: the records' bits are not tested")
	}
	if x := got[v]; x.Consented != lindung.SetOf(lindung.Health) || x.MedicalNeeds == nil || x.CounsellingNotes != nil || x.LegalName != nil {
		t.Errorf("V under EMERGENCY: bits %s, medical %v, counselling %v, name %v", x.Consented, x.MedicalNeeds, x.CounsellingNotes, x.LegalName)
	}
	if got, _ := read(emergencyCaller{secondOfficer.slug, secondOfficer.username, officerInEmergency.scope}); len(got) != 0 {
		t.Errorf("another officer of the same agency reads under the opener's grant")
	}

	// The second wall: a transaction under EMERGENCY that forgets the grant still sees only V.
	tx, err := f.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT set_config('lindung.partner_id', $1, true), set_config('lindung.scope', 'partner', true),
		set_config('lindung.purpose', 'EMERGENCY', true),
		set_config('lindung.user_id', (SELECT id::text FROM users WHERE username = $2), true)`, kpwkm, officer.username).Scan(new(string), new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM victims) + (SELECT count(*) FROM protection_orders) * 0`).Scan(&n); err != nil || n != 1 {
		t.Errorf("row security under EMERGENCY: %d victims visible (%v), want 1", n, err)
	}
	tx.Rollback(ctx)

	// Audit: the access record under EMERGENCY names the grant; the victim's report shows its reason.
	if err := officerInEmergency.run(t, f.db, func(s *postgres.Session) error {
		return s.CommitWithAccess(ctx, &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: "emergency-read",
			UserID: userID(t, f.db, officer.username), Username: officer.username, PartnerID: kpwkm,
			Roles: []string{"protection_officer"}, Purpose: lindung.PurposeEmergency, PolicyVersion: "test"},
			Victims: []lindung.VictimAccess{{VictimID: v, Disclosed: lindung.SetOf(lindung.Health)}}})
	}); err != nil {
		t.Fatal(err)
	}
	var named string
	mustScan(t, f.db, []any{&named}, `SELECT coalesce(emergency_grant_id::text, '') FROM access_records WHERE request_id = 'emergency-read'`)
	if named != g.ID {
		t.Errorf("the access record under EMERGENCY names grant %q, want %q", named, g.ID)
	}
	if err := officer.run(t, f.db, func(s *postgres.Session) error {
		ds, err := s.FindDisclosures(ctx, v)
		for _, d := range ds {
			if d.Purpose == lindung.PurposeEmergency && d.EmergencyReason != nil && *d.EmergencyReason == g.Reason && d.Categories == lindung.SetOf(lindung.Health) {
				return err
			}
		}
		t.Errorf("the disclosure report lists no emergency line with the reason: %+v", ds)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Expiry: a grant past its end discloses nothing on the next request.
	mustExec(t, f.db, `UPDATE emergency_grants SET opened_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE id = $1::uuid`, g.ID)
	if got, _ := read(officerInEmergency); len(got) != 0 {
		t.Fatalf("an expired grant still shows %d victims", len(got))
	}

	// Revocation: at once, by the opener's partner.
	g2, err := open(officer, v, lindung.SetOf(lindung.Health), lindung.EmergencyReview)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := read(officerInEmergency); got[v] == nil {
		t.Fatal("a new grant shows nothing")
	}
	if err := secondOfficer.run(t, f.db, func(s *postgres.Session) error { _, err := s.RevokeEmergency(ctx, g2.ID, false, false); return err }); err != nil {
		t.Fatalf("revoke by the opener's partner: %v", err)
	}
	if got, _ := read(officerInEmergency); len(got) != 0 {
		t.Fatal("a revoked grant still shows the victim")
	}
	if err := police.run(t, f.db, func(s *postgres.Session) error { _, err := s.RevokeEmergency(ctx, g2.ID, false, false); return err }); code(err) != lindung.EFORBIDDEN && !errors.Is(err, lindung.ErrNotFound) {
		t.Errorf("revoke by another partner that may only open grants: %v", err)
	}

	// Four eyes: COUNSELLING needs a second user; the opener's own approval is refused.
	g3, err := open(officer, v, lindung.SetOf(lindung.Counselling), lindung.EmergencyApprove)
	if err != nil || g3.State != lindung.EmergencyAwaitingApproval {
		t.Fatalf("open counselling: %+v %v", g3, err)
	}
	if got, _ := read(officerInEmergency); len(got) != 0 {
		t.Fatal("a grant awaiting approval shows the victim")
	}
	approve := func(c emergencyCaller, id string) error {
		return c.run(t, f.db, func(s *postgres.Session) error { _, err := s.ApproveEmergency(ctx, id); return err })
	}
	if err := approve(officer, g3.ID); code(err) != lindung.EFORBIDDEN {
		t.Errorf("approval by the opener: %v, want FORBIDDEN", err)
	}
	if err := approve(secondOfficer, g3.ID); err != nil {
		t.Fatalf("approval by a second officer: %v", err)
	}
	if got, _ := read(officerInEmergency); got[v] == nil || got[v].CounsellingNotes == nil || got[v].MedicalNeeds != nil {
		t.Fatalf("an approved counselling grant: %+v", got[v])
	}

	// Another partner's approval: the police's LOCATION grant is approved by no one of the police.
	g4, err := open(police, v, lindung.SetOf(lindung.Location), lindung.EmergencyApproveOtherPartner)
	if err != nil {
		t.Fatalf("police open: %v", err)
	}
	if err := approve(secondPolice, g4.ID); code(err) != lindung.EFORBIDDEN {
		t.Errorf("approval by the opener's partner: %v, want FORBIDDEN", err)
	}
	if got, _ := read(policeInEmergency); len(got) != 0 {
		t.Fatal("the police's unapproved grant shows the victim")
	}
	// The database refuses it too, whoever writes.
	var pgErr *pgconn.PgError
	_, err = admin(t, f.db).Pool.Exec(ctx, `UPDATE emergency_grants SET approved_by = (SELECT id FROM users WHERE username = $2),
		approver_partner_id = $3::uuid, approved_at = now() WHERE id = $1::uuid`, g4.ID, secondPolice.username, pdrm)
	if !errors.As(err, &pgErr) || pgErr.ConstraintName != "emergency_grants_approved_by_another_partner" {
		t.Errorf("the database let the opener's partner approve: %v", err)
	}
	_, err = admin(t, f.db).Pool.Exec(ctx, `UPDATE emergency_grants SET approved_by = opened_by, approver_partner_id = $2::uuid,
		approved_at = now() WHERE id = $1::uuid`, g3.ID, kpwkm)
	if !errors.As(err, &pgErr) || (pgErr.ConstraintName != "emergency_grants_approved_by_another" && pgErr.ConstraintName != "emergency_grants_write_once") {
		t.Errorf("the database let the opener approve: %v", err)
	}
	_, err = admin(t, f.db).Pool.Exec(ctx, `UPDATE emergency_grants SET expires_at = opened_at + interval '25 hours' WHERE id = $1::uuid`, g4.ID)
	if !errors.As(err, &pgErr) || pgErr.ConstraintName != "emergency_grants_bounded" {
		t.Errorf("the database let a grant last 25 hours: %v", err)
	}
	if err := approve(officer, g4.ID); err != nil {
		t.Fatalf("approval by the agency holding the case: %v", err)
	}
	if got, _ := read(policeInEmergency); got[v] == nil || got[v].Consented != lindung.SetOf(lindung.Location) || got[v].MedicalNeeds != nil {
		t.Fatalf("the police's approved grant: %+v", got[v])
	}

	// Review: every grant for the reviewer, with the reads made under each; none for a caller who is not
	// one; closed only once the grant can no longer be used, and not by its opener.
	var queue, closed []*lindung.EmergencyGrant
	if err := reviewer.run(t, f.db, func(s *postgres.Session) (err error) {
		queue, err = s.FindEmergencyGrants(ctx, false, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(queue) != 4 {
		t.Fatalf("review queue: %d grants, want 4", len(queue))
	}
	for _, x := range queue {
		if x.ID == g.ID && (len(x.ReadsUnderGrant) != 1 || x.ReadsUnderGrant[0].RequestID != "emergency-read") {
			t.Errorf("the reads under the first grant: %+v", x.ReadsUnderGrant)
		}
	}
	// Without the reviewer's setting, a caller sees its own partner's grants and those of the victims it
	// sees: the analyst (of kpwkm) the officers' three, an employer none.
	if err := reviewer.run(t, f.db, func(s *postgres.Session) (err error) {
		queue, err = s.FindEmergencyGrants(ctx, false, false)
		return err
	}); err != nil || len(queue) != 3 {
		t.Errorf("a caller without the reviewer's setting lists %d grants (%v), want its partner's 3", len(queue), err)
	}
	// The police linked to V see their own grant, not the officers' HEALTH and COUNSELLING grants of V,
	// which would tell them of a health emergency they may never read.
	if err := police.run(t, f.db, func(s *postgres.Session) (err error) {
		queue, err = s.FindEmergencyGrants(ctx, false, false)
		return err
	}); err != nil || len(queue) != 1 || queue[0].ID != g4.ID {
		t.Errorf("the police list %d grants (%v), want their own", len(queue), err)
	}
	employer := emergencyCaller{demo.SlugEmployerLadang, demo.DemoUsername(demo.RoleEmployerHR, demo.SlugEmployerLadang),
		lindung.Scope{Rows: lindung.ScopeNone, Purpose: lindung.PurposeEmploymentCheck}}
	if err := employer.run(t, f.db, func(s *postgres.Session) (err error) {
		queue, err = s.FindEmergencyGrants(ctx, false, false)
		return err
	}); err != nil || len(queue) != 0 {
		t.Errorf("an employer lists %d grants (%v)", len(queue), err)
	}
	// The store's own condition holds the same lines with row security off on the grants (the first wall
	// alone, visibleGrants): the same listings, and another partner's grant out of reach for a change.
	mustExec(t, f.db, `ALTER TABLE emergency_grants DISABLE ROW LEVEL SECURITY`)
	for _, c := range []struct {
		caller emergencyCaller
		want   int
	}{{reviewer, 3}, {police, 1}, {employer, 0}} {
		if err := c.caller.run(t, f.db, func(s *postgres.Session) (err error) {
			queue, err = s.FindEmergencyGrants(ctx, false, false)
			return err
		}); err != nil || len(queue) != c.want {
			t.Errorf("without row security on the grants, %s lists %d grants (%v), want %d", c.caller.slug, len(queue), err, c.want)
		}
	}
	if err := police.run(t, f.db, func(s *postgres.Session) error { _, err := s.RevokeEmergency(ctx, g.ID, false, false); return err }); !errors.Is(err, lindung.ErrNotFound) {
		t.Errorf("without row security on the grants, the police revoke the officers' grant: %v, want NOT_FOUND", err)
	}
	mustExec(t, f.db, `ALTER TABLE emergency_grants ENABLE ROW LEVEL SECURITY`)
	closeReview := func(c emergencyCaller, id string) error {
		return c.run(t, f.db, func(s *postgres.Session) error {
			_, err := s.CloseEmergencyReview(ctx, id, "justified: ambulance called, health record needed")
			return err
		})
	}
	if err := closeReview(reviewer, g4.ID); code(err) != lindung.ECONFLICT {
		t.Errorf("closing the review of a grant in effect: %v, want CONFLICT", err)
	}
	if err := closeReview(officer, g.ID); code(err) != lindung.EFORBIDDEN {
		t.Errorf("the opener closing their own review: %v, want FORBIDDEN", err)
	}
	// The grant a mutation answers with carries the reads made under it, as the review queue's does.
	if err := reviewer.run(t, f.db, func(s *postgres.Session) error {
		reviewed, err := s.CloseEmergencyReview(ctx, g.ID, "justified: ambulance called, health record needed")
		if err == nil && (len(reviewed.ReadsUnderGrant) != 1 || reviewed.ReadsUnderGrant[0].RequestID != "emergency-read") {
			t.Errorf("the reads of the grant whose review was closed: %+v", reviewed.ReadsUnderGrant)
		}
		return err
	}); err != nil {
		t.Fatalf("closing an expired grant's review: %v", err)
	}
	if err := closeReview(reviewer, g.ID); code(err) != lindung.ECONFLICT {
		t.Errorf("closing a review twice: %v, want CONFLICT", err)
	}
	// An id that is no uuid is NOT_FOUND, as a missing one, and leaves the request's transaction usable:
	// the request goes on to write its audit in it.
	for name, fn := range map[string]func(s *postgres.Session) error{
		"approve": func(s *postgres.Session) error { _, err := s.ApproveEmergency(ctx, "not-a-uuid"); return err },
		"revoke": func(s *postgres.Session) error {
			_, err := s.RevokeEmergency(ctx, "not-a-uuid", false, true)
			return err
		},
		"review": func(s *postgres.Session) error {
			_, err := s.CloseEmergencyReview(ctx, "not-a-uuid", "a finding long enough")
			return err
		},
	} {
		if err := reviewer.run(t, f.db, func(s *postgres.Session) error {
			if err := fn(s); !errors.Is(err, lindung.ErrNotFound) {
				t.Errorf("%s of an id that is no uuid: %v, want NOT_FOUND", name, err)
			}
			_, err := s.FindEmergencyGrants(ctx, false, true)
			return err
		}); err != nil {
			t.Errorf("the transaction after %s of an id that is no uuid: %v", name, err)
		}
	}
	if err := reviewer.run(t, f.db, func(s *postgres.Session) (err error) {
		closed, err = s.FindEmergencyGrants(ctx, true, true)
		return err
	}); err != nil || len(closed) != 1 || closed[0].Finding == nil {
		t.Errorf("closed reviews: %+v %v", closed, err)
	}
	// A reviewer revokes any grant, another partner's too (the police's, in effect): it sees every one.
	if err := reviewer.run(t, f.db, func(s *postgres.Session) error {
		g, err := s.RevokeEmergency(ctx, g4.ID, false, true)
		if err == nil && g.State != lindung.EmergencyRevoked {
			t.Errorf("revoked by the reviewer: %+v", g)
		}
		return err
	}); err != nil {
		t.Errorf("a reviewer revoking another partner's grant: %v", err)
	}
}

func userID(t *testing.T, db *postgres.DB, username string) string {
	t.Helper()
	var id string
	mustScan(t, db, []any{&id}, `SELECT id::text FROM users WHERE username = $1`, username)
	return id
}
