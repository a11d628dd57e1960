// Command linewatch watches an agreed ceasefire line: it lays out the line's
// sectors, locates sightings relative to the line and detects violations.
//
// Each command lives in its own file, which registers it from an init
// function:
//
//	func init() { register(detectCommand) }
//
//	func detectCommand() *cli.Command { … }
//
// Errors decide the exit status (SPEC §8): 0 on success, 1 for a run that
// completed but failed its contract (--strict), 2 for a usage error or an
// unusable line, policy or input file. Every error is one line on standard
// error; main is the only place that exits.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// Exit statuses.
const (
	exitOK       = 0
	exitFailed   = 1 // the run completed but did not meet its contract (--strict), or could not finish writing
	exitUnusable = 2 // a usage error, or an unusable line, policy, input or output file
)

// exitError is an error with the exit status it calls for. hint, if set,
// is appended to the message ("see 'linewatch locate --help'").
type exitError struct {
	code int
	err  error
	hint string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// unusable reports an unusable line, policy, input or output file: exit 2.
func unusable(err error) error { return &exitError{code: exitUnusable, err: err} }

// failed reports a run that could not meet its contract: exit 1.
func failed(err error) error { return &exitError{code: exitFailed, err: err} }

// usageError reports a mistake on the command line: exit 2, with a pointer
// to the command's help.
func usageError(c *cli.Context, format string, args ...any) error {
	return &exitError{code: exitUnusable, err: fmt.Errorf(format, args...), hint: helpHint(c)}
}

func helpHint(c *cli.Context) string {
	name := "linewatch"
	if c != nil && c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		name += " " + c.Command.Name
	}
	return fmt.Sprintf("see '%s --help'", name)
}

// commands holds the constructors of the registered commands.
var commands []func() *cli.Command

// register adds a command to the app; command files call it from init.
func register(cmd func() *cli.Command) { commands = append(commands, cmd) }

// newApp builds the command-line app reading stdin and writing stdout and
// stderr.
func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "linewatch",
		Usage:     "watch an agreed ceasefire line",
		UsageText: "linewatch COMMAND [options] [arguments...]",
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are reported and mapped to exit statuses by runApp, never by
		// cli itself.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		HideVersion:    true, // "linewatch version" tells more
		// Shell completion: see "linewatch completion --help".
		EnableBashCompletion: true,
		Flags:                appFlags(),
		Before:               setupLogging,
		Metadata:             map[string]any{},
	}
	var names []string
	for _, mk := range commands {
		cmd := mk()
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = onUsageError
		}
		if len(cmd.Subcommands) == 0 {
			cmd.HideHelpCommand = true // "h" and "help" are file names, not requests for help
		}
		app.Commands = append(app.Commands, cmd)
		names = append(names, cmd.Name)
	}
	sort.Slice(app.Commands, func(i, j int) bool { return app.Commands[i].Name < app.Commands[j].Name })
	setEnvVars(app)
	sort.Strings(names)
	app.Action = func(c *cli.Context) error {
		if c.Args().Present() {
			return usageError(c, "unknown command %q (commands: %s)", c.Args().First(), strings.Join(names, ", "))
		}
		return usageError(c, "a command is required: %s", strings.Join(names, ", "))
	}
	return app
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	return usageError(c, "%v", err)
}

// runApp runs the app on args (args[0] is the program name) and returns the
// exit status, having written any error as one line to stderr.
func runApp(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.Run(interspersed(app, args))
	if err == nil {
		return exitOK
	}
	code, msg := exitUnusable, err.Error()
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.hint != "" {
			msg += " (" + ee.hint + ")"
		}
	} else {
		// Anything cli reports on its own (an unknown help topic, say) is a
		// usage error.
		msg += " (see 'linewatch --help')"
	}
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n", " ")
	if l, ok := app.Metadata["logger"].(*slog.Logger); ok && app.Metadata["log-format"] == "json" {
		// Logs read by a machine: the error is one more record.
		l.Error(msg, "exit_status", code)
		return code
	}
	fmt.Fprintf(stderr, "linewatch: %s\n", msg)
	return code
}

func main() {
	os.Exit(runApp(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
