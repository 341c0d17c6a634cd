// Package history records every execution nectar serve runs — pipeline,
// trigger, consumer, start, end, status, duration, error, the per-step trace,
// size-capped input and output snapshots (the execution's and each step's)
// and the log steps' lines, with sensitive fields masked —
// and reads the records back for `nectar executions` and the management API.
//
// # Recording
//
// Record is called on the request path, so it only queues the execution's
// values (messages are immutable and shared, so nothing is copied; the
// answer's JSON text comes in the server's pooled buffer, Execution.OutputBuf,
// given back once the record is written); one
// background goroutine masks, encodes and writes them in batches with one
// store.Apply per batch — under load, per several batches: a busy
// recorder's encoded batches wait up to 100 ms for others to share their
// commit (see holdFor). When the queue is full Record waits, so a slow disk
// slows callers down rather than losing records. Flush writes what is
// queued or held at once; Close flushes and stops.
//
// # When the store fails
//
// A batch the store refuses (PostgreSQL down or restarting, a full disk) is
// kept, encoded, and written again with the next batch or after a backoff
// (100 ms doubling to 5 s), together with the trim's deletions, which are
// kept until they succeed too: an outage loses no record and the history
// returns within its limits after it. Each write waits at most 10 s, so a
// frozen store holds the queue no longer than that. Kept batches are bounded
// (MaxPendingBytes of encoded records): beyond it the oldest are dropped,
// counted by Dropped (nectar serve exports nectar_history_dropped_total) and
// logged once a minute at most. Records still kept when Close's context ends
// are dropped the same way. So every record is stored if the store comes
// back before the buffer fills, and none is stored twice: a batch is one
// transaction, and writing a segment again (a commit whose answer was lost)
// rewrites the same key with the same records.
//
// # Storage
//
// Records live in the store bucket "executions" in segments: the records of
// one batch under one key, the id of its first record and the count
// ("<id>:<n>"). Ids start with the start time, so keys sort by time, oldest
// first. A segment is {"records":[…],"steps":[…]}, stored compressed (S2):
// each record's steps are indexes into the segment's table of distinct
// steps, with offsets, durations and outcomes. This is the only form the
// history reads: a value in any other (those of development versions, never
// released) is reported as damaged, like a segment whose bytes went bad.
//
// The bucket "executions-index" holds, under each segment's key, the ids of
// its records, one a line: Get reads the entries below an id (small,
// uncompressed) to find the one segment to decompress. The entry is written
// in the same store.Apply as its segment and deleted with it, so the index
// holds one entry per stored segment. New writes the entries a store lacks
// (one written before the index existed) and deletes those of segments that
// are gone; Get does the same once when it finds the index empty.
//
// The limits (MaxRecords, and MaxAge checked once a minute) are kept by
// deleting the oldest segments in the same batches that write new ones;
// there is no per-key expiry, which would cost a write per record.
package history

import (
	"bytes"
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/store"
)

// Bucket is the store bucket of execution records.
const Bucket = "executions"

// IndexBucket is the store bucket of the index Get reads: under each
// segment's key, the ids of its records, one a line.
const IndexBucket = "executions-index"

// Status values of a record.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
	// StatusDamaged marks what List returns in place of stored records it
	// cannot read (see Record.Records).
	StatusDamaged = "damaged"
)

// Execution is what the server hands to Record: live values, encoded later.
type Execution struct {
	ID       string
	Pipeline *engine.Pipeline
	Trigger  string // http, schedule, event
	Consumer string
	Start    time.Time
	End      time.Time
	Input    any
	Output   any
	Err      *engine.Error
	Trace    *engine.Trace
	// InputJSON and OutputJSON, when set, are the JSON text of Input and
	// Output as received and answered (an HTTP body). The snapshot then
	// copies the text instead of encoding the value again, unless a
	// sensitive field or a secret may be in it.
	InputJSON, OutputJSON string
	// OutputBuf, when set, is the buffer OutputJSON's text is in, handed
	// over with the execution instead of copied: Record owns it, and gives
	// it to PutBuf once the record is written (or dropped). Its bytes must
	// not change until then.
	OutputBuf *[]byte
	PutBuf    func(*[]byte)
	// PutTrace, when set, is given Trace once the record is written (or
	// dropped), like PutBuf its OutputBuf: the caller may reuse the trace
	// (engine.Trace.Reset), which nothing here reads after.
	PutTrace func(*engine.Trace)
	// InputBody, when set, says Input is a request body that was not parsed
	// into fields (text, or its bytes as base64), where a secret cannot be
	// told by its field name. Its snapshot is then {"content_type", "size",
	// "not_stored"} when the pipeline has sensitive_fields (or
	// Options.SensitiveFields are set) or when its bytes hold a known secret;
	// otherwise it is the text with secret values masked.
	InputBody *Body
	// Secrets are values seen in the request (the caller's API key, Basic
	// password, bearer token, sensitive query parameters), masked wherever
	// they appear in this record, like Options.SecretValues.
	Secrets []string
	// Request is "METHOD /path" for HTTP executions.
	Request string
	// Code is the HTTP status answered (HTTP executions) or the error code.
	Code int
}

// Body describes a request body that was not parsed into fields.
type Body struct {
	ContentType string
	Size        int
	// Base64 says Input is the body's bytes as base64 text.
	Base64 bool
}

// StepRecord is one step of a stored execution. Times are microseconds
// from the execution's start, which keeps records small and quick to write.
type StepRecord struct {
	Step      string `json:"step"`
	Path      string `json:"path"`
	Connector string `json:"connector"`
	// Pipeline is set for the steps of a called pipeline (pipeline
	// connector): their paths are in that pipeline's file.
	Pipeline   string `json:"pipeline,omitempty"`
	OffsetUS   int64  `json:"offset_us"`
	DurationUS int64  `json:"duration_us"`
	Outcome    string `json:"outcome"`
	Error      string `json:"error,omitempty"`
	Attempts   int    `json:"attempts,omitempty"`
	// With Options.Exchanges: the error's code, and the step's result
	// (masked like snapshots; a JSON string ending in TruncatedMark when
	// it was larger than Options.ExchangeBytes).
	Code   int     `json:"code,omitempty"`
	Result RawJSON `json:"result,omitempty"`
	// Input and Output are the step's input and (when it succeeded) what
	// it returned, in records that keep snapshots: masked like them, each
	// cut at Options.StepBytes (a JSON string ending in TruncatedMark).
	Input  RawJSON `json:"input,omitempty"`
	Output RawJSON `json:"output,omitempty"`
}

// LogLine is a line a log step of the execution wrote, in records that
// keep snapshots, masked like them.
type LogLine struct {
	OffsetUS int64  `json:"offset_us"` // from the execution's start
	Level    string `json:"level"`     // DEBUG, INFO, WARN or ERROR
	Step     string `json:"step"`
	// Index is the index in Record.Steps of the step run that wrote the
	// line (-1 when it is not there).
	Index   int     `json:"index"`
	Message string  `json:"message"`
	Fields  RawJSON `json:"fields,omitempty"`
}

// RawJSON is JSON text kept as it is, in a comparable type.
type RawJSON string

// MarshalJSON returns the text.
func (j RawJSON) MarshalJSON() ([]byte, error) {
	if j == "" {
		return []byte("null"), nil
	}
	return []byte(j), nil
}

// UnmarshalJSON keeps the text.
func (j *RawJSON) UnmarshalJSON(b []byte) error {
	*j = RawJSON(b)
	return nil
}

// Record is a stored execution.
type Record struct {
	ID              string          `json:"id"`
	Pipeline        string          `json:"pipeline"`
	Trigger         string          `json:"trigger"`
	Consumer        string          `json:"consumer,omitempty"`
	Request         string          `json:"request,omitempty"`
	Start           time.Time       `json:"start"`
	End             time.Time       `json:"end"`
	DurationMS      float64         `json:"duration_ms"`
	Status          string          `json:"status"`
	Code            int             `json:"code"`
	Error           json.RawMessage `json:"error,omitempty"`
	Steps           []StepRecord    `json:"steps,omitempty"`
	Input           json.RawMessage `json:"input,omitempty"`
	InputTruncated  bool            `json:"input_truncated,omitempty"`
	Output          json.RawMessage `json:"output,omitempty"`
	OutputTruncated bool            `json:"output_truncated,omitempty"`
	// Logs are the lines the execution's log steps wrote, in records that
	// keep snapshots.
	Logs []LogLine `json:"logs,omitempty"`
	// StepsTruncated says the record reached Options.StepRecordBytes: the
	// steps' snapshots and log lines past it were not kept.
	StepsTruncated bool `json:"steps_truncated,omitempty"`
	// Records is set only when Status is "damaged": List found stored
	// records it cannot read (a segment whose bytes went bad); ID and Start
	// are the id and start of the segment's first record, Records how many
	// records are lost and Error ({"error": …}) names the segment and says
	// what is wrong.
	Records int `json:"records,omitempty"`
}

// Options configure a Recorder.
type Options struct {
	// MaxRecords is how many records are kept (default 10000); older ones
	// are deleted.
	MaxRecords int
	// MaxAge is how long a record is kept (default 7 days).
	MaxAge time.Duration
	// SnapshotBytes caps each input and output snapshot (default 32 KB);
	// larger ones keep their beginning and are marked truncated.
	SnapshotBytes int
	// SensitiveFields are field names whose values are masked as *** in
	// every pipeline's snapshots, besides the pipeline's own
	// sensitive_fields and engine.DefaultSensitiveFields (the server passes
	// its runtime's).
	SensitiveFields []string
	// SecretValues, when set, returns the secret values Nectar holds (admin
	// key, account secrets and tokens; the server passes its runtime's
	// engine.Secrets). They are masked as *** wherever they appear in a
	// record, also inside longer strings; values shorter than
	// engine.MinSecretLen are skipped. The values of sensitive fields of a
	// record's input are masked the same way in the rest of that record.
	SecretValues func() []string
	// Snapshots says which records keep input and output snapshots (the
	// execution's, each step's, and the log lines): "all"
	// (the default), "failed" (only failed executions; the cheapest setting
	// that still shows what broke) or "none".
	Snapshots string
	// StepBytes caps each step's input and output snapshot (default 4 KB);
	// StepRecordBytes caps all the step snapshots and log lines of one
	// record together (default 32 KB): past it they are left out and the
	// record is marked StepsTruncated. Step snapshots and log lines follow
	// Snapshots, for the executions whose trace kept them (engine.Trace.KeepIO):
	// the server asks for them with Steps.
	StepBytes, StepRecordBytes int
	// Steps keeps each step's input and output and the log lines (the
	// server sets engine.Trace.KeepIO). Off by default: keeping every
	// step's messages until the history writes them costs about an eighth
	// of the throughput of a short pipeline (ratio.sh token and transform).
	Steps bool
	// Exchanges keeps, in each record's steps, the results of the steps that
	// call other systems (ExchangeConnectors) and the codes of failed steps,
	// so that nectar test record can turn an execution into a test case.
	// Off by default. The server asks the trace for them with KeepResult.
	Exchanges bool
	// ExchangeBytes caps each kept result (default 8 KB); a larger one is
	// cut like a snapshot.
	ExchangeBytes int
	// Queue is the number of executions waiting to be written (default 8192).
	Queue int
	// Observe, when set, is called on the background goroutine for every
	// execution (metrics use it for step durations).
	Observe func(*Execution)
	Logger  *slog.Logger
}

// Recorder writes execution records in the background. Create it with New;
// it is safe for concurrent use.
type Recorder struct {
	st     store.Store
	opts   Options
	queue  chan *Execution
	full   chan struct{} // a nudge from Record: a batch's worth is queued
	stop   chan struct{} // closed by Close
	done   chan struct{}
	flushQ chan chan struct{}
	once   sync.Once
	count  int
	size   atomic.Int64 // count, for Size
	logger *slog.Logger

	buf, zbuf   []byte
	ibuf        []byte // index entries of a batch
	table       stepTable
	lastAgeTrim time.Time
	segments    []string // keys of the stored (or pending) segments, oldest first
	masker      masker
	free        freeParts               // the masker's notes (masker.free)
	names       map[nameList]*nameTable // namesFor's
	written     []writtenValue          // appendStepIO's, reused
	second      secondText              // appendRecord's times
	fixed       fixedText               // appendRecord's pipeline and trigger
	keys        keyCache                // the masker's answers for keys

	// What a failed write left to do, retried until it succeeds.
	pending      []segmentWrite // segments not yet written, oldest first
	pendingBytes int
	deletes      []store.Op      // trim deletions not yet applied
	acks         []chan struct{} // Flush callers waiting for pending
	retry        *time.Timer
	hold         *time.Timer   // holdFor after the first held batch
	held         int           // records of the pending segments held (see holdFor), not failed
	holding      atomic.Bool   // held > 0, for Close
	closing      chan struct{} // closed by Closing: commit what is held, hold no more
	closingSet   atomic.Bool   // Closing was called (and closes closing once)
	lastWrite    chan struct{} // closed once the queue's last batch and what was held are written (or kept for a retry)
	backoff      time.Duration
	closeCtx     context.Context // set by Close: how long to keep retrying
	dropped      atomic.Int64
	report       faultReport

	// Executions answered before they ended (Answered), until their
	// Record: FlushFor waits for them. earlyN is len(early), read by
	// Record without the lock.
	earlyMu sync.Mutex
	early   map[string]chan struct{}
	earlyN  atomic.Int32

	mu     sync.RWMutex // held for reading while sending, so Close cannot close the queue under a sender
	closed bool
}

// New starts a recorder writing to st (nil: observe only, store nothing).
func New(ctx context.Context, st store.Store, opts Options) (*Recorder, error) {
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = 10000
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 7 * 24 * time.Hour
	}
	if opts.SnapshotBytes <= 0 {
		opts.SnapshotBytes = 32 << 10
	}
	if opts.Queue <= 0 {
		opts.Queue = 8192
	}
	if opts.ExchangeBytes <= 0 {
		opts.ExchangeBytes = 8 << 10
	}
	if opts.StepBytes <= 0 {
		opts.StepBytes = 4 << 10
	}
	if opts.StepRecordBytes <= 0 {
		opts.StepRecordBytes = 32 << 10
	}
	r := &Recorder{st: st, opts: opts, queue: make(chan *Execution, opts.Queue), done: make(chan struct{}),
		lastWrite: make(chan struct{}), closing: make(chan struct{}), full: make(chan struct{}, 1), stop: make(chan struct{}), flushQ: make(chan chan struct{}), logger: opts.Logger}
	if r.logger == nil {
		r.logger = slog.Default()
	}
	if st != nil {
		segs, err := reindex(ctx, st)
		if err != nil {
			return nil, err
		}
		for _, it := range segs {
			r.count += segmentCount(it.Key)
			r.size.Store(int64(r.count))
			r.segments = append(r.segments, it.Key)
		}
	}
	go r.loop()
	return r, nil
}

// NewID returns a new execution id: 12 hex digits of the time in
// milliseconds, then 12 random hex digits, so ids sort by start time.
//
// The random digits are as unpredictable as crypto/rand's (a pipeline may
// use its execution_id as a nonce), but drawn from a ChaCha8 generator
// (math/rand/v2's, a cryptographically strong one) seeded from crypto/rand,
// one per P through a sync.Pool: a getrandom system call per id cost about
// 1 µs of every request.
func NewID(t time.Time) string {
	g := idRand.Get().(*rand.ChaCha8)
	r := g.Uint64()
	idRand.Put(g)
	var h [24]byte
	ms := uint64(t.UnixMilli())
	for i := 11; i >= 0; i-- { // the low 48 bits of each, as 12 hex digits
		h[i], h[12+i] = hexDigits[ms&0xf], hexDigits[r&0xf]
		ms, r = ms>>4, r>>4
	}
	return string(h[:])
}

const hexDigits = "0123456789abcdef"

// idRand holds NewID's generators, each seeded from crypto/rand.
var idRand = sync.Pool{New: func() any {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		panic("history: no system randomness for execution ids: " + err.Error()) // crypto/rand never fails on Linux
	}
	return rand.NewChaCha8(seed)
}}

// Record queues an execution. It waits while the queue is full and drops
// the record (logging it) only after Close.
func (r *Recorder) Record(e *Execution) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.logger.Warn("execution not recorded: history is closed", "execution_id", e.ID)
		r.ended(e.ID)
		e.release()
		return
	}
	r.queue <- e
	if r.earlyN.Load() != 0 {
		r.ended(e.ID) // queued: a Flush from now on writes it
	}
	if len(r.queue) >= r.batchWorth() {
		select {
		case r.full <- struct{}{}:
		default:
		}
	}
}

// release gives e's OutputBuf and Trace back, once e's record is written
// or dropped; OutputJSON is then cleared, as it is the buffer's text.
func (e *Execution) release() {
	if e.OutputBuf != nil {
		b := e.OutputBuf
		e.OutputBuf, e.OutputJSON = nil, ""
		if e.PutBuf != nil {
			e.PutBuf(b)
		}
	}
	if e.PutTrace != nil && e.Trace != nil {
		t := e.Trace
		e.Trace = nil
		e.PutTrace(t)
	}
}

func releaseAll(batch []*Execution) {
	for _, e := range batch {
		e.release()
	}
}

// Answered notes that execution id was answered before it ended (an HTTP
// pipeline's respond step with send: true): its caller holds the id while
// the pipeline still runs, and may ask for the record before Record
// queues it. FlushFor waits for it. Every Answered must be followed by a
// Record of the execution or an Abandon.
func (r *Recorder) Answered(id string) {
	r.earlyMu.Lock()
	if r.early == nil {
		r.early = map[string]chan struct{}{}
	}
	if _, ok := r.early[id]; !ok {
		r.early[id] = make(chan struct{})
		r.earlyN.Add(1)
	}
	r.earlyMu.Unlock()
}

// Abandon says execution id, noted by Answered, will not be recorded:
// FlushFor stops waiting for it.
func (r *Recorder) Abandon(id string) { r.ended(id) }

// ended tells FlushFor's waiters that id was queued (or dropped).
func (r *Recorder) ended(id string) {
	r.earlyMu.Lock()
	if ch, ok := r.early[id]; ok {
		delete(r.early, id)
		r.earlyN.Add(-1)
		close(ch)
	}
	r.earlyMu.Unlock()
}

// FlushFor is Flush for a caller about to read execution id's record:
// when the execution was answered early (Answered) and still runs, it
// first waits for its Record, then for the write.
// With an id no execution has ("" for a list), it is Flush.
func (r *Recorder) FlushFor(ctx context.Context, id string) error {
	if r.earlyN.Load() != 0 {
		r.earlyMu.Lock()
		ch := r.early[id]
		r.earlyMu.Unlock()
		if ch != nil {
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return r.Flush(ctx)
}

// Flush waits until everything queued so far is written.
func (r *Recorder) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case r.flushQ <- ack:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Closing tells the recorder that its Close is coming (a shutdown began):
// what it holds for a shared commit (holdFor) is committed now, and nothing
// is held from now on, so Close never waits for a held write past its
// context, even when the store hangs.
func (r *Recorder) Closing() {
	if !r.closingSet.Swap(true) {
		close(r.closing)
	}
}

// Close writes what is queued and stops the recorder. Records after Close
// are dropped; so are records the store still refuses when ctx ends (counted
// by Dropped). Without Closing first, what a busy recorder holds for a
// shared commit is written even when ctx has ended: Close waits for that
// write at most writeTimeout more.
func (r *Recorder) Close(ctx context.Context) error {
	r.once.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.closeCtx = ctx // read by loop after the queue is closed
		close(r.queue)
		close(r.stop)
		r.mu.Unlock()
	})
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
	}
	if r.holding.Load() && !r.closingSet.Load() {
		// Records held for a shared commit (holdFor) are ones the
		// recorder would have committed at the end of their linger
		// without the hold: their write is not cut by ctx (it is bounded
		// by writeTimeout, also for a store that ignores its context),
		// only the retries of a failed one are.
		select {
		case <-r.lastWrite:
		case <-time.After(writeTimeout):
		}
		select {
		case <-r.done:
			return nil
		default:
		}
	}
	return fmt.Errorf("flushing execution history: %w", ctx.Err())
}

const maxBatch = 512

// batchWorth is how many queued executions end the linger at once (Record
// nudges the recorder): a batch's worth, or a full queue when the queue is
// smaller than a batch, since a Record waiting on a full queue must not
// wait out the linger too.
func (r *Recorder) batchWorth() int { return min(maxBatch, cap(r.queue)) }

// linger is how long the recorder waits for more executions after the first
// of a batch: records written together share one commit, which costs far
// less than a commit each. It delays only the history, never a response.
const linger = 25 * time.Millisecond

func (r *Recorder) loop() {
	defer close(r.done)
	defer r.finish()
	batch := make([]*Execution, 0, maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	r.retry = time.NewTimer(time.Hour)
	r.retry.Stop()
	r.hold = time.NewTimer(time.Hour)
	r.hold.Stop()
	closing := r.closing
	for {
		var ack chan struct{}
		select {
		case <-r.retry.C:
			r.commit(nil)
			continue
		case <-closing:
			closing = nil // once
			if r.held > 0 {
				r.commit(nil)
			}
			continue
		case <-r.hold.C:
			if r.held > 0 {
				r.commit(nil)
			}
			continue
		case e, ok := <-r.queue:
			if !ok {
				r.writeLast(batch)
				return
			}
			batch = append(batch, e)
			// Gather what comes within linger: one commit for all. What
			// comes waits in the queue meanwhile and is taken at once,
			// not each as it comes: that cost every Record the wake-up
			// of this goroutine.
			if len(r.queue) < r.batchWorth()-1 {
				timer.Reset(linger)
				select {
				case <-timer.C:
				case <-r.full:
				case ack = <-r.flushQ:
				case <-r.stop:
				}
				timer.Stop()
			}
			for len(batch) < maxBatch && ack == nil {
				select {
				case e, ok := <-r.queue:
					if !ok {
						r.writeLast(batch)
						return
					}
					batch = append(batch, e)
					continue
				default:
				}
				break
			}
		case ack = <-r.flushQ:
		}
		if ack != nil {
			// Drain the queue before acknowledging.
			for drained := false; !drained; {
				select {
				case e, ok := <-r.queue:
					if !ok {
						r.writeLast(batch)
						r.acks = append(r.acks, ack)
						return
					}
					batch = append(batch, e)
				default:
					drained = true
				}
			}
		}
		r.writeNow(batch, ack != nil)
		// The slice is reused for the next batch: clear it first, or it
		// keeps the written executions (inputs, outputs, traces) reachable
		// until overwritten.
		clear(batch)
		batch = batch[:0]
		if ack != nil {
			// Flush returns once what it waited for is written (or dropped).
			r.acks = append(r.acks, ack)
			r.settle()
		}
	}
}

func (r *Recorder) write(batch []*Execution) { r.writeNow(batch, true) }

// writeLast writes the batch the closed queue ends with, and what is held.
func (r *Recorder) writeLast(batch []*Execution) {
	r.writeNow(batch, true)
	close(r.lastWrite)
}

// writeNow writes batch; unless now is set, a batch of a busy recorder may
// wait for more before its commit (see holdFor).
func (r *Recorder) writeNow(batch []*Execution, now bool) {
	if len(batch) == 0 {
		if now && r.held > 0 {
			r.commit(nil)
		}
		return
	}
	if r.opts.Observe != nil {
		for _, e := range batch {
			r.opts.Observe(e)
		}
	}
	if r.st == nil {
		releaseAll(batch)
		return
	}
	var secrets []string
	if r.opts.SecretValues != nil {
		secrets = r.opts.SecretValues()
	}
	// Records are stored in segments: the records of a batch in id order
	// under one key, which costs the store one write where a key per record
	// cost one each. A segment is cut at maxSegment bytes. Steps are written
	// as indexes into a table of the segment's distinct steps (name, path,
	// connector), which a pipeline's executions share, rather than spelled
	// out in every record.
	slices.SortFunc(batch, func(a, b *Execution) int { return strings.Compare(a.ID, b.ID) })
	buf := r.buf[:0]
	var segs []segmentSpan
	first, n := 0, 0
	flush := func(end int) {
		if n == 0 {
			return
		}
		buf = append(buf, `],"steps":[`...)
		for i, k := range r.table.keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '[')
			buf = value.AppendString(buf, k.Step)
			buf = append(buf, ',')
			buf = value.AppendString(buf, k.Path)
			buf = append(buf, ',')
			buf = value.AppendString(buf, k.Connector)
			buf = append(buf, ',')
			buf = value.AppendString(buf, k.Pipeline)
			buf = append(buf, ']')
		}
		buf = append(buf, "]}"...)
		segs = append(segs, segmentSpan{start: first, end: len(buf), first: end - n, key: segmentKey(batch[end-n].ID, n)})
		first, n = len(buf), 0
	}
	for i, e := range batch {
		if n == 0 {
			first = len(buf)
			buf = append(buf, segmentPrefix...)
			r.table.reset()
		} else {
			buf = append(buf, ',')
		}
		buf = r.appendRecord(buf, e, secrets)
		n++
		if len(buf)-first >= maxSegment {
			flush(i + 1)
		}
	}
	flush(len(batch))
	r.free = freeParts{} // the batch's messages are not kept
	releaseAll(batch)    // their text is in buf now
	// Segments are stored compressed (S2): records of one pipeline repeat
	// their keys, steps and much of their snapshots, and writing fewer bytes
	// costs the store less than compressing them costs here.
	z := r.zbuf[:0]
	for i, sg := range segs {
		need := 1 + s2.MaxEncodedLen(sg.end-sg.start)
		if cap(z)-len(z) < need {
			nz := make([]byte, len(z), 2*cap(z)+need)
			copy(nz, z)
			z = nz
		}
		start := len(z)
		z = append(z, compressedSegment)
		enc := s2.Encode(z[len(z):len(z)+need-1], buf[sg.start:sg.end])
		z = z[:len(z)+len(enc)]
		segs[i].start, segs[i].end = start, len(z)
	}
	// Each segment's index entry lists its ids, for Get.
	idx := r.ibuf[:0]
	puts := make([]segmentWrite, len(segs))
	for i, sg := range segs {
		start := len(idx)
		for _, e := range batch[sg.first : sg.first+segmentCount(sg.key)] {
			idx = appendIndex(idx, e.ID)
		}
		puts[i] = segmentWrite{key: sg.key, value: z[sg.start:sg.end:sg.end], index: idx[start:len(idx):len(idx)]}
		r.addSegment(sg.key)
	}
	r.count += len(batch)
	r.size.Store(int64(r.count))
	if !now && r.backoff == 0 && len(batch) >= holdMin && r.held+len(batch) < holdRecords && !r.closingSet.Load() {
		// Held: encoded (the executions are not kept), committed with
		// the next batches.
		r.keep(puts)
		if r.held == 0 {
			r.hold.Reset(holdFor)
			r.holding.Store(true)
		}
		r.held += len(batch)
	} else {
		r.commit(puts)
	}
	// The store does not keep values past Apply: reuse the buffers.
	if cap(buf) <= 8<<20 {
		r.buf = buf[:0]
	}
	if cap(z) <= 8<<20 {
		r.zbuf = z[:0]
	}
	if cap(idx) <= 1<<20 {
		r.ibuf = idx[:0]
	}
}

// A busy recorder's batches share commits: a commit costs the store about
// half a millisecond of CPU time (bbolt, synced) whatever it holds, so a
// batch of 128 records cost 8.3 µs a record and one of 512 5.0 µs. A batch
// of at least holdMin records (the linger gathered them: the recorder is
// busy) is encoded at once but its commit waits, up to holdFor, until the
// batches held make holdRecords. Only the encoded records wait (tens of
// bytes each), not the executions. Flush and Close commit what is held at
// once; a quiet recorder (smaller batches) commits each batch as before.
const (
	holdFor     = 100 * time.Millisecond
	holdMin     = 64
	holdRecords = maxBatch
)

// MaxPendingBytes bounds the encoded records a recorder keeps while the
// store refuses its writes; beyond it the oldest are dropped (see Dropped).
const MaxPendingBytes = 64 << 20

// writeTimeout bounds one write of the history: a store that does not
// answer (a frozen database) fails it, and it is retried.
const writeTimeout = 10 * time.Second

// Backoff between retries of a failed write.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// commit writes puts (the segments of a new batch and their index entries)
// with the segments and deletions earlier writes left pending, in one
// store.Apply. When the store refuses, everything is kept for a retry after
// a backoff; while a retry is scheduled, new batches join the pending ones
// without a write of their own. puts' values may be reused by the caller
// after commit returns.
func (r *Recorder) commit(puts []segmentWrite) {
	r.deletes = append(r.deletes, r.trim()...)
	if r.backoff > 0 && puts != nil {
		r.keep(puts)
		return
	}
	if len(r.pending)+len(puts)+len(r.deletes) == 0 {
		return
	}
	ops := make([]store.Op, 0, 2*(len(r.pending)+len(puts))+len(r.deletes))
	for _, segs := range [2][]segmentWrite{r.pending, puts} {
		for _, sg := range segs {
			ops = append(ops, store.Op{Bucket: Bucket, Key: sg.key, Value: sg.value}, store.Op{Bucket: IndexBucket, Key: sg.key, Value: sg.index})
		}
	}
	ops = append(ops, r.deletes...)
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	err := r.st.Apply(ctx, ops...)
	cancel()
	if r.held > 0 { // written, or pending for the retry
		r.held = 0
		r.holding.Store(false)
		r.hold.Stop()
	}
	if err == nil {
		if r.report.failing {
			r.logger.Info("execution history written again", "records", segmentsRecords(r.pending)+segmentsRecords(puts),
				"failed_writes", r.report.failures)
			r.report = faultReport{lastDrop: r.report.lastDrop, sinceDrop: r.report.sinceDrop}
		}
		clear(r.pending)
		r.pending, r.pendingBytes = r.pending[:0], 0
		clear(r.deletes)
		r.deletes = r.deletes[:0]
		r.backoff = 0
		r.settle()
		return
	}
	r.keep(puts)
	if errors.Is(err, store.ErrInvalid) {
		// Nothing to retry: the store will refuse these ops again.
		r.drop(len(r.pending), err)
		clear(r.deletes)
		r.deletes = r.deletes[:0]
		return
	}
	r.report.failures++
	if now := time.Now(); !r.report.failing || now.Sub(r.report.logged) >= time.Minute {
		r.report.failing, r.report.logged = true, now
		r.logger.Error("execution history not written; retrying", "pending_records", segmentsRecords(r.pending),
			"pending_bytes", r.pendingBytes, "failed_writes", r.report.failures, "error", err.Error())
	}
	r.backoff = min(max(2*r.backoff, minBackoff), maxBackoff)
	r.retry.Reset(r.backoff)
	// Beyond the buffer, the oldest records go.
	n := 0
	for b := r.pendingBytes; b > MaxPendingBytes && n < len(r.pending); n++ {
		b -= r.pending[n].size()
	}
	r.drop(n, err)
}

// keep adds puts to the pending segments, copying their values.
func (r *Recorder) keep(puts []segmentWrite) {
	for _, sg := range puts {
		sg.value, sg.index = bytes.Clone(sg.value), bytes.Clone(sg.index)
		r.pending = append(r.pending, sg)
		r.pendingBytes += sg.size()
	}
}

// size is the number of bytes a pending segment holds.
func (sg *segmentWrite) size() int { return len(sg.value) + len(sg.index) }

// drop gives up the n oldest pending segments: their records are counted
// in Dropped and no longer in the history's size.
func (r *Recorder) drop(n int, cause error) {
	if n == 0 {
		return
	}
	records := 0
	for _, sg := range r.pending[:n] {
		c := segmentCount(sg.key)
		records += c
		r.pendingBytes -= sg.size()
		if i, ok := slices.BinarySearch(r.segments, sg.key); ok {
			r.segments = slices.Delete(r.segments, i, i+1)
			r.count -= c
			r.size.Store(int64(r.count))
		}
	}
	clear(r.pending[:n])
	r.pending = slices.Delete(r.pending, 0, n)
	r.dropped.Add(int64(records))
	r.report.sinceDrop += records
	if now := time.Now(); now.Sub(r.report.lastDrop) >= time.Minute {
		r.logger.Error("execution history records dropped: the store refused them for too long", "records", r.report.sinceDrop,
			"dropped_total", r.dropped.Load(), "error", cause.Error())
		r.report.lastDrop, r.report.sinceDrop = now, 0
	}
	if len(r.pending) == 0 {
		r.backoff = 0
		r.retry.Stop()
	}
	r.settle()
}

// settle releases the Flush callers once nothing is pending.
func (r *Recorder) settle() {
	if len(r.pending) > 0 {
		return
	}
	for _, a := range r.acks {
		close(a)
	}
	r.acks = r.acks[:0]
}

// finish runs when the queue is closed and written: it retries what is
// pending until Close's context ends, then drops the rest.
func (r *Recorder) finish() {
	r.mu.RLock()
	ctx := r.closeCtx
	r.mu.RUnlock()
	if ctx == nil {
		ctx = context.Background()
	}
	for len(r.pending) > 0 || len(r.deletes) > 0 && r.st != nil {
		if r.backoff > 0 {
			select {
			case <-r.retry.C:
			case <-ctx.Done():
				r.drop(len(r.pending), fmt.Errorf("closing the history: %w", ctx.Err()))
				r.settle()
				return
			}
		}
		r.commit(nil)
		if r.backoff == 0 {
			break
		}
	}
	r.settle()
}

// Size returns the number of records kept (stored, or queued to be).
func (r *Recorder) Size() int64 { return r.size.Load() }

// Dropped returns how many records were dropped because the store refused
// them for longer than the retry buffer holds (or until Close's context
// ended). nectar serve exports it as nectar_history_dropped_total.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// faultReport keeps the logging of store failures to a line a minute.
type faultReport struct {
	failing   bool
	failures  int
	logged    time.Time
	lastDrop  time.Time
	sinceDrop int
}

// segmentsRecords counts the records of segment writes.
func segmentsRecords(segs []segmentWrite) int {
	n := 0
	for _, sg := range segs {
		n += segmentCount(sg.key)
	}
	return n
}

// maxSegment is the size at which a segment of records is cut.
const maxSegment = 256 << 10

// segmentSpan is a segment being written: its bytes in the batch's
// buffer, the index of its first execution in the batch, and its key.
type segmentSpan struct {
	start, end, first int
	key               string
}

// segmentWrite is a segment to store: its key, value and index entry.
type segmentWrite struct {
	key          string
	value, index []byte
}

// segmentKey names a segment: the id of its first (oldest) record, then
// the number of records, so that keys sort by time and the history can be
// counted without reading the records.
func segmentKey(firstID string, n int) string {
	return firstID + ":" + strconv.Itoa(n)
}

// segmentCount returns the number of records of a segment key (0 for a
// key that is not a segment's).
func segmentCount(key string) int {
	if i := strings.IndexByte(key, ':'); i >= 0 {
		if n, err := strconv.Atoi(key[i+1:]); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// segmentPrefix starts a segment: {"records":[…],"steps":[…]}.
const segmentPrefix = `{"records":[`

// compressedSegment is the first byte of a stored segment: the rest is the
// segment compressed as an S2 block. (JSON never starts with it.)
const compressedSegment = 1

// maxSegmentText bounds the text of a stored segment: segments are cut at
// maxSegment, plus one record (snapshots capped at SnapshotBytes, a trace).
const maxSegmentText = 64 << 20

// segmentText returns the JSON text of a stored segment.
func segmentText(v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != compressedSegment {
		return nil, errors.New("not a segment of execution records (no compressed block)")
	}
	// The block's header says how long its text is: a damaged one could ask
	// for gigabytes, so the length is checked before anything is allocated.
	n, err := s2.DecodedLen(v[1:])
	if err == nil && n > maxSegmentText {
		err = fmt.Errorf("it says it holds %d bytes, more than a segment ever does (%d)", n, maxSegmentText)
	}
	if err != nil {
		return nil, fmt.Errorf("decompressing a segment: %w", err)
	}
	out, err := s2.Decode(nil, v[1:])
	if err != nil {
		return nil, fmt.Errorf("decompressing a segment: %w", err)
	}
	return out, nil
}

// stepTable numbers the distinct steps of a segment. Steps are told apart
// by their engine.StepInfo, which a loaded pipeline's runs share.
type stepTable struct {
	index map[*engine.StepInfo]int
	keys  []*engine.StepInfo
	// hint is the number given last to the step at each position of a
	// trace: a pipeline's runs mostly run the same steps in the same
	// order, and checking the hint costs less than the map.
	hint []int
}

func (t *stepTable) reset() {
	if t.index == nil {
		t.index = map[*engine.StepInfo]int{}
	}
	clear(t.index)
	clear(t.keys) // no pipeline kept alive by the table
	t.keys = t.keys[:0]
}

// id returns the index of a step, the pos-th of its trace, adding it
// when new.
func (t *stepTable) id(pos int, s *engine.StepRecord) int {
	if pos < len(t.hint) {
		if i := t.hint[pos]; uint(i) < uint(len(t.keys)) && t.keys[i] == s.StepInfo {
			return i
		}
	}
	i, ok := t.index[s.StepInfo]
	if !ok {
		i = len(t.keys)
		t.index[s.StepInfo] = i
		t.keys = append(t.keys, s.StepInfo)
	}
	if pos < maxHints {
		for len(t.hint) <= pos {
			t.hint = append(t.hint, -1)
		}
		t.hint[pos] = i
	}
	return i
}

// maxHints bounds stepTable.hint: the positions of a long trace past it
// use the map.
const maxHints = 256

// storedSegment is a segment as stored. Its step table holds [step, path,
// connector, pipeline]; records hold their steps as [table index,
// offset_us, duration_us, outcome, error?, attempts?].
type storedSegment struct {
	Records []json.RawMessage `json:"records"`
	Steps   [][]string        `json:"steps"`
}

// storedRecord reads a record of a segment.
type storedRecord struct {
	Record
	Steps []json.RawMessage `json:"steps,omitempty"`
	// IO holds the steps' snapshots: [index in Steps, input, output?].
	IO []json.RawMessage `json:"io,omitempty"`
}

// segmentRecords returns the raw records of a segment's text and its step
// table.
func segmentRecords(v []byte) ([]json.RawMessage, [][]string, error) {
	if !bytes.HasPrefix(v, []byte(segmentPrefix)) {
		return nil, nil, errors.New("not a segment of execution records (no records)")
	}
	var sg storedSegment
	err := json.Unmarshal(v, &sg)
	return sg.Records, sg.Steps, err
}

// readSegment returns the raw records of a stored segment and its step
// table.
func readSegment(v []byte) ([]json.RawMessage, [][]string, error) {
	text, err := segmentText(v)
	if err != nil {
		return nil, nil, err
	}
	return segmentRecords(text)
}

// decodeRecord reads one raw record of a segment with step table table,
// with its steps or without.
func decodeRecord(raw json.RawMessage, table [][]string, steps bool) (*Record, error) {
	var sr storedRecord
	if err := json.Unmarshal(raw, &sr); err != nil {
		return nil, err
	}
	rec := &sr.Record
	if !steps {
		rec.Logs = nil
		return rec, nil
	}
	rec.Steps = make([]StepRecord, 0, len(sr.Steps))
	for _, s := range sr.Steps {
		var f []any // JSON numbers as float64: exact for any offset in µs
		if err := json.Unmarshal(s, &f); err != nil {
			return nil, err
		}
		if len(f) < 4 {
			return nil, fmt.Errorf("a step of %d fields", len(f))
		}
		i, _ := f[0].(float64)
		// Compared as a float: a huge index must not become a negative int.
		if !(i >= 0 && i < float64(len(table))) || len(table[int(i)]) < 3 {
			return nil, fmt.Errorf("step %v is not in the table of %d", f[0], len(table))
		}
		t := table[int(i)]
		st := StepRecord{Step: t[0], Path: t[1], Connector: t[2]}
		if len(t) > 3 && t[3] != rec.Pipeline {
			st.Pipeline = t[3]
		}
		off, _ := f[1].(float64)
		dur, _ := f[2].(float64)
		st.OffsetUS, st.DurationUS = int64(off), int64(dur)
		st.Outcome, _ = f[3].(string)
		if len(f) > 4 {
			st.Error, _ = f[4].(string)
		}
		if len(f) > 5 {
			a, _ := f[5].(float64)
			st.Attempts = int(a)
		}
		if len(f) > 6 {
			c, _ := f[6].(float64)
			st.Code = int(c)
		}
		if len(f) > 7 {
			var raw []json.RawMessage
			if err := json.Unmarshal(s, &raw); err == nil && len(raw) > 7 {
				st.Result = RawJSON(raw[7])
			}
		}
		rec.Steps = append(rec.Steps, st)
	}
	for _, s := range sr.IO {
		var f []json.RawMessage
		if err := json.Unmarshal(s, &f); err != nil {
			return nil, err
		}
		var i int
		if len(f) < 2 || json.Unmarshal(f[0], &i) != nil || i < 0 || i >= len(rec.Steps) {
			return nil, fmt.Errorf("step snapshots %s of a record of %d steps", s, len(rec.Steps))
		}
		rec.Steps[i].Input = RawJSON(f[1])
		if len(f) > 2 {
			rec.Steps[i].Output = RawJSON(f[2])
		}
	}
	return rec, nil
}

// trim returns deletions that keep the history within MaxRecords (when it
// is 10% over) and MaxAge (checked once a minute). Ids start with their time,
// so the oldest records come first.
//
// The deletions are kept (Recorder.deletes) until a write applies them, so
// a failed write does not lose them: the history converges to its limits
// after any failure.
func (r *Recorder) trim() []store.Op {
	var ops []store.Op
	drop := func() {
		key := r.segments[0]
		r.segments = r.segments[1:]
		ops = append(ops, store.DeleteOp(Bucket, key), store.DeleteOp(IndexBucket, key))
		r.count -= segmentCount(key)
		r.size.Store(int64(r.count))
	}
	if r.count-r.opts.MaxRecords > r.opts.MaxRecords/10 {
		// Oldest segments first, until the history is back within MaxRecords.
		for len(r.segments) > 1 && r.count-r.opts.MaxRecords > 0 {
			drop()
		}
	}
	if now := time.Now(); len(ops) == 0 && now.Sub(r.lastAgeTrim) > time.Minute {
		r.lastAgeTrim = now
		cutoff := now.Add(-r.opts.MaxAge)
		for len(r.segments) > 1 {
			t, ok := IDTime(r.segments[0])
			if !ok || !t.Before(cutoff) {
				break
			}
			drop()
		}
	}
	return ops
}

// addSegment records a written segment key, keeping the keys in order (a
// segment is almost always the newest; a late one is put in its place).
func (r *Recorder) addSegment(key string) {
	i := len(r.segments)
	for i > 0 && r.segments[i-1] > key {
		i--
	}
	r.segments = slices.Insert(r.segments, i, key)
}

// IDTime returns the start time encoded in an execution id.
func IDTime(id string) (time.Time, bool) {
	if len(id) < 12 {
		return time.Time{}, false
	}
	ms, err := strconv.ParseUint(id[:12], 16, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(ms)), true
}

// TruncatedMark ends a snapshot cut at SnapshotBytes.
const TruncatedMark = "…[truncated]"

// appendRecord writes the stored form of e (a Record's JSON) to dst:
// masked, capped snapshots. It is written by hand, not with encoding/json,
// because it runs for every execution and the snapshots are already JSON.
func (r *Recorder) appendRecord(dst []byte, e *Execution, secrets []string) []byte {
	var fields []string
	name := ""
	if e.Pipeline != nil {
		name = e.Pipeline.Name
		fields = e.Pipeline.SensitiveFields
	}
	// One masker, reused: write runs on one goroutine.
	m := &r.masker
	clear(m.seen[:cap(m.seen)]) // the last record's secrets are not kept
	seen := append(m.seen[:0], e.Secrets...)
	r.free.nobjects, r.free.nlists = 0, 0 // found in this record's messages only
	*m = masker{global: r.opts.SensitiveFields, local: fields, names: r.namesFor(e.Pipeline), secrets: secrets, seen: seen, mask: m.mask, free: &r.free, keys: &r.keys}
	status, code := StatusOK, e.Code
	if e.Err != nil {
		status = StatusFailed
		if code == 0 {
			code = e.Err.Code
		}
	} else if code == 0 {
		code = 200
	}
	dst = append(dst, `{"id":`...)
	dst = value.AppendString(dst, e.ID)
	dst = r.fixed.append(dst, name, e.Trigger)
	if e.Consumer != "" {
		dst = append(dst, `,"consumer":`...)
		dst = value.AppendString(dst, e.Consumer)
	}
	if e.Request != "" {
		dst = append(dst, `,"request":`...)
		dst = value.AppendString(dst, m.str(e.Request))
	}
	dst = append(dst, `,"start":"`...)
	dst = r.second.appendTime(dst, e.Start)
	dst = append(dst, `","end":"`...)
	dst = r.second.appendTime(dst, e.End)
	dst = append(dst, `","duration_ms":`...)
	dst = appendMillis(dst, e.End.Sub(e.Start).Microseconds())
	dst = append(dst, `,"status":"`...)
	dst = append(dst, status...)
	dst = append(dst, `","code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	// Snapshots come first: the values of the input's sensitive fields are
	// masked in the error and steps too.
	snapshots := false
	switch {
	case r.opts.Snapshots == "none", r.opts.Snapshots == "failed" && e.Err == nil:
		if e.Err != nil && (e.InputJSON == "" || !m.clean(e.InputJSON, e.Input)) {
			m.noting = true
			m.noteValue(e.Input) // only to note the input's sensitive values
			m.noting = false
		}
	default:
		snapshots = true
		m.noting = true
		// The output's sensitive values are noted before the input is
		// written: a value the client sent under a plain name that the
		// output holds under a sensitive one (a shift of "pw" to
		// "password") is masked in the input too, as in the steps'
		// snapshots. Its keys are looked at once, for both.
		outKeys := keysUnknown
		if e.Err == nil {
			outKeys = keysNone
			if m.keysIn(m.nameTable(), e.Output) {
				outKeys = keysSome
				m.noteValue(e.Output)
			}
		}
		if b := e.InputBody; b != nil {
			dst = r.appendBody(dst, m, b, e.Input)
		} else {
			dst = r.appendSnapshot(dst, "input", m, e.Input, e.InputJSON, keysUnknown)
		}
		m.noting = false
		if e.Err == nil {
			dst = r.appendSnapshot(dst, "output", m, e.Output, e.OutputJSON, outKeys)
		}
	}
	if e.Err != nil {
		dst = append(dst, `,"error":`...)
		dst, _ = m.appendJSON(dst, e.Err.Object())
	}
	if e.Trace != nil && len(e.Trace.Steps) > 0 {
		stepIO := snapshots
		dst = append(dst, `,"steps":[`...)
		for i := range e.Trace.Steps {
			st := &e.Trace.Steps[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '[')
			dst = appendInt(dst, int64(r.table.id(i, st)))
			dst = append(dst, ',')
			dst = appendInt(dst, st.Start.Sub(e.Start).Microseconds())
			dst = append(dst, ',')
			dst = appendInt(dst, st.Duration.Microseconds())
			dst = append(dst, ',')
			dst = appendOutcome(dst, st.Outcome)
			kept := st.Kept && KeepResult(st.StepInfo) // not a result kept only for KeepIO
			exchange := r.opts.Exchanges && (kept || st.Code != 0)
			if st.Error != "" || st.Attempts > 1 || exchange {
				dst = append(dst, ',')
				dst = value.AppendString(dst, m.str(st.Error))
			}
			if st.Attempts > 1 || exchange {
				dst = append(dst, ',')
				dst = strconv.AppendInt(dst, int64(st.Attempts), 10)
			}
			if exchange {
				dst = append(dst, ',')
				dst = strconv.AppendInt(dst, int64(st.Code), 10)
				if kept {
					dst = r.appendResult(dst, m, st.Result, r.opts.ExchangeBytes)
				}
			}
			dst = append(dst, ']')
		}
		dst = append(dst, ']')
		if stepIO && e.Trace.KeepIO {
			dst = r.appendStepIO(dst, m, e)
		}
	}
	return append(dst, '}')
}

// appendStepIO writes the steps' snapshots (,"io":[[index, input,
// output?],…]) and the log lines (,"logs":[…]) of e's trace, masked, each
// cut at StepBytes, all of them within StepRecordBytes: what does not fit
// is left out and the record says steps_truncated.
func (r *Recorder) appendStepIO(dst []byte, m *masker, e *Execution) []byte {
	budget, cut := len(dst)+r.opts.StepRecordBytes, false
	steps := e.Trace.Steps
	// A step often returns a secret bare (a signed token, a key) that a
	// later step places under a sensitive name: the values of sensitive
	// fields anywhere in the execution's output and the steps' messages are
	// noted first, and masked wherever they appear in the snapshots.
	m.noting = true
	r.noteStepValue(m, e.Output)
	for i := range steps {
		if st := &steps[i]; st.KeptInput {
			r.noteStepValue(m, st.Input)
			if st.Kept {
				r.noteStepValue(m, st.Result)
			}
		}
	}
	m.noting = false
	clear(r.written)
	r.written = r.written[:0]
	n := 0
	for i := range steps {
		st := &steps[i]
		if !st.KeptInput {
			continue
		}
		mark := len(dst)
		dst = append(listItem(dst, n, `,"io":[`), '[')
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = r.appendStepValue(dst, m, st.Input)
		if st.Kept {
			dst = r.appendStepValue(dst, m, st.Result)
		}
		dst = append(dst, ']')
		if len(dst) > budget { // taken back (with the list's start, if first)
			dst, cut = dst[:mark], true
			break
		}
		n++
	}
	if n > 0 {
		dst = append(dst, ']')
	}
	n = 0
	for _, l := range e.Trace.Logs {
		if cut {
			break
		}
		mark := len(dst)
		dst = listItem(dst, n, `,"logs":[`)
		index, name := -1, ""
		if l.Step != nil {
			name = l.Step.Step
		}
		for i := range steps {
			if steps[i].StepInfo == l.Step && !l.Time.Before(steps[i].Start) && !l.Time.After(steps[i].Start.Add(steps[i].Duration)) {
				index = i
				break
			}
		}
		dst = append(dst, `{"offset_us":`...)
		dst = strconv.AppendInt(dst, l.Time.Sub(e.Start).Microseconds(), 10)
		dst = append(dst, `,"level":`...)
		dst = value.AppendString(dst, l.Level.String())
		dst = append(dst, `,"step":`...)
		dst = value.AppendString(dst, name)
		dst = append(dst, `,"index":`...)
		dst = strconv.AppendInt(dst, int64(index), 10)
		dst = append(dst, `,"message":`...)
		msg := m.str(l.Message)
		if len(msg) > r.opts.StepBytes {
			msg = msg[:r.opts.StepBytes] + TruncatedMark
		}
		dst = value.AppendString(dst, msg)
		if l.Fields != nil {
			dst = append(dst, `,"fields":`...)
			dst = r.appendCapped(dst, m, l.Fields, r.opts.StepBytes)
		}
		dst = append(dst, '}')
		if len(dst) > budget {
			dst, cut = dst[:mark], true
			break
		}
		n++
	}
	if n > 0 {
		dst = append(dst, ']')
	}
	if cut {
		dst = append(dst, `,"steps_truncated":true`...)
	}
	clear(r.written) // no message kept alive
	r.written = r.written[:0]
	return dst
}

// appendInt appends n in decimal, as strconv.AppendInt(dst, n, 10) does:
// a record writes three numbers a step (its index, offset and duration),
// mostly under 10000, which are written here two digits at a time without
// the general formatter's call.
func appendInt(dst []byte, n int64) []byte {
	switch {
	case n < 0 || n >= 10000:
		return strconv.AppendInt(dst, n, 10)
	case n < 10:
		return append(dst, byte('0'+n))
	case n < 100:
		return append(dst, digitPairs[2*n], digitPairs[2*n+1])
	case n < 1000:
		p := 2 * (n % 100)
		return append(dst, byte('0'+n/100), digitPairs[p], digitPairs[p+1])
	}
	p, q := 2*(n/100), 2*(n%100)
	return append(dst, digitPairs[p], digitPairs[p+1], digitPairs[q], digitPairs[q+1])
}

// appendOutcome appends a step's outcome as a JSON string, as
// value.AppendString does: the engine's outcomes are a few words, written
// here from their quoted form.
func appendOutcome(dst []byte, o string) []byte {
	switch o {
	case "ok":
		return append(dst, `"ok"`...)
	case "skipped":
		return append(dst, `"skipped"`...)
	}
	return value.AppendString(dst, o)
}

// appendMillis appends us microseconds in milliseconds, as
// strconv.AppendFloat(dst, float64(us)/1000, 'f', -1, 64) does. Under 1000
// s the shortest form of that float is the exact decimal us/1000 (three
// decimals tell apart floats whose spacing is under 10⁻⁹), written here
// without the float formatter.
func appendMillis(dst []byte, us int64) []byte {
	if us < 0 || us >= 1e9 {
		return strconv.AppendFloat(dst, float64(us)/1000, 'f', -1, 64)
	}
	dst = strconv.AppendInt(dst, us/1000, 10)
	if f := us % 1000; f != 0 {
		dst = append(dst, '.', byte('0'+f/100))
		if f%100 != 0 {
			dst = append(dst, byte('0'+f/10%10))
			if f%10 != 0 {
				dst = append(dst, byte('0'+f%10))
			}
		}
	}
	return dst
}

// fixedText holds the text of a record's fixed fields
// (,"pipeline":NAME,"trigger":TRIGGER) for the last few pipelines and
// triggers written: a batch's records mostly come from a few, and writing
// the text again costs more than finding it.
type fixedText struct {
	entries [4]fixedEntry
	next    int // the entry replaced next
}

type fixedEntry struct {
	name, trigger string
	text          []byte // nil: unused
}

// append appends ,"pipeline":name,"trigger":trigger as
// value.AppendString writes the strings.
func (c *fixedText) append(dst []byte, name, trigger string) []byte {
	for i := range c.entries {
		if e := &c.entries[i]; e.text != nil && e.name == name && e.trigger == trigger {
			return append(dst, e.text...)
		}
	}
	e := &c.entries[c.next]
	c.next = (c.next + 1) % len(c.entries)
	t := append(e.text[:0], `,"pipeline":`...)
	t = value.AppendString(t, name)
	t = append(t, `,"trigger":`...)
	t = value.AppendString(t, trigger)
	e.name, e.trigger, e.text = name, trigger, t
	return append(dst, t...)
}

// secondText is the text of the last second appendTime wrote: a record's
// start and end, and the records of a batch, mostly fall in the same
// second, whose date and time are then copied rather than computed again.
type secondText struct {
	sec  int64
	n    int // 0: none yet
	text [19]byte
}

// appendTime appends t in UTC as t.UTC().AppendFormat(dst,
// time.RFC3339Nano) does, from its Unix time: two per record, and the
// general formatter costs several times more.
func (c *secondText) appendTime(dst []byte, t time.Time) []byte {
	if sec := t.Unix(); c.n == 0 || sec != c.sec {
		b, ok := appendSecond(c.text[:0], sec)
		if !ok || len(b) != len(c.text) {
			c.n = 0
			return t.UTC().AppendFormat(dst, time.RFC3339Nano)
		}
		c.sec, c.n = sec, len(b)
	}
	return appendNanos(append(dst, c.text[:c.n]...), t.Nanosecond())
}

// appendSecond appends the UTC date and time of sec (seconds since 1970)
// as RFC 3339 writes them, without the fraction and zone
// (2006-01-02T15:04:05), for years 0 to 9999; false for others, which
// AppendFormat writes its own way.
func appendSecond(dst []byte, sec int64) ([]byte, bool) {
	days, rem := sec/86400, sec%86400
	if rem < 0 {
		days, rem = days-1, rem+86400
	}
	// Civil date from days since 1970-01-01 (Howard Hinnant's
	// days_from_civil, inverted).
	z := days + 719468
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day, month, year := doy-(153*mp+2)/5+1, mp+3, yoe+era*400
	if month > 12 {
		month -= 12
	}
	if month <= 2 {
		year++
	}
	if year < 0 || year > 9999 {
		return dst, false
	}
	h, mi, se := rem/3600, rem%3600/60, rem%60
	y0, y1 := 2*(year/100), 2*(year%100)
	mo, d := 2*month, 2*day
	h, mi, se = 2*h, 2*mi, 2*se
	return append(dst, digitPairs[y0], digitPairs[y0+1], digitPairs[y1], digitPairs[y1+1], '-',
		digitPairs[mo], digitPairs[mo+1], '-', digitPairs[d], digitPairs[d+1], 'T',
		digitPairs[h], digitPairs[h+1], ':', digitPairs[mi], digitPairs[mi+1], ':', digitPairs[se], digitPairs[se+1]), true
}

// appendNanos appends ns nanoseconds as RFC3339Nano writes them after the
// seconds (.ddddddddd, trailing zeros cut; nothing for 0), then the zone
// Z.
func appendNanos(dst []byte, ns int) []byte {
	if ns != 0 {
		// .ddddddddd, then trailing zeros cut: two digits a step.
		var f [10]byte
		f[0] = '.'
		f[9] = byte('0' + ns%10)
		for i, q := 7, ns/10; i >= 1; i, q = i-2, q/100 {
			p := 2 * (q % 100)
			f[i], f[i+1] = digitPairs[p], digitPairs[p+1]
		}
		n := 10
		for f[n-1] == '0' {
			n--
		}
		dst = append(dst, f[:n]...)
	}
	return append(dst, 'Z')
}

// digitPairs holds "00" to "99": the two digits of n at 2n.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// listItem starts the item n of a list: after open (`,"name":[`) when it
// is the first, after a comma otherwise.
func listItem(dst []byte, n int, open string) []byte {
	if n == 0 {
		return append(dst, open...)
	}
	return append(dst, ',')
}

// noteStepValue notes the values of v's sensitive fields as the record's
// secrets (m.noting is set), once for a message several steps share.
func (r *Recorder) noteStepValue(m *masker, v any) {
	switch v.(type) {
	case *value.Object, []any:
	default:
		return // a scalar has no field
	}
	for i := len(r.written) - 1; i >= max(len(r.written)-8, 0); i-- {
		if value.Same(r.written[i].v, v) {
			return
		}
	}
	r.written = append(r.written, writtenValue{v: v})
	m.noteValue(v)
}

// writtenValue is a step snapshot appendStepIO wrote: where its text is in
// the record being written.
type writtenValue struct {
	v          any
	start, end int
}

// appendStepValue writes ,V: a step's input or output, masked, cut at
// StepBytes. Steps pass messages on without changing them (values are
// immutable and shared), so a value the record already holds (the same
// object) is copied from there rather than masked and encoded again.
func (r *Recorder) appendStepValue(dst []byte, m *masker, v any) []byte {
	dst = append(dst, ',')
	switch v.(type) {
	case *value.Object, []any:
		for i := len(r.written) - 1; i >= max(len(r.written)-8, 0); i-- {
			if w := r.written[i]; value.Same(w.v, v) {
				return append(dst, dst[w.start:w.end]...)
			}
		}
		start := len(dst)
		dst = r.appendCapped(dst, m, v, r.opts.StepBytes)
		r.written = append(r.written, writtenValue{v: v, start: start, end: len(dst)})
		return dst
	}
	return r.appendCapped(dst, m, v, r.opts.StepBytes)
}

// appendSnapshot writes ,"name":JSON, or the JSON cut at SnapshotBytes as a
// string ending in TruncatedMark with ,"name_truncated":true.
func (r *Recorder) appendSnapshot(dst []byte, name string, m *masker, v any, raw string, keys keysFound) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	mark := len(dst)
	if raw != "" && m.cleanKnown(raw, v, keys) {
		dst = append(dst, raw...)
	} else {
		var err error
		dst, err = m.appendJSON(dst, v)
		if err != nil {
			dst = value.AppendString(dst[:mark], "<not JSON: "+err.Error()+">")
		}
	}
	if len(dst)-mark <= r.opts.SnapshotBytes {
		return dst
	}
	cut := string(dst[mark : mark+r.opts.SnapshotBytes])
	dst = value.AppendString(dst[:mark], cut+TruncatedMark)
	dst = append(dst, `,"`...)
	dst = append(dst, name...)
	return append(dst, `_truncated":true`...)
}

// appendResult writes ,RESULT: a kept step result, masked, cut at limit
// bytes like a snapshot.
func (r *Recorder) appendResult(dst []byte, m *masker, v any, limit int) []byte {
	return r.appendCapped(append(dst, ','), m, v, limit)
}

// appendCapped writes v masked, cut at limit bytes like a snapshot.
func (r *Recorder) appendCapped(dst []byte, m *masker, v any, limit int) []byte {
	mark := len(dst)
	dst, err := m.appendJSON(dst, v)
	if err != nil {
		return value.AppendString(dst[:mark], "<not JSON: "+err.Error()+">")
	}
	if len(dst)-mark <= limit {
		return dst
	}
	cut := string(dst[mark : mark+limit])
	return value.AppendString(dst[:mark], cut+TruncatedMark)
}

// ExchangeConnectors are the connectors whose results Options.Exchanges
// keeps: the steps that call other systems.
var ExchangeConnectors = []string{"rest", "google-drive", "onedrive", "pipeline"}

// KeepResult is the engine.Trace.KeepResult of a server whose history
// keeps exchanges: the steps of ExchangeConnectors.
func KeepResult(info *engine.StepInfo) bool {
	return slices.Contains(ExchangeConnectors, info.Connector)
}

// appendBody writes the input snapshot of an execution whose input is a
// body not parsed into fields (b): only its type and size when the pipeline
// names sensitive fields or the body holds a known secret, else the masked
// text.
func (r *Recorder) appendBody(dst []byte, m *masker, b *Body, in any) []byte {
	reason := ""
	text, _ := in.(string)
	switch {
	case len(m.local) > 0 || len(m.global) > 0:
		reason = "a body not parsed into fields, in a pipeline with sensitive_fields"
	case b.Base64:
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil || engine.HoldsSecret(string(raw), m.secrets, m.seen) {
			reason = "a body holding a secret Nectar knows"
		}
	}
	if reason == "" {
		return r.appendSnapshot(dst, "input", m, in, "", keysUnknown)
	}
	// Not stored here, nor where the pipeline copied it.
	if len(text) >= engine.MinSecretLen {
		m.seen = append(m.seen, text)
	}
	dst = append(dst, `,"input":{"content_type":`...)
	dst = value.AppendString(dst, b.ContentType)
	dst = append(dst, `,"size":`...)
	dst = strconv.AppendInt(dst, int64(b.Size), 10)
	dst = append(dst, `,"not_stored":`...)
	dst = value.AppendString(dst, reason)
	return append(dst, '}')
}

// masker replaces the values of sensitive fields with "***", and secret
// values with "***" wherever they appear, with engine.Mask.
type masker struct {
	global  []string // Options.SensitiveFields
	local   []string // the pipeline's sensitive_fields
	secrets []string // Options.SecretValues
	// seen are the record's own secrets: Execution.Secrets, then the
	// values of the input's sensitive fields, noted while noting is set.
	seen   []string
	noting bool
	// names are the sensitive names: the defaults, global and local.
	names *nameTable
	mask  *engine.Masking // the recorder's, reused
	// free, when set, notes the objects and lists directly under a
	// message clean looked at found without a sensitive name (see keysIn).
	free *freeParts
	// keys, when set, caches the answers of names.lookup (see lookup).
	keys *keyCache
}

// clean reports whether raw, the JSON text of v, certainly holds no
// sensitive field and no secret, so that it can be stored as it is. The
// keys are read from v (decoded already: no scan of the text for them, and
// an escaped key is read as what it spells); the text is searched for
// secrets. Text with escapes is never clean: a secret could be written
// escaped, and would not be found in the text.
func (m *masker) clean(raw string, v any) bool {
	return m.cleanKnown(raw, v, keysUnknown)
}

// keysFound is what is known of a message's sensitive names: unknown, none
// or some.
type keysFound int8

const (
	keysUnknown keysFound = iota
	keysNone
	keysSome
)

// cleanKnown is clean, with what is known of v's sensitive names already.
func (m *masker) cleanKnown(raw string, v any, keys keysFound) bool {
	if keys == keysSome || strings.IndexByte(raw, '\\') >= 0 {
		return false
	}
	if keys == keysUnknown && m.keysIn(m.nameTable(), v) {
		return false
	}
	return !engine.HoldsSecret(raw, m.secrets, m.seen)
}

// nameTable returns the record's table of sensitive names.
func (m *masker) nameTable() *nameTable {
	if m.names == nil {
		m.names = newNameTable(m.local, m.global)
	}
	return m.names
}

// keysIn reports names.inKeys(v) for a message of the record. The objects
// and lists directly under v found without a sensitive name are noted (in
// m.free), and one noted already is not walked again: an output mostly
// shares them with the input (a transform moves them to new names), and
// values are not changed once made.
func (m *masker) keysIn(names *nameTable, v any) bool {
	if m.free == nil {
		return names.inKeys(v)
	}
	switch t := v.(type) {
	case *value.Object:
		for i := range t.Len() {
			k, c := t.At(i)
			if !names.ruledOut(k) && m.lookup(names, k) { // has, inlined
				return true
			}
			switch c := c.(type) {
			case *value.Object:
				if m.keysInObject(names, c) {
					return true
				}
			case []any:
				if m.keysInList(names, c) {
					return true
				}
			}
		}
	case []any:
		for _, c := range t {
			switch c := c.(type) {
			case *value.Object:
				if m.keysInObject(names, c) {
					return true
				}
			case []any:
				if m.keysInList(names, c) {
					return true
				}
			}
		}
	}
	return false
}

// keysInObject is names.inObject(o) for o directly under a message, false
// at once when o is noted free.
func (m *masker) keysInObject(names *nameTable, o *value.Object) bool {
	f := m.free
	for _, p := range f.objects[:f.nobjects] {
		if p == o {
			return false
		}
	}
	if names.inObject(o) {
		return true
	}
	if f.nobjects < len(f.objects) {
		f.objects[f.nobjects] = o
		f.nobjects++
	}
	return false
}

// keysInList is names.inList(l) for l directly under a message, false at
// once when l is noted free (the same items: the same array and length).
func (m *masker) keysInList(names *nameTable, l []any) bool {
	if len(l) == 0 {
		return false
	}
	f := m.free
	for _, p := range f.lists[:f.nlists] {
		if &p[0] == &l[0] && len(p) == len(l) {
			return false
		}
	}
	if names.inList(l) {
		return true
	}
	if f.nlists < len(f.lists) {
		f.lists[f.nlists] = l
		f.nlists++
	}
	return false
}

// freeParts are the objects and lists directly under the record's
// messages found without a sensitive name.
type freeParts struct {
	objects  [8]*value.Object
	lists    [4][]any
	nobjects int
	nlists   int
}

// sensitive reports whether k is a sensitive name, as
// engine.SensitiveField(k, m.local, m.global) says.
func (m *masker) sensitive(k string) bool {
	if t := m.names; t != nil {
		return !t.ruledOut(k) && m.lookup(t, k) // has, inlined
	}
	return engine.SensitiveField(k, m.local, m.global)
}

// lookup is names.lookup(k), answered from m.keys (the recorder's cache of
// answers) when it has k for names.
func (m *masker) lookup(names *nameTable, k string) bool {
	if m.keys == nil {
		return names.lookup(k)
	}
	return m.keys.lookup(names, k)
}

// keyCache holds answers of nameTable.lookup for the keys a recorder met
// last, by their text: requests to one pipeline send and answer the same
// keys (client_secret, access_token), each of which cost ~230 instructions
// a lookup (its normalized form hashed and compared), and a record looks
// at its output's keys up to three times (any sensitive? the values to
// note, the snapshot). Keys of up to 32 bytes are kept, copied (a key's
// string may hold a whole decoded body alive), in a direct-mapped table.
// It is used by one goroutine (the recorder's write).
type keyCache struct {
	entries [64]keyCacheEntry
}

type keyCacheEntry struct {
	names *nameTable // nil: unused
	n     uint8
	yes   bool
	text  [32]byte
}

// lookup is names.lookup(k), from the cache when it holds k for names.
func (c *keyCache) lookup(names *nameTable, k string) bool {
	if len(k) == 0 || len(k) > len(c.entries[0].text) {
		return names.lookup(k)
	}
	e := &c.entries[(uint(len(k))*31+uint(k[0])*7+uint(k[len(k)-1]))%uint(len(c.entries))]
	if e.names == names && int(e.n) == len(k) && string(e.text[:len(k)]) == k {
		return e.yes
	}
	yes := names.lookup(k)
	e.names, e.n, e.yes = names, uint8(len(k)), yes
	copy(e.text[:], k)
	return yes
}

// str returns s with the secrets masked.
func (m *masker) str(s string) string {
	if len(m.secrets) == 0 && len(m.seen) == 0 {
		return s
	}
	return engine.MaskSecrets(s, m.secrets, m.seen)
}

// apply returns v masked; parts without anything to mask are shared, not
// copied. While noting, the strings of the values of sensitive fields are
// added to the record's secrets, and so masked in the rest of the record.
func (m *masker) apply(v any) any {
	if m.mask == nil {
		m.mask = &engine.Masking{Field: m.sensitive, Hidden: func(s string) {
			if m.note(s) {
				m.mask.Secrets[1] = m.seen // Mask reads them as it goes
			}
		}}
	}
	m.mask.Secrets = append(m.mask.Secrets[:0], m.secrets, m.seen)
	return engine.Mask(v, m.mask)
}

// note adds s, a string of a sensitive field's value, to the record's
// secrets while noting, and reports whether it did. A placeholder
// (engine.Placeholder: "********", "00000000") is masked where it is, under
// its name, but not noted: it would eat every run of its byte elsewhere.
func (m *masker) note(s string) bool {
	if m.noting && len(s) >= engine.MinSecretLen && !engine.Placeholder(s) && !slices.Contains(m.seen, s) {
		m.seen = append(m.seen, s)
		return true
	}
	return false
}

// appendJSON appends v masked: the text value.AppendJSON(dst, m.apply(v))
// appends, with the same values noted in the same order, but written as
// the walk goes instead of from a masked copy (a record masks every
// message it keeps: the copy's objects cost more than the encoding). An
// object with a secret in a field name, rare, is masked by apply; so is a
// value AppendJSON refuses, again from the start, for apply's error.
func (m *masker) appendJSON(dst []byte, v any) ([]byte, error) {
	mark, seen := len(dst), len(m.seen)
	if out, ok := m.appendMasked(dst, v); ok {
		return out, nil
	}
	clear(m.seen[seen:]) // noted by the walk given up: noted again by apply
	m.seen = m.seen[:seen]
	return value.AppendJSON(dst[:mark], m.apply(v))
}

// appendMasked is appendJSON's walk; false when AppendJSON refused a
// value.
func (m *masker) appendMasked(dst []byte, v any) ([]byte, bool) {
	switch t := v.(type) {
	case string:
		return value.AppendString(dst, m.str(t)), true
	case *value.Object:
		if t == nil {
			break
		}
		for i := range t.Len() {
			if k, _ := t.At(i); engine.HoldsSecret(k, m.secrets, m.seen) {
				out, err := value.AppendJSON(dst, m.apply(t)) // names to mask: engine.Mask rebuilds it
				return out, err == nil
			}
		}
		dst = append(dst, '{')
		for i := range t.Len() {
			k, c := t.At(i)
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(value.AppendString(dst, k), ':')
			if c != nil && k != "" && m.sensitive(k) {
				m.reveal(c)
				dst = append(dst, `"`+engine.Masked+`"`...)
				continue
			}
			var ok bool
			if dst, ok = m.appendMasked(dst, c); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case []any:
		dst = append(dst, '[')
		for i, c := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = m.appendMasked(dst, c); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	}
	out, err := value.AppendJSON(dst, v) // a scalar: engine.Mask keeps it
	return out, err == nil
}

// noteValue notes the values of v's sensitive fields as apply(v) would,
// in the same order, without masking anything.
func (m *masker) noteValue(v any) {
	switch t := v.(type) {
	case *value.Object:
		for i := range t.Len() {
			if k, c := t.At(i); c != nil && k != "" && m.sensitive(k) {
				m.reveal(c)
			} else {
				m.noteValue(c)
			}
		}
	case []any:
		for _, c := range t {
			m.noteValue(c)
		}
	}
}

// reveal notes every string of v, the value of a sensitive field (what
// engine.Mask hands its Masking.Hidden).
func (m *masker) reveal(v any) {
	switch t := v.(type) {
	case string:
		m.note(t)
	case *value.Object:
		for i := range t.Len() {
			_, c := t.At(i)
			m.reveal(c)
		}
	case []any:
		for _, c := range t {
			m.reveal(c)
		}
	}
}

// Filter selects records for List.
type Filter struct {
	Pipeline string
	Status   string // ok or failed
	Trigger  string
	// Before lists only records whose id is below this: ids start with
	// their start time (IDPrefix), so it bounds the start time. It is a
	// filter, not a way to page: to go on where a page ended, pass the
	// page's next cursor as Cursor (an execution's record is written when
	// it ends, so a page's last id does not say what was listed).
	Before string
	// Since lists only records whose id is at least this (a start time,
	// IDPrefix).
	Since string
	// Cursor goes on with the listing where the page that returned it
	// ended (ListScan's next); "" starts at the newest segment. It names a
	// place in the stored history, not the filter: pass the same filter
	// with it.
	Cursor string
	// Limit caps the result (default 50).
	Limit int
}

// List returns the first page of records matching f, without snapshots and
// steps, in list order (see ListScan).
func List(ctx context.Context, st store.Store, f Filter) ([]*Record, error) {
	out, _, err := ListScan(ctx, st, f, 0)
	return out, err
}

// ErrCursor is returned by ListScan for a Filter.Cursor that is not one
// it could give (not base64url, longer than 256 characters, not a segment
// key and a position in it). A well-formed cursor naming a segment that is
// not stored (trimmed since, or made up) is a place: the listing goes on
// with the segments below it.
var ErrCursor = errors.New("history: not a cursor of the execution list")

// ListScan returns a page of at most f.Limit records matching f, without
// snapshots and steps, and next, the cursor of the page after it ("" when
// the listing reached the end of the history; a page may be empty and
// still give a next when the scan bound stopped it).
//
// # Order
//
// The history is a list of segments, the records of one batch each, sorted
// by key (the id of the segment's oldest record). The list order is
// segment by segment, newest key first, and within a segment newest id
// first. Records are written when their execution ends, so a batch holds
// what ended together: an execution that ran long is listed with those it
// ended with, after records of later segments that started after it. (A
// true newest-first order would need every segment's newest id, which
// segment keys do not hold: each page would read the index of the whole
// history.)
//
// # Paging
//
// The cursor names a segment and a position in it. Segments never change
// once written, and a segment written later takes its own place in the key
// order without moving the others, so following next from "" lists every
// record that was stored when paging began exactly once, for any limit and
// filter, with or without a scan bound; records written meanwhile are
// listed at most once (those in segments whose keys sort below the
// cursor's are listed, the others not). Records the history trims while
// paging (its oldest) are not listed once trimmed.
//
// # Filters and cost
//
// Before starts the listing at the segments that can hold older ids (keys
// below it); Since stops reading segments at the first whose key is below
// it, and below that reads only the index entries (small, uncompressed;
// IndexBucket) to find the older segments that still hold a record at or
// after Since: one entry a segment, but for the last page of such a
// listing that is the index of the rest of the history. scan bounds the
// records read (0: no bound), index entries passed over included, so that
// a filter few records match answers in bounded time: when the bound
// stops the page, next goes on from there.
//
// # Damage
//
// Stored records ListScan cannot read are not skipped: they are listed,
// in their segment's place (after its readable records) and whatever the
// filter, as one Record of Status "damaged" per segment (see
// Record.Records), once.
func ListScan(ctx context.Context, st store.Store, f Filter, scan int) (out []*Record, next string, err error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var at cursor
	if f.Cursor != "" {
		if at, err = parseCursor(f.Cursor); err != nil {
			return nil, "", err
		}
	}
	sc := segmentScan{ctx: ctx, st: st, since: f.Since, below: f.Before}
	if at.key != "" {
		// The cursor's segment, then those below; once its damaged entry is
		// listed (k == -1), or it was an index entry passed over below
		// Since, only those below: reading it again would count that entry
		// against the scan bound again, and at a bound of 1 give back the
		// same cursor forever.
		below := at.key + "\x00"
		if at.k == -1 {
			below = at.key
		}
		if sc.below == "" || below < sc.below {
			sc.below = below
		}
	}
	inWindow := func(id string) bool {
		return (f.Before == "" || id < f.Before) && (f.Since == "" || id >= f.Since)
	}
	read := 0
	for {
		key, val, err := sc.next()
		if err != nil {
			return nil, "", err
		}
		if key == "" {
			return out, "", nil
		}
		if val == nil { // an index entry passed over, below Since
			if read++; scan > 0 && read >= scan {
				return out, cursor{key, -1}.String(), nil
			}
			continue
		}
		raws, table, err := readSegment(val)
		lost := 0
		if err != nil {
			raws, lost = nil, segmentCount(key)
		}
		k := len(raws)
		if key == at.key {
			if at.k > k {
				return nil, "", fmt.Errorf("%w: segment %s holds %d records, not %d", ErrCursor, key, k, at.k)
			}
			k = at.k
			// The records listed before: those that could not be read
			// count in the segment's damaged entry, still to come.
			for _, raw := range raws[max(k, 0):] {
				if _, rerr := decodeRecord(raw, table, false); rerr != nil {
					err = cmp.Or(err, rerr)
					lost++
				}
			}
		}
		for k > 0 {
			k--
			rec, rerr := decodeRecord(raws[k], table, false)
			if rerr != nil {
				err = cmp.Or(err, rerr)
				lost++
				continue
			}
			if !inWindow(rec.ID) {
				continue // not counted as read
			}
			read++
			if f.Pipeline != "" && rec.Pipeline != f.Pipeline ||
				f.Status != "" && rec.Status != f.Status || f.Trigger != "" && rec.Trigger != f.Trigger {
				if scan > 0 && read >= scan {
					return out, cursor{key, k}.String(), nil
				}
				continue
			}
			rec.Steps, rec.Input, rec.Output = nil, nil, nil
			if out = append(out, rec); len(out) == f.Limit || scan > 0 && read >= scan {
				return out, cursor{key, k}.String(), nil
			}
		}
		if k == 0 && err != nil {
			if out = append(out, damaged(key, lost, err)); len(out) == f.Limit {
				return out, cursor{key, -1}.String(), nil
			}
		}
	}
}

// cursor is a place in the list order: the records of segment key at
// indexes below k (in id order) are still to list, then the segment's
// damaged entry if it has one (k is -1 once that is listed too), then the
// segments of lower keys.
type cursor struct {
	key string
	k   int
}

// String returns the cursor as an opaque, URL-safe string.
func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.key + "/" + strconv.Itoa(c.k)))
}

// parseCursor reads a cursor String returned.
func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(s) > 256 {
		return cursor{}, fmt.Errorf("%w: %q", ErrCursor, preview(s))
	}
	key, ks, _ := strings.Cut(string(b), "/")
	k, err := strconv.Atoi(ks)
	if n := segmentCount(key); err != nil || n == 0 || k < -1 || k > n || strings.ContainsAny(key, "\x00\n") {
		return cursor{}, fmt.Errorf("%w: %q", ErrCursor, preview(s))
	}
	return cursor{key, k}, nil
}

// preview cuts a string quoted in an error.
func preview(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// segmentScan reads the segments below a key, newest key first: from the
// executions bucket while keys are at least since, then, below since,
// from the index, passing over the segments whose newest id (the last of
// their entry) is below since.
type segmentScan struct {
	ctx          context.Context
	st           store.Store
	since, below string // below: list keys below it ("": from the newest)
	items        []store.Item
	i            int
	index, end   bool
	reads        int
}

// segmentPage is how many segments or index entries a store read returns:
// 2 for the first, doubling up to 64, so that a small page copies few
// segments it does not read out of the store.
func (s *segmentScan) segmentPage() int { return 2 << min(s.reads, 5) }

// next returns the next segment ("" at the end), or an index entry passed
// over (its key with a nil value).
func (s *segmentScan) next() (key string, val []byte, err error) {
	for {
		if s.i == len(s.items) {
			if s.end {
				return "", nil, nil
			}
			bucket := Bucket
			if s.index {
				bucket = IndexBucket
			}
			n := s.segmentPage()
			s.reads++
			s.items, err = s.st.List(s.ctx, bucket, store.ListOptions{Reverse: true, After: s.below, Limit: n})
			if err != nil {
				return "", nil, fmt.Errorf("listing executions: %w", err)
			}
			s.i, s.end = 0, len(s.items) < n
			if len(s.items) == 0 {
				return "", nil, nil
			}
			s.below = s.items[len(s.items)-1].Key
		}
		it := s.items[s.i]
		s.i++
		if !s.index {
			if s.since == "" || it.Key >= s.since {
				return it.Key, it.Value, nil
			}
			// Below since: the index says which segments to read.
			s.index, s.end, s.items, s.i, s.below = true, false, nil, 0, it.Key+"\x00"
			continue
		}
		entry := bytes.TrimSuffix(it.Value, []byte("\n"))
		if newest := entry[bytes.LastIndexByte(entry, '\n')+1:]; len(newest) > 0 && string(newest) < s.since {
			return it.Key, nil, nil
		}
		// It holds a record at or after since, or cannot say (the entry of
		// a segment that could not be read when indexed): read it.
		sg, err := s.st.Get(s.ctx, Bucket, it.Key)
		if errors.Is(err, store.ErrNotFound) {
			continue // trimmed since it was listed
		}
		if err != nil {
			return "", nil, fmt.Errorf("listing executions: %w", err)
		}
		return it.Key, sg.Value, nil
	}
}

// damaged returns the entry List gives for n records of segment key that
// cannot be read.
func damaged(key string, n int, err error) *Record {
	id, _, _ := strings.Cut(key, ":")
	msg := fmt.Sprintf("%d execution records of segment %s cannot be read: %v", n, key, err)
	start, _ := IDTime(id)
	return &Record{ID: id, Start: start, Status: StatusDamaged, Records: n, Error: append(value.AppendString([]byte(`{"error":`), msg), '}')}
}

// IDPrefix returns the start of the ids of executions started at t: ids
// of executions started at t or later are at least it.
func IDPrefix(t time.Time) string { return fmt.Sprintf("%012x", t.UnixMilli()) }

// getScan bounds how many segments Get looks at for an id: the record of an
// execution is in a segment written when it ended, whose first id is at
// most its own.
const getScan = 256

// ErrNotFound is returned by Get for an unknown or expired id.
var ErrNotFound = errors.New("history: no such execution")

// Get returns the record of execution id. The index (IndexBucket) says
// which segment holds it, so only that segment is read; a store whose index
// is empty (written before the index existed) is indexed first, once.
func Get(ctx context.Context, st store.Store, id string) (*Record, error) {
	if id == "" || strings.ContainsAny(id, ":\n") {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	key, err := lookup(ctx, st, id)
	if errors.Is(err, ErrNotFound) {
		if built, berr := indexOnce(ctx, st); berr != nil {
			return nil, berr
		} else if built {
			key, err = lookup(ctx, st, id)
		}
	}
	if err != nil {
		return nil, err
	}
	it, err := st.Get(ctx, Bucket, key)
	if errors.Is(err, store.ErrNotFound) { // trimmed since
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	raws, table, err := readSegment(it.Value)
	if err != nil {
		return nil, fmt.Errorf("reading execution %s: segment %s: %w", id, key, err)
	}
	needle := []byte(`{"id":` + strconv.Quote(id))
	for _, raw := range raws {
		if !bytes.HasPrefix(raw, needle) {
			continue
		}
		rec, err := decodeRecord(raw, table, true)
		if err != nil {
			return nil, fmt.Errorf("reading execution %s: %w", id, err)
		}
		return rec, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
}

// appendIndex adds id to an index entry.
func appendIndex(dst []byte, id string) []byte {
	return append(append(dst, id...), '\n')
}

// lookup returns the key of the segment holding id, from the index: the
// entries of segments whose first id is at most id, newest first.
func lookup(ctx context.Context, st store.Store, id string) (string, error) {
	line := []byte("\n" + id + "\n")
	after := id + ":\xff"
	for seen := 0; seen < getScan; {
		items, err := st.List(ctx, IndexBucket, store.ListOptions{Reverse: true, After: after, Limit: 64})
		if err != nil {
			return "", fmt.Errorf("reading the execution index: %w", err)
		}
		for _, it := range items {
			seen++
			if bytes.HasPrefix(it.Value, line[1:]) || bytes.Contains(it.Value, line) {
				return it.Key, nil
			}
		}
		if len(items) < 64 {
			break
		}
		after = items[len(items)-1].Key
	}
	return "", fmt.Errorf("%w: %s", ErrNotFound, id)
}

// indexOnce indexes a store whose index is empty while it holds segments
// (written before the index existed), and reports whether it did.
func indexOnce(ctx context.Context, st store.Store) (bool, error) {
	some, err := st.List(ctx, IndexBucket, store.ListOptions{Limit: 1})
	if err != nil || len(some) > 0 {
		return false, err
	}
	segs, err := reindex(ctx, st)
	return len(segs) > 0, err
}

// reindex makes the index agree with the segments of the store, which it
// returns: it writes the entries of segments without one (written before
// the index existed) and deletes the entries of segments that are gone. A
// segment that cannot be read gets an empty entry (List reports it), so
// that the index is not built again for it.
//
// The index is listed before the segments: a segment and its entry are
// written together and deleted together, so an entry listed whose segment
// is not was deleted since, never written since. (An entry written here
// for a segment another replica trims meanwhile is an orphan that Get
// passes over and the next reindex deletes.)
func reindex(ctx context.Context, st store.Store) ([]store.Item, error) {
	entries, err := st.List(ctx, IndexBucket, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the execution index: %w", err)
	}
	segs, err := st.List(ctx, Bucket, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("counting execution records: %w", err)
	}
	orphan := make(map[string]bool, len(entries))
	for _, it := range entries {
		orphan[it.Key] = true
	}
	var ops []store.Op
	for _, sg := range segs {
		if orphan[sg.Key] {
			delete(orphan, sg.Key)
			continue
		}
		raws, _, _ := readSegment(sg.Value)
		entry := []byte{}
		for _, raw := range raws {
			var rec struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(raw, &rec) == nil {
				entry = appendIndex(entry, rec.ID)
			}
		}
		ops = append(ops, store.PutOp(IndexBucket, sg.Key, entry))
	}
	for key := range orphan {
		ops = append(ops, store.DeleteOp(IndexBucket, key))
	}
	if err := st.Apply(ctx, ops...); err != nil {
		return nil, fmt.Errorf("indexing execution records: %w", err)
	}
	return segs, nil
}
