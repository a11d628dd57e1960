package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/tlog"
)

func init() { register(logCommand) }

func logCommand() *cli.Command {
	return &cli.Command{
		Name:      "log",
		Usage:     "copy a linewatch log",
		UsageText: "linewatch log export --from DIR|URL -o OUTDIR",
		Description: "'export' copies the tree of a log's latest checkpoint — tiles, entry bundles, signed bodies,\n" +
			"and the checkpoint with the cosignatures gathered, last — into a static directory that any\n" +
			"web server can serve as a mirror and that 'linewatch verify' reads offline. It checks on the way\n" +
			"that the entries hash to the checkpoint's root. Example:\n\n" +
			"  linewatch log export --from http://engine:8080/v1 -o front-log",
		Subcommands: []*cli.Command{{
			Name:      "export",
			Usage:     "copy a log's latest tree into a static directory",
			UsageText: "linewatch log export --from DIR|URL -o OUTDIR",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "from", Usage: "the log: a `DIR` or its URL prefix (http://HOST/v1)", Required: true},
				&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the `DIR` to write (created if needed)", Required: true, TakesFile: true},
			},
			Action: func(c *cli.Context) error {
				if c.Args().Present() {
					return usageError(c, "log export takes no arguments, got %q", c.Args().First())
				}
				from, err := tlog.Open(c.String("from"))
				if err != nil {
					return unusable(err)
				}
				to, err := tlog.NewDir(c.String("output"))
				if err != nil {
					return unusable(err)
				}
				cp, err := tlog.Export(context.Background(), tlog.NewReader(from), to)
				if err != nil {
					return failed(fmt.Errorf("log export: %w", err))
				}
				fmt.Fprintf(c.App.ErrWriter, "linewatch: exported %s to %s\n", cp, c.String("output"))
				return nil
			},
		}},
	}
}
