// Command lindung runs the Lindung hub and its administrative tasks.
//
//	lindung serve [--demo] [--addr :8080]      run the hub (with demo data seeded into an empty database)
//	lindung migrate                            apply database migrations
//	lindung seed --demo [--demo-size N]        load demo data into an empty database
//	lindung token --partner SLUG --role ROLE   print a signed token for a demo or test caller
//	lindung policy check                       lint the policy and print its effective matrix
//
// Configuration comes from flags and the environment: DATABASE_URL, LINDUNG_ADDR, LINDUNG_JWT_SECRET,
// LINDUNG_KEY_FILE, LINDUNG_JWKS_URL, LINDUNG_POLICY_DIR.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/server"
)

const usage = `usage: lindung <command> [flags]

commands:
  serve     run the hub (--demo seeds demo data into an empty database)
  migrate   apply database migrations
  seed      load demo data into an empty database (--demo [--demo-size N])
  token     print a signed token (--partner SLUG --role ROLE [--user NAME] [--ttl 8h])
  policy    policy tools: "policy check" lints the policy and prints its matrix
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = serve(ctx, args)
	case "migrate":
		err = migrate(ctx, args)
	case "seed":
		err = seed(ctx, args)
	case "token":
		err = token(args)
	case "policy":
		err = policyCmd(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "lindung: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lindung %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func databaseURL() string { return env("DATABASE_URL", postgres.DefaultURL) }

func keyFile() string { return env("LINDUNG_KEY_FILE", auth.DefaultKeyFile()) }

func loadPolicy(dir string) (*policy.Policy, error) {
	p, err := policy.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return p, nil
}

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", env("LINDUNG_ADDR", ":8080"), "address to listen on (LINDUNG_ADDR)")
	demoMode := fs.Bool("demo", false, "seed demo data into an empty database, create a signing key if none, allow introspection")
	demoSize := fs.Int("demo-size", 500, "number of demo victims")
	policyDir := fs.String("policy-dir", env("LINDUNG_POLICY_DIR", ""), "directory with model.conf and policy.csv overriding the embedded policy")
	fs.Parse(args)

	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	pol, err := loadPolicy(*policyDir)
	if err != nil {
		return err
	}
	verifier, err := newVerifier(*demoMode)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, databaseURL(), postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if *demoMode {
		if err := seedDemo(ctx, db, *demoSize); err != nil {
			return err
		}
	}
	handler, err := server.New(server.Config{DB: db, Policy: pol, Verifier: verifier, Logger: logger, Demo: *demoMode})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("Lindung is serving on %s\n  GraphiQL: %s/\n  GraphQL:  POST %s/graphql\n  policy version %s\n",
		ln.Addr(), openURL(ln.Addr()), openURL(ln.Addr()), pol.Version())
	if *demoMode {
		fmt.Printf("  get a token: go run ./cmd/lindung token --partner kpwkm --role protection_officer\n")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: stop accepting, let in-flight requests finish, then close the pool (deferred).
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func openURL(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// newVerifier verifies tokens against LINDUNG_JWKS_URL when set (a production identity provider), and
// otherwise against the hub's own HS256 secret.
func newVerifier(create bool) (auth.Verifier, error) {
	if url := os.Getenv("LINDUNG_JWKS_URL"); url != "" {
		return auth.NewJWKSVerifier(url, nil), nil
	}
	secret, err := auth.LoadSecret(os.Getenv("LINDUNG_JWT_SECRET"), keyFile(), create)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w (set LINDUNG_JWT_SECRET, or run serve --demo once to create %s)", err, keyFile())
	}
	return auth.NewHS256Verifier(secret), nil
}

func migrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ExitOnError)
	fs.Parse(args)
	db, err := postgres.Open(ctx, databaseURL(), postgres.Options{})
	if err != nil {
		return err
	}
	db.Close()
	fmt.Println("migrations applied")
	return nil
}

func seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	demoFlag := fs.Bool("demo", false, "load the demo data set")
	size := fs.Int("demo-size", 500, "number of demo victims")
	fs.Parse(args)
	if !*demoFlag {
		return errors.New("say what to seed: --demo")
	}
	db, err := postgres.Open(ctx, databaseURL(), postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	return seedDemo(ctx, db, *size)
}

// seedDemo loads the demo data into an empty hub; a hub that holds data is left as it is.
func seedDemo(ctx context.Context, db *postgres.DB, size int) error {
	if size < 0 || size > 1_000_000 {
		return fmt.Errorf("--demo-size must be between 0 and 1000000")
	}
	empty, err := db.IsEmpty(ctx)
	if err != nil {
		return err
	}
	if !empty {
		fmt.Println("database already holds data; demo data not loaded")
		return nil
	}
	start := time.Now()
	ds := demo.Generate(size, time.Now())
	err = db.Import(ctx, ds, func(table string, rows int) {
		fmt.Printf("  loaded %6d rows into %s\n", rows, table)
	})
	if err != nil {
		return err
	}
	fmt.Printf("demo data loaded: %d victims in %s\n", len(ds.Victims), time.Since(start).Round(time.Millisecond))
	return nil
}

func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ExitOnError)
	partner := fs.String("partner", "", "partner slug, e.g. kpwkm")
	role := fs.String("role", "", "role, e.g. protection_officer")
	user := fs.String("user", "", "user name (default ROLE@PARTNER, the demo users)")
	ttl := fs.Duration("ttl", 8*time.Hour, "how long the token is valid")
	partnerType := fs.String("partner-type", "", "partner type claim (optional; checked against the hub's records)")
	fs.Parse(args)
	if *partner == "" || *role == "" {
		return errors.New("--partner and --role are required, e.g. --partner kpwkm --role protection_officer")
	}
	pol, err := loadPolicy(env("LINDUNG_POLICY_DIR", ""))
	if err != nil {
		return err
	}
	if !pol.KnowsRole(*role) {
		return fmt.Errorf("unknown role %q; the policy knows %s", *role, strings.Join(pol.Roles(), ", "))
	}
	if *user == "" {
		*user = demo.DemoUsername(*role, *partner)
	}
	secret, err := auth.LoadSecret(os.Getenv("LINDUNG_JWT_SECRET"), keyFile(), true)
	if err != nil {
		return err
	}
	tok, err := auth.NewIssuer(secret).Issue(auth.Claims{Subject: *user, Partner: *partner,
		PartnerType: lindung.PartnerType(*partnerType), Roles: []string{*role}}, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

func policyCmd(args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return errors.New(`usage: lindung policy check [--policy-dir DIR]`)
	}
	fs := flag.NewFlagSet("policy check", flag.ExitOnError)
	dir := fs.String("policy-dir", env("LINDUNG_POLICY_DIR", ""), "directory with model.conf and policy.csv")
	fs.Parse(args[1:])
	pol, err := loadPolicy(*dir)
	if err != nil {
		return err
	}
	fmt.Printf("policy %s: OK\n\n", pol.Version())
	pol.WriteMatrix(os.Stdout)
	return nil
}
