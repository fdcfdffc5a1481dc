package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/directory"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
)

// initHub is `lindung init`: on a migrated database without an operator, it registers the operator
// partner and the first operator user, through the owner login, and says how that user signs in. It
// refuses a database that already has an operator, so that it can never hand out a second first account.
func initHub(ctx context.Context, args []string) error {
	fs := newFlagSet("init", "register the operator partner and the first operator user on a new hub",
		"LINDUNG_MIGRATE_DATABASE_URL (the owner login; else DATABASE_URL)", "LINDUNG_POLICY_DIR")
	slug := fs.String("partner", "operator", "the operator partner's slug")
	name := fs.String("name", "Lindung Hub Operations", "the operator partner's name")
	state := fs.String("state", "PUTRAJAYA", "the state the operator is based in, e.g. PUTRAJAYA or KUALA_LUMPUR")
	user := fs.String("user", "", "the first operator's username: the subject (sub) their identity provider's tokens carry (required)")
	display := fs.String("display-name", "", "the first operator's name as people read it")
	actor := actorFlag(fs)
	policyDir := fs.String("policy-dir", env("LINDUNG_POLICY_DIR", ""), "directory with model.conf and policy.csv overriding the embedded policy (LINDUNG_POLICY_DIR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *user == "" {
		return errors.New("--user is required: the first operator's username, as their identity provider's tokens name them (sub)")
	}
	pol, err := loadPolicy(*policyDir)
	if err != nil {
		return err
	}
	const role = "operator"
	if err := pol.Assignable([]string{role}); err != nil {
		return err
	}
	db, err := openOwner(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.Administer(ctx, true, func(s *postgres.Session) error {
		t := lindung.PartnerOperator
		ops, err := s.FindPartners(ctx, lindung.PartnerFilter{Type: &t})
		if err != nil {
			return err
		}
		if len(ops) > 0 {
			return fmt.Errorf("this hub already has an operator partner (%s); init runs once, on a new database. "+
				"Add users with `lindung directory apply FILE` or the createUser mutation", ops[0].Slug)
		}
		p := &lindung.Partner{Slug: *slug, Name: *name, Type: lindung.PartnerOperator, State: *state}
		if err := s.CreatePartner(ctx, p); err != nil {
			return fmt.Errorf("register the operator partner: %w", err)
		}
		u := &lindung.User{PartnerID: p.ID, Username: *user, DisplayName: *display, Roles: []string{role}}
		if err := s.CreateUser(ctx, u); err != nil {
			return err
		}
		return recordChanges(ctx, s, pol, "init", *actor, p.ID, []*lindung.ChangeRecord{
			{Entity: "partner", RecordID: p.ID, Action: "registered", Fields: []string{"name", "slug", "state", "type"}},
			{Entity: "user", RecordID: u.ID, Action: "registered", Fields: []string{"displayName", "partnerSlug", "roles", "username"}},
		})
	})
	if err != nil {
		return err
	}
	fmt.Printf("registered the operator partner %s and its first operator, %s.\n\n", *slug, *user)
	fmt.Printf("To sign in as %s:\n", *user)
	fmt.Printf("  with your identity provider (serve --jwks-url ...): sign in as %s; the token's partner claim\n", *user)
	fmt.Printf("    must say %s and its roles claim operator (docs/deploying.md, Identity provider).\n", *slug)
	fmt.Printf("  with the hub's own key (LINDUNG_JWT_SECRET or LINDUNG_KEY_FILE, the same one serve uses):\n")
	fmt.Printf("    lindung token --partner %s --role %s --user %s\n", *slug, role, *user)
	fmt.Printf("Then register partners and users: lindung directory apply FILE (docs/deploying.md).\n")
	return nil
}

// directoryCmd is `lindung directory apply [--dry-run] FILE`.
func directoryCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "apply" {
		return errors.New("usage: lindung directory apply [--dry-run] FILE")
	}
	fs := newFlagSet("directory apply", "lindung directory apply [--dry-run] FILE makes a directory file of partners, users, roles and training\ntrue, in one transaction (docs/deploying.md describes the file)",
		"LINDUNG_MIGRATE_DATABASE_URL (the owner login; else DATABASE_URL)", "LINDUNG_POLICY_DIR")
	dry := fs.Bool("dry-run", false, "print the changes the file would make and change nothing")
	actor := actorFlag(fs)
	policyDir := fs.String("policy-dir", env("LINDUNG_POLICY_DIR", ""), "directory with model.conf and policy.csv overriding the embedded policy (LINDUNG_POLICY_DIR)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("give exactly one directory file, e.g. lindung directory apply directory.yaml (got %d arguments)", fs.NArg())
	}
	name := fs.Arg(0)
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	file, err := directory.Parse(name, data)
	if err != nil {
		return err
	}
	pol, err := loadPolicy(*policyDir)
	if err != nil {
		return err
	}
	if err := file.Check(pol); err != nil {
		return err
	}
	db, err := openOwner(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	err = db.Administer(ctx, !*dry, func(s *postgres.Session) error {
		changes, err := file.Apply(ctx, s, pol, os.Stdout)
		n = len(changes)
		if err != nil || *dry || n == 0 {
			return err
		}
		t := lindung.PartnerOperator
		ops, err := s.FindPartners(ctx, lindung.PartnerFilter{Type: &t})
		if err != nil {
			return err
		}
		if len(ops) == 0 {
			return errors.New("this hub has no operator partner, which the change log names for the directory's changes: run `lindung init` first")
		}
		return recordChanges(ctx, s, pol, "directory", *actor, ops[0].ID, changes)
	})
	if err != nil {
		return err
	}
	switch {
	case *dry:
		fmt.Printf("dry run: %d changes, none made\n", n)
	case n == 0:
		fmt.Println("the hub already matches the file: nothing changed")
	default:
		fmt.Printf("%d changes applied in one transaction\n", n)
	}
	return nil
}

// actorFlag adds --actor, the person the change log names for a command's changes, by default the
// operating-system user running it.
func actorFlag(fs *flag.FlagSet) *string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return fs.String("actor", name, "who runs this, as the change log names them (default: the operating-system user)")
}

// recordChanges writes the change-log lines of a command, in its transaction, as the operator's GraphQL
// mutations write theirs: the username is cli:COMMAND:ACTOR, the partner the hub's operator, the purpose
// the operator role's, and the request id one new id for the whole run.
func recordChanges(ctx context.Context, s *postgres.Session, pol *policy.Policy, command, actor, operatorID string, changes []*lindung.ChangeRecord) error {
	d, err := pol.Decide([]string{"operator"}, "")
	if err != nil {
		return err
	}
	id := make([]byte, 12)
	rand.Read(id)
	for _, c := range changes {
		c.RequestID = "cli-" + hex.EncodeToString(id)
		c.Username = "cli:" + command + ":" + actor
		c.PartnerID = operatorID
		c.Purpose = d.Purpose
	}
	return s.RecordChanges(ctx, changes)
}

// openOwner opens the hub's database through the owner login, without migrating: init and directory
// need a current schema, and say to run migrate when it is not.
func openOwner(ctx context.Context) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, migrateURL(), postgres.Options{MaxConns: 2})
	if err != nil {
		return nil, fmt.Errorf("%w (LINDUNG_MIGRATE_DATABASE_URL, the owner login; run `lindung migrate` first on a new database)", err)
	}
	return db, nil
}

// newFlagSet returns a flag set whose --help names the command, says what it does and lists the
// environment variables it reads besides those of its flags.
func newFlagSet(name, what string, envs ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: lindung %s [flags]\n\n%s\n\nflags:\n", name, what)
		fs.PrintDefaults()
		if len(envs) > 0 {
			fmt.Fprintf(out, "\nenvironment:\n")
			for _, e := range envs {
				fmt.Fprintf(out, "  %s\n", e)
			}
		}
	}
	return fs
}

// parseFlags parses args and refuses positional arguments, which every command but directory apply
// takes none of: a stray word is more likely a mistyped flag than something to ignore.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes only flags (see lindung %s --help)", fs.Arg(0), fs.Name(), fs.Name())
	}
	return nil
}
