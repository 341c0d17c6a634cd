package gdrive_test

import (
	"strconv"
	"testing"
)

// BenchmarkMove downloads a file from the fake Drive into the working
// directory and uploads it again (multipart up to 5 MB, resumable in 8 MB
// chunks above), over loopback HTTP with a bearer account: the cost of
// moving bytes through a pipeline, the fake server's work included.
func BenchmarkMove(b *testing.B) {
	for _, size := range []int64{1 << 20, 16 << 20} {
		b.Run(strconv.FormatInt(size>>20, 10)+"MB", func(b *testing.B) {
			e := newEnv(b)
			id := e.drive.addGen("big.bin", size)
			e.drive.mu.Lock()
			e.drive.keep = 0 // the fake keeps only the MD5 of what it receives
			e.drive.mu.Unlock()
			p := e.load(`  - google-drive:
      operation: download
      file_id: "{{ message.id }}"
` + base + `  - google-drive:
      operation: upload
      file: "{{ message }}"
` + base)
			in := `{"id":"` + id + `"}`
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				e.MustRun(p, in)
			}
		})
	}
}
