// Package sources is the registry of the sources that post sightings to a
// linewatch engine — who they are, how they prove it, and which party they
// belong to — and the signing of the bodies they post.
//
// # The registry (--sources FILE)
//
// A YAML mapping from source id to what linewatch knows of the source:
//
//	observer-7:
//	  token: s3cret                 # or token_file: observer-7.token
//	  key: observer-7+1a2b3c4d+AX…  # or key_file: observer-7.pub
//	  affiliation: UA               # a party code of the line, or neutral
//	osce-patrol-2:
//	  key_file: osce-2.pub
//	  affiliation: neutral
//
// A token lets a source post (HTTP bearer token); a key (a signed-note
// Ed25519 verifier key, as 'linewatch key generate' prints) makes it sign
// every body it posts, and the engine refuses its unsigned bodies. Its
// affiliation is what corroboration counts (docs/corroboration.md). File
// names are relative to the registry's directory. A tokens file of the
// earlier kind ("TOKEN SOURCE-ID" lines) is read as a registry of sources
// with tokens only.
//
// # Signed bodies
//
// A source with a key signs each request body with a signed note
// (c2sp.org/signed-note) whose text names the source and the body's
// SHA-256 (NoteText), and sends the note's signature line in the
// Linewatch-Signature header. docs/sources.md specifies it and says why
// this rather than RFC 9421 HTTP message signatures.
package sources

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/keys"
)

// Neutral is the affiliation of a source that belongs to no party (an
// international monitoring mission).
const Neutral = "neutral"

// Unknown is the affiliation corroboration gives a source it does not
// know, or a record without a source. It cannot be registered.
const Unknown = "unknown"

// MaxID is the longest source id (it is written in the log's entries).
const MaxID = 255

// Source is one registered source.
type Source struct {
	ID    string
	Token string // "" when it has none
	// Key is its verifier key and Verifier the key parsed; "" and nil for a
	// source that does not sign.
	Key      string
	Verifier note.Verifier
	// Affiliation is a party code of the line, Neutral, or "" when the
	// registry does not say (corroboration counts it as Unknown).
	Affiliation string
}

// Signs tells whether the source signs its bodies.
func (s *Source) Signs() bool { return s.Verifier != nil }

// Registry is the set of registered sources.
type Registry struct {
	byID    map[string]*Source
	byToken map[string]*Source
	byKey   map[keyID]*Source
}

type keyID struct {
	name string
	hash uint32
}

// New returns a registry of the sources given, checking that ids, tokens
// and keys are each given once.
func New(list ...*Source) (*Registry, error) {
	r := &Registry{byID: map[string]*Source{}, byToken: map[string]*Source{}, byKey: map[keyID]*Source{}}
	for _, s := range list {
		if err := r.add(s); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Registry) add(s *Source) error {
	if err := CheckID(s.ID); err != nil {
		return err
	}
	if _, dup := r.byID[s.ID]; dup {
		return fmt.Errorf("source %q: given twice", s.ID)
	}
	if s.Affiliation == Unknown {
		return fmt.Errorf("source %q: affiliation %q is what linewatch calls a source it does not know; give a party code or %q", s.ID, Unknown, Neutral)
	}
	if s.Token != "" {
		if o, dup := r.byToken[s.Token]; dup {
			return fmt.Errorf("source %q: its token is also source %q's; each source needs its own", s.ID, o.ID)
		}
		r.byToken[s.Token] = s
	}
	if s.Verifier != nil {
		k := keyID{s.Verifier.Name(), s.Verifier.KeyHash()}
		if o, dup := r.byKey[k]; dup {
			return fmt.Errorf("source %q: its key is also source %q's; each source needs its own", s.ID, o.ID)
		}
		r.byKey[k] = s
	}
	r.byID[s.ID] = s
	return nil
}

// CheckID tells whether id can be a source id: not empty, at most MaxID
// bytes, valid UTF-8 without control characters.
func CheckID(id string) error {
	switch {
	case id == "":
		return errors.New("a source id cannot be empty")
	case len(id) > MaxID:
		return fmt.Errorf("source id %.40q…: %d bytes, at most %d", id, len(id), MaxID)
	case strings.ToValidUTF8(id, "\uFFFD") != id || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("source id %q: not valid UTF-8 text without control characters", id)
	}
	return nil
}

// Source returns the source of id, or nil.
func (r *Registry) Source(id string) *Source {
	if r == nil {
		return nil
	}
	return r.byID[id]
}

// ByToken returns the source whose token tok is, or nil.
func (r *Registry) ByToken(tok string) *Source {
	if r == nil || tok == "" {
		return nil
	}
	return r.byToken[tok]
}

// ByKey returns the source whose key has this name and hash, or nil.
func (r *Registry) ByKey(name string, hash uint32) *Source {
	if r == nil {
		return nil
	}
	return r.byKey[keyID{name, hash}]
}

// IDs returns the registered ids, sorted.
func (r *Registry) IDs() []string {
	if r == nil {
		return nil
	}
	ids := make([]string, 0, len(r.byID))
	for id := range r.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Signers returns the ids of the sources that sign their bodies, sorted.
func (r *Registry) Signers() []string {
	var ids []string
	for _, id := range r.IDs() {
		if r.byID[id].Signs() {
			ids = append(ids, id)
		}
	}
	return ids
}

// Len is the number of sources.
func (r *Registry) Len() int {
	if r == nil {
		return 0
	}
	return len(r.byID)
}

// Authenticates tells whether posting requires a token or a signature:
// whether any source has either.
func (r *Registry) Authenticates() bool { return r != nil && (len(r.byToken) > 0 || len(r.byKey) > 0) }

// Tokens maps each token to its source id (the HTTP ingest's bearer
// tokens).
func (r *Registry) Tokens() map[string]string {
	m := map[string]string{}
	if r != nil {
		for tok, s := range r.byToken {
			m[tok] = s.ID
		}
	}
	return m
}

// Affiliations maps each source with an affiliation to it: what
// corroboration needs (detect.Policy.Affiliations).
func (r *Registry) Affiliations() map[string]string {
	m := map[string]string{}
	if r != nil {
		for id, s := range r.byID {
			if s.Affiliation != "" {
				m[id] = s.Affiliation
			}
		}
	}
	return m
}

// CheckParties checks that every affiliation is one of the line's parties
// or Neutral.
func (r *Registry) CheckParties(parties ...string) error {
	for _, id := range r.IDs() {
		a := r.byID[id].Affiliation
		if a == "" || a == Neutral || slices.Contains(parties, a) {
			continue
		}
		return fmt.Errorf("source %q: affiliation %q is neither a party of the line (%s) nor %q", id, a, strings.Join(parties, ", "), Neutral)
	}
	return nil
}

// Load reads a registry file: YAML (see the package documentation), or a
// tokens file of "TOKEN SOURCE-ID" lines.
func Load(path string) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	if isTokensFile(data) {
		return parseTokens(path, data)
	}
	r, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("sources %s: %w", path, err)
	}
	return r, nil
}

// LoadTokens reads a tokens file: one "TOKEN SOURCE-ID" a line; blank
// lines and lines starting with # are skipped.
func LoadTokens(path string) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return parseTokens(path, data)
}

// isTokensFile tells a tokens file ("TOKEN SOURCE-ID" lines, comments)
// from YAML: its first line that says anything has two words and no colon.
func isTokensFile(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || line == "---" {
			continue
		}
		f := strings.Fields(line)
		return len(f) == 2 && f[0] != "-" && !strings.Contains(line, ":")
	}
	return false
}

func parseTokens(path string, data []byte) (*Registry, error) {
	r, _ := New()
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("tokens %s:%d: want \"TOKEN SOURCE-ID\", got %d fields", path, n, len(f))
		}
		if o := r.ByToken(f[0]); o != nil {
			return nil, fmt.Errorf("tokens %s:%d: token given twice", path, n)
		}
		s := r.Source(f[1])
		if s == nil {
			s = &Source{ID: f[1], Token: f[0]}
			if err := r.add(s); err != nil {
				return nil, fmt.Errorf("tokens %s:%d: %w", path, n, err)
			}
			continue
		}
		// One source with several tokens: each maps to it.
		r.byToken[f[0]] = s
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens %s: %w", path, err)
	}
	if r.Len() == 0 {
		return nil, fmt.Errorf("tokens %s: holds no token", path)
	}
	return r, nil
}

var sourceKeys = []string{"token", "token_file", "key", "key_file", "affiliation"}

// Parse reads a YAML registry; file names in it are relative to dir.
func Parse(data []byte, dir string) (*Registry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("no sources")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of source ids to their token, key and affiliation", root.Line)
	}
	r, _ := New()
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		id := k.Value
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: a source id must be a string", k.Line)
		}
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: source %q: want a mapping with %s", v.Line, id, strings.Join(sourceKeys, ", "))
		}
		s := &Source{ID: id}
		seen := map[string]bool{}
		for j := 0; j+1 < len(v.Content); j += 2 {
			fk, fv := v.Content[j], v.Content[j+1]
			key := fk.Value
			if !slices.Contains(sourceKeys, key) {
				return nil, fmt.Errorf("line %d: source %q: unknown key %q (known: %s)", fk.Line, id, key, strings.Join(sourceKeys, ", "))
			}
			if seen[key] {
				return nil, fmt.Errorf("line %d: source %q: %s given twice", fk.Line, id, key)
			}
			seen[key] = true
			if seen["token"] && seen["token_file"] || seen["key"] && seen["key_file"] {
				return nil, fmt.Errorf("line %d: source %q: give a token or a token_file, a key or a key_file, not both", fk.Line, id)
			}
			if fv.Kind != yaml.ScalarNode || fv.Tag == "!!null" {
				return nil, fmt.Errorf("line %d: source %q: %s must be a string", fv.Line, id, key)
			}
			val := strings.TrimSpace(fv.Value)
			if val == "" {
				return nil, fmt.Errorf("line %d: source %q: %s is empty", fv.Line, id, key)
			}
			var err error
			switch key {
			case "token":
				s.Token = val
			case "token_file":
				s.Token, err = readFile(dir, val)
			case "key":
				s.Key = val
			case "key_file":
				s.Key, err = readFile(dir, val)
			case "affiliation":
				s.Affiliation = val
			}
			if err != nil {
				return nil, fmt.Errorf("line %d: source %q: %s: %w", fv.Line, id, key, err)
			}
		}
		if strings.ContainsAny(s.Token, " \t\r\n") {
			return nil, fmt.Errorf("line %d: source %q: a token cannot hold white space", v.Line, id)
		}
		if s.Key != "" {
			kv, err := keys.ParseVerifier(s.Key)
			if err != nil {
				return nil, fmt.Errorf("line %d: source %q: key: %w", v.Line, id, err)
			}
			if keys.IsCosigner(s.Key) {
				return nil, fmt.Errorf("line %d: source %q: key: a witness's cosignature key (type 0x04); a source signs with a plain Ed25519 key", v.Line, id)
			}
			s.Verifier = kv
		}
		if err := r.add(s); err != nil {
			return nil, fmt.Errorf("line %d: %w", k.Line, err)
		}
	}
	if r.Len() == 0 {
		return nil, errors.New("no sources")
	}
	return r, nil
}

func readFile(dir, name string) (string, error) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", fmt.Errorf("%s is empty", name)
	}
	return s, nil
}
