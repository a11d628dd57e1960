package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/sources"
)

// sourcesFlag is --sources, the registry of sources (docs/sources.md).
func sourcesFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "sources", Usage: usage, TakesFile: true}
}

// loadSources reads --sources, if given, checks its affiliations against
// the line's parties, and gives the policy the sources' affiliations,
// which corroboration counts. Without the flag it returns nil.
func loadSources(c *cli.Context, line *geo.Line, pol *detect.Policy) (*sources.Registry, error) {
	name := c.String("sources")
	if name == "" {
		return nil, nil
	}
	reg, err := sources.Load(name)
	if err != nil {
		return nil, unusable(err)
	}
	p := line.Parties()
	if err := reg.CheckParties(p[0], p[1]); err != nil {
		return nil, unusable(fmt.Errorf("sources %s: %w", name, err))
	}
	pol.Affiliations = detect.NewAffiliations(reg.Affiliations())
	return reg, nil
}
