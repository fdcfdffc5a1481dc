package demo

import (
	"fmt"

	"github.com/lindung/lindung"
)

// bucket is the kind of resident a shelter takes: a category and an order type.
type bucket struct{ category, order string }

type shelterSpec struct {
	name, state, category, order, operator string
}

// baseShelters are the places of refuge every data set has, spread so that every state has a partner or a
// shelter, with several in Sabah and Sarawak. Larger data sets add annexes to them.
var shelterSpecs = []shelterSpec{
	{"Rumah Perlindungan Wanita Shah Alam", "SELANGOR", "WOMEN", "IPO", SlugKPWKM},
	{"Rumah Perlindungan Wanita Kuching", "SARAWAK", "WOMEN", "IPO", SlugKPWKM},
	{"Rumah Perlindungan Wanita Kota Kinabalu", "SABAH", "WOMEN", "IPO", SlugKPWKM},
	{"Rumah Perlindungan Wanita Johor Bahru", "JOHOR", "WOMEN", "PO", SlugKPWKM},
	{"Rumah Selamat Suara George Town", "PULAU_PINANG", "WOMEN", "PO", SlugNGOSuara},
	{"Rumah Perlindungan Wanita Tawau", "SABAH", "WOMEN", "PO", SlugKPWKM},
	{"Rumah Perlindungan Wanita Kangar", "PERLIS", "WOMEN", "PO", SlugKPWKM},
	{"Rumah Perlindungan Lelaki Seremban", "NEGERI_SEMBILAN", "MEN", "IPO", SlugKPWKM},
	{"Rumah Perlindungan Lelaki Miri", "SARAWAK", "MEN", "IPO", SlugKPWKM},
	{"Rumah Perlindungan Lelaki Labuan", "LABUAN", "MEN", "IPO", SlugKPWKM},
	{"Rumah Perlindungan Lelaki Kuantan", "PAHANG", "MEN", "PO", SlugKPWKM},
	{"Rumah Perlindungan Lelaki Ipoh", "PERAK", "MEN", "PO", SlugKPWKM},
	{"Rumah Perlindungan Lelaki Sandakan", "SABAH", "MEN", "PO", SlugKPWKM},
	{"Rumah Perlindungan Kanak-Kanak Alor Setar", "KEDAH", "CHILDREN", "IPO", SlugKPWKM},
	{"Rumah Perlindungan Kanak-Kanak Kota Bharu", "KELANTAN", "CHILDREN", "PO", SlugKPWKM},
	{"Rumah Ibu dan Anak Harapan Melaka", "MELAKA", "MOTHERS_WITH_CHILDREN", "IPO", SlugNGOHarapan},
	{"Rumah Ibu dan Anak Kuala Terengganu", "TERENGGANU", "MOTHERS_WITH_CHILDREN", "PO", SlugKPWKM},
	{"Rumah Ibu dan Anak Cahaya Kuching", "SARAWAK", "MOTHERS_WITH_CHILDREN", "PO", SlugNGOCahaya},
}

// baseShelters adds the shelters every data set has, with ids independent of the size.
func (g *gen) baseShelters() {
	g.shelterOf = map[bucket][]*lindung.Shelter{}
	for _, s := range shelterSpecs {
		sh := &lindung.Shelter{
			ID:                uuid(g.fixed),
			Name:              s.name + " (demo)",
			OperatorPartnerID: g.partner[s.operator].ID,
			State:             s.state,
			Category:          s.category,
			OrderType:         s.order,
			Capacity:          10 + g.fixed.IntN(51),
			Services:          g.onSite(s.category, s.order),
		}
		b := bucket{s.category, s.order}
		g.shelterOf[b] = append(g.shelterOf[b], sh)
		g.ds.Shelters = append(g.ds.Shelters, sh)
	}
}

// onSite picks the services a shelter offers on its premises.
func (g *gen) onSite(category, order string) []string {
	out := []string{svcHealth, svcCounselling}
	if g.fixed.IntN(3) == 0 {
		out = append(out, svcLegal)
	}
	if g.fixed.IntN(2) == 0 {
		out = append(out, svcInterpreter)
	}
	if category == "MOTHERS_WITH_CHILDREN" || category == "CHILDREN" || g.fixed.IntN(2) == 0 {
		out = append(out, svcFamily)
	}
	if order == "PO" && category != "CHILDREN" {
		out = append(out, svcWork)
	}
	return out
}

// shelters makes room for everyone under a current order: each kind of shelter gets, in all, a little more
// room than the residents it must take, first by enlarging shelters up to 60 places, then by opening
// annexes of 10 to 60 places next to the base shelters.
func (g *gen) shelters() {
	demand := map[bucket]int{}
	for _, h := range g.households {
		switch h.stage {
		case stIPO:
			h.current = "IPO"
		case stPO:
			h.current = "PO"
		default:
			continue
		}
		demand[bucket{h.members[0].category, h.current}] += len(h.members)
	}
	done := map[bucket]bool{}
	for _, s := range shelterSpecs { // walk the buckets in a fixed order
		b := bucket{s.category, s.order}
		if done[b] {
			continue
		}
		done[b] = true
		list := g.shelterOf[b]
		bases := len(list)
		need := demand[b]
		if need == 0 {
			continue
		}
		// Room for the residents, some free places, and at least 3 free places a shelter so that a
		// mother with two children always finds a shelter with room for all three.
		target := need + need/6 + 3*len(list)
		total := 0
		for _, sh := range list {
			total += sh.Capacity
		}
		for i := 0; total < target && i < len(list); i++ {
			add := min(60-list[i].Capacity, target-total)
			list[i].Capacity += add
			total += add
		}
		for n := 2; total < target; n++ {
			base := list[(n-2)%bases]
			sh := &lindung.Shelter{
				ID:                g.id(),
				Name:              fmt.Sprintf("%s, Annex %d (demo)", trimDemo(base.Name), n-1),
				OperatorPartnerID: base.OperatorPartnerID,
				State:             base.State,
				Category:          b.category,
				OrderType:         b.order,
				Capacity:          10 + g.r.IntN(51),
				Services:          append([]string{}, base.Services...),
			}
			total += sh.Capacity
			target += 3
			list = append(list, sh)
			g.ds.Shelters = append(g.ds.Shelters, sh)
		}
		g.shelterOf[b] = list
	}
}

func trimDemo(name string) string {
	const suffix = " (demo)"
	if len(name) > len(suffix) && name[len(name)-len(suffix):] == suffix {
		return name[:len(name)-len(suffix)]
	}
	return name
}
