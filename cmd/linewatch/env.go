package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

func init() { register(envCommand) }

// envPrefix starts the name of every flag's environment variable.
const envPrefix = "LINEWATCH_"

// envName is the environment variable of a flag: --nats-creds is
// LINEWATCH_NATS_CREDS.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// setEnvVars lets every flag of the app and of its commands be given in
// the environment as well (LINEWATCH_NAME, below the command line), as a
// service manager's environment file gives them.
func setEnvVars(app *cli.App) {
	set := func(flags []cli.Flag) {
		for _, f := range flags {
			name := f.Names()[0]
			env := []string{envName(name)}
			switch f := f.(type) {
			case *cli.StringFlag:
				f.EnvVars = env
			case *cli.BoolFlag:
				f.EnvVars = env
			case *cli.IntFlag:
				f.EnvVars = env
			case *cli.Int64Flag:
				f.EnvVars = env
			case *cli.Uint64Flag:
				f.EnvVars = env
			case *cli.Float64Flag:
				f.EnvVars = env
			case *cli.DurationFlag:
				f.EnvVars = env
			case *cli.StringSliceFlag:
				f.EnvVars = env
			default:
				panic(fmt.Sprintf("flag --%s: a %T has no environment variable here", name, f))
			}
		}
	}
	set(app.Flags)
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			set(c.Flags)
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
}

// envTable is the Markdown table of the environment variables: each
// with its flag and the commands that take it.
func envTable(app *cli.App) string {
	cmds := map[string][]string{}
	add := func(where string, flags []cli.Flag) {
		for _, f := range flags {
			n := f.Names()[0]
			if n == "help" {
				continue // cli's own, not a setting
			}
			if !slices.Contains(cmds[n], where) {
				cmds[n] = append(cmds[n], where)
			}
		}
	}
	add("(all, before the command)", app.Flags)
	var walk func(prefix string, cs []*cli.Command)
	walk = func(prefix string, cs []*cli.Command) {
		for _, c := range cs {
			if c.Hidden {
				continue
			}
			add(prefix+c.Name, c.Flags)
			walk(prefix+c.Name+" ", c.Subcommands)
		}
	}
	walk("", app.Commands)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| variable | flag | commands |\n| --- | --- | --- |\n")
	for _, n := range names {
		fmt.Fprintf(&b, "| `%s` | `--%s` | %s |\n", envName(n), n, strings.Join(cmds[n], ", "))
	}
	return b.String()
}

func envCommand() *cli.Command {
	return &cli.Command{
		Name:  "envvars",
		Usage: "print the environment variables every flag can also be given in, as a Markdown table",
		Description: "Every flag of every command can also be set in the environment as LINEWATCH_ and its name\n" +
			"in capitals, dashes as underscores (the command line wins): what a service manager's\n" +
			"environment file gives. This prints them with the commands that take each. Example:\n\n" +
			"  linewatch envvars",
		Hidden: true,
		Action: func(c *cli.Context) error {
			fmt.Fprint(c.App.Writer, envTable(c.App))
			return nil
		},
	}
}
