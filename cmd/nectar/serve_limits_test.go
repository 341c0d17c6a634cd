package main

import "testing"

// TestDefaultMaxConnections: without --max-connections, nectar serve caps
// connections at half the open-file limit, between 16 and 10000.
func TestDefaultMaxConnections(t *testing.T) {
	tests := []struct {
		name string
		fds  uint64
		want int
	}{
		{"unknown limit", 0, 10000},
		{"ulimit 256", 256, 128},
		{"ulimit 1024", 1024, 512},
		{"tiny limit", 20, 16},
		{"huge limit", 1 << 20, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := defaultMaxConnections(tt.fds); got != tt.want {
				t.Fatalf("defaultMaxConnections(%d) = %d, want %d", tt.fds, got, tt.want)
			}
		})
	}
}
