package stream

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
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

// bearer returns the token of a request's "Authorization: Bearer TOKEN"
// header; false when it has no bearer token.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// requireToken lets through the requests that carry token (all of them
// if token is "").
func requireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r)
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
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

// MetricsTokenFile is the name, in the state directory, of the bearer
// token /metrics, /healthz and /readyz ask for when the operator gives none.
const MetricsTokenFile = "metrics.token"

// IngestTokenFile is the name, in the state directory, of the bearer
// token generated for the HTTP ingest when no tokens are given.
const IngestTokenFile = "ingest.token"

// EnsureToken reads the bearer token of the file path, as LoadToken does,
// or, where there is no such file, generates one (32 random bytes, in
// hex) and writes it there with mode 0600. created tells which.
func EnsureToken(path string) (tok string, created bool, err error) {
	tok, err = LoadToken(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, false, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, err
	}
	tok = hex.EncodeToString(b[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("token: %w", err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("token: %w", err)
	}
	return tok, true, nil
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

// Shutdown stops srv, letting requests under way finish (within 30 s).
func Shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}
