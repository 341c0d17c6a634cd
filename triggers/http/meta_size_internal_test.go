package http

import (
	"testing"
	"unsafe"
)

// TestRequestMetaSize: a request's metadata (requestMeta), with the
// 8-byte header the runtime puts before an object of more than 512 bytes
// with pointers, fits the size class of 1024 bytes, so that holding it
// apart from the execution costs no more memory than holding it in the
// execution did (1408 bytes for both; see metaStrings).
func TestRequestMetaSize(t *testing.T) {
	const header = 8
	if n := unsafe.Sizeof(requestMeta{}) + header; n > 1024 {
		t.Errorf("requestMeta takes %d bytes with its header, want at most 1024 (its size class)", n)
	}
	if n := unsafe.Sizeof(execution{}); n > 384 {
		t.Errorf("execution takes %d bytes, want at most 384 (its size class)", n)
	}
}
