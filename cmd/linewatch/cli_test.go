package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Every command's --help shows how it is used, with a worked example.
func TestEveryCommandHasAnExample(t *testing.T) {
	app := newApp(nil, nil, nil)
	if len(app.Commands) < 7 {
		t.Fatalf("only %d commands", len(app.Commands))
	}
	for _, cmd := range app.Commands {
		if cmd.Name == "help" {
			continue
		}
		if !strings.Contains(cmd.Description, "Example") || !strings.Contains(cmd.Description, "  linewatch "+cmd.Name) {
			t.Errorf("%s --help has no worked example (Description: %q)", cmd.Name, cmd.Description)
		}
		r := runIn(t, cmd.Name, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "linewatch "+cmd.Name) || !strings.Contains(r.stdout, "Example") {
			t.Errorf("%s --help: exit %d, %q", cmd.Name, r.code, r.stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	r := runIn(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "linewatch ") || !strings.Contains(r.stdout, "go: go1.") {
		t.Errorf("version: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	// The built binary knows its module.
	r = runBin(t, nil, "version", "--verbose")
	if r.code != 0 || !strings.Contains(r.stdout, "module: github.com/linewatch/linewatch") || !strings.Contains(r.stdout, "dep github.com/urfave/cli/v2") {
		t.Errorf("version --verbose: exit %d, %q", r.code, r.stdout)
	}
	wantOneLineError(t, runIn(t, "version", "x"), "version takes no arguments")
}

func TestCompletion(t *testing.T) {
	// Completion reads os.Args, so it runs as a process.
	r := runBin(t, nil, "--generate-bash-completion")
	for _, cmd := range []string{"demo", "detect", "report", "version"} {
		if !strings.Contains(r.stdout, cmd+"\n") {
			t.Errorf("completion of commands lacks %s: %q", cmd, r.stdout)
		}
	}
	r = runBin(t, nil, "report", "--li", "--generate-bash-completion")
	if !strings.Contains(r.stdout, "--line") {
		t.Errorf("completion of report's flags: %q", r.stdout)
	}
	for _, sh := range []string{"bash", "zsh"} {
		r = runIn(t, "completion", sh)
		if r.code != 0 || !strings.Contains(r.stdout, "--generate-bash-completion") || !strings.Contains(r.stdout, "linewatch") {
			t.Errorf("completion %s: exit %d, %q", sh, r.code, r.stdout)
		}
	}
	if _, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command("bash", "-n", "-c", bashCompletion).CombinedOutput(); err != nil {
			t.Errorf("the bash script does not parse: %v %s", err, out)
		}
	}
	wantOneLineError(t, runIn(t, "completion", "fish"), `no completion for "fish"`)
}

func TestLogFormats(t *testing.T) {
	in := writeTemp(t, "s.ndjson", offensiveFeed())
	r := runIn(t, "--log-format", "json", "--log-level", "debug", "detect", "--line", straightLine, "--quiet", "-o", "/dev/null", in)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stderr)), &rec); err != nil || rec["msg"] != "detected" || rec["records"] != float64(13) {
		t.Errorf("json log %q: %v", r.stderr, err)
	}
	r = runIn(t, "--log-level", "debug", "detect", "--line", straightLine, "--quiet", "-o", "/dev/null", in)
	if !strings.Contains(r.stderr, "level=DEBUG msg=detected") {
		t.Errorf("text log %q", r.stderr)
	}
	r = runIn(t, "detect", "--line", straightLine, "--quiet", "-o", "/dev/null", in)
	if r.stderr != "" {
		t.Errorf("--quiet at the default level wrote %q", r.stderr)
	}
	wantOneLineError(t, runIn(t, "--log-format", "xml", "version"), `--log-format: "xml" is not text or json`)
	wantOneLineError(t, runIn(t, "--log-level", "loud", "version"), "--log-level")
}
