package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/keys"
	"github.com/linewatch/linewatch/tlog"
	"github.com/linewatch/linewatch/witness"
)

func init() { register(cosignCommand) }

func cosignCommand() *cli.Command {
	return &cli.Command{
		Name:      "cosign",
		Usage:     "witness a log: check its latest checkpoint extends the last one cosigned, and cosign it",
		UsageText: "linewatch cosign --key FILE --log URL|DIR --log-key PUB [--state FILE] [-o FILE] [--no-submit]",
		Description: "A party's witness. It fetches the log's latest checkpoint, checks the log's signature,\n" +
			"proves from the log's own tiles that the tree extends the one this witness cosigned last (kept\n" +
			"in --state), and adds its cosignature (C2SP tlog-cosignature, Ed25519). It refuses a fork —\n" +
			"a checkpoint of the same size with another root, a larger tree that does not contain the one\n" +
			"cosigned, or a smaller one — and exits 1 naming both roots. The cosigned checkpoint is written\n" +
			"to -o (default: standard output) and handed back to the log: POST <log>/cosignature for a\n" +
			"URL, into the directory's checkpoint for a stopped or exported log (--no-submit: neither).\n" +
			"Run it as often as the log should be witnessed (a timer, cron). Example:\n\n" +
			"  linewatch cosign --key witness.key --log http://engine:8080/v1 --log-key log.pub --state ua.state",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "the witness's private key `FILE`", TakesFile: true, Required: true},
			&cli.StringFlag{Name: "log", Usage: "the log: its URL prefix (http://HOST/v1) or a `DIR` holding a copy", Required: true},
			&cli.StringFlag{Name: "log-key", Usage: "the log's public key, `PUB` (NAME+HASH+DATA) or a file holding it", Required: true},
			&cli.StringFlag{Name: "state", Value: "witness.state", Usage: "`FILE` keeping the checkpoint this witness cosigned last (one per log)", TakesFile: true},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the cosigned checkpoint to `FILE` (default: standard output)", TakesFile: true},
			&cli.BoolFlag{Name: "no-submit", Usage: "do not hand the cosignature to the log"},
		},
		Action: cosignAction,
	}
}

func cosignAction(c *cli.Context) error {
	if c.Args().Present() {
		return usageError(c, "cosign takes no arguments, got %q", c.Args().First())
	}
	signer, err := keys.Cosigner(c.String("key"))
	if err != nil {
		return unusable(err)
	}
	priv, _ := keys.ReadPrivate(c.String("key"))
	own, err := keys.CosignerKey(priv)
	if err != nil {
		return unusable(err)
	}
	ownV, err := keys.ParseVerifier(own)
	if err != nil {
		return unusable(err)
	}
	logV, logKey, err := keys.Verifier(c.String("log-key"))
	if err != nil {
		return usageError(c, "--log-key: %v", err)
	}
	if keys.IsCosigner(logKey) {
		return usageError(c, "--log-key: a witness's cosignature key; give the log's own key")
	}
	loc := c.String("log")
	f, err := tlog.Open(loc)
	if err != nil {
		return unusable(err)
	}
	isURL := strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://")
	ctx := context.Background()
	r := tlog.NewReader(f)
	w := &witness.Witness{Signer: signer, Log: logV}
	state := c.String("state")
	for attempt := 1; ; attempt++ {
		offered, err := r.Checkpoint(ctx)
		if err != nil {
			return failed(err)
		}
		last, err := witness.LoadState(state)
		if err != nil {
			return unusable(err)
		}
		cosigned, cp, err := w.Cosign(ctx, r, offered, last)
		if err != nil {
			return failed(err)
		}
		if err := witness.SaveState(state, cosigned); err != nil {
			return failed(err)
		}
		if !c.Bool("no-submit") {
			if isURL {
				_, err = witness.Submit(ctx, loc, cosigned)
			} else {
				_, err = witness.SubmitDir(ctx, f.(*tlog.Dir), logV, ownV, cosigned)
			}
			if errors.Is(err, witness.ErrStale) && attempt < 3 {
				continue // the log moved on meanwhile: witness the newer checkpoint
			}
			if err != nil {
				return failed(fmt.Errorf("cosigned %s, but could not hand it to the log: %w", cp, err))
			}
		}
		fmt.Fprintf(c.App.ErrWriter, "linewatch: cosigned %s\n", cp)
		if name := c.String("output"); name != "" && name != "-" {
			if err := os.WriteFile(name, cosigned, 0o644); err != nil {
				return failed(err)
			}
			return nil
		}
		_, err = c.App.Writer.Write(cosigned)
		return err
	}
}
