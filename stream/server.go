package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Mux routes POST /v1/sightings (if ingest is set), GET /metrics and GET
// /healthz.
func Mux(ingest http.Handler, m *Metrics) *http.ServeMux {
	mux := http.NewServeMux()
	if ingest != nil {
		mux.Handle("/v1/sightings", ingest)
	}
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("GET /healthz", m.HealthHandler())
	return mux
}

// Serve listens on addr (host:port; a bare :port or port binds 127.0.0.1)
// and serves h with read and header timeouts. It returns the server and
// its actual address; Shutdown stops it.
func Serve(addr string, h http.Handler) (*http.Server, net.Addr, error) {
	ln, err := net.Listen("tcp", ListenAddr(addr))
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go srv.Serve(ln)
	return srv, ln.Addr(), nil
}

// ListenAddr completes an address: "8080" and ":8080" bind 127.0.0.1
// (loopback unless told otherwise); "0.0.0.0:8080" binds every interface.
func ListenAddr(addr string) string {
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
	addr = strings.TrimSuffix(addr, "/")
	if !strings.Contains(addr, ":") {
		return "127.0.0.1:" + addr
	}
	if strings.HasPrefix(addr, ":") {
		return "127.0.0.1" + addr
	}
	return addr
}

// Shutdown stops srv, letting requests under way finish (within 30 s).
func Shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// LoadTokens reads a tokens file: one "TOKEN SOURCE-ID" a line; blank lines
// and lines starting with # are skipped.
func LoadTokens(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer f.Close()
	tokens := map[string]string{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("tokens %s:%d: want \"TOKEN SOURCE-ID\", got %d fields", path, n, len(fields))
		}
		if _, dup := tokens[fields[0]]; dup {
			return nil, fmt.Errorf("tokens %s:%d: token given twice", path, n)
		}
		tokens[fields[0]] = fields[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	if len(tokens) == 0 {
		return nil, errors.New("tokens: " + path + " holds no token")
	}
	return tokens, nil
}
