package triggers_test

import (
	"net/http"
	"testing"

	"github.com/nectar-run/nectar/triggers"
)

type sends struct{ statuses []int }

func (s *sends) SendNow(status int, _ http.Header, _ []byte) { s.statuses = append(s.statuses, status) }

// A Response kept in a caller's struct and made ready with Init answers as
// one from NewResponse: the first Send goes to the client, once; later ones
// only set what the history keeps; Init forgets everything before it.
func TestResponseInit(t *testing.T) {
	var r triggers.Response
	s := &sends{}
	r.Init(s)
	if _, _, _, set, sent := r.Get(); set || sent {
		t.Fatalf("new response set %v, sent %v", set, sent)
	}
	if !r.Send(201, nil, []byte("a")) {
		t.Fatal("first Send reported not sent")
	}
	if r.Send(202, nil, []byte("b")) {
		t.Fatal("second Send reported sent")
	}
	if status, _, body, set, sent := r.Get(); status != 202 || string(body) != "b" || !set || !sent {
		t.Fatalf("after two sends: %d %q set %v sent %v", status, body, set, sent)
	}
	if len(s.statuses) != 1 || s.statuses[0] != 201 {
		t.Fatalf("sent to the client: %v, want [201]", s.statuses)
	}
	// Made ready again, for another request, without a client to send to.
	r.Init(nil)
	if status, h, body, set, sent := r.Get(); status != 0 || h != nil || body != nil || set || sent {
		t.Fatalf("after Init: %d %v %q set %v sent %v", status, h, body, set, sent)
	}
	if !r.Send(200, nil, nil) {
		t.Fatal("Send without a sender reported not set")
	}
	if len(s.statuses) != 1 {
		t.Fatalf("a response without a sender sent to the old one: %v", s.statuses)
	}
	// NewResponse(nil) has no sender either: a nil func is not called.
	if !triggers.NewResponse(nil).Send(200, nil, nil) {
		t.Fatal("NewResponse(nil).Send reported not set")
	}
}
