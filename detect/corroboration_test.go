package detect

import (
	"slices"
	"testing"
)

// Corroboration counts the affiliations an episode's violations come
// from: each registered one once, unknown sources as one only when no
// registered source is among them, and a neutral source corroborates on
// its own. It never changes the class.
func TestCorroboration(t *testing.T) {
	line := straightLine(t)
	reg := NewAffiliations(map[string]string{"ua-1": "A", "ua-2": "A", "ru-1": "B", "osce": "neutral"})
	tests := []struct {
		name     string
		sources  []string // one violation each, all in one hot cell
		min      int
		nSources int
		affs     []AffiliationCount
		distinct int
		holds    bool
	}{
		{"one party's observers, min 1", []string{"ua-1", "ua-2", "ua-1"}, 1, 2, []AffiliationCount{{"A", 3}}, 1, true},
		{"one party's observers, min 2", []string{"ua-1", "ua-2", "ua-1"}, 2, 2, []AffiliationCount{{"A", 3}}, 1, false},
		{"both parties, min 2", []string{"ua-1", "ru-1"}, 2, 2, []AffiliationCount{{"A", 1}, {"B", 1}}, 2, true},
		{"a neutral source, min 3", []string{"ua-1", "osce"}, 3, 2, []AffiliationCount{{"A", 1}, {"neutral", 1}}, 2, true},
		{"unregistered and one party: no second party", []string{"ua-1", "stranger", ""}, 2, 3, []AffiliationCount{{"A", 1}, {"unknown", 2}}, 1, false},
		{"no sources at all, min 1", []string{"", ""}, 1, 1, []AffiliationCount{{"unknown", 2}}, 1, true},
		{"no sources at all, min 2", []string{"", "", "x"}, 2, 2, []AffiliationCount{{"unknown", 3}}, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol := DefaultPolicy()
			pol.Affiliations = reg
			pol.CorroborationMinAffiliations = tc.min
			var viols []*Violation
			for i, src := range tc.sources {
				viols = append(viols, &Violation{ID: string(rune('a' + i)), Time: 3600e6, Party: "B", Type: Incursion,
					Sector: 0, Weight: 2_000_000, Source: src, Strength: 1})
			}
			res := Aggregate(line, pol, viols)
			if len(res.Episodes) != 1 {
				t.Fatalf("%d episodes", len(res.Episodes))
			}
			e := res.Episodes[0]
			if e.Sources != tc.nSources || !slices.Equal(e.Affiliations, tc.affs) || e.DistinctAffiliations() != tc.distinct || e.Corroborated != tc.holds {
				t.Fatalf("sources %d, affiliations %v (%d distinct), corroborated %v", e.Sources, e.Affiliations, e.DistinctAffiliations(), e.Corroborated)
			}
			// The class is the same whatever the corroboration.
			pol.CorroborationMinAffiliations = 1
			pol.Affiliations = Affiliations{}
			if again := Aggregate(line, pol, viols).Episodes[0]; again.Class != e.Class {
				t.Fatalf("class %v with corroboration, %v without", e.Class, again.Class)
			}
		})
	}
}
