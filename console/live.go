package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/nectar-run/nectar/history"
)

// liveSeen bounds the ids the live stream remembers having sent.
const liveSeen = 512

// live is GET /executions/live: server-sent events, one "execution" event
// per execution record it has not sent yet (the page's script skips rows it
// already shows), carrying its row of the list as HTML (rendered
// by the same template as the list) and its id. It polls the backend every
// Options.LivePoll and ends when the client goes away or Close is called.
func (c *Console) live(w http.ResponseWriter, r *http.Request, _ *session) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	seen := map[string]bool{}
	var order []string
	tick := time.NewTicker(c.opts.LivePoll)
	defer tick.Stop()
	for {
		// A stream lives longer than the server's write timeout: each
		// round moves the deadline on.
		_ = rc.SetWriteDeadline(time.Now().Add(c.opts.LivePoll + 30*time.Second))
		recs, _, err := c.b.Executions(r.Context(), Filter{Filter: history.Filter{Limit: 20}})
		if err == nil {
			var buf bytes.Buffer
			for i := len(recs) - 1; i >= 0; i-- {
				rec := recs[i]
				if seen[rec.ID] {
					continue
				}
				seen[rec.ID] = true
				order = append(order, rec.ID)
				var row bytes.Buffer
				if templates.ExecuteTemplate(&row, "execrow", map[string]any{"Base": c.path, "R": rec}) != nil {
					continue
				}
				b, _ := json.Marshal(map[string]string{"id": rec.ID, "html": row.String()})
				buf.WriteString("event: execution\ndata: ")
				buf.Write(b)
				buf.WriteString("\n\n")
			}
			if len(order) > liveSeen {
				for _, id := range order[:len(order)-liveSeen] {
					delete(seen, id)
				}
				order = order[len(order)-liveSeen:]
			}
			if buf.Len() == 0 {
				buf.WriteString(": ping\n\n")
			}
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-c.done.Done():
			return
		case <-tick.C:
		}
	}
}
