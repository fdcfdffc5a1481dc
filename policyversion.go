package lindung

import (
	"context"
	"time"
)

// PolicyVersion is a version of the disclosure policy the hub has run with: every access record names
// the version that decided it, and this says what its rules were and when it was in force, so that a
// disclosure can be traced to the exact rules that allowed it long after the policy changed.
type PolicyVersion struct {
	// Version is the policy's version (a hash of its text), as access records name it.
	Version string
	// FirstStartedAt is when the hub first started with this version: from then on it was in force.
	FirstStartedAt time.Time
	// LastStartedAt is when the hub last started with it; a later version's first start ends it, unless
	// the deployment went back to this one (then LastStartedAt is after that).
	LastStartedAt time.Time
	// Starts counts the hub's starts (of any replica) with this version.
	Starts int
	// Model and Rules are the policy's text: model.conf and policy.csv.
	Model, Rules string
}

// PolicyVersionSession reads the policy versions the hub has run with, oldest first, for the operator.
type PolicyVersionSession interface {
	FindPolicyVersions(ctx context.Context) ([]*PolicyVersion, error)
}
