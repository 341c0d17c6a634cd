package engine_test

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1024", 1024},
		{"10MB", 10 << 20},
		{"512KiB", 512 << 10},
		{"512kb", 512 << 10},
		{" 2 GiB ", 2 << 30},
		{"1.5MB", 3 << 19},
		{"8M", 8 << 20},
		{"100B", 100},
	} {
		got, err := engine.ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "MB", "0", "0KB", "-5MB", "0.1B", "infMB", "Inf", "NaN", "1e3", "0x10", "5 TB", "1.2.3KB", "99999999999GB"} {
		if got, err := engine.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

// TestSizeOptionErrors loads steps whose size options are not sizes: each is
// a load error at the option's value. Before engine.Size, resumable_over:
// infMB and 1e3 were taken (as a negative and as 1000 bytes).
func TestSizeOptionErrors(t *testing.T) {
	for _, tc := range []struct{ name, opts, want string }{
		{"infinity", "resumable_over: infMB", `f.yaml:4:23: steps[0].google-drive.resumable_over: expected a size like 5MB, 512KiB or a number of bytes, got "infMB"`},
		{"exponent", "resumable_over: 1e3", `f.yaml:4:23: steps[0].google-drive.resumable_over: expected a size like 5MB, 512KiB or a number of bytes, got "1e3"`},
		{"zero", "chunk_size: 0", `f.yaml:4:19: steps[0].google-drive.chunk_size: expected a size like 5MB, 512KiB or a number of bytes, got "0"`},
		{"a list", "chunk_size: [1MB]", `f.yaml:4:19: steps[0].google-drive.chunk_size: expected a size like 10MB or 512KiB, got a list`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "name: a\nsteps:\n  - google-drive:\n      " + tc.opts + "\n      operation: upload\n      file: a\n"
			_, err := engine.Load("f.yaml", []byte(src), engine.LoadOptions{})
			if err == nil {
				t.Fatal("loaded")
			}
			if got := strings.TrimSpace(err.Error()); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
