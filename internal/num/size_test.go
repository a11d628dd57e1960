package num

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1048576", 1 << 20}, {"512KiB", 512 << 10}, {"16MiB", 16 << 20}, {"1GiB", 1 << 30},
		{"16 MB", 16 << 20}, {"2K", 2 << 10}, {"100B", 100}, {" 3 GiB ", 3 << 30},
	}
	for _, tc := range tests {
		if got, err := ParseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "1.5MiB", "MiB", "2TiB", "2048GiB"} {
		if got, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, got)
		}
	}
}
