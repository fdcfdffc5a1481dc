package lindung

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Referral statuses.
const (
	ReferralInProgress = "IN_PROGRESS"
	ReferralAccepted   = "ACCEPTED"
	ReferralRejected   = "REJECTED"
	ReferralCompleted  = "COMPLETED"
	ReferralWithdrawn  = "WITHDRAWN"
)

// referralTransitions says, for each status a referral may move to, the statuses it may move from. A
// referral is answered once, completed once it was accepted, and withdrawn while it is open.
var referralTransitions = map[string][]string{
	ReferralAccepted:  {ReferralInProgress},
	ReferralRejected:  {ReferralInProgress},
	ReferralCompleted: {ReferralAccepted},
	ReferralWithdrawn: {ReferralInProgress, ReferralAccepted},
}

// CheckReferralTransition returns a CONFLICT naming the transition when a referral in status from may not
// move to status to.
func CheckReferralTransition(from, to string) error {
	for _, ok := range referralTransitions[to] {
		if ok == from {
			return nil
		}
	}
	return Errorf(ECONFLICT, "REFERRAL_STATUS: a referral cannot go from %s to %s (only from %s)",
		from, to, strings.Join(referralTransitions[to], " or "))
}

// OrderLimits are the longest periods the hub accepts for protection orders, in days. The defaults follow
// the Anti-Trafficking in Persons and Anti-Smuggling of Migrants Act 2007 (Act 670), Part V: an Interim
// Protection Order for 21 days (section 44), a Protection Order for up to three months, taken as 90 days
// (section 51). An IPO is not extended: at its end the court makes a PO or the victim is released. The
// length of one PO extension is the hub's configuration, not the statute's; 90 days by default.
type OrderLimits struct {
	IPODays          int
	PODays           int
	IPOExtensionDays int // 0: an IPO cannot be extended
	POExtensionDays  int
}

// DefaultOrderLimits returns the limits from Act 670, Part V.
func DefaultOrderLimits() OrderLimits {
	return OrderLimits{IPODays: 21, PODays: 90, IPOExtensionDays: 0, POExtensionDays: 90}
}

// ParseOrderLimits reads limits written as "IPO=21,PO=90,IPO_EXTENSION=0,PO_EXTENSION=90"; names left out
// keep their defaults.
func ParseOrderLimits(s string) (OrderLimits, error) {
	l := DefaultOrderLimits()
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(value)
		if !ok || err != nil || n < 0 || n > 3650 {
			return l, fmt.Errorf("order limit %q: want NAME=DAYS with 0 to 3650 days", part)
		}
		switch name {
		case "IPO":
			l.IPODays = n
		case "PO":
			l.PODays = n
		case "IPO_EXTENSION":
			l.IPOExtensionDays = n
		case "PO_EXTENSION":
			l.POExtensionDays = n
		default:
			return l, fmt.Errorf("order limit %q: want IPO, PO, IPO_EXTENSION or PO_EXTENSION", name)
		}
	}
	return l, nil
}

// Days returns the longest period of an order of type t.
func (l OrderLimits) Days(t string) int {
	if t == "IPO" {
		return l.IPODays
	}
	return l.PODays
}

// ExtensionDays returns the longest single extension of an order of type t.
func (l OrderLimits) ExtensionDays(t string) int {
	if t == "IPO" {
		return l.IPOExtensionDays
	}
	return l.POExtensionDays
}

// InForce reports whether the order is in force on day d: started, not past its end, not ended early (an
// order ended on a day is no longer in force that day).
func (o *ProtectionOrder) InForce(d time.Time) bool {
	d = Day(d)
	return !d.Before(Day(o.StartsOn)) && !d.After(Day(o.EndsOn)) && (o.EndedOn == nil || d.Before(Day(*o.EndedOn)))
}

// OrderInForce returns the order in force on day d among orders, nil when there is none.
func OrderInForce(orders []*ProtectionOrder, d time.Time) *ProtectionOrder {
	for _, o := range orders {
		if o.InForce(d) {
			return o
		}
	}
	return nil
}

// Day truncates t to its calendar day in UTC, the way dates are stored.
func Day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// DaysBetween returns the number of calendar days from a to b.
func DaysBetween(a, b time.Time) int {
	return int(Day(b).Sub(Day(a)).Hours() / 24)
}

// CheckNewOrder applies the order rules to a new order o, given the victim's orders so far: an IPO comes
// first and only when no order is in force; a PO follows an IPO and replaces the IPO in force; each lasts no
// longer than the limits allow. It returns the IPO that the new PO ends, if any.
func CheckNewOrder(o *ProtectionOrder, existing []*ProtectionOrder, limits OrderLimits) (*ProtectionOrder, error) {
	days := DaysBetween(o.StartsOn, o.EndsOn)
	if days <= 0 {
		return nil, Invalid("endsOn", "an order ends after it starts")
	}
	if max := limits.Days(o.Type); days > max {
		return nil, Invalid("endsOn", "ORDER_DURATION: %s lasts at most %d days (Act 670, Part V); this one lasts %d", anOrder(o.Type), max, days)
	}
	current := OrderInForce(existing, o.StartsOn)
	switch o.Type {
	case "IPO":
		if current != nil {
			return nil, Errorf(ECONFLICT, "ORDER_SEQUENCE: the victim already holds %s in force on %s", anOrder(current.Type), Day(o.StartsOn).Format(time.DateOnly))
		}
		return nil, nil
	case "PO":
		var ipo *ProtectionOrder
		for _, e := range existing {
			if e.Type == "IPO" && !Day(e.StartsOn).After(Day(o.StartsOn)) {
				ipo = e
			}
		}
		if ipo == nil {
			return nil, Errorf(ECONFLICT, "ORDER_SEQUENCE: a Protection Order follows an Interim Protection Order; record the IPO first")
		}
		if current != nil && current.Type == "PO" {
			return nil, Errorf(ECONFLICT, "ORDER_SEQUENCE: the victim already holds a PO in force on %s; extend it instead", Day(o.StartsOn).Format(time.DateOnly))
		}
		return current, nil
	}
	return nil, Invalid("type", "an order is IPO or PO")
}

// CheckExtension applies the limits to extending o to endsOn on day today.
func CheckExtension(o *ProtectionOrder, endsOn, today time.Time, limits OrderLimits) error {
	if !o.InForce(today) {
		return Errorf(ECONFLICT, "ORDER_ENDED: only an order in force can be extended")
	}
	add := DaysBetween(o.EndsOn, endsOn)
	if add <= 0 {
		return Invalid("endsOn", "an extension ends after the order's current end, %s", Day(o.EndsOn).Format(time.DateOnly))
	}
	max := limits.ExtensionDays(o.Type)
	if max == 0 {
		return Invalid("endsOn", "ORDER_DURATION: %s cannot be extended; at its end the court makes a Protection Order", anOrder(o.Type))
	}
	if add > max {
		return Invalid("endsOn", "ORDER_DURATION: an extension of %s adds at most %d days; this one adds %d", anOrder(o.Type), max, add)
	}
	return nil
}

// Resident is what the placement rules need to know of a person to place: whether a child, the gender, the
// order in force ("" for none), where the person stays now ("" for nowhere), and family.
type Resident struct {
	ID        string
	Child     bool
	Gender    string
	Order     string
	ShelterID string
	MotherID  string   // the mother, when she is a case too
	Children  []string // the children who are cases
}

// IsChild reports whether a victim is under 18, from the age band or, failing that, the date of birth.
func IsChild(v *Victim, today time.Time) bool {
	if v.AgeBand != nil {
		return *v.AgeBand == "AGE_0_8" || *v.AgeBand == "AGE_9_17"
	}
	if v.DateOfBirth != nil {
		return v.DateOfBirth.AddDate(18, 0, 0).After(today)
	}
	return false
}

// PlacementRuleError is the error of a refused placement: a CONFLICT whose message starts with the rule.
func PlacementRuleError(rule, format string, args ...any) *Error {
	return &Error{Code: ECONFLICT, Message: rule + ": " + fmt.Sprintf(format, args...)}
}

// CheckPlacement applies the placement rules to moving movers (the victim first, then the children who come
// with her) into shelter. mother is the first mover's mother when the first mover is a child (nil
// otherwise); arriving counts the movers not yet in the shelter.
func CheckPlacement(sh *Shelter, movers []*Resident, mother *Resident) error {
	first := movers[0]
	// A child stays with the mother: it goes where she is, and only the mother's placement moves it.
	if mother != nil && mother.ShelterID != "" && mother.ShelterID != sh.ID {
		return PlacementRuleError("CO_PLACEMENT", "a child is placed with the mother; move the mother, and her children move with her")
	}
	if mother != nil && mother.ShelterID == "" {
		return PlacementRuleError("CO_PLACEMENT", "a child is placed with the mother; place the mother, and her children come with her")
	}
	// IPO and PO victims are never placed together. A child without an order of its own follows the mother.
	for i, m := range movers {
		if m.Order == "" && i == 0 && mother == nil {
			return PlacementRuleError("ORDER_TYPE", "the victim holds no protection order in force; a shelter takes victims under an IPO or a PO")
		}
		if m.Order != "" && m.Order != sh.OrderType {
			return PlacementRuleError("ORDER_TYPE", "a victim under %s cannot be placed in a shelter that takes %s victims only", anOrder(m.Order), sh.OrderType)
		}
	}
	withChildren := len(movers) > 1 || mother != nil
	switch sh.Category {
	case "MOTHERS_WITH_CHILDREN":
		if !withChildren {
			return PlacementRuleError("CATEGORY", "a mothers-with-children shelter takes a mother with her children")
		}
	case "CHILDREN":
		if !first.Child || len(first.Children) > 0 {
			return PlacementRuleError("CATEGORY", "a children's shelter takes children only")
		}
	case "WOMEN", "MEN":
		if withChildren {
			return PlacementRuleError("CATEGORY", "a mother and her children are placed together in a mothers-with-children shelter")
		}
		if first.Child {
			return PlacementRuleError("CATEGORY", "a child is placed in a children's shelter, or with the mother")
		}
		want := map[string]string{"WOMEN": "FEMALE", "MEN": "MALE"}[sh.Category]
		if (first.Gender == "FEMALE" || first.Gender == "MALE") && first.Gender != want {
			return PlacementRuleError("CATEGORY", "a %s shelter takes %s victims", strings.ToLower(sh.Category), strings.ToLower(want))
		}
	}
	arriving := 0
	for _, m := range movers {
		if m.ShelterID != sh.ID {
			arriving++
		}
	}
	if sh.Occupancy+arriving > sh.Capacity {
		return PlacementRuleError("CAPACITY", "the shelter has %d free places and %d people to place", max(sh.Capacity-sh.Occupancy, 0), arriving)
	}
	return nil
}

// anOrder names an order type with its article, for messages.
func anOrder(t string) string {
	if t == "IPO" {
		return "an IPO"
	}
	return "a " + t
}
