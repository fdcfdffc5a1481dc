package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung/postgres"
)

// demoRole is the runtime login that `serve --demo` makes for itself on a local server, named apart from
// the lindung_runtime of docs/deploying.md so that a demo never changes a real hub's login.
const demoRole = "lindung_demo"

// demoLogins keeps `serve --demo` a one-command quick start. When DATABASE_URL logs in as a superuser on
// a local server (the default), that login becomes the owner that migrates and seeds, and serve gives
// the demo's runtime login a fresh random password and serves through it: the hub never serves as the
// superuser, even in a demo. Any other DATABASE_URL is taken as the runtime login, unchanged, with no
// owner (give LINDUNG_MIGRATE_DATABASE_URL to migrate and seed).
func demoLogins(ctx context.Context, databaseURL string) (runtimeURL, ownerURL string, err error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", "", fmt.Errorf("DATABASE_URL: %w", err)
	}
	server := *u
	server.Path = "/postgres" // the hub's database may not exist yet
	conn, err := pgx.Connect(ctx, server.String())
	if err != nil {
		// Name the database the hub was given, not the server's maintenance database this connects to.
		return "", "", describeDatabaseError("DATABASE_URL", databaseURL, fmt.Errorf("cannot reach its server: %w", err))
	}
	defer conn.Close(ctx)
	var super bool
	if err := conn.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		return "", "", fmt.Errorf("check the database login: %w", err)
	}
	if !super {
		return databaseURL, "", nil
	}
	if !localHost(conn.Config().Host) {
		return "", "", errors.New("serve --demo makes its own runtime login only on a local server; for " +
			conn.Config().Host + " create the owner and runtime logins (docs/operating.md) and set " +
			"DATABASE_URL and LINDUNG_MIGRATE_DATABASE_URL")
	}
	runtimeURL, err = postgres.CreateRuntimeLogin(ctx, databaseURL, demoRole)
	if err != nil {
		return "", "", err
	}
	return runtimeURL, databaseURL, nil
}

// localHost reports whether host is this machine: a loopback name or address, or a Unix socket directory.
func localHost(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.") || strings.HasPrefix(host, "/")
}
