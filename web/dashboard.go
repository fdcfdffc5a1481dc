package web

import (
	"embed"
	"io/fs"
	"net/http"
)

// The ministry dashboard: a page that draws the statistics API's panels with Chart.js, served like
// GraphiQL (same handler, same Content-Security-Policy: scripts, styles and connections from the same
// origin only). The Chart.js bundle is copied into dashboard/static by dashboard/build.sh from the version
// pinned in dashboard/package.json, and embedded: nothing is loaded from a CDN at run time.
//
//	GET /                         dashboard/static/index.html
//	GET /assets/dashboard.js      the page: fetches the statistics from ../graphql
//	GET /assets/dashboard.css     layout
//	GET /assets/vendor/...        Chart.js UMD build and its licence
//
// The server mounts it under /dashboard/.

//go:embed dashboard/static
var dashboardFiles embed.FS

// Dashboard returns the handler that serves the dashboard page and its assets.
func Dashboard() http.Handler {
	sub, err := fs.Sub(dashboardFiles, "dashboard")
	if err == nil {
		var h *handler
		if h, err = newHandler(sub); err == nil {
			return h
		}
	}
	// The files are embedded at compile time; failing here is a build bug.
	panic("web: dashboard: " + err.Error())
}
