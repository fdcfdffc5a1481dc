// Command lindung runs the Lindung hub and its administrative tasks.
//
//	lindung serve [--demo] [--addr :8080]      run the hub (with demo data seeded into an empty database)
//	lindung migrate [--database-url URL]        apply database migrations through the owner login
//	lindung seed --demo [--demo-size N]        load demo data into an empty database
//	lindung token --partner SLUG --role ROLE   print a signed token for a demo or test caller
//	lindung policy check                       lint the policy and print its effective matrix
//	lindung policy test FILE...                check assertion files (policy/assertions.yaml) against it
//	lindung policy diff OLD_DIR NEW_DIR        print what a policy change changes for whom
//	lindung retention [--dry-run]              apply the retention rules (docs/operating.md)
//	lindung audit verify|checkpoint|key        check the access log against its checkpoints (docs/audit-log.md)
//
// Configuration comes from flags and the environment: DATABASE_URL (the runtime login serve connects
// as), LINDUNG_MIGRATE_DATABASE_URL (the owner login that migrate, seed and retention use), LINDUNG_ADDR, LINDUNG_JWT_SECRET,
// LINDUNG_KEY_FILE, LINDUNG_JWKS_URL, LINDUNG_POLICY_DIR, LINDUNG_OTLP_ENDPOINT, LINDUNG_LOG_LEVEL,
// LINDUNG_DB_MAX_CONNS, LINDUNG_DB_ACQUIRE_TIMEOUT, LINDUNG_RETENTION_*, LINDUNG_LOG_KEY, LINDUNG_LOG_KEY_FILE,
// LINDUNG_LOG_ORIGIN, LINDUNG_CHECKPOINT_INTERVAL, LINDUNG_SEQUENCE_HORIZON, and the request limits of `serve -h`
// (LINDUNG_MAX_DEPTH, LINDUNG_USER_RATE, LINDUNG_TRUSTED_DOCUMENTS and the like).
// Tokens: LINDUNG_JWKS_ISSUER and LINDUNG_JWKS_AUDIENCE (required with LINDUNG_JWKS_URL),
// LINDUNG_TOKEN_LEEWAY and LINDUNG_TOKEN_MAX_LIFETIME.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/resolvers"
	"github.com/lindung/lindung/server"
	"github.com/lindung/lindung/telemetry"
)

const usage = `usage: lindung <command> [flags]

commands:
  serve     run the hub (--demo seeds demo data into an empty database)
  migrate   apply database migrations through the owner login (--database-url, LINDUNG_MIGRATE_DATABASE_URL)
  seed      load demo data into an empty database (--demo [--demo-size N])
  token     print a signed token (--partner SLUG --role ROLE [--user NAME] [--ttl 8h])
  version   print the build version (also --version)
  policy    policy tools: "policy check" lints the policy and prints its matrix, "policy test FILE..."
            checks assertion files, "policy diff OLD_DIR NEW_DIR" prints what changes for whom
  retention apply the retention rules in one transaction (--dry-run prints the counts and changes nothing)
  audit     the access log: "audit verify" checks it against its signed checkpoints, "audit checkpoint"
            publishes one now, "audit key" prints the log's public key
  init      register the operator partner and the first operator user on a new hub (--user NAME)
  directory "directory apply [--dry-run] FILE" makes a directory file of partners, users and roles true

every command's --help lists its flags and the environment variables it reads; docs/deploying.md is the
guide from an empty database to a hub in production.
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
	case "retention":
		err = retention(ctx, args)
	case "audit":
		err = auditCmd(ctx, args, os.Stdout)
	case "init":
		err = initHub(ctx, args)
	case "directory":
		err = directoryCmd(ctx, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	case "version", "--version", "-version":
		fmt.Println("lindung", buildVersion())
	default:
		fmt.Fprintf(os.Stderr, "lindung: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
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

// envInt reads a whole number from the environment, def when unset. A malformed value stops the program,
// so that a typo cannot silently weaken disclosure control.
func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lindung: %s=%q is not a number\n", name, v)
		os.Exit(2)
	}
	return n
}

// envFloat reads a number from the environment, def when unset; a malformed value stops the program.
func envFloat(name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lindung: %s=%q is not a number\n", name, v)
		os.Exit(2)
	}
	return n
}

// limitFlags declares the request limits of serve, each with its environment variable, and returns the
// configuration they fill once the flags are parsed.
func limitFlags(fs *flag.FlagSet) (*server.Limits, *server.RateLimits, *int64) {
	l, r := server.DefaultLimits, server.DefaultRateLimits
	intFlag := func(p *int, name, variable, usage string) {
		fs.IntVar(p, name, envInt(variable, *p), usage+" ("+variable+"; -1 turns it off)")
	}
	intFlag(&l.MaxTokens, "max-tokens", "LINDUNG_MAX_TOKENS", "most tokens in a GraphQL document")
	intFlag(&l.MaxDepth, "max-depth", "LINDUNG_MAX_DEPTH", "deepest nesting of fields, through fragments")
	intFlag(&l.MaxAliases, "max-aliases", "LINDUNG_MAX_ALIASES", "most aliases in an operation")
	intFlag(&l.MaxDirectives, "max-directives", "LINDUNG_MAX_DIRECTIVES", "most directives in an operation")
	intFlag(&l.MaxCost, "max-cost", "LINDUNG_MAX_COST", "highest estimated cost of an operation")
	fs.IntVar(&l.ListSize, "cost-list-size", envInt("LINDUNG_COST_LIST_SIZE", l.ListSize), "size the cost assumes for a list without a page size (LINDUNG_COST_LIST_SIZE)")
	rateFlag := func(p *float64, name, variable, usage string) {
		fs.Float64Var(p, name, envFloat(variable, *p), usage+" ("+variable+"; -1 turns it off)")
	}
	burstFlag := func(p *int, name, variable, usage string) {
		fs.IntVar(p, name, envInt(variable, *p), usage+" ("+variable+")")
	}
	rateFlag(&r.UserRate, "user-rate", "LINDUNG_USER_RATE", "requests a second per user")
	burstFlag(&r.UserBurst, "user-burst", "LINDUNG_USER_BURST", "requests per user at once")
	rateFlag(&r.PartnerRate, "partner-rate", "LINDUNG_PARTNER_RATE", "requests a second per partner")
	burstFlag(&r.PartnerBurst, "partner-burst", "LINDUNG_PARTNER_BURST", "requests per partner at once")
	rateFlag(&r.EligibilityRate, "eligibility-rate", "LINDUNG_ELIGIBILITY_RATE", "eligibility checks a second per partner")
	burstFlag(&r.EligibilityBurst, "eligibility-burst", "LINDUNG_ELIGIBILITY_BURST", "eligibility checks per partner at once, and per request")
	body := fs.Int64("max-body-bytes", int64(envInt("LINDUNG_MAX_BODY_BYTES", 1<<20)), "largest request body in bytes (LINDUNG_MAX_BODY_BYTES)")
	return &l, &r, body
}

// trustedDocuments loads the allow-list of documents and the partner types held to it.
func trustedDocuments(file, forTypes string) (*server.TrustedDocuments, []lindung.PartnerType, error) {
	var types []lindung.PartnerType
	for _, t := range strings.Split(forTypes, ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, lindung.PartnerType(strings.ToUpper(t)))
		}
	}
	if file == "" {
		return nil, types, nil
	}
	docs, err := server.LoadTrustedDocuments(file)
	return docs, types, err
}

// databaseURL is the runtime login's: the one serve connects as, which owns nothing.
func databaseURL() string { return env("DATABASE_URL", postgres.DefaultURL) }

// migrateURL is the owner login's, through which migrate, seed and retention work. Without
// LINDUNG_MIGRATE_DATABASE_URL it is DATABASE_URL, which suits a developer's superuser default; serve
// never falls back this way (see serve).
func migrateURL() string { return env("LINDUNG_MIGRATE_DATABASE_URL", databaseURL()) }

func keyFile() string { return env("LINDUNG_KEY_FILE", auth.DefaultKeyFile()) }

func loadPolicy(dir string) (*policy.Policy, error) {
	p, err := policy.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return p, nil
}

func serve(ctx context.Context, args []string) error {
	fs := newFlagSet("serve", "run the hub: GraphQL on /graphql, /healthz, /readyz and /metrics",
		"DATABASE_URL (the runtime login serve connects as)", "LINDUNG_KEY_FILE or LINDUNG_JWT_SECRET (the HS256 key, without --jwks-url)")
	addr := fs.String("addr", env("LINDUNG_ADDR", ":8080"), "address to listen on (LINDUNG_ADDR)")
	demoMode := fs.Bool("demo", false, "seed demo data into an empty database, create a signing key if none, allow introspection")
	demoSize := fs.Int("demo-size", 500, "number of demo victims")
	tokens := tokenFlags(fs)
	policyDir := fs.String("policy-dir", env("LINDUNG_POLICY_DIR", ""), "directory with model.conf and policy.csv overriding the embedded policy (LINDUNG_POLICY_DIR)")
	statsK := fs.Int("stats-k", envInt("LINDUNG_STATS_K", 5), "statistics: suppress counts from 1 to k-1 (LINDUNG_STATS_K; CTDC publishes with 11)")
	orderLimits := fs.String("order-limits", env("LINDUNG_ORDER_LIMITS", ""), "protection order limits in days, e.g. IPO=21,PO=90,IPO_EXTENSION=0,PO_EXTENSION=90 (LINDUNG_ORDER_LIMITS; default: Act 670's)")
	statsRound := fs.Int("stats-round", envInt("LINDUNG_STATS_ROUND", 0), "statistics: round published counts to this base, at most k; 0 takes 5 (at most k), 1 turns rounding off (LINDUNG_STATS_ROUND)")
	limits, rates, maxBody := limitFlags(fs)
	maxReps := fs.Int("max-representations", envInt("LINDUNG_MAX_REPRESENTATIONS", resolvers.DefaultMaxRepresentations), "most representations of one entity type a federation _entities call resolves; past it each is null with one LIMIT_EXCEEDED error (LINDUNG_MAX_REPRESENTATIONS)")
	trustedFile := fs.String("trusted-documents", env("LINDUNG_TRUSTED_DOCUMENTS", ""), "JSON file of sha256 hex -> GraphQL document: the trusted documents (LINDUNG_TRUSTED_DOCUMENTS)")
	trustedFor := fs.String("trusted-for", env("LINDUNG_TRUSTED_FOR", ""), "comma-separated partner types that may run only trusted documents, e.g. PRIVATE,NGO (LINDUNG_TRUSTED_FOR)")
	otlp := fs.String("otlp-endpoint", env("LINDUNG_OTLP_ENDPOINT", ""), "OTLP/HTTP endpoint for traces, e.g. http://collector:4318 (LINDUNG_OTLP_ENDPOINT); tracing is also on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, and the other OTEL_* variables apply (README, Tracing)")
	logLevel := fs.String("log-level", env("LINDUNG_LOG_LEVEL", "info"), "debug, info, warn or error (LINDUNG_LOG_LEVEL)")
	maxConns := fs.Int("db-max-conns", envInt("LINDUNG_DB_MAX_CONNS", 0), "most database connections of this replica; 0 is max(4, CPUs) (LINDUNG_DB_MAX_CONNS)")
	interval := fs.Duration("checkpoint-interval", envDuration("LINDUNG_CHECKPOINT_INTERVAL", server.DefaultCheckpointInterval), "how often the access log is sequenced and a checkpoint signed (LINDUNG_CHECKPOINT_INTERVAL)")
	horizon := fs.Duration("sequence-horizon", envDuration("LINDUNG_SEQUENCE_HORIZON", postgres.DefaultSequenceHorizon), "longer than any request transaction stays open; see docs/audit-log.md (LINDUNG_SEQUENCE_HORIZON)")
	ownerURL := fs.String("migrate-database-url", env("LINDUNG_MIGRATE_DATABASE_URL", ""), "the owner login: when set, serve creates the database and applies pending migrations through it before serving; when not, the schema must be current (LINDUNG_MIGRATE_DATABASE_URL)")
	acquire := fs.Duration("db-acquire-timeout", envDuration("LINDUNG_DB_ACQUIRE_TIMEOUT", postgres.DefaultAcquireTimeout), "longest wait for a free database connection before a request gets UNAVAILABLE (LINDUNG_DB_ACQUIRE_TIMEOUT)")
	dbWait := fs.Duration("db-wait", envDuration("LINDUNG_DB_WAIT", time.Minute), "how long serve waits for the database at start, retrying and logging each failure, before it gives up (LINDUNG_DB_WAIT; 0 tries once)")
	drain := fs.Duration("drain", envDuration("LINDUNG_DRAIN", 10*time.Second), "on SIGTERM, how long /readyz reports not ready while requests are still served, before the listener closes (LINDUNG_DRAIN)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	server.TuneGC()
	tp, shutdownTracing, err := telemetry.Tracing(ctx, *otlp)
	if err != nil {
		return err
	}
	defer shutdownTracing(context.WithoutCancel(ctx))
	dbOpts := postgres.Options{MaxConns: int32(*maxConns), AcquireTimeout: *acquire}
	if _, off := tp.(noop.TracerProvider); !off {
		dbOpts.Tracer = telemetry.SQLTracer(tp)
	}
	pol, err := loadPolicy(*policyDir)
	if err != nil {
		return err
	}
	orders, err := lindung.ParseOrderLimits(*orderLimits)
	if err != nil {
		return fmt.Errorf("--order-limits: %w", err)
	}
	trusted, trustedTypes, err := trustedDocuments(*trustedFile, *trustedFor)
	if err != nil {
		return err
	}
	verifier, err := newVerifier(*tokens, *demoMode)
	if err != nil {
		return err
	}
	runtimeURL := databaseURL()
	if *demoMode && *ownerURL == "" {
		// The quick start: a superuser DATABASE_URL on a local server becomes the owner, and serve makes
		// itself a runtime login to serve through.
		if runtimeURL, *ownerURL, err = demoLogins(ctx, runtimeURL); err != nil {
			return err
		}
	}
	if *ownerURL != "" {
		if err := waitForDatabase(ctx, logger, *dbWait, "LINDUNG_MIGRATE_DATABASE_URL", *ownerURL, func() error {
			return migrateAndSync(ctx, *ownerURL, pol, nil)
		}); err != nil {
			return err
		}
		if *demoMode {
			if err := migrateAndSync(ctx, *ownerURL, pol, func(owner *postgres.DB) error { return seedDemo(ctx, owner, *demoSize) }); err != nil {
				return err
			}
		}
	}
	var db *postgres.DB
	if err := waitForDatabase(ctx, logger, *dbWait, "DATABASE_URL", runtimeURL, func() error {
		var err error
		if db, err = postgres.Open(ctx, runtimeURL, dbOpts); err != nil {
			return err
		}
		if err := db.CheckLogin(ctx); err != nil {
			db.Close()
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	defer db.Close()
	// Before serving, so that every version an access record names is in policy_versions.
	model, rules := pol.Text()
	if err := db.RecordPolicyVersion(ctx, pol.Version(), model, rules); err != nil {
		return fmt.Errorf("record the policy version: %w", err)
	}
	// The log key is checked once the login is: a hub that may not serve needs no key.
	logKey, err := loadLogKey(*demoMode)
	if err != nil {
		return err
	}
	sequencer := &server.Sequencer{DB: db, Key: logKey, Interval: *interval, Horizon: *horizon, Logger: logger}
	seqCtx, stopSequencer := context.WithCancel(ctx)
	defer stopSequencer()
	go sequencer.Run(seqCtx)
	handler, err := server.New(server.Config{DB: db, Policy: pol, Verifier: verifier, Logger: logger, Demo: *demoMode, Version: buildVersion(),
		MaxBodyBytes: *maxBody, Limits: *limits, RateLimits: *rates, TrustedDocuments: trusted, TrustedFor: trustedTypes,
		StatisticsK: *statsK, StatisticsRounding: *statsRound, Tracer: tp, OrderLimits: orders,
		MaxRepresentations: *maxReps, Checkpoints: sequencer})
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
	fmt.Printf("Lindung %s is serving on %s\n  GraphiQL: %s/\n  GraphQL:  POST %s/graphql\n  portal:   %s/portal/\n  policy version %s\n  tokens: %s\n",
		buildVersion(), ln.Addr(), openURL(ln.Addr()), openURL(ln.Addr()), openURL(ln.Addr()), pol.Version(), keyDescription)
	fmt.Printf("  access log %s, public key %s\n", logKey.Signer.Name(), logKey.PublicKey)
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
	// Graceful shutdown: report not ready while still serving, so that the load balancer sends no new
	// requests; then stop accepting, let in-flight requests finish, and close the pool (deferred).
	logger.Info("draining: /readyz reports not ready", "drain", drain.String())
	handler.Drain()
	select {
	case <-time.After(*drain):
	case err := <-errc:
		return err
	}
	logger.Info("shutting down: no new connections; finishing requests in flight")
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

// tokenConfig is how serve verifies tokens.
type tokenConfig struct {
	jwksURL, issuer, audience string
	leeway, maxLifetime       time.Duration
	claims                    auth.ClaimNames
}

// tokenFlags declares the token verification flags of serve, each with its environment variable.
func tokenFlags(fs *flag.FlagSet) *tokenConfig {
	c := &tokenConfig{}
	fs.StringVar(&c.jwksURL, "jwks-url", env("LINDUNG_JWKS_URL", ""), "identity provider's JSON Web Key Set; unset verifies tokens with the hub's HS256 secret (LINDUNG_JWKS_URL)")
	fs.StringVar(&c.issuer, "jwks-issuer", env("LINDUNG_JWKS_ISSUER", ""), "the iss every JWKS-verified token must carry; required with --jwks-url (LINDUNG_JWKS_ISSUER)")
	fs.StringVar(&c.audience, "jwks-audience", env("LINDUNG_JWKS_AUDIENCE", ""), "the aud every JWKS-verified token must include; required with --jwks-url (LINDUNG_JWKS_AUDIENCE)")
	fs.DurationVar(&c.leeway, "token-leeway", envDuration("LINDUNG_TOKEN_LEEWAY", auth.DefaultLeeway), "clock skew tolerated on a token's exp, nbf and iat (LINDUNG_TOKEN_LEEWAY)")
	fs.DurationVar(&c.maxLifetime, "token-max-lifetime", maxTokenLifetime(), "longest lifetime (exp - iat) a token may have (LINDUNG_TOKEN_MAX_LIFETIME)")
	d := auth.DefaultClaimNames
	fs.StringVar(&c.claims.User, "claim-user", env("LINDUNG_CLAIM_USER", d.User), "identity provider's claim holding the username, e.g. preferred_username (LINDUNG_CLAIM_USER)")
	fs.StringVar(&c.claims.Partner, "claim-partner", env("LINDUNG_CLAIM_PARTNER", d.Partner), "identity provider's claim holding the partner's slug; dotted for nested claims (LINDUNG_CLAIM_PARTNER)")
	fs.StringVar(&c.claims.PartnerType, "claim-partner-type", env("LINDUNG_CLAIM_PARTNER_TYPE", d.PartnerType), "identity provider's claim holding the partner type, if any (LINDUNG_CLAIM_PARTNER_TYPE)")
	fs.StringVar(&c.claims.Roles, "claim-roles", env("LINDUNG_CLAIM_ROLES", d.Roles), "identity provider's claim holding the list of roles, e.g. resource_access.lindung.roles for Keycloak (LINDUNG_CLAIM_ROLES); the hub's user record still bounds them")
	return c
}

// maxTokenLifetime is the configured longest token lifetime, which `token` also holds its --ttl to.
func maxTokenLifetime() time.Duration {
	return envDuration("LINDUNG_TOKEN_MAX_LIFETIME", auth.DefaultMaxLifetime)
}

// newVerifier verifies tokens against the JWKS URL when one is set (a production identity provider), with
// the issuer and audience it must name, and otherwise against the hub's own HS256 secret.
func newVerifier(c tokenConfig, create bool) (auth.Verifier, error) {
	if c.leeway < 0 || c.leeway > 5*time.Minute {
		return nil, fmt.Errorf("--token-leeway (LINDUNG_TOKEN_LEEWAY) is %s; it must be between 0s and 5m", c.leeway)
	}
	if c.maxLifetime <= 0 {
		return nil, fmt.Errorf("--token-max-lifetime (LINDUNG_TOKEN_MAX_LIFETIME) is %s; it must be positive", c.maxLifetime)
	}
	opts := []auth.Option{auth.WithLeeway(c.leeway), auth.WithMaxLifetime(c.maxLifetime)}
	if c.jwksURL != "" {
		if c.issuer == "" || c.audience == "" {
			return nil, errors.New("a JWKS URL is set but not the issuer and audience its tokens must carry: " +
				"set --jwks-issuer (LINDUNG_JWKS_ISSUER) and --jwks-audience (LINDUNG_JWKS_AUDIENCE); " +
				"without them any token the identity provider signs, for any tenant or service, would be accepted")
		}
		return auth.NewJWKSVerifier(c.jwksURL, nil, append(opts, auth.WithIssuer(c.issuer), auth.WithAudience(c.audience),
			auth.WithClaimNames(c.claims))...)
	}
	secret, err := auth.LoadSecret(os.Getenv("LINDUNG_JWT_SECRET"), keyFile(), create)
	if err != nil {
		return nil, fmt.Errorf("token key: %w. Set LINDUNG_JWT_SECRET or LINDUNG_KEY_FILE to the hub's HS256 key "+
			"(`openssl rand -hex 32`), or verify your identity provider's tokens with --jwks-url (docs/deploying.md)", err)
	}
	keyDescription = describeKey(secret)
	return auth.NewHS256Verifier(secret, opts...), nil
}

func migrate(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate", "apply pending database migrations through the owner login", "LINDUNG_MIGRATE_DATABASE_URL (else DATABASE_URL)")
	url := fs.String("database-url", migrateURL(), "the owner login, which creates and then owns every table and function (default LINDUNG_MIGRATE_DATABASE_URL, else DATABASE_URL)")
	policyDir := fs.String("policy-dir", env("LINDUNG_POLICY_DIR", ""), "directory with model.conf and policy.csv: the policy whose statistics bases the database keeps (LINDUNG_POLICY_DIR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pol, err := loadPolicy(*policyDir)
	if err != nil {
		return err
	}
	if err := migrateAndSync(ctx, *url, pol, nil); err != nil {
		return err
	}
	fmt.Println("migrations applied; statistics bases of policy", pol.Version(), "stored")
	return nil
}

// migrateAndSync applies pending migrations through the owner login, stores the policy's statistics
// bases (which only the owner may write), and runs then, when given, with the owner's store.
func migrateAndSync(ctx context.Context, ownerURL string, pol *policy.Policy, then func(*postgres.DB) error) error {
	owner, err := postgres.Open(ctx, ownerURL, postgres.Options{MaxConns: 2, MigrateURL: ownerURL})
	if err != nil {
		return err
	}
	defer owner.Close()
	if err := owner.SetStatisticsBases(ctx, statisticsBases(pol)); err != nil {
		return err
	}
	if then != nil {
		return then(owner)
	}
	return nil
}

// statisticsBases gives, for each role of the policy that may see statistics, the categories it opens
// for the STATISTICS purpose on each basis.
func statisticsBases(pol *policy.Policy) map[string]postgres.StatisticsBases {
	out := map[string]postgres.StatisticsBases{}
	for _, role := range pol.Roles() {
		d, err := pol.Decide([]string{role}, lindung.PurposeStatistics)
		if err != nil || !d.May(lindung.ActionSeeStatistics) {
			continue // the purpose is not open to the role, or the role may not see statistics
		}
		legal, consent := d.Grants()
		out[role] = postgres.StatisticsBases{Legal: legal, Consent: consent}
	}
	return out
}

func seed(ctx context.Context, args []string) error {
	fs := newFlagSet("seed", "load the demo data set into an empty database", "LINDUNG_MIGRATE_DATABASE_URL (else DATABASE_URL)")
	demoFlag := fs.Bool("demo", false, "load the demo data set")
	size := fs.Int("demo-size", 500, "number of demo victims")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*demoFlag {
		return errors.New("say what to seed: --demo")
	}
	// Through the owner login, which migrates first: the data set spans every partner's scope.
	db, err := postgres.Open(ctx, migrateURL(), postgres.Options{MigrateURL: migrateURL()})
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
	fs := newFlagSet("token", "print a token signed with the hub's HS256 key, for a registered user (serve must verify with the same key)",
		"LINDUNG_JWT_SECRET or LINDUNG_KEY_FILE (the key serve uses; token never creates one)", "LINDUNG_TOKEN_MAX_LIFETIME", "LINDUNG_POLICY_DIR")
	partner := fs.String("partner", "", "partner slug, e.g. kpwkm")
	role := fs.String("role", "", "role, e.g. protection_officer")
	user := fs.String("user", "", "user name (default ROLE@PARTNER, the demo users)")
	ttl := fs.Duration("ttl", 8*time.Hour, "how long the token is valid, at most the hub's maximum (LINDUNG_TOKEN_MAX_LIFETIME, default 12h)")
	partnerType := fs.String("partner-type", "", "partner type claim (optional; checked against the hub's records)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *partner == "" || *role == "" {
		return errors.New("--partner and --role are required, e.g. --partner kpwkm --role protection_officer")
	}
	if limit := maxTokenLifetime(); *ttl > limit {
		return fmt.Errorf("--ttl %s is longer than the hub's maximum token lifetime of %s (LINDUNG_TOKEN_MAX_LIFETIME): the hub would refuse the token", *ttl, limit)
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
	// Never create a key here: a new key would sign tokens the running hub refuses.
	secret, err := auth.LoadSecret(os.Getenv("LINDUNG_JWT_SECRET"), keyFile(), false)
	if err != nil {
		return fmt.Errorf("%w. token signs with the key serve verifies with: set the same LINDUNG_JWT_SECRET or "+
			"LINDUNG_KEY_FILE as serve (a demo hub's serve --demo writes %s)", err, keyFile())
	}
	fmt.Fprintf(os.Stderr, "signed with %s; serve prints the key it verifies with at start\n", describeKey(secret))
	tok, err := auth.NewIssuer(secret).Issue(auth.Claims{Subject: *user, Partner: *partner,
		PartnerType: lindung.PartnerType(*partnerType), Roles: []string{*role}}, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

// envDuration reads a duration (such as 5s or 2160h) from the environment, def when unset; a malformed
// value stops the program.
func envDuration(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lindung: %s=%q is not a duration\n", name, v)
		os.Exit(2)
	}
	return d
}

// retention applies the retention rules, or with --dry-run prints what they would touch: counts per
// table, never a record.
func retention(ctx context.Context, args []string) error {
	fs := newFlagSet("retention", "apply the retention rules in one transaction", "LINDUNG_MIGRATE_DATABASE_URL (else DATABASE_URL)")
	dry := fs.Bool("dry-run", false, "print what would be erased or deleted, per table, and change nothing")
	r := postgres.DefaultRetention
	fs.DurationVar(&r.Cases, "cases", envDuration("LINDUNG_RETENTION_CASES", r.Cases), "erase the personal data of cases inactive this long (LINDUNG_RETENTION_CASES)")
	fs.DurationVar(&r.LegalHold, "legal-hold", envDuration("LINDUNG_RETENTION_LEGAL_HOLD", r.LegalHold), "hold cases with a protection order that ran within this period (LINDUNG_RETENTION_LEGAL_HOLD); PROSECUTING cases are always held")
	fs.DurationVar(&r.EligibilityCodes, "eligibility-codes", envDuration("LINDUNG_RETENTION_ELIGIBILITY_CODES", r.EligibilityCodes), "delete eligibility codes expired or revoked this long ago (LINDUNG_RETENTION_ELIGIBILITY_CODES)")
	fs.DurationVar(&r.IdempotencyKeys, "idempotency-keys", envDuration("LINDUNG_RETENTION_IDEMPOTENCY_KEYS", r.IdempotencyKeys), "delete idempotency keys older than this (LINDUNG_RETENTION_IDEMPOTENCY_KEYS)")
	fs.DurationVar(&r.Audit, "audit", envDuration("LINDUNG_RETENTION_AUDIT", r.Audit), "report audit records older than this as due for archiving; they are never deleted (LINDUNG_RETENTION_AUDIT)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Through the owner login: retention reads and erases across every scope.
	db, err := postgres.Open(ctx, migrateURL(), postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	counts, err := db.Retention(ctx, r, *dry)
	if err != nil {
		return err
	}
	if *dry {
		fmt.Println("dry run: nothing was changed; a real run would touch:")
	} else {
		fmt.Println("retention applied in one transaction:")
	}
	for _, c := range counts {
		fmt.Printf("  %-20s %-38s %8d\n", c.Table, c.Action, c.Rows)
	}
	return nil
}

const policyUsage = `usage:
  lindung policy check [--policy-dir DIR]               lint the policy and print its matrix
  lindung policy test [--policy-dir DIR] FILE...        check assertion files against the policy
  lindung policy diff [--json] OLD_DIR NEW_DIR          print what changes for whom between two policies`

func policyCmd(args []string) error {
	if len(args) == 0 {
		return errors.New(policyUsage)
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:])
	case "test":
		return policyTest(args[1:], os.Stdout)
	case "diff":
		return policyDiff(args[1:], os.Stdout)
	}
	return errors.New(policyUsage)
}

func policyCheck(args []string) error {
	fs := newFlagSet("policy check", "lint the policy and print its effective matrix")
	dir := fs.String("policy-dir", env("LINDUNG_POLICY_DIR", ""), "directory with model.conf and policy.csv (LINDUNG_POLICY_DIR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pol, err := loadPolicy(*dir)
	if err != nil {
		return err
	}
	fmt.Printf("policy %s: OK\n\n", pol.Version())
	pol.WriteMatrix(os.Stdout)
	return nil
}

// policyDiff prints what changes for whom from the policy in one directory to the policy in another, as
// a table or as JSON; both policies must load (a policy that fails its check has no decisions to compare).
func policyDiff(args []string, out io.Writer) error {
	fs := newFlagSet("policy diff", "lindung policy diff [--json] OLD_DIR NEW_DIR prints what changes for whom between two policies")
	asJSON := fs.Bool("json", false, "print the changes as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("policy diff: name two policy directories\n" + policyUsage)
	}
	old, err := loadPolicy(fs.Arg(0))
	if err != nil {
		return err
	}
	new, err := loadPolicy(fs.Arg(1))
	if err != nil {
		return err
	}
	changes := policy.Diff(old, new)
	if *asJSON {
		return policy.WriteDiffJSON(out, old, new, changes)
	}
	policy.WriteDiff(out, old, new, changes)
	return nil
}

// policyTest checks assertion files against the policy and prints every failing assertion with the rule
// of policy.csv that decided it; it fails when any assertion does.
func policyTest(args []string, out io.Writer) error {
	fs := newFlagSet("policy test", "lindung policy test [--policy-dir DIR] FILE... checks assertion files against the policy")
	dir := fs.String("policy-dir", env("LINDUNG_POLICY_DIR", ""), "directory with model.conf and policy.csv (LINDUNG_POLICY_DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("policy test: name at least one assertion file\n" + policyUsage)
	}
	pol, err := loadPolicy(*dir)
	if err != nil {
		return err
	}
	failed := 0
	for _, file := range fs.Args() {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		a, err := policy.ParseAssertions(data)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		failures := a.Check(pol)
		for _, f := range failures {
			fmt.Fprintf(out, "FAIL %s: %s\n", file, f)
		}
		failed += len(failures)
		fmt.Fprintf(out, "%s: policy %s: %d failing assertion(s)\n", file, pol.Version(), len(failures))
	}
	if failed > 0 {
		return fmt.Errorf("%d failing assertion(s)", failed)
	}
	return nil
}
