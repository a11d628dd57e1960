package feed

import (
	"fmt"
	"testing"
)

// The splitter's check of values nested deeper than maxDepth, which does
// not recurse, says what the recursive check says of shallower ones:
// where a value ends, or the same error at the same offset.
func TestNestedMatchesRecursive(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `[1,2,[3,{"a":[]}]]`, `{"a" : { "b" : [ true , false , null ] } , "c":"d\"}"}`,
		`{"a":1} trailing`, `[[[]]]]`,
		`[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `[1 2]`, `{"a":1 "b":2}`, `[`, `{`, `{"a"`, `{"a":`, `[1,`,
		`[{"a":[1,2}]`, `{"a":[1,2]]`, `[NaN]`, `["\x01"]`, `[tru]`, `[-]`, `{"a":"unterminated]`,
	} {
		rec := scanner{b: []byte(in), lax: true}
		recErr := rec.value(0)
		nest := scanner{b: []byte(in), lax: true}
		nestErr := nest.nested()
		if fmt.Sprint(recErr) != fmt.Sprint(nestErr) || rec.i != nest.i {
			t.Errorf("%s:\n recursive %v at %d\n nested    %v at %d", in, recErr, rec.i, nestErr, nest.i)
		}
	}
}
