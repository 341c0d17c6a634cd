package value_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/internal/benchcpu"
)

func record(i int) string {
	return fmt.Sprintf(`{"id":%d,"sku":"SKU-%06d","name":"Item number %d with a longer name","qty":%d,"price":%d.25,"tags":["a","b","c"],"active":true,"meta":{"created":"2024-01-02T03:04:05Z","by":"importer"}}`, i, i, i, i%7, i%100)
}

func message(size int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"batch":"b-1","records":[`)
	for i := 0; sb.Len() < size-64; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(record(i))
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

func BenchmarkDecode(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"1MB", 1 << 20}} {
		data := message(size.n)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			defer benchcpu.Start(b)()
			for b.Loop() {
				if _, err := value.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The baseline: encoding/json into map[string]any (which loses key order).
		b.Run(size.name+"/encoding-json-baseline", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var v any
				if err := json.Unmarshal(data, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"1MB", 1 << 20}} {
		data := message(size.n)
		v, err := value.Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			buf := make([]byte, 0, len(data)+1024)
			for b.Loop() {
				if buf, err = value.AppendJSON(buf[:0], v); err != nil {
					b.Fatal(err)
				}
			}
		})
		var m any
		json.Unmarshal(data, &m)
		b.Run(size.name+"/encoding-json-baseline", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeNew is Encode: a new slice for each encoding, as the
// respond connector and the jwt and object-store steps need.
func BenchmarkEncodeNew(b *testing.B) {
	v, err := value.Decode(message(1 << 10))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := value.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeCustomer decodes the transform request's body (customer,
// in box_test.go).
func BenchmarkDecodeCustomer(b *testing.B) {
	b.SetBytes(int64(len(customer)))
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	for b.Loop() {
		if _, err := value.DecodeString(customer); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeCustomer encodes it into a reused buffer, as the http
// trigger writes its answer.
func BenchmarkEncodeCustomer(b *testing.B) {
	v, err := value.DecodeString(customer)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(customer)))
	b.ReportAllocs()
	buf := make([]byte, 0, 2048)
	defer benchcpu.Start(b)()
	for b.Loop() {
		if buf, err = value.AppendJSON(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

// tokenAnswer is the token request's answer (bench/cpu.sh token): two
// signed tokens, base64url and dots, and three short members.
const tokenAnswer = `{"access_token":"eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjQ4NjU1Iiwic3ViIjoiaGZ6ZXVkaDZiZXVpYzI0a21hMmNjYTJydWwiLCJpYXQiOjE3OTY2MzUwNTgsImp0aSI6ImlrZlRFaHduUkJ0bEFXUlNJRUpXa3ciLCJleHAiOjE3OTY2Mzg2NTgsImNsaWVudF9pZCI6ImhmemV1ZGg2YmV1aWMyNGttYTJjY2EycnVsIiwic2NvcGUiOiJwcm9maWxlIiwiZmFtIjoibG1ncDZma2xrM2lqZTdieWp6aGxhNzVnM2MifQ.V8B_SKC1KoYylmgwaG2pquhAkaRWzmdmANoU5OchUck","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJhbGciOiJIUzUxMiIsInR5cCI6InJlZnJlc2grand0In0.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjQ4NjU1Iiwic3ViIjoiaGZ6ZXVkaDZiZXVpYzI0a21hMmNjYTJydWwiLCJpYXQiOjE3OTY2MzUwNTgsImp0aSI6IndIQ0FlRkQ4MDBYUkxrc0lGVlNGRlEiLCJleHAiOjE3OTkyMjcwNTgsImNsaWVudF9pZCI6ImhmemV1ZGg2YmV1aWMyNGttYTJjY2EycnVsIiwic2NvcGUiOiJwcm9maWxlIiwiZmFtIjoibG1ncDZma2xrM2lqZTdieWp6aGxhNzVnM2MiLCJnZW4iOjB9.D8bGXBbaJRhmYVJ8H1l9LsW_el2cyWVLFCLg-zJhq1ibrY9eJNBUyckDnpcuS3uGC7p9hMKAEX5fxRXFPwdjeQ","scope":"profile"}`

// BenchmarkEncodeTokenAnswer encodes the token request's answer as the
// respond step does (Encode: a new slice).
func BenchmarkEncodeTokenAnswer(b *testing.B) {
	v, err := value.DecodeString(tokenAnswer)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(tokenAnswer)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := value.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}

// stringDoc is a record of short string members and items (an export's
// rows, a form's fields): the strings' scan and their path through the
// object and array loops, without numbers or nesting to speak of.
var stringDoc = func() string {
	var sb strings.Builder
	sb.WriteString(`{`)
	for i := range 24 {
		fmt.Fprintf(&sb, `"field_%02d":"value %d of the row",`, i, i)
	}
	sb.WriteString(`"labels":[`)
	for i := range 24 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"label-%d"`, i)
	}
	sb.WriteString(`]}`)
	return sb.String()
}()

// BenchmarkDecodeStrings decodes stringDoc.
func BenchmarkDecodeStrings(b *testing.B) {
	b.SetBytes(int64(len(stringDoc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := value.DecodeString(stringDoc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeStrings encodes stringDoc into a reused buffer.
func BenchmarkEncodeStrings(b *testing.B) {
	v, err := value.DecodeString(stringDoc)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(stringDoc)))
	b.ReportAllocs()
	buf := make([]byte, 0, 2*len(stringDoc))
	for b.Loop() {
		if buf, err = value.AppendJSON(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}
