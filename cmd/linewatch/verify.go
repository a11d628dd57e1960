package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/keys"
	"github.com/linewatch/linewatch/tlog"
	"github.com/linewatch/linewatch/verify"
)

func init() { register(verifyCommand) }

func verifyCommand() *cli.Command {
	var flags []cli.Flag
	for _, f := range lineFlags() {
		if f.Names()[0] != "output" {
			flags = append(flags, f)
		}
	}
	flags = append(flags,
		&cli.StringFlag{Name: "log", Usage: "the log: a `DIR` (linewatch log export) or its URL prefix (http://HOST/v1)", Required: true},
		&cli.StringSliceFlag{Name: "key", Usage: "a public key trusted, `PUB` (NAME+HASH+DATA) or a file holding it: the log's, a witness's cosignature key; repeat for each"},
		&cli.IntFlag{Name: "min-signatures", Usage: "`K`: how many of the keys given must have signed the checkpoint (default: all)"},
		sourcesFlag("the engine's sources registry, a YAML `FILE`: the sources' keys, to check their signed bodies, and affiliations"),
		&cli.StringFlag{Name: "checkpoint", Usage: "check this checkpoint `FILE` (one shown, or cosigned) instead of the log's latest", TakesFile: true},
		&cli.BoolFlag{Name: "complete", Usage: "ALERTS must hold every alert the log's records make up to the checkpoint: none withheld"},
		&cli.IntFlag{Name: "workers", Usage: "replay on `N` goroutines (default: one per core); the result never depends on it"},
	)
	return &cli.Command{
		Name:      "verify",
		Usage:     "check a log and alerts made under it: signatures, inclusion, and a replay of detection",
		UsageText: "linewatch verify --log DIR|URL --key PUB... [--min-signatures K] --line L [--policy P]\n  [--sources FILE] [--checkpoint FILE] [--complete] ALERTS",
		Description: "What a party runs on alerts it is shown, offline. It checks that K of the keys given signed\n" +
			"the log's checkpoint, that the log's entries hash to it and their times never go back, each\n" +
			"source's signature on its records and that none of a signed body's records is missing, that\n" +
			"each alert was made under a tree this checkpoint extends and its evidence is included, then\n" +
			"replays detection over the log's records — with the line, policy and sources the engine ran\n" +
			"with — and compares the alerts byte for byte. It prints what it checked; exit 0 when all\n" +
			"holds, 1 at the first mismatch, named (which leaf, body, signature or alert), 2 on a usage\n" +
			"error. ALERTS is a GeoJSONSeq file of alerts (- for standard input). Example:\n\n" +
			"  linewatch verify --log front-log --key log.pub --key ua.pub --key ru.pub --min-signatures 3 \\\n" +
			"    --line front.geojson --policy policy.yaml --sources sources.yaml alerts.geojsonl",
		Flags:  flags,
		Action: verifyAction,
	}
}

func verifyAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError(c, "verify takes one ALERTS file (- for standard input)")
	}
	var trusted []note.Verifier
	for _, k := range c.StringSlice("key") {
		v, _, err := keys.Verifier(k)
		if err != nil {
			return usageError(c, "--key: %v", err)
		}
		trusted = append(trusted, v)
	}
	if len(trusted) == 0 {
		return usageError(c, "--key PUB is required: the log's key, and the witnesses' keys you trust")
	}
	k := c.Int("min-signatures")
	if k < 0 || k > len(trusted) {
		return usageError(c, "--min-signatures %d: want 1 to %d, the number of keys given", k, len(trusted))
	}
	line, pol, err := loadLine(c)
	if err != nil {
		return err
	}
	reg, err := loadSources(c, line, &pol)
	if err != nil {
		return err
	}
	var alerts []byte
	if name := c.Args().First(); name == "-" {
		alerts, err = io.ReadAll(c.App.Reader)
	} else {
		alerts, err = os.ReadFile(name)
	}
	if err != nil {
		return unusable(fmt.Errorf("alerts: %w", err))
	}
	var cp []byte
	if name := c.String("checkpoint"); name != "" {
		if cp, err = os.ReadFile(name); err != nil {
			return unusable(fmt.Errorf("checkpoint: %w", err))
		}
	}
	f, err := tlog.Open(c.String("log"))
	if err != nil {
		return unusable(err)
	}
	_, err = verify.Run(context.Background(), verify.Config{
		Log: f, Keys: trusted, MinSignatures: k, Checkpoint: cp,
		Line: line, Policy: pol, Sources: reg, Alerts: alerts, Complete: c.Bool("complete"),
		Workers: c.Int("workers"), Out: c.App.Writer,
	})
	var m *verify.Mismatch
	switch {
	case errors.As(err, &m):
		return failed(fmt.Errorf("MISMATCH: %w", err))
	case err != nil:
		return failed(err)
	}
	_, err = fmt.Fprintln(c.App.Writer, "verified: every check holds")
	return err
}
