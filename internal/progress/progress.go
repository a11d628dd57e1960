// Package progress draws a progress line on a terminal during a long
// batch run: records and bytes read, their rates and, when the inputs'
// sizes are known (plain files), how far through them the run is.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar is a progress line. It stays silent for the first second, so short
// runs print nothing, and is nil (and its methods do nothing) when its
// writer is not a terminal.
type Bar struct {
	w     io.Writer
	start time.Time
	total int64 // bytes of the inputs, 0 if unknown (gzip, standard input)
	mu    sync.Mutex
	last  time.Time
	drawn bool
	now   func() time.Time
	delay time.Duration
}

// New returns a progress line for inputs on w, or nil when w is not a
// terminal or quiet is set.
func New(w io.Writer, inputs []string, quiet bool) *Bar {
	if quiet || os.Getenv("TERM") == "dumb" || !isTerminal(w) {
		return nil
	}
	p := &Bar{w: w, start: time.Now(), now: time.Now, delay: time.Second}
	for _, in := range inputs {
		fi, err := os.Stat(in)
		if in == "-" || err != nil || strings.HasSuffix(in, ".gz") {
			p.total = 0
			break
		}
		p.total += fi.Size()
	}
	return p
}

// isTerminal tells whether w is a terminal: a character device other than
// the null device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

// Update is batch.Config.Progress: records and bytes read so far.
func (p *Bar) Update(records, bytes int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.start) < p.delay || now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.drawn = true
	fmt.Fprint(p.w, "\r"+p.line(records, bytes, now.Sub(p.start))+"\x1b[K")
}

// line is the progress line.
func (p *Bar) line(records, bytes int64, elapsed time.Duration) string {
	s := elapsed.Seconds()
	rate := fmt.Sprintf("%s records, %s/s; %s, %s/s", count(records), count(int64(float64(records)/s)),
		size(bytes), size(int64(float64(bytes)/s)))
	if p.total <= 0 {
		return "detect: " + rate
	}
	frac := min(1, float64(bytes)/float64(p.total))
	const width = 16
	n := int(frac * width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	if n < width {
		bar = bar[:n] + ">" + bar[n+1:]
	}
	return fmt.Sprintf("detect: [%s] %3.0f%% %s", bar, frac*100, rate)
}

// Done clears the progress line, if one was drawn.
func (p *Bar) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func count(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
