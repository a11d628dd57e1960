package stream_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linewatch/linewatch/stream"
)

// While the external NATS server is down, /healthz and /readyz answer 503
// and say why; once it is back, 200 again.
func TestHealthWhileNATSIsDown(t *testing.T) {
	dir := t.TempDir()
	server, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		StoreDir: dir, Listen: "127.0.0.1:0", Stream: testStream, Subject: testSubject, Duplicates: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	url, key := server.ClientURL(), server.KeyFile()
	m := stream.NewMetrics()
	b, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		URL: url, NKeyFile: key, Stream: testStream, Subject: testSubject, Duplicates: time.Minute, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m.AddProbe("nats", b.Probe)
	srv := httptest.NewServer(stream.Mux(nil, m, ""))
	defer srv.Close()
	get := func(path string) (int, string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		out, _ := json.Marshal(body)
		return res.StatusCode, string(out)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get(p); code != 200 {
			t.Fatalf("%s with the server up: %d %s", p, code, body)
		}
	}

	server.Close()
	waitFor(t, "/healthz to fail", 10*time.Second, func() bool { code, _ := get("/healthz"); return code == 503 })
	code, body := get("/readyz")
	if code != 503 || !strings.Contains(body, "not connected to NATS") {
		t.Fatalf("/readyz with the server down: %d %s", code, body)
	}
	if _, body := get("/healthz"); !strings.Contains(body, "disconnected from the NATS server") {
		t.Fatalf("/healthz does not say why: %s", body)
	}

	// The same server again, on its files and port.
	again, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		StoreDir: dir, Listen: strings.TrimPrefix(url, "nats://"), NKeyFile: key, Stream: testStream, Subject: testSubject, Duplicates: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	waitFor(t, "/readyz to recover", 20*time.Second, func() bool { code, _ := get("/readyz"); return code == 200 })
	if code, body := get("/healthz"); code != 200 {
		t.Fatalf("/healthz after the server came back: %d %s", code, body)
	}
}
