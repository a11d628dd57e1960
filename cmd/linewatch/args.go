package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed lets flags follow the file names, as analysts write
// ogr2ogr commands (detect IN.ndjson --line L -o OUT): the command-line
// parser stops at the first argument that is not a flag, so the flags of
// the command named in args are moved before its other arguments, each
// with its value. The arguments keep their order otherwise. Everything
// after "--" stays an argument, and "-" is one (standard input); when an
// argument left after the flags starts with "-", "--" is put before the
// arguments so that it stays one. A request for shell completion is left
// as it is.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args
	}
	// The app's own flags, then the command and its subcommands.
	i := skipFlags(app.Flags, args, 1)
	if i >= len(args) {
		return args
	}
	cmd := findCommand(app.Commands, args[i])
	if cmd == nil {
		return args
	}
	i++
	for i < len(args) && len(cmd.Subcommands) > 0 {
		sub := findCommand(cmd.Subcommands, args[i])
		if sub == nil {
			break
		}
		cmd = sub
		i++
	}
	var flags, rest []string
	for j := i; j < len(args); j++ {
		a := args[j]
		if a == "--" {
			rest = append(rest, args[j+1:]...)
			break
		}
		if !isFlag(a) {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		if takesValue(cmd.Flags, a) && j+1 < len(args) {
			flags = append(flags, args[j+1])
			j++
		}
	}
	out := append(append([]string(nil), args[:i]...), flags...)
	for _, a := range rest {
		if isFlag(a) || a == "--" {
			out = append(out, "--")
			break
		}
	}
	return append(out, rest...)
}

// isFlag tells whether an argument is written as a flag: -x, --x, --x=v.
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// skipFlags returns the index of the first argument from i on that is
// not one of flags (or a flag's value).
func skipFlags(flags []cli.Flag, args []string, i int) int {
	for i < len(args) && isFlag(args[i]) {
		if takesValue(flags, args[i]) {
			i++
		}
		i++
	}
	return i
}

// takesValue tells whether the flag argument a (-name, --name) is one of
// flags that takes its value from the next argument.
func takesValue(flags []cli.Flag, a string) bool {
	name := strings.TrimLeft(a, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, fl := range flags {
		for _, n := range fl.Names() {
			if n == name {
				df, ok := fl.(cli.DocGenerationFlag)
				return ok && df.TakesValue()
			}
		}
	}
	return false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
