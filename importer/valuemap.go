package importer

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A Map turns the text of a column into the value of a field: which actor
// names mean which party, which event types are ground or fire, which
// precision codes mean how many metres. It is read from YAML, one section
// per field, each a mapping from column text to value:
//
//	side:
//	  "Military Forces of Russia (2000-)": RU
//	  "Military Forces of Ukraine (2019-)": UA
//	  "*Separatists*": RU        # a key with * is a pattern
//	  "*": ""                    # any other text: no side
//	kind:
//	  "Shelling/artillery/missile attack": fire
//	  Armed clash: ground
//	precision_m:
//	  1: 2000
//
// Sections: side, kind, track, source, id, strength, confidence,
// precision_m, time_uncertainty_s. A value may be a string, a number or
// null ("" and null: the field is empty). Lookup, on the column text with
// the spaces around it trimmed: an exact key; else the first pattern that
// matches, in file order (* stands for any text, and the match ignores
// case); else the section's "*" entry; else the text itself, unchanged.
type Map struct {
	sections [numFields]*section
}

type section struct {
	exact    map[string][]byte
	patterns []pattern
	def      []byte // nil: none
	// flagDef marks rows whose value came from def (a preset's catch-all
	// that needs a look: ACLED's other event types).
	flagDef bool
}

type pattern struct {
	parts []string // the text between the stars, lower case
	value []byte
}

// mapSections are the YAML keys of a Map, by field.
var mapSections = map[string]Field{
	"side": Side, "kind": Kind, "track": Track, "source": Source, "id": ID,
	"strength": Strength, "confidence": Confidence, "precision_m": PrecisionM,
	"time_uncertainty_s": TimeUncertainty,
}

// LoadMap reads a Map from a YAML file.
func LoadMap(path string) (*Map, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("map: %w", err)
	}
	m, err := ParseMap(data)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", path, err)
	}
	return m, nil
}

// ParseMap reads a Map from YAML text.
func ParseMap(data []byte) (*Map, error) {
	m := &Map{}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return m, nil // an empty file
		}
		return nil, err
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		return nil, fmt.Errorf("line %d: more than one YAML document", extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return m, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of sections (side, kind, …)", root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		f, ok := mapSections[k.Value]
		if !ok || k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: unknown section %q (want side, kind, track, source, id, strength, confidence, precision_m or time_uncertainty_s)", k.Line, k.Value)
		}
		if m.sections[f] != nil {
			return nil, fmt.Errorf("line %d: section %q given twice", k.Line, k.Value)
		}
		s, err := parseSection(k.Value, v)
		if err != nil {
			return nil, err
		}
		m.sections[f] = s
	}
	return m, nil
}

func parseSection(name string, n *yaml.Node) (*section, error) {
	s := &section{exact: map[string][]byte{}}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return s, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: section %q: want a mapping from column text to value", n.Line, name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			return nil, fmt.Errorf("line %d: section %q: a key must be text or a number", k.Line, name)
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: section %q: the value of %q must be text, a number or null", v.Line, name, k.Value)
		}
		val := []byte(v.Value)
		if v.Tag == "!!null" || val == nil {
			val = []byte{}
		}
		key := strings.TrimSpace(k.Value)
		switch {
		case key == "*":
			if s.def != nil {
				return nil, fmt.Errorf("line %d: section %q: \"*\" given twice", k.Line, name)
			}
			s.def = val
		case strings.Contains(key, "*"):
			s.patterns = append(s.patterns, pattern{parts: strings.Split(strings.ToLower(key), "*"), value: val})
		default:
			if _, dup := s.exact[key]; dup {
				return nil, fmt.Errorf("line %d: section %q: key %q given twice", k.Line, name, key)
			}
			s.exact[key] = val
		}
	}
	return s, nil
}

// over returns the map m laid over base: a section of m replaces base's
// entry by entry (its "*" replaces base's).
func (m *Map) over(base *Map) *Map {
	out := &Map{}
	for f := range out.sections {
		var b, t *section
		if base != nil {
			b = base.sections[f]
		}
		if m != nil {
			t = m.sections[f]
		}
		switch {
		case t == nil:
			out.sections[f] = b
		case b == nil:
			out.sections[f] = t
		default:
			s := &section{exact: map[string][]byte{}, def: b.def, flagDef: b.flagDef}
			for k, v := range b.exact {
				s.exact[k] = v
			}
			for k, v := range t.exact {
				s.exact[k] = v
			}
			s.patterns = append(append(s.patterns, t.patterns...), b.patterns...)
			if t.def != nil {
				s.def, s.flagDef = t.def, false
			}
			out.sections[f] = s
		}
	}
	return out
}

// lookup maps text; mapped tells whether an entry applied, flag whether it
// was a flagged catch-all.
func (s *section) lookup(text []byte) (out []byte, flag bool) {
	if v, ok := s.exact[string(text)]; ok {
		return v, false
	}
	if len(s.patterns) > 0 {
		lower := strings.ToLower(string(text))
		for _, p := range s.patterns {
			if p.match(lower) {
				return p.value, false
			}
		}
	}
	if s.def != nil {
		return s.def, s.flagDef
	}
	return text, false
}

func (p pattern) match(s string) bool {
	parts := p.parts
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(parts) > 1 && strings.HasSuffix(s, last) || len(parts) == 1 && s == ""
}

// lookupStrict maps text only through the section's entries: ok is false
// when none applies.
func (s *section) lookupStrict(text []byte) (out []byte, ok bool) {
	if v, ok := s.exact[string(text)]; ok {
		return v, true
	}
	if len(s.patterns) > 0 {
		lower := strings.ToLower(string(text))
		for _, p := range s.patterns {
			if p.match(lower) {
				return p.value, true
			}
		}
	}
	if s.def != nil {
		return s.def, true
	}
	return nil, false
}
