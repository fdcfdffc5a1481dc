package demo

import (
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/lindung/lindung"
)

var testDay = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestGenerateIsDeterministic(t *testing.T) {
	a := Generate(500, testDay)
	b := Generate(500, testDay)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two data sets generated with the same size and day differ")
	}
	c := Generate(500, testDay.Add(13*time.Hour+7*time.Minute).In(time.FixedZone("MYT", 8*3600)))
	if !reflect.DeepEqual(a, c) {
		t.Fatal("the time of day changed the data set")
	}
	small := Generate(10, testDay)
	for i, p := range small.Partners {
		if p.ID != a.Partners[i].ID {
			t.Errorf("partner %s has a different id at another size", p.Slug)
		}
	}
	for i, u := range small.Users {
		if u.ID != a.Users[i].ID {
			t.Errorf("user %s has a different id at another size", u.Username)
		}
	}
}

func TestIDsAreUniqueUUIDs(t *testing.T) {
	ds := Generate(500, testDay)
	seen := map[string]string{}
	add := func(kind, id string) {
		t.Helper()
		if !uuidV4.MatchString(id) {
			t.Errorf("%s id %q is not a v4 UUID", kind, id)
		}
		if k, dup := seen[id]; dup {
			t.Errorf("%s id %s repeats the id of a %s", kind, id, k)
		}
		seen[id] = kind
	}
	for _, x := range ds.Partners {
		add("partner", x.ID)
	}
	for _, x := range ds.Users {
		add("user", x.ID)
	}
	for _, x := range ds.Shelters {
		add("shelter", x.ID)
	}
	for _, x := range ds.Victims {
		add("victim", x.ID)
	}
	for _, x := range ds.Placements {
		add("placement", x.ID)
	}
	for _, x := range ds.Orders {
		add("order", x.ID)
	}
	for _, x := range ds.ServiceRecords {
		add("service record", x.ID)
	}
	for _, x := range ds.Referrals {
		add("referral", x.ID)
	}
	for _, x := range ds.Consents {
		add("consent", x.ID)
	}
}

func TestPartnersAndUsers(t *testing.T) {
	ds := Generate(0, testDay)
	if len(ds.Partners) != len(PartnerSlugs()) {
		t.Fatalf("%d partners, want %d", len(ds.Partners), len(PartnerSlugs()))
	}
	bySlug := map[string]*lindung.Partner{}
	for i, p := range ds.Partners {
		if p.Slug != PartnerSlugs()[i] {
			t.Errorf("partner %d is %s, want %s", i, p.Slug, PartnerSlugs()[i])
		}
		bySlug[p.Slug] = p
	}
	users := map[string]*lindung.User{}
	for _, u := range ds.Users {
		users[u.Username] = u
	}
	want := []struct{ role, slug string }{
		{RoleMinistryAnalyst, SlugKPWKM}, {RoleProtectionOfficer, SlugKPWKM}, {RoleEnforcementOfficer, SlugPDRM},
		{RoleEnforcementOfficer, SlugJIM}, {RoleNGOCaseworker, SlugNGOHarapan}, {RoleNGOCaseworker, SlugNGOSuara},
		{RoleNGOCaseworker, SlugNGOCahaya}, {RoleEmployerHR, SlugEmployerLadang}, {RoleEmployerHR, SlugEmployerKilang},
		{RoleOperator, SlugOperator}, {RoleRouter, SlugOperator},
	}
	for _, w := range want {
		name := DemoUsername(w.role, w.slug)
		u := users[name]
		if u == nil {
			t.Errorf("no user %s", name)
			continue
		}
		if u.PartnerID != bySlug[w.slug].ID || !reflect.DeepEqual(u.Roles, []string{w.role}) {
			t.Errorf("user %s: partner %s roles %v", name, u.PartnerID, u.Roles)
		}
	}
	if DemoUsername("protection_officer", "kpwkm") != "protection_officer@kpwkm" {
		t.Error("DemoUsername does not give <role>@<slug>")
	}
	untrained := users[UntrainedOfficerUsername]
	if untrained == nil || !reflect.DeepEqual(untrained.Roles, []string{RoleProtectionOfficer}) {
		t.Fatalf("untrained officer: %+v", untrained)
	}
	if len(users) != len(want)+1 {
		t.Errorf("%d users, want %d", len(users), len(want)+1)
	}
	if len(ds.Trainings) != 1 {
		t.Fatalf("%d trainings, want 1", len(ds.Trainings))
	}
	tr := ds.Trainings[0]
	if tr.UserID != users["protection_officer@kpwkm"].ID || tr.ModuleVersion != "PO-2026.1" ||
		!tr.CompletedOn.Equal(testDay.AddDate(0, 0, -90)) || tr.ExpiresOn == nil || !tr.ExpiresOn.Equal(testDay.AddDate(0, 0, 640)) {
		t.Errorf("training: %+v", tr)
	}
}

func TestEveryStateIsServed(t *testing.T) {
	ds := Generate(500, testDay)
	served := map[string]int{}
	shelters := map[string]int{}
	for _, p := range ds.Partners {
		served[p.State]++
	}
	for _, s := range ds.Shelters {
		served[s.State]++
		shelters[s.State]++
	}
	for _, s := range States {
		if served[s] == 0 {
			t.Errorf("state %s has no partner and no shelter", s)
		}
	}
	for _, s := range []string{"SARAWAK", "SABAH"} {
		if shelters[s] < 2 {
			t.Errorf("state %s has %d shelters, want several", s, shelters[s])
		}
	}
	for s := range served {
		found := false
		for _, x := range States {
			found = found || x == s
		}
		if !found {
			t.Errorf("unknown state %s", s)
		}
	}
}

func TestInvariants(t *testing.T) {
	for _, size := range []int{0, 1, 2, 3, 37, 500, 5000} {
		check(t, size, Generate(size, testDay), testDay)
	}
}

func TestLargeDataSet(t *testing.T) {
	if testing.Short() {
		t.Skip("large data set")
	}
	check(t, 100000, Generate(100000, testDay), testDay)
}

func BenchmarkGenerate100k(b *testing.B) {
	for b.Loop() {
		Generate(100000, testDay)
	}
}

func TestNGOsHaveAcceptedReferrals(t *testing.T) {
	ds := Generate(500, testDay)
	slug := map[string]string{}
	for _, p := range ds.Partners {
		slug[p.ID] = p.Slug
	}
	accepted := map[string]int{}
	overdue := 0
	for _, r := range ds.Referrals {
		if r.Status == "ACCEPTED" {
			accepted[slug[r.ToPartnerID]]++
			if r.DueOn.Before(testDay) {
				overdue++
			}
		}
	}
	for _, s := range NGOSlugs() {
		if accepted[s] < 20 {
			t.Errorf("%s has %d accepted referrals, want at least 20", s, accepted[s])
		}
	}
	if overdue == 0 {
		t.Error("no accepted referral is overdue")
	}
}

func TestConsentStates(t *testing.T) {
	ds := Generate(500, testDay)
	counts := map[string]int{}
	for _, c := range ds.Consents {
		counts[consentState(c, testDay)]++
	}
	for _, s := range []string{"ACTIVE", "WITHDRAWN", "EXPIRED"} {
		if counts[s] == 0 {
			t.Errorf("no %s consent", s)
		}
	}
	if counts["ACTIVE"] < len(ds.Consents)*7/10 {
		t.Errorf("%d of %d consents active, want most", counts["ACTIVE"], len(ds.Consents))
	}
	with := map[string]bool{}
	for _, c := range ds.Consents {
		with[c.VictimID] = true
	}
	if len(with) < len(ds.Victims)*8/10 {
		t.Errorf("%d of %d victims have a consent, want most", len(with), len(ds.Victims))
	}
}

func TestDistributions(t *testing.T) {
	ds := Generate(5000, testDay)
	n := float64(len(ds.Victims))
	gender, status, cit := map[string]float64{}, map[string]float64{}, map[string]float64{}
	children := 0.0
	forced := 0
	for _, v := range ds.Victims {
		gender[*v.Gender]++
		status[v.TraffickingStatus]++
		cit[v.Citizenship[0]]++
		if *v.AgeBand == "AGE_0_8" || *v.AgeBand == "AGE_9_17" {
			children++
		}
		for _, e := range v.ExploitationTypes {
			if e == "FORCED_LABOUR" {
				forced++
			}
		}
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if got/n < want-tol || got/n > want+tol {
			t.Errorf("%s: %.3f, want %.2f±%.2f", what, got/n, want, tol)
		}
	}
	near("female", gender["FEMALE"], 0.60, 0.04)
	near("male", gender["MALE"], 0.38, 0.04)
	near("other", gender["OTHER"], 0.02, 0.015)
	near("presumed", status["PRESUMED"], 0.45, 0.05)
	near("confirmed", status["CONFIRMED"], 0.50, 0.05)
	near("not a victim", status["NOT_A_VICTIM"], 0.05, 0.03)
	near("children", children, 0.08, 0.04)
	if cit["IDN"] < cit["NPL"] || cit["BGD"] < cit["NPL"] || cit["MMR"] < cit["NPL"] {
		t.Errorf("citizenships: %v", cit)
	}
	if float64(forced) < n/2 {
		t.Errorf("forced labour in %d of %v cases, want most", forced, n)
	}
}

// consentState is the state of a consent on day today, as the store derives it.
func consentState(c *lindung.Consent, today time.Time) string {
	if c.WithdrawnAt != nil {
		return "WITHDRAWN"
	}
	for _, p := range c.Provisions {
		if p.PeriodEnd == nil || p.PeriodEnd.After(today) {
			return "ACTIVE"
		}
	}
	return "EXPIRED"
}

var vocab = map[string]map[string]bool{}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func init() {
	vocab["gender"] = set("FEMALE", "MALE", "OTHER")
	vocab["band"] = set("AGE_0_8", "AGE_9_17", "AGE_18_20", "AGE_21_23", "AGE_24_26", "AGE_27_29", "AGE_30_38", "AGE_39_47", "AGE_48_PLUS")
	vocab["citizenship"] = set("IDN", "BGD", "MMR", "NPL", "VNM", "KHM", "PHL", "MYS")
	vocab["language"] = set("id", "bn", "my", "ne", "vi", "km", "tl", "ms", "en")
	vocab["status"] = set("PRESUMED", "CONFIRMED", "NOT_A_VICTIM")
	vocab["exploitation"] = set("FORCED_LABOUR", "SEXUAL_EXPLOITATION", "SEX_AND_LABOUR", "FORCED_MARRIAGE", "OTHER")
	vocab["sector"] = set("PLANTATION", "CONSTRUCTION", "MANUFACTURING", "DOMESTIC_WORK", "FISHING", "HOSPITALITY", "AGRICULTURE", "OTHER")
	vocab["control"] = set("DEBT_BONDAGE", "TAKES_EARNINGS", "THREATS", "PHYSICAL_ABUSE", "PSYCHOLOGICAL_ABUSE", "SEXUAL_ABUSE",
		"FALSE_PROMISES", "RESTRICTS_MOVEMENT", "WITHHOLDS_DOCUMENTS", "EXCESSIVE_HOURS", "OTHER")
	vocab["category"] = set("WOMEN", "MEN", "CHILDREN", "MOTHERS_WITH_CHILDREN")
	vocab["order"] = set("IPO", "PO")
	vocab["service"] = set("HEALTH", "COUNSELLING", "LEGAL", "INTERPRETER", "FAMILY_COMMUNICATION", "WORK_PERMISSION", "REPATRIATION")
	vocab["serviceStatus"] = set("REQUESTED", "SCHEDULED", "DELIVERED", "CANCELLED")
	vocab["referralStatus"] = set("IN_PROGRESS", "ACCEPTED", "REJECTED", "COMPLETED", "WITHDRAWN")
	vocab["caseLink"] = set("INVESTIGATING", "PROSECUTING", "IMMIGRATION")
	vocab["decision"] = set("ELIGIBLE", "NOT_ELIGIBLE", "PENDING")
	vocab["state"] = set(States...)
}

var (
	caseRef   = regexp.MustCompile(`^LDG-20\d\d-\d{6}$`)
	fictional = regexp.MustCompile(`\(fictional\)$`)
	demoPhone = regexp.MustCompile(`^\+60 1\d-555 \d{4}$`)
)

// check verifies every invariant of a generated data set.
func check(t *testing.T, size int, ds *lindung.Dataset, today time.Time) {
	t.Helper()
	errs := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if errs++; errs <= 20 {
			t.Errorf("size %d: "+format, append([]any{size}, args...)...)
		}
	}
	in := func(kind, v string) {
		if !vocab[kind][v] {
			fail("%s %q is not in the vocabulary", kind, v)
		}
	}
	notFuture := func(what string, at time.Time) {
		if at.After(today) || at.Nanosecond() != 0 || at.Location() != time.UTC {
			fail("%s %v is after today, not in whole seconds or not in UTC", what, at)
		}
	}
	if len(ds.Victims) != size {
		fail("%d victims", len(ds.Victims))
	}

	partners := map[string]*lindung.Partner{}
	for _, p := range ds.Partners {
		partners[p.ID] = p
		in("state", p.State)
	}
	kpwkm := ""
	for _, p := range ds.Partners {
		if p.Slug == SlugKPWKM {
			kpwkm = p.ID
		}
	}
	users := map[string]*lindung.User{}
	for _, u := range ds.Users {
		users[u.ID] = u
		if partners[u.PartnerID] == nil {
			fail("user %s: no partner %s", u.Username, u.PartnerID)
		}
	}
	for _, tr := range ds.Trainings {
		if users[tr.UserID] == nil {
			fail("training of unknown user %s", tr.UserID)
		}
	}
	shelters := map[string]*lindung.Shelter{}
	names := map[string]bool{}
	for _, s := range ds.Shelters {
		shelters[s.ID] = s
		if names[s.Name] {
			fail("shelter name %s repeats", s.Name)
		}
		names[s.Name] = true
		if partners[s.OperatorPartnerID] == nil {
			fail("shelter %s: no operator", s.Name)
		}
		in("state", s.State)
		in("category", s.Category)
		in("order", s.OrderType)
		if s.Capacity < 10 || s.Capacity > 60 {
			fail("shelter %s: capacity %d", s.Name, s.Capacity)
		}
		for _, c := range s.Services {
			in("service", c)
		}
	}

	victims := map[string]*lindung.Victim{}
	refs := map[string]bool{}
	for _, v := range ds.Victims {
		victims[v.ID] = v
		if v.Owned.VictimID != v.ID {
			fail("victim %s: Owned.VictimID %s", v.ID, v.Owned.VictimID)
		}
		if !caseRef.MatchString(v.CaseRef) || refs[v.CaseRef] {
			fail("case ref %q malformed or repeated", v.CaseRef)
		}
		refs[v.CaseRef] = true
		if v.OwnerPartnerID != kpwkm {
			fail("victim %s: owner %s", v.CaseRef, v.OwnerPartnerID)
		}
		if v.LegalName == nil || !fictional.MatchString(*v.LegalName) {
			fail("victim %s: name not marked fictional", v.CaseRef)
		}
		in("gender", *v.Gender)
		in("band", *v.AgeBand)
		y := bandYears[*v.AgeBand]
		for _, at := range []time.Time{v.IdentifiedOn, today} {
			if a := ageOn(*v.DateOfBirth, at); a < y[0] || a > y[1] {
				fail("victim %s: age %d on %v outside %s", v.CaseRef, a, at, *v.AgeBand)
			}
		}
		for _, c := range v.Citizenship {
			in("citizenship", c)
		}
		speaks := false
		for _, l := range v.Languages {
			in("language", l)
			speaks = speaks || l == "ms" || l == "en"
		}
		if len(v.Languages) == 0 || v.InterpreterNeeded == speaks {
			fail("victim %s: languages %v, interpreter needed %v", v.CaseRef, v.Languages, v.InterpreterNeeded)
		}
		if v.Phone != nil && !demoPhone.MatchString(*v.Phone) {
			fail("victim %s: phone %q", v.CaseRef, *v.Phone)
		}
		in("status", v.TraffickingStatus)
		if len(v.ExploitationTypes) == 0 || len(v.MeansOfControl) == 0 {
			fail("victim %s: no exploitation type or means of control", v.CaseRef)
		}
		for _, e := range v.ExploitationTypes {
			in("exploitation", e)
		}
		if v.Sector != nil {
			in("sector", *v.Sector)
		}
		for _, m := range v.MeansOfControl {
			in("control", m)
		}
		if v.IdentifiedOn.Before(today.AddDate(0, -24, 0)) || !v.IdentifiedOn.Before(today) {
			fail("victim %s: identified on %v", v.CaseRef, v.IdentifiedOn)
		}
		notFuture("victim created", v.CreatedAt)
		notFuture("victim updated", v.UpdatedAt)
		if v.UpdatedAt.Before(v.CreatedAt) {
			fail("victim %s: updated before created", v.CaseRef)
		}
	}

	mother := map[string]string{} // child -> mother
	mothers := map[string]bool{}
	for _, f := range ds.FamilyLinks {
		c, m := victims[f.VictimID], victims[f.RelatedVictimID]
		if c == nil || m == nil || f.Relationship != "MOTHER" {
			fail("family link %+v", f)
			continue
		}
		if *m.Gender != "FEMALE" || ageOn(*c.DateOfBirth, today) >= ageOn(*m.DateOfBirth, today) {
			fail("family link %s -> %s: mother not a woman older than the child", c.CaseRef, m.CaseRef)
		}
		if *c.AgeBand != "AGE_0_8" && *c.AgeBand != "AGE_9_17" {
			fail("family link from %s: child in band %s", c.CaseRef, *c.AgeBand)
		}
		mother[c.ID] = m.ID
		mothers[m.ID] = true
	}
	if size >= 500 && (len(mother) < size*3/100 || len(mother) > size*8/100) {
		fail("%d children with their mother among %d victims", len(mother), size)
	}
	categoryOf := func(v *lindung.Victim) string {
		switch {
		case mother[v.ID] != "" || mothers[v.ID]:
			return "MOTHERS_WITH_CHILDREN"
		case *v.AgeBand == "AGE_0_8" || *v.AgeBand == "AGE_9_17":
			return "CHILDREN"
		case *v.Gender == "MALE":
			return "MEN"
		}
		return "WOMEN"
	}

	for _, l := range ds.CaseLinks {
		if victims[l.VictimID] == nil || partners[l.PartnerID] == nil {
			fail("case link %+v", l)
		}
		in("caseLink", l.Role)
	}

	// Orders: at most one in force per victim.
	current := map[string]*lindung.ProtectionOrder{}
	numbers := map[string]bool{}
	ordersOf := map[string][]*lindung.ProtectionOrder{}
	for _, o := range ds.Orders {
		if victims[o.VictimID] == nil {
			fail("order %s of unknown victim", o.OrderNumber)
			continue
		}
		in("order", o.Type)
		if numbers[o.OrderNumber] {
			fail("order number %s repeats", o.OrderNumber)
		}
		numbers[o.OrderNumber] = true
		days := int(o.EndsOn.Sub(o.StartsOn).Hours() / 24)
		if o.Type == "IPO" && days != 21 || o.Type == "PO" && days != 90 {
			fail("order %s lasts %d days", o.OrderNumber, days)
		}
		ordersOf[o.VictimID] = append(ordersOf[o.VictimID], o)
		if o.EndedOn == nil {
			if !o.EndsOn.After(today) || o.StartsOn.After(today) {
				fail("order %s open but not in force today", o.OrderNumber)
			}
			if current[o.VictimID] != nil {
				fail("victim %s has two orders in force", victims[o.VictimID].CaseRef)
			}
			current[o.VictimID] = o
		} else {
			notFuture("order ended", *o.EndedOn)
		}
	}
	for child, m := range mother {
		co, mo := current[child], current[m]
		if (co == nil) != (mo == nil) || co != nil && co.Type != mo.Type {
			fail("child %s and mother hold different orders", victims[child].CaseRef)
		}
	}

	// Placements: order type, category, capacity, mother and child together.
	placedIn := map[string]string{}
	occupancy := map[string]int{}
	for _, p := range ds.Placements {
		v, s := victims[p.VictimID], shelters[p.ShelterID]
		if v == nil || s == nil {
			fail("placement %s: unknown victim or shelter", p.ID)
			continue
		}
		if s.Category != categoryOf(v) {
			fail("placement of %s (%s) in a %s shelter", v.CaseRef, categoryOf(v), s.Category)
		}
		if p.Reason == "" {
			fail("placement %s without a reason", p.ID)
		}
		var held *lindung.ProtectionOrder
		for _, o := range ordersOf[v.ID] {
			end := o.EndsOn
			if o.EndedOn != nil {
				end = *o.EndedOn
			}
			if !p.FromDate.Before(o.StartsOn) && p.FromDate.Before(end) {
				held = o
			}
		}
		if held == nil || held.Type != s.OrderType {
			fail("placement of %s from %v in a %s shelter without that order", v.CaseRef, p.FromDate, s.OrderType)
		}
		if p.ToDate != nil {
			if p.ToDate.Before(p.FromDate) || p.ToDate.After(today) {
				fail("placement of %s from %v to %v", v.CaseRef, p.FromDate, *p.ToDate)
			}
			continue
		}
		if placedIn[v.ID] != "" {
			fail("victim %s placed twice", v.CaseRef)
		}
		placedIn[v.ID] = s.ID
		occupancy[s.ID]++
		if current[v.ID] == nil || current[v.ID].Type != s.OrderType {
			fail("victim %s placed in a %s shelter without such an order in force", v.CaseRef, s.OrderType)
		}
	}
	for id := range current {
		if placedIn[id] == "" {
			fail("victim %s holds an order but is not placed", victims[id].CaseRef)
		}
	}
	for _, s := range ds.Shelters {
		if occupancy[s.ID] > s.Capacity || occupancy[s.ID] != s.Occupancy {
			fail("shelter %s: %d residents, occupancy %d, capacity %d", s.Name, occupancy[s.ID], s.Occupancy, s.Capacity)
		}
	}
	for child, m := range mother {
		if placedIn[child] != placedIn[m] {
			fail("child %s not placed with the mother", victims[child].CaseRef)
		}
	}

	for _, r := range ds.ServiceRecords {
		if victims[r.VictimID] == nil || partners[r.ProviderPartnerID] == nil {
			fail("service record %s: unknown victim or provider", r.ID)
		}
		if pt := partners[r.ProviderPartnerID]; pt != nil && pt.Type != lindung.PartnerNGO && pt.ID != kpwkm {
			fail("service record %s provided by %s", r.ID, pt.Slug)
		}
		in("service", r.ServiceCode)
		in("serviceStatus", r.Status)
		notFuture("service requested", r.RequestedOn)
		if r.Status == "DELIVERED" && (r.DeliveredOn == nil || r.DeliveredOn.After(today) || r.DeliveredOn.Before(r.RequestedOn)) {
			fail("service record %s delivered on %v", r.ID, r.DeliveredOn)
		}
		if r.Status == "SCHEDULED" && r.ScheduledFor == nil {
			fail("service record %s scheduled for no day", r.ID)
		}
	}

	for _, r := range ds.Referrals {
		if victims[r.VictimID] == nil || r.FromPartnerID != kpwkm {
			fail("referral %s: unknown victim or not from kpwkm", r.ID)
		}
		if to := partners[r.ToPartnerID]; to == nil || to.Type != lindung.PartnerNGO {
			fail("referral %s not to an NGO", r.ID)
		}
		in("service", r.ServiceCode)
		in("referralStatus", r.Status)
		if (r.Status == "REJECTED") != (r.RejectionReason != nil) || r.Categories == 0 || r.Reason == "" {
			fail("referral %s: status %s, rejection reason %v, categories %v", r.ID, r.Status, r.RejectionReason, r.Categories)
		}
		notFuture("referral created", r.CreatedAt)
		notFuture("referral updated", r.UpdatedAt)
		if r.UpdatedAt.Before(r.CreatedAt) || r.DueOn.Before(r.CreatedAt) {
			fail("referral %s dates out of order", r.ID)
		}
	}

	for _, c := range ds.Consents {
		v := victims[c.VictimID]
		if v == nil || victims[c.GrantorVictimID] == nil {
			fail("consent %s: unknown subject or grantor", c.ID)
			continue
		}
		switch c.GrantorRelation {
		case "SELF":
			if c.GrantorVictimID != c.VictimID {
				fail("consent %s: SELF granted by another", c.ID)
			}
		case "MOTHER":
			if mother[c.VictimID] != c.GrantorVictimID {
				fail("consent %s: MOTHER granted by someone not the mother", c.ID)
			}
		default:
			fail("consent %s: grantor relation %s", c.ID, c.GrantorRelation)
		}
		if u := users[c.RecordedByUserID]; u == nil || u.Username != "protection_officer@kpwkm" {
			fail("consent %s recorded by %s", c.ID, c.RecordedByUserID)
		}
		if c.InterpreterPartnerID != nil && partners[*c.InterpreterPartnerID] == nil {
			fail("consent %s: unknown interpreter", c.ID)
		}
		in("language", c.Language)
		if (c.Method == "WRITTEN") != (c.DocumentRef != nil) || c.Method != "WRITTEN" && c.Method != "VERBAL" {
			fail("consent %s: method %s document %v", c.ID, c.Method, c.DocumentRef)
		}
		notFuture("consent recorded", c.RecordedAt)
		if c.WithdrawnAt != nil {
			notFuture("consent withdrawn", *c.WithdrawnAt)
		}
		if c.RecordedAt.Before(v.IdentifiedOn) {
			fail("consent %s recorded before the victim was identified", c.ID)
		}
		if c.WithdrawnAt != nil && (!c.WithdrawnAt.After(c.RecordedAt) || c.WithdrawnAt.After(today)) {
			fail("consent %s withdrawn at %v", c.ID, *c.WithdrawnAt)
		}
		if len(c.Provisions) == 0 {
			fail("consent %s has no provisions", c.ID)
		}
		for _, p := range c.Provisions {
			if p.VictimID != c.VictimID {
				fail("consent %s: provision owned by %q", c.ID, p.VictimID)
			}
			if (p.GranteePartnerID == nil) == (p.GranteeType == nil) {
				fail("consent %s: a provision needs exactly one grantee", c.ID)
			}
			if p.GranteePartnerID != nil && partners[*p.GranteePartnerID] == nil {
				fail("consent %s: unknown grantee", c.ID)
			}
			if p.Categories == 0 || len(p.Purposes) == 0 {
				fail("consent %s: empty provision", c.ID)
			}
			for _, pu := range p.Purposes {
				if !pu.Valid() {
					fail("consent %s: purpose %s", c.ID, pu)
				}
			}
			if p.PeriodEnd != nil && p.PeriodEnd.Before(p.PeriodStart) {
				fail("consent %s: period ends before it starts", c.ID)
			}
		}
	}

	seenWE := map[string]bool{}
	for _, we := range ds.WorkEligibility {
		if victims[we.VictimID] == nil || seenWE[we.VictimID] {
			fail("work eligibility of unknown or repeated victim %s", we.VictimID)
			continue
		}
		seenWE[we.VictimID] = true
		in("decision", we.Decision)
		o := current[we.VictimID]
		if o == nil || o.Type != "PO" || !we.ProtectionOrderHeld {
			fail("work eligibility for %s without a PO in force", victims[we.VictimID].CaseRef)
			continue
		}
		eligible := we.MedicalScreeningPassed && we.RiskAssessmentPassed
		if eligible != (we.Decision == "ELIGIBLE") {
			fail("work eligibility %s with conditions %v %v", we.Decision, we.MedicalScreeningPassed, we.RiskAssessmentPassed)
		}
		if eligible && (we.ValidUntil == nil || !we.ValidUntil.Equal(o.EndsOn) || we.DecidedOn == nil) {
			fail("eligible %s valid until %v, PO ends %v", victims[we.VictimID].CaseRef, we.ValidUntil, o.EndsOn)
		}
		if we.DecidedOn != nil && (we.DecidedOn.After(today) || we.DecidedOn.Before(o.StartsOn)) {
			fail("work eligibility decided on %v", *we.DecidedOn)
		}
	}
}
