package stream_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/linewatch/linewatch/stream"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "linewatch test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

// The embedded server listens only when asked, and then lets in only the
// clients holding its key; with a certificate, only over TLS.
func TestEmbeddedListener(t *testing.T) {
	ctx := context.Background()
	cfg := stream.BrokerConfig{Stream: testStream, Subject: testSubject, Duplicates: time.Minute}

	// Not asked: no address, no key.
	c := cfg
	c.StoreDir = t.TempDir()
	b, err := stream.StartBroker(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if b.ClientURL() != "" || b.Addr() != nil || b.KeyFile() != "" {
		t.Fatalf("a server not asked to listen: %q %v %q", b.ClientURL(), b.Addr(), b.KeyFile())
	}
	b.Close()
	if _, err := os.Stat(filepath.Join(c.StoreDir, stream.KeyFileName)); !os.IsNotExist(err) {
		t.Fatalf("a key for a server that does not listen: %v", err)
	}

	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"plain", false}, {"TLS", true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.StoreDir, c.Listen = t.TempDir(), "127.0.0.1:0"
			if tc.tls {
				c.TLSCert, c.TLSKey = cert, key
			}
			b, err := stream.StartBroker(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			url := b.ClientURL()
			if tc.tls != strings.HasPrefix(url, "tls://") {
				t.Fatalf("client URL %q", url)
			}
			fi, err := os.Stat(b.KeyFile())
			if err != nil || fi.Mode().Perm() != 0o600 || b.KeyFile() != filepath.Join(c.StoreDir, stream.KeyFileName) {
				t.Fatalf("key file %q: %v %v", b.KeyFile(), fi, err)
			}
			withKey, err := nats.NkeyOptionFromSeed(b.KeyFile())
			if err != nil {
				t.Fatal(err)
			}
			secure := nats.Secure(&tls.Config{RootCAs: pool})
			connect := func(opts ...nats.Option) error {
				nc, err := nats.Connect(url, append(opts, nats.MaxReconnects(0), nats.Timeout(5*time.Second))...)
				if err == nil {
					nc.Close()
				}
				return err
			}
			tlsOpts := []nats.Option{}
			if tc.tls {
				tlsOpts = append(tlsOpts, secure)
				if err := connect(withKey); err == nil {
					t.Fatal("a client that does not trust the certificate connected")
				}
			}
			if err := connect(tlsOpts...); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
				t.Fatalf("a client without the key: %v", err)
			}
			other, err := os.CreateTemp(t.TempDir(), "other")
			if err != nil {
				t.Fatal(err)
			}
			kp, _ := nkeys.CreateUser()
			seed, _ := kp.Seed()
			other.Write(append(seed, '\n'))
			other.Close()
			if wrong, err := nats.NkeyOptionFromSeed(other.Name()); err != nil {
				t.Fatal(err)
			} else if err := connect(append(tlsOpts, wrong)...); err == nil {
				t.Fatal("a client with another key connected")
			}
			if err := connect(append(tlsOpts, withKey)...); err != nil {
				t.Fatalf("a client with the key: %v", err)
			}
			// Restarted on the same state, the server takes the same key.
			b.Close()
			b2, err := stream.StartBroker(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			defer b2.Close()
			url = b2.ClientURL()
			if err := connect(append(tlsOpts, withKey)...); err != nil {
				t.Fatalf("after a restart, with the key: %v", err)
			}
		})
	}
}
