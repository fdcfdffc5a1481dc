package lindung

import "context"

// Viewer is who a request runs on behalf of, as established by authentication: the user, the partner they
// act for, that partner's type, their roles and the purpose they declared.
type Viewer struct {
	UserID      string // the user's id in the hub, when the user is known to it
	Username    string // the token's subject
	PartnerID   string
	PartnerSlug string
	PartnerName string
	PartnerType PartnerType
	Roles       []string
	Purpose     Purpose
}

// HasRole reports whether the viewer holds role.
func (v *Viewer) HasRole(role string) bool {
	for _, r := range v.Roles {
		if r == role {
			return true
		}
	}
	return false
}

type viewerKey struct{}

// WithViewer returns a context that carries v.
func WithViewer(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer carried by ctx, or nil when the request is not authenticated.
func ViewerFrom(ctx context.Context) *Viewer {
	v, _ := ctx.Value(viewerKey{}).(*Viewer)
	return v
}
