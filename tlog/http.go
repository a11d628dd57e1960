package tlog

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Handler serves a log over HTTP (c2sp.org/tlog-tiles), relative to where
// it is mounted (http.StripPrefix("/v1", h) serves /v1/checkpoint):
//
//	GET  checkpoint                the latest checkpoint, cosignatures gathered
//	GET  tile/<L>/<N>[.p/<W>]      hash tiles
//	GET  tile/entries/<N>[.p/<W>]  entry bundles
//	GET  bodies/<hex>[.note]       signed bodies and their signed notes
//	GET  records/<hex>             records too long for their entries
//	POST cosignature               a witness's cosigned checkpoint (MergeCosignatures)
//
// Everything but the checkpoint is immutable, and served so.
type Handler struct {
	Fetcher Fetcher
	// Writer, if set, serves the checkpoint from memory and takes
	// cosignatures; without it the log is read only.
	Writer *Writer
	// Current, if set (and Writer is not), returns the writer appending
	// to the log now, or nil while none is (an engine standing by, or
	// between two runs): the checkpoint is then read from Fetcher and
	// cosignatures are refused for the time being (503).
	Current   func() *Writer
	Witnesses []note.Verifier
}

// writer is the writer appending now, if any.
func (h *Handler) writer() *Writer {
	if h.Writer != nil {
		return h.Writer
	}
	if h.Current != nil {
		return h.Current()
	}
	return nil
}

const maxCosigned = 64 << 10

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "cosignature" {
		h.cosignature(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "GET the log's objects here", http.StatusMethodNotAllowed)
		return
	}
	if name == CheckpointName {
		var data []byte
		var err error
		if w := h.writer(); w != nil {
			data = w.Latest()
		}
		if data == nil {
			data, err = h.Fetcher.Get(r.Context(), name)
		}
		if err != nil || data == nil {
			http.Error(w, "no checkpoint yet", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(data)
		return
	}
	if !strings.HasPrefix(name, "tile/") && !strings.HasPrefix(name, bodiesDir) && !strings.HasPrefix(name, recordsDir) || checkName(name) != nil {
		http.NotFound(w, r)
		return
	}
	data, err := h.Fetcher.Get(r.Context(), name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(data)
}

func (h *Handler) cosignature(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST a cosigned checkpoint here", http.StatusMethodNotAllowed)
		return
	}
	lw := h.writer()
	switch {
	case lw == nil && h.Current != nil:
		w.Header().Set("Retry-After", "5")
		http.Error(w, "the log is not being written here now (the engine stands by, or is starting): send the cosignature again in a moment", http.StatusServiceUnavailable)
		return
	case lw == nil:
		http.Error(w, "this log takes no cosignatures", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCosigned))
	if err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	if _, err := lw.AddCosignature(r.Context(), body, h.Witnesses); err != nil {
		var se *StatusError
		if !errors.As(err, &se) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(se.Code)
		io.WriteString(w, se.Msg+"\n")
		if se.Body != nil {
			io.WriteString(w, "\n")
			w.Write(se.Body)
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(lw.Latest())
}
