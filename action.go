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
)
