package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/keys"
	"github.com/linewatch/linewatch/sources"
)

func init() { register(signCommand) }

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a request body as a source, for the Linewatch-Signature header",
		UsageText: "linewatch sign --key FILE --source ID [BODY]",
		Description: "Prints the value of the Linewatch-Signature header a source sends with a body it posts to\n" +
			"the engine's HTTP ingest: the signature line of a signed note naming the source and the body's\n" +
			"SHA-256 (docs/sources.md). BODY is the file posted, exactly as sent before any gzip (default:\n" +
			"standard input). Each record of the body must name the source as its properties.source.\n" +
			"Example:\n\n" +
			"  linewatch sign --key observer-7.key --source observer-7 batch.ndjson > batch.sig\n" +
			"  curl -H \"Linewatch-Signature: $(cat batch.sig)\" -H 'Content-Type: application/geo+json-seq' \\\n" +
			"    --data-binary @batch.ndjson http://engine:8080/v1/sightings",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "the source's private key `FILE`", TakesFile: true, Required: true},
			&cli.StringFlag{Name: "source", Usage: "the source's `ID`, as the engine's sources file names it", Required: true},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError(c, "sign takes one BODY file (or none: standard input)")
			}
			signer, err := keys.Signer(c.String("key"))
			if err != nil {
				return unusable(err)
			}
			var body []byte
			if name := c.Args().First(); name != "" && name != "-" {
				body, err = os.ReadFile(name)
			} else {
				body, err = io.ReadAll(c.App.Reader)
			}
			if err != nil {
				return unusable(fmt.Errorf("body: %w", err))
			}
			sig, err := sources.SignBody(signer, c.String("source"), body)
			if err != nil {
				return usageError(c, "%v", err)
			}
			_, err = fmt.Fprintln(c.App.Writer, sig)
			return err
		},
	}
}
