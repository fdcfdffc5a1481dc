package demo

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/lindung/lindung"
)

type partnerSpec struct {
	slug, name, state string
	typ               lindung.PartnerType
	roles             []string
}

var partnerSpecs = []partnerSpec{
	{SlugKPWKM, "Kementerian Pembangunan Wanita, Keluarga dan Masyarakat", "PUTRAJAYA", lindung.PartnerGovernment,
		[]string{RoleMinistryAnalyst, RoleProtectionOfficer}},
	{SlugPDRM, "Polis Diraja Malaysia", "KUALA_LUMPUR", lindung.PartnerGovernment, []string{RoleEnforcementOfficer}},
	{SlugJIM, "Jabatan Imigresen Malaysia", "PUTRAJAYA", lindung.PartnerGovernment, []string{RoleEnforcementOfficer}},
	{SlugNGOHarapan, "Pertubuhan Harapan (medical)", "SELANGOR", lindung.PartnerNGO, []string{RoleNGOCaseworker}},
	{SlugNGOSuara, "Suara Kaunseling (counselling)", "PULAU_PINANG", lindung.PartnerNGO, []string{RoleNGOCaseworker}},
	{SlugNGOCahaya, "Cahaya Interpreters", "SARAWAK", lindung.PartnerNGO, []string{RoleNGOCaseworker}},
	{SlugEmployerLadang, "Ladang Sawit Contoh Sdn Bhd", "JOHOR", lindung.PartnerPrivate, []string{RoleEmployerHR}},
	{SlugEmployerKilang, "Kilang Elektronik Contoh Sdn Bhd", "PULAU_PINANG", lindung.PartnerPrivate, []string{RoleEmployerHR}},
	{SlugOperator, "Lindung Hub Operations", "KUALA_LUMPUR", lindung.PartnerOperator, []string{RoleOperator}},
}

// partners adds the fixed partners, on board since well before the first case.
func (g *gen) partners() {
	g.partner = make(map[string]*lindung.Partner, len(partnerSpecs))
	for _, s := range partnerSpecs {
		p := &lindung.Partner{
			ID:        uuid(g.fixed),
			Slug:      s.slug,
			Name:      s.name,
			Type:      s.typ,
			State:     s.state,
			CreatedAt: g.daysAgo(800).Add(2 * time.Hour),
		}
		g.partner[s.slug] = p
		g.ds.Partners = append(g.ds.Partners, p)
	}
}

// users adds one user per partner and role, the untrained officer, and the trained officer's training.
func (g *gen) users() {
	for _, s := range partnerSpecs {
		for _, role := range s.roles {
			u := &lindung.User{
				ID:          uuid(g.fixed),
				PartnerID:   g.partner[s.slug].ID,
				Username:    DemoUsername(role, s.slug),
				DisplayName: "Demo " + title(role) + " (" + strings.ToUpper(s.slug) + ", fictional)",
				Roles:       []string{role},
				CreatedAt:   g.daysAgo(790).Add(3 * time.Hour),
			}
			g.ds.Users = append(g.ds.Users, u)
			if role == RoleProtectionOfficer {
				g.officer = u
			}
		}
	}
	g.confirmer = &lindung.User{
		ID:          uuid(g.fixed),
		PartnerID:   g.partner[SlugKPWKM].ID,
		Username:    UntrainedOfficerUsername,
		DisplayName: "Demo Protection Officer, not yet trained (KPWKM, fictional)",
		Roles:       []string{RoleProtectionOfficer},
		CreatedAt:   g.daysAgo(20).Add(3 * time.Hour),
	}
	g.ds.Users = append(g.ds.Users, g.confirmer)
	g.ds.Trainings = append(g.ds.Trainings, &lindung.TrainingCompletion{
		UserID:        g.officer.ID,
		ModuleVersion: TrainingModule,
		CompletedOn:   g.daysAgo(90),
		ExpiresOn:     ptr(g.daysAgo(-640)),
	})

	// The router's account: a token for it must name a registered user like any other.
	late := rand.New(rand.NewPCG(seedLate1, seedLate2))
	g.ds.Users = append(g.ds.Users, &lindung.User{
		ID:          uuid(late),
		PartnerID:   g.partner[SlugOperator].ID,
		Username:    DemoUsername(RoleRouter, SlugOperator),
		DisplayName: "Demo Federation Router (OPERATOR, service account)",
		Roles:       []string{RoleRouter},
		CreatedAt:   g.daysAgo(790).Add(3 * time.Hour),
	})
}

// title turns a role into words: "protection_officer" -> "Protection Officer".
func title(role string) string {
	words := strings.Split(role, "_")
	for i, w := range words {
		if w == "hr" || w == "ngo" {
			words[i] = strings.ToUpper(w)
			continue
		}
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}
