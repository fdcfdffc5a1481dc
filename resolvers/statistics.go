package resolvers

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/disclosure"
	"github.com/lindung/lindung/graph"
	"github.com/lindung/lindung/graph/model"
)

// maxExpiringDays bounds the orders panel's look-ahead.
const maxExpiringDays = 366

// statistics returns the resolver's disclosure control; the zero value means the defaults (threshold
// disclosure.DefaultK, rounding to disclosure.DefaultBase), so a hub wired without it fails safe.
func (r *Resolver) statistics() disclosure.Options {
	if o := r.StatisticsControl.Defaults(); o.Valid() {
		return o
	}
	return disclosure.Options{}.Defaults()
}

// startStatistics authorizes a statistics query and fixes its filter, bases and disclosure settings.
func startStatistics(ctx context.Context, f *model.StatisticsFilter, opt disclosure.Options) (*lindung.Statistics, error) {
	req, err := authorize(ctx, lindung.ActionSeeStatistics)
	if err != nil {
		return nil, err
	}
	if req.Viewer.Purpose != lindung.PurposeStatistics {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "statistics are served only for the STATISTICS purpose")
	}
	var q lindung.StatisticsQuery
	if f != nil {
		q.From, q.To, q.State = f.From, f.To, f.State
		if q.From != nil && q.To != nil && q.To.Before(*q.From) {
			return nil, lindung.Invalid("filter.to", "the period ends before it starts")
		}
	}
	q.Legal, q.Consent = req.Decision.Grants()
	exact := req.Decision.May(lindung.ActionExactCounts)
	if !exact {
		// Periods a day apart would otherwise difference to the cases of that day.
		q.From, q.To = disclosure.SnapPeriod(q.From, q.To)
	}
	base := max(opt.Base, 1)
	if exact {
		base = 1
	}
	return &lindung.Statistics{Query: q, Threshold: opt.K, RoundingBase: base, ExactCounts: exact}, nil
}

// panel runs one panel's statement, after checking that the caller's policy opens what it reads.
func panel(ctx context.Context, s *lindung.Statistics, p lindung.StatisticsPanel, days int) (*panelRows, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	if missing := p.Needs() &^ (s.Query.Legal | s.Query.Consent); missing != 0 {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "this panel counts %s data, which your role may not use for statistics", missing)
	}
	q := s.Query
	q.Panel, q.ExpiringWithinDays = p, days
	rows, err := req.Session.Statistics(ctx, q)
	if err != nil {
		return nil, err
	}
	pr := &panelRows{stats: s, opt: disclosure.Options{K: s.Threshold, Base: s.RoundingBase}, rows: rows}
	if s.ExactCounts {
		pr.opt = disclosure.Options{K: 1}
	}
	pr.hidden = pr.stateHidden()
	return pr, nil
}

// panelRows is one panel's raw counts and how to protect them.
type panelRows struct {
	stats  *lindung.Statistics
	opt    disclosure.Options
	rows   []lindung.StatisticsRow
	hidden bool // the filter's state is suppressed in the national by-state breakdown: hide everything
}

// stateHidden reports whether the panel is filtered to a state whose cell the national breakdown by state
// suppresses. The filtered total equals that cell, so publishing it (or cells that add up to it) would
// undo the suppression; the whole panel is suppressed instead.
func (p *panelRows) stateHidden() bool {
	if p.stats.Query.State == nil || p.opt.K <= 1 {
		return false
	}
	states := enumValues("MalaysianState")
	cells := make([]int64, len(states))
	var total int64
	for _, r := range p.rows {
		if r.Kind == "state" {
			if i := slices.IndexFunc(states, func(e enumValue) bool { return e.key == r.Key }); i >= 0 {
				cells[i] = r.Count
				total += r.Count
			}
		}
	}
	i := slices.IndexFunc(states, func(e enumValue) bool { return e.key == *p.stats.Query.State })
	return disclosure.Hidden(cells, total, i, p.opt)
}

// count returns the raw count of the row of kind and key, and its median when it has one.
func (p *panelRows) count(kind, key string) (int64, *float64) {
	for _, r := range p.rows {
		if r.Kind == kind && r.Key == key {
			return r.Count, r.MedianDays
		}
	}
	return 0, nil
}

// breakdown protects the cells of kind (under keys, in order; nil keys take the keys present, sorted)
// against the row of totalKind.
func (p *panelRows) breakdown(keys []enumValue, kind, totalKind string, multi bool) *model.Breakdown {
	present := map[string]bool{}
	for _, r := range p.rows {
		if r.Kind == kind {
			present[r.Key] = true
		}
	}
	for _, e := range keys {
		delete(present, e.key)
	}
	var extra []string
	for k := range present {
		extra = append(extra, k)
	}
	slices.Sort(extra)
	for _, k := range extra {
		keys = append(keys, enumValue{key: k, label: labelOf(k)})
	}
	counts := make([]int64, len(keys))
	medians := make([]*float64, len(keys))
	for i, e := range keys {
		counts[i], medians[i] = p.count(kind, e.key)
	}
	total, totalMedian := p.count(totalKind, "")
	figs, tot := disclosure.Protect(counts, total, p.opt)
	b := &model.Breakdown{MultiValued: multi, Total: p.cell("TOTAL", "Total", tot, totalMedian)}
	for i, e := range keys {
		b.Cells = append(b.Cells, p.cell(e.key, e.label, figs[i], medians[i]))
	}
	return b
}

// cell renders a figure; a suppressed one has neither count nor median.
func (p *panelRows) cell(key, label string, f disclosure.Figure, median *float64) *model.StatCell {
	c := &model.StatCell{Key: key, Label: label, Suppressed: f.Suppressed || p.hidden}
	if !c.Suppressed {
		n := int(f.Count)
		c.Count = &n
		c.MedianDays = median
	}
	return c
}

// foldSmall merges the cells of kind whose count is from 1 to k-1 into OTHER, for dimensions whose keys
// are not fixed in advance: even the key of a small cell would say someone of that kind exists.
func (p *panelRows) foldSmall(kind string) {
	if p.opt.K <= 1 {
		return
	}
	var other int64
	kept := p.rows[:0:0]
	for _, r := range p.rows {
		if r.Kind == kind && (disclosure.Small(r.Count, p.opt) || r.Key == "OTHER") {
			other += r.Count
			continue
		}
		kept = append(kept, r)
	}
	if other > 0 {
		kept = append(kept, lindung.StatisticsRow{Kind: kind, Key: "OTHER", Count: other})
	}
	p.rows = kept
}

// months lists every month from the period's first to its last (or the data's, for an open end).
func (p *panelRows) months() []enumValue {
	var first, last string
	for _, r := range p.rows {
		if r.Kind != "cell" {
			continue
		}
		if first == "" || r.Key < first {
			first = r.Key
		}
		if r.Key > last {
			last = r.Key
		}
	}
	if f := p.stats.Query.From; f != nil {
		first = f.Format("2006-01")
	}
	if t := p.stats.Query.To; t != nil {
		last = t.Format("2006-01")
	}
	start, err1 := time.Parse("2006-01", first)
	end, err2 := time.Parse("2006-01", last)
	var out []enumValue
	for m := start; err1 == nil && err2 == nil && !m.After(end) && len(out) < 1200; m = m.AddDate(0, 1, 0) {
		out = append(out, enumValue{key: m.Format("2006-01"), label: m.Format("Jan 2006")})
	}
	return out
}

// occupancy protects current residents per group; shelters and capacity are facts about places, published.
func (p *panelRows) occupancy(keys []enumValue, kind string) *model.OccupancyBreakdown {
	counts := make([]int64, len(keys))
	for i, e := range keys {
		counts[i], _ = p.count(kind, e.key)
	}
	total, _ := p.count("total", "")
	figs, tot := disclosure.Protect(counts, total, p.opt)
	row := func(key string) lindung.StatisticsRow {
		for _, r := range p.rows {
			if (r.Kind == kind && r.Key == key) || (key == "" && r.Kind == "total") {
				return r
			}
		}
		return lindung.StatisticsRow{}
	}
	cell := func(key, label string, f disclosure.Figure) *model.OccupancyCell {
		r := row(key)
		c := &model.OccupancyCell{Key: key, Label: label, Shelters: int(r.Shelters), Capacity: int(r.Capacity),
			Suppressed: f.Suppressed || p.hidden}
		if !c.Suppressed {
			n := int(f.Count)
			c.Occupancy = &n
		}
		return c
	}
	b := &model.OccupancyBreakdown{Total: cell("", "Total", tot)}
	b.Total.Key = "TOTAL"
	for i, e := range keys {
		b.Cells = append(b.Cells, cell(e.key, e.label, figs[i]))
	}
	return b
}

// enumValue is a key of a breakdown and its label.
type enumValue struct{ key, label string }

// schemaEnums reads the GraphQL enums once, so that breakdowns list every value (zeros included, Sabah
// and Sarawak always) in the schema's order, labelled by the value's description.
var schemaEnums = sync.OnceValue(func() map[string][]enumValue {
	out := map[string][]enumValue{}
	for name, def := range graph.NewExecutableSchema(graph.Config{}).Schema().Types {
		for _, v := range def.EnumValues {
			out[name] = append(out[name], enumValue{key: v.Name, label: strings.TrimSuffix(v.Description, ".")})
		}
	}
	return out
})

// enumValues returns a copy of the values of a GraphQL enum.
func enumValues(name string) []enumValue { return slices.Clone(schemaEnums()[name]) }

// labelOf names a key that is not an enum value of its dimension.
func labelOf(key string) string {
	switch key {
	case "UNKNOWN":
		return "Not recorded"
	case "OTHER":
		return "Other"
	}
	return key
}

// statisticsDimensions maps a case breakdown to the GraphQL enum of its keys ("" for keys from the data).
var statisticsDimensions = map[lindung.StatisticsPanel]string{
	lindung.PanelTraffickingStatus: "TraffickingStatus",
	lindung.PanelExploitationType:  "ExploitationType",
	lindung.PanelSector:            "Sector",
	lindung.PanelGender:            "Gender",
	lindung.PanelAgeBand:           "AgeBand",
	lindung.PanelState:             "MalaysianState",
}

// caseBreakdown serves one breakdown of cases.
func caseBreakdown(ctx context.Context, s *lindung.Statistics, p lindung.StatisticsPanel) (*model.Breakdown, error) {
	pr, err := panel(ctx, s, p, 0)
	if err != nil {
		return nil, err
	}
	var keys []enumValue
	switch p {
	case lindung.PanelMonth:
		keys = pr.months()
	case lindung.PanelCitizenship:
		pr.foldSmall("cell")
	default:
		keys = enumValues(statisticsDimensions[p])
	}
	multi := p == lindung.PanelExploitationType || p == lindung.PanelCitizenship
	return pr.breakdown(keys, "cell", "total", multi), nil
}
