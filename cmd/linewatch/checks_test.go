package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// runCheck runs one of the checks in scripts/ on the built binary. A check
// exits 77 when the tool it needs (chromium, ogrinfo) is missing and
// cannot be installed: the test is then skipped. CI runs as root on
// Debian, where the scripts install it with apt-get.
func runCheck(t *testing.T, script string, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no browser or GDAL check")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // an apt-get install included
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "scripts", script), args...)
	cmd.Env = append(os.Environ(), "LINEWATCH_BIN="+binary, "TMPDIR="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	err := cmd.Run()
	t.Logf("scripts/%s took %.1f s:\n%s", script, time.Since(began).Seconds(), out.String())
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 77:
		t.Skipf("scripts/%s cannot run here: %s", script, bytes.TrimSpace(out.Bytes()))
	case err != nil:
		t.Fatalf("scripts/%s failed: %v", script, err)
	}
	return out.String()
}

// The demo's report in a real browser: no console error, a drawn map.
func TestBrowserCheck(t *testing.T) {
	shot := filepath.Join(t.TempDir(), "report.png")
	runCheck(t, "browsercheck", "-o", shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
		t.Errorf("screenshot: %v", err)
	}
}

// The GeoJSON linewatch writes opens in GDAL without a warning.
func TestGDALCheck(t *testing.T) {
	runCheck(t, "gdalcheck")
}
