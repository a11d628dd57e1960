package main

import (
	"fmt"
	"regexp"

	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/keys"
)

func init() { register(keyCommand) }

func keyCommand() *cli.Command {
	cosigner := &cli.BoolFlag{Name: "cosigner", Usage: "print the key as a witness's cosignature key (C2SP tlog-cosignature, type 0x04), which others configure to check its cosignatures"}
	return &cli.Command{
		Name:      "key",
		Usage:     "make and show the Ed25519 keys of logs, sources and witnesses",
		UsageText: "linewatch key generate [-o FILE] [--cosigner] NAME\n   linewatch key public [--cosigner] FILE",
		Description: "A key signs a log's checkpoints, a source's request bodies or a witness's cosignatures,\n" +
			"in the C2SP signed-note formats. 'generate' writes the private key to a new file of mode 0600\n" +
			"(never over an existing one) and prints the public key, NAME+HASH+DATA, which its holder hands\n" +
			"to the others; 'public' prints it again from the private key file. Name keys as schema-less\n" +
			"URLs: the log's key after the log's origin. Example:\n\n" +
			"  linewatch key generate -o log.key linewatch.example.org/front > log.pub\n" +
			"  linewatch key generate -o witness.key --cosigner witness.ua.example > witness.pub",
		Subcommands: []*cli.Command{
			{
				Name:      "generate",
				Usage:     "write a new private key file and print its public key",
				UsageText: "linewatch key generate [-o FILE] [--cosigner] NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the private key to `FILE` (default: NAME.key, with any character other than letters, digits, . _ - as _)", TakesFile: true},
					cosigner,
				},
				Action: keyGenerate,
			},
			{
				Name:      "public",
				Usage:     "print the public key of a private key file",
				UsageText: "linewatch key public [--cosigner] FILE",
				Flags:     []cli.Flag{cosigner},
				Action:    keyPublic,
			},
		},
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func keyGenerate(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError(c, "key generate takes one key NAME, such as linewatch.example.org/front")
	}
	name := c.Args().First()
	priv, pub, err := keys.Generate(name)
	if err != nil {
		return usageError(c, "%v", err)
	}
	path := c.String("output")
	if path == "" {
		path = unsafeName.ReplaceAllString(name, "_") + ".key"
	}
	if err := keys.WriteNew(path, priv); err != nil {
		return unusable(err)
	}
	if c.Bool("cosigner") {
		if pub, err = keys.CosignerKey(pub); err != nil {
			return failed(err)
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "linewatch: private key written to %s (mode 0600): keep it secret; the public key follows\n", path)
	_, err = fmt.Fprintln(c.App.Writer, pub)
	return err
}

func keyPublic(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError(c, "key public takes one private key FILE")
	}
	priv, err := keys.ReadPrivate(c.Args().First())
	if err != nil {
		return unusable(err)
	}
	pub, err := keys.Public(priv)
	if err == nil && c.Bool("cosigner") {
		pub, err = keys.CosignerKey(pub)
	}
	if err != nil {
		return unusable(err)
	}
	_, err = fmt.Fprintln(c.App.Writer, pub)
	return err
}
