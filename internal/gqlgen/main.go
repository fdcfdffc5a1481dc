// Command gqlgen runs gqlgen's generator (`go generate ./...` calls it) with one addition: the federation
// plugin reserves the names of its own types, and gqlgen's autobind would bind the reserved _Service to the
// domain's Service (the service catalogue), because it looks up "_Service" as the Go name "Service". The
// plugin then refuses to generate. unbindFederationTypes runs first and releases the reserved names that
// autobind took, so the plugin binds them to its runtime types as it does in any other project. It also
// leaves go.mod alone (gqlgen would run `go mod tidy`): module changes are made by hand and reviewed.
package main

import (
	"fmt"
	"os"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen/config"
)

// federationTypes are the schema types the federation plugin binds itself (plugin/federation/constants.go).
var federationTypes = []string{"_Service", "_Entity", "Entity", "_Any", "federation__Scope", "federation__Policy"}

func main() {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gqlgen:", err)
		os.Exit(2)
	}
	cfg.SkipModTidy = true
	if err := api.Generate(cfg, api.PrependPlugin(unbindFederationTypes{})); err != nil {
		fmt.Fprintln(os.Stderr, "gqlgen:", err)
		os.Exit(3)
	}
}

// unbindFederationTypes is a gqlgen plugin whose MutateConfig runs before the federation plugin's.
type unbindFederationTypes struct{}

// Name names the plugin in gqlgen's errors.
func (unbindFederationTypes) Name() string { return "unbind-federation-types" }

// MutateConfig forgets the models that autobind gave the federation plugin's reserved types.
func (unbindFederationTypes) MutateConfig(cfg *config.Config) error {
	for _, name := range federationTypes {
		delete(cfg.Models, name)
	}
	return nil
}
