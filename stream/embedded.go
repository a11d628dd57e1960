package stream

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// KeyFileName is the name, in the state directory, of the nkey seed file
// generated for the embedded server's listener.
const KeyFileName = "nats.nk"

// maxStore is the embedded JetStream's storage limit: in effect none, so
// that the disk is the limit. Left unset, JetStream takes three quarters
// of the space free when it starts and keeps that limit until it
// restarts, however much space is freed meanwhile.
const maxStore = 1 << 50

// startEmbedded starts the embedded server and returns the options the
// engine connects to it with, in the process.
func (b *Broker) startEmbedded() ([]nats.Option, error) {
	cfg := b.cfg
	sopts := &server.Options{
		ServerName:        "linewatch",
		JetStream:         true,
		StoreDir:          filepath.Join(cfg.StoreDir, "jetstream"),
		JetStreamMaxStore: maxStore,
		NoSigs:            true,
		NoLog:             true,
		SyncAlways:        cfg.SyncAlways,
		DontListen:        true,
	}
	var conn []nats.Option
	if cfg.Listen == "" {
		if cfg.TLSCert != "" || cfg.TLSKey != "" || cfg.NKeyFile != "" {
			return nil, errors.New("embedded NATS server: a key or a certificate is only for a server that listens")
		}
	} else {
		host, port, err := splitListen(cfg.Listen)
		if err != nil {
			return nil, err
		}
		sopts.DontListen, sopts.Host, sopts.Port = false, host, port
		if port == 0 {
			sopts.Port = server.RANDOM_PORT
		}
		b.nkey = cfg.NKeyFile
		if b.nkey == "" {
			b.nkey = filepath.Join(cfg.StoreDir, KeyFileName)
		}
		kp, err := b.userKey(b.nkey, cfg.NKeyFile == "")
		if err != nil {
			return nil, err
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("NATS key %s: %w", b.nkey, err)
		}
		// The listener's one user: whoever holds the key. The engine
		// proves it holds it as every other client does.
		sopts.Nkeys = []*server.NkeyUser{{Nkey: pub}}
		conn = append(conn, nats.Nkey(pub, kp.Sign))
		if cfg.TLSCert != "" || cfg.TLSKey != "" {
			if cfg.TLSCert == "" || cfg.TLSKey == "" {
				return nil, errors.New("embedded NATS server: TLS needs both a certificate and its key")
			}
			tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey})
			if err != nil {
				return nil, fmt.Errorf("embedded NATS server TLS: %w", err)
			}
			sopts.TLSConfig, sopts.TLSTimeout = tc, 2
		}
	}
	e := &embedded{opts: sopts}
	if err := e.start(); err != nil {
		if cfg.Listen != "" {
			return nil, fmt.Errorf("%w (is %s in use?)", err, cfg.Listen)
		}
		return nil, err
	}
	if a, ok := e.server().Addr().(*net.TCPAddr); ok && sopts.Port == server.RANDOM_PORT {
		// A restart listens where the first start did.
		sopts.Port = a.Port
	}
	b.embedded = e
	return append(conn, nats.InProcessServer(e)), nil
}

// embedded is the embedded server, which can be restarted on its files:
// the engine's connection, in the process, reconnects to the new one.
type embedded struct {
	opts *server.Options
	cur  atomic.Pointer[server.Server] // the server started last
	down atomic.Bool                   // it was shut down, and no other started yet
}

func (e *embedded) start() error {
	srv, err := server.NewServer(e.opts.Clone())
	if err != nil {
		return fmt.Errorf("embedded NATS server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return errors.New("embedded NATS server: not ready")
	}
	e.cur.Store(srv)
	e.down.Store(false)
	return nil
}

// server is the server started last.
func (e *embedded) server() *server.Server { return e.cur.Load() }

// InProcessConn connects to the server running (nats.InProcessServer).
func (e *embedded) InProcessConn() (net.Conn, error) {
	if e.down.Load() {
		return nil, errors.New("embedded NATS server restarting")
	}
	return e.server().InProcessConn()
}

func (e *embedded) shutdown() {
	e.down.Store(true)
	s := e.server()
	s.Shutdown()
	s.WaitForShutdown()
}

// restart stops the server and starts a new one on the same files, which
// loads the streams anew.
func (e *embedded) restart() error {
	e.shutdown()
	return e.start()
}

// splitListen reads HOST:PORT; a bare PORT or :PORT is on 127.0.0.1.
func splitListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(ListenAddr(addr))
	if err != nil {
		return "", 0, fmt.Errorf("NATS listen address %q: want HOST:PORT", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("NATS listen address %q: want a port from 0 (any free one) to 65535", addr)
	}
	return host, port, nil
}

// userKey reads a user nkey seed file, generating it (mode 0600) if it
// does not exist and generate is set.
func (b *Broker) userKey(path string, generate bool) (nkeys.KeyPair, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && generate {
		return b.generateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("NATS key: %w", err)
	}
	kp, err := nkeys.ParseDecoratedUserNKey(data)
	if err != nil {
		return nil, fmt.Errorf("NATS key %s: %w (want a user seed, as \"nk -gen user\" writes)", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		b.cfg.Log.Warn("the NATS key file can be read by others than its owner; chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
	}
	return kp, nil
}

func (b *Broker) generateKey(path string) (nkeys.KeyPair, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("generating a NATS key: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("generating a NATS key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("NATS key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("NATS key: %w", err)
	}
	_, err = f.Write(append(seed, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("NATS key: %w", err)
	}
	b.cfg.Log.Info("generated a NATS key for the embedded server's clients", "file", path)
	return kp, nil
}

// StoreError tells why the embedded server cannot store records now (the
// disk is full, say), or nil when it can or the server is not embedded.
func (b *Broker) StoreError() error { return b.store.problem() }

// settling tells whether the embedded JetStream is restarting or restarted
// a moment ago, when its streams may briefly look absent.
func (b *Broker) settling() bool { return b.store.settling() }

// storeWatch keeps an eye on the embedded server's JetStream store. When
// a write to a stream's files fails (ENOSPC: the disk is full), JetStream
// does not answer the publisher, marks the stream with the write error,
// and refuses every later write the same way, even once there is space
// again, until the stream is loaded anew. The watch notices the error (the
// server's health check reports it), says so in the log and in /healthz,
// lets the HTTP ingest refuse at once with the reason, and when a test
// write shows there is space again, restarts the server, which loads the
// streams from their files as a restart of the process would. (Restarting
// JetStream alone in the running server would do as well, but races with
// the requests it is serving.)
type storeWatch struct {
	mu   sync.Mutex
	err  error // why JetStream cannot store now, nil if it can
	quit chan struct{}
	done chan struct{}

	restarting  atomic.Bool
	restartedAt atomic.Int64 // unix ns
}

// spaceProbe is the size of the test write that tells there is space
// again; random bytes, so that a compressing file system cannot fake it.
const spaceProbe = 1 << 20

func (w *storeWatch) start(b *Broker) {
	w.quit, w.done = make(chan struct{}), make(chan struct{})
	go w.run(b)
}

func (w *storeWatch) stop() {
	if w.quit != nil {
		close(w.quit)
		<-w.done
		w.quit = nil
	}
}

func (w *storeWatch) problem() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *storeWatch) settling() bool {
	return w.restarting.Load() || time.Since(time.Unix(0, w.restartedAt.Load())) < 5*time.Second
}

func (w *storeWatch) set(err error) (was error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	was, w.err = w.err, err
	return was
}

func (w *storeWatch) run(b *Broker) {
	defer close(w.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	log := b.cfg.Log
	// A test write every 2 s while the store fails costs little, and
	// finds the space again soon after it is freed.
	const probeEvery = 2 * time.Second
	var nextProbe time.Time
	for {
		select {
		case <-w.quit:
			return
		case <-t.C:
		}
		err := b.storeHealth()
		if err == nil {
			if w.set(nil) != nil {
				log.Info("JetStream stores records again")
				b.setProblem("")
			}
			continue
		}
		if w.set(err) == nil {
			log.Error("JetStream cannot store records: nothing more is acknowledged, the HTTP ingest answers 503, until there is space again",
				"error", err.Error(), "dir", b.embedded.opts.StoreDir)
			b.setProblem(err.Error())
			nextProbe = time.Now()
		}
		if !writeFailure(err) || time.Now().Before(nextProbe) {
			// Only a failed write is mended by a restart; anything else
			// (a server still starting under load, say) passes by itself.
			continue
		}
		if perr := probeSpace(b.embedded.opts.StoreDir); perr != nil {
			log.Debug("no space yet", "error", perr.Error())
			nextProbe = time.Now().Add(probeEvery)
			continue
		}
		log.Warn("there is space again: restarting the embedded NATS server to load its streams anew", "dir", b.embedded.opts.StoreDir)
		if rerr := w.restart(b.embedded); rerr != nil {
			log.Error("restarting the embedded NATS server", "error", rerr.Error())
			nextProbe = time.Now().Add(probeEvery)
		}
	}
}

// writeFailure tells whether a health error is a failed write to the
// store's files, which JetStream keeps until its streams are loaded anew.
func writeFailure(err error) bool {
	msg := err.Error()
	for _, s := range []string{"no space left", "file too large", "input/output error", "read-only file system", "write "} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// storeHealth asks the embedded server whether JetStream works and its
// streams can be written.
func (b *Broker) storeHealth() error {
	srv := b.embedded.server()
	if !srv.JetStreamEnabled() {
		return errors.New("JetStream is disabled")
	}
	if h := srv.Healthz(nil); h.Status != "ok" {
		return errors.New(h.Error)
	}
	return nil
}

func (b *Broker) setProblem(msg string) {
	if b.cfg.Metrics != nil {
		b.cfg.Metrics.SetProblem("jetstream", msg)
	}
}

// restart restarts the embedded server, telling the NATS sources to
// take a missing stream or consumer calmly meanwhile.
func (w *storeWatch) restart(e *embedded) error {
	w.restarting.Store(true)
	defer func() {
		w.restartedAt.Store(time.Now().UnixNano())
		w.restarting.Store(false)
	}()
	return e.restart()
}

// probeSpace writes and syncs spaceProbe bytes in dir, and removes them.
func probeSpace(dir string) error {
	name := filepath.Join(dir, ".linewatch-space-probe")
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(name)
	buf := make([]byte, spaceProbe)
	r := rand.NewChaCha8([32]byte{})
	r.Read(buf)
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
