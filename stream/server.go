package stream

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/net/netutil"
)

// Mux routes POST /v1/sightings (if ingest is set), GET /metrics, GET
// /healthz (liveness) and GET /readyz (readiness). With a token, /metrics,
// /healthz and /readyz answer only requests that carry it (Authorization:
// Bearer TOKEN), 401 others.
func Mux(ingest http.Handler, m *Metrics, token string) *http.ServeMux {
	mux := http.NewServeMux()
	if ingest != nil {
		mux.Handle("/v1/sightings", ingest)
	}
	mux.Handle("GET /metrics", requireToken(token, m.Handler()))
	mux.Handle("GET /healthz", requireToken(token, m.HealthHandler()))
	mux.Handle("GET /readyz", requireToken(token, m.ReadyHandler()))
	return mux
}

// requireToken lets through the requests that carry token (all of them
// if token is "").
func requireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="linewatch metrics"`)
			writeError(w, http.StatusUnauthorized, "this endpoint needs its bearer token (Authorization: Bearer TOKEN)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// LoadToken reads a token from a file: its first line, without the space
// around it.
func LoadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	tok := strings.TrimSpace(line)
	if tok == "" {
		return "", fmt.Errorf("token: %s holds no token on its first line", path)
	}
	return tok, nil
}

// MaxConns is the most connections Serve keeps open at once; more wait to
// be accepted. With the read timeouts and the header limit, it bounds the
// memory idle and slow clients can hold (about 100 KiB each at most).
const MaxConns = 512

// Serve listens on addr (host:port; a bare :port or port binds 127.0.0.1)
// and serves h with read and header timeouts, keeping at most MaxConns
// connections open. It returns the server and its actual address;
// Shutdown stops it.
func Serve(addr string, h http.Handler) (*http.Server, net.Addr, error) {
	ln, err := net.Listen("tcp", ListenAddr(addr))
	if err != nil {
		return nil, nil, err
	}
	addrOut := ln.Addr()
	ln = netutil.LimitListener(ln, MaxConns)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go srv.Serve(ln)
	return srv, addrOut, nil
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

// Loopback tells whether a listening address is on the loopback
// interface only.
func Loopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
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
