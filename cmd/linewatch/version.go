package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

func init() { register(versionCommand) }

// version is the release, set at link time for a release build
// (-ldflags "-X main.version=v1.2.0"); otherwise it is the module version
// go install recorded, or "(devel)".
var version = ""

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print linewatch's version and how it was built",
		UsageText: "linewatch version [--verbose]",
		Description: "Prints the version (the module version go install recorded, or (devel) for a build from a\n" +
			"checkout), the Go toolchain and platform, and the commit it was built from when known.\n" +
			"--verbose adds the build settings and every dependency. Example:\n\n" +
			"  linewatch version\n" +
			"  go install github.com/linewatch/linewatch/cmd/linewatch@latest && linewatch version -v",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "add the build settings and the dependencies"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError(c, "version takes no arguments, got %q", c.Args().First())
			}
			_, err := fmt.Fprint(c.App.Writer, versionText(c.Bool("verbose")))
			return err
		},
	}
}

// versionString is the version alone.
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// versionText is what linewatch version prints.
func versionText(verbose bool) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "linewatch %s\n", versionString())
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintf(&sb, "  go: %s %s/%s (no build info)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return sb.String()
	}
	fmt.Fprintf(&sb, "  go: %s %s/%s\n", bi.GoVersion, runtime.GOOS, runtime.GOARCH)
	if bi.Main.Path != "" {
		fmt.Fprintf(&sb, "  module: %s %s\n", bi.Main.Path, bi.Main.Version)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		commit := rev
		if t := settings["vcs.time"]; t != "" {
			commit += " (" + t + ")"
		}
		if settings["vcs.modified"] == "true" {
			commit += ", with uncommitted changes"
		}
		fmt.Fprintf(&sb, "  commit: %s\n", commit)
	}
	if !verbose {
		return sb.String()
	}
	for _, s := range bi.Settings {
		fmt.Fprintf(&sb, "  build %s=%s\n", s.Key, s.Value)
	}
	for _, m := range bi.Deps {
		v := m.Version
		if m.Replace != nil {
			v += " => " + m.Replace.Path + " " + m.Replace.Version
		}
		fmt.Fprintf(&sb, "  dep %s %s\n", m.Path, v)
	}
	return sb.String()
}
