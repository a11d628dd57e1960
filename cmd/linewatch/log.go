package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// appFlags are the flags of the app itself, given before the command.
func appFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"LINEWATCH_LOG_FORMAT"},
			Usage: "log records on standard error as `FORMAT`: text (key=value) or json (one object per line)"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"LINEWATCH_LOG_LEVEL"},
			Usage: "log records at `LEVEL` and above: debug, info, warn or error"},
	}
}

// setupLogging builds the logger the app-level flags ask for, on the app's
// standard error; the commands reach it through logger(c). Run as a
// process, it is also slog's default logger.
func setupLogging(c *cli.Context) error {
	l, err := newLogger(c.String("log-format"), c.String("log-level"), c)
	if err != nil {
		return usageError(c, "%v", err)
	}
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]any{}
	}
	c.App.Metadata["logger"] = l
	c.App.Metadata["log-format"] = strings.ToLower(c.String("log-format"))
	if c.App.ErrWriter == os.Stderr {
		slog.SetDefault(l)
	}
	return nil
}

func newLogger(format, level string, c *cli.Context) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opt := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(c.App.ErrWriter, opt)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(c.App.ErrWriter, opt)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

// logger is the app's logger.
func logger(c *cli.Context) *slog.Logger {
	if l, ok := c.App.Metadata["logger"].(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
