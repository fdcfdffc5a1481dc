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
)

// Actions lists every action.
func Actions() []Action {
	return []Action{ActionAdminister, ActionRegisterVictims, ActionSeeShelters}
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
