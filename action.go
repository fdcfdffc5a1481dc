package lindung

// Action is something a role may do beyond reading: the policy grants actions per role, and mutations
// ask the request's Decision before they write.
type Action string

// The actions.
const (
	// ActionAdminister: register partners, users and shelters. The hub operator's, who sees no victim data.
	ActionAdminister Action = "administer"
	// ActionRegisterVictims: register victims and edit their records, within the role's row scope.
	ActionRegisterVictims Action = "register_victims"
	// ActionSeeShelters: list shelters and their occupancy. A place of refuge is where victims hide from
	// their traffickers: employers, who need no shelter, are not told where they are.
	ActionSeeShelters Action = "see_shelters"
	// ActionRecordConsent: record a victim's consent and its withdrawal. The officer who explains it.
	ActionRecordConsent Action = "record_consent"
	// ActionReferVictims: refer a victim to a partner for a service, and withdraw the referral.
	ActionReferVictims Action = "refer_victims"
	// ActionAnswerReferrals: accept, reject and complete the referrals made to the caller's partner.
	ActionAnswerReferrals Action = "answer_referrals"
	// ActionManageOrders: record protection orders, extend and end them.
	ActionManageOrders Action = "manage_orders"
	// ActionPlaceVictims: place victims in shelters, move them and end their stay.
	ActionPlaceVictims Action = "place_victims"
	// ActionRecordServices: request, schedule and record services and family contact, within the scope.
	ActionRecordServices Action = "record_services"
	// ActionDecideEligibility: decide a victim's permission to work and issue or revoke eligibility codes.
	ActionDecideEligibility Action = "decide_eligibility"
	// ActionCheckEligibility: check an eligibility code, and learn nothing else. The employer's only action.
	ActionCheckEligibility Action = "check_eligibility"
	// ActionSeeStatistics: read the aggregate statistics (counts per category, never a case row), with
	// small counts suppressed. The ministry analyst's.
	ActionSeeStatistics Action = "see_statistics"
	// ActionExactCounts: read the statistics without suppression or rounding. Granted to no role by default:
	// exact small counts can single a person out, so a deployment grants it only to a vetted role (e.g. a
	// statistical office under a data-sharing agreement) by a p3 row.
	ActionExactCounts Action = "exact_counts"
	// ActionReadSchema: read the schema, by introspection or as a federation subgraph's SDL (_service), when
	// introspection is off for partners. The hub operator's, and the supergraph router's, which composes
	// the supergraph from it (docs/federation.md); it discloses no data.
	ActionReadSchema Action = "read_schema"
	// ActionOpenEmergency: open break-glass access to one victim's named categories, with a reason, for a
	// bounded time (docs/access.md, Break-glass).
	ActionOpenEmergency Action = "open_emergency"
	// ActionApproveEmergency: approve another user's emergency grant where the policy requires a second
	// approver.
	ActionApproveEmergency Action = "approve_emergency"
	// ActionReviewEmergency: list every emergency grant with the reads made under it, and close its review.
	ActionReviewEmergency Action = "review_emergency"
)

// Actions lists every action.
func Actions() []Action {
	return []Action{ActionAdminister, ActionRegisterVictims, ActionSeeShelters, ActionRecordConsent,
		ActionReferVictims, ActionAnswerReferrals, ActionManageOrders, ActionPlaceVictims, ActionRecordServices,
		ActionDecideEligibility, ActionCheckEligibility, ActionSeeStatistics, ActionExactCounts, ActionReadSchema,
		ActionOpenEmergency, ActionApproveEmergency, ActionReviewEmergency}
}

// Valid reports whether a is one of the actions.
func (a Action) Valid() bool {
	for _, b := range Actions() {
		if a == b {
			return true
		}
	}
	return false
}
