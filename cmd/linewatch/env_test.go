package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// Every flag of every command can be given in the environment, as
// LINEWATCH_ and its name.
func TestEveryFlagHasAnEnvVar(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	n := 0
	check := func(where string, flags []cli.Flag) {
		for _, f := range flags {
			ev, ok := f.(interface{ GetEnvVars() []string })
			name := f.Names()[0]
			if !ok || len(ev.GetEnvVars()) != 1 || ev.GetEnvVars()[0] != envName(name) {
				t.Errorf("%s --%s: environment variables %v, want [%s]", where, name, ev.GetEnvVars(), envName(name))
			}
			n++
		}
	}
	check("linewatch", app.Flags)
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			check(prefix+c.Name, c.Flags)
			walk(prefix+c.Name+" ", c.Subcommands)
		}
	}
	walk("linewatch ", app.Commands)
	if n < 50 {
		t.Fatalf("only %d flags seen", n)
	}
}

// A flag from the environment counts as given, below the command line.
func TestFlagFromEnvironment(t *testing.T) {
	t.Setenv("LINEWATCH_REPLICAS", "3")
	wantOneLineError(t, runIn(t, "stream", "--line", frontLine, "--in", "http://127.0.0.1:0"), "--replicas 3")
	t.Setenv("LINEWATCH_MAX_BODY", "lots")
	wantOneLineError(t, runIn(t, "stream", "--line", frontLine, "--in", "-", "--replicas", "1"), "--max-body")
}

// README lists the environment variables as the app has them.
func TestREADMEListsEnvVars(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- envvars: go run ./cmd/linewatch envvars -->\n", "<!-- /envvars -->"
	s := string(readme)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q block", begin, end)
	}
	want := envTable(newApp(strings.NewReader(""), io.Discard, io.Discard))
	if got := s[i+len(begin) : j]; got != want {
		t.Fatalf("README.md's list of environment variables is not the app's: replace it with the output of `go run ./cmd/linewatch envvars`:\n%s", want)
	}
}
