// Package objectstore implements the object-store connector: named
// collections of JSON documents kept in Nectar's store (bucket
// "objects/<collection>", one key per document id), like Digibee's Object
// Store. It inserts (failing with 409 when the id exists), gets, updates
// atomically (a JSON merge patch or a replacement, optionally only when the
// stored document has given field values, optionally creating it), deletes
// and finds documents by field values. A document may expire (ttl).
// Collection, id and values may be templates. The store is the runtime's:
// Install puts it there.
package objectstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/internal/text"
	"github.com/nectar-run/nectar/store"
)

// Config holds the options of an object-store step.
type Config struct {
	Operation  string          `yaml:"operation" required:"true" enum:"insert,get,update,delete,find" doc:"what to do"`
	Collection engine.Template `yaml:"collection" required:"true" doc:"the collection: letters, digits, '-', '_' and '.', at most 200; created by the first write"`
	ID         engine.Template `yaml:"id" ops:"insert,get,update,delete" doc:"the document's id (at most 1024 bytes); insert generates one (24 hex digits, in time order) when it is not given; get, update and delete need it"`
	Document   engine.Dynamic  `yaml:"document" ops:"insert,update" doc:"the document, an object (an _oId field in it is not stored)"`
	Mode       string          `yaml:"mode" ops:"update" default:"merge" enum:"merge,replace" doc:"merge applies the document as a JSON merge patch (RFC 7396: objects merge, a null removes a field); replace stores it as it is"`
	Upsert     bool            `yaml:"upsert" ops:"update" doc:"create the document when it is missing"`
	Match      engine.Dynamic  `yaml:"match" ops:"update,delete" doc:"field values the stored document must have (dotted paths reach inside objects), or the step fails with 409: a compare-and-set"`
	NotFound   string          `yaml:"not_found" ops:"get,update,delete" default:"error" enum:"error,null" doc:"a missing document is an error (404), or null: get gives null, update and delete an updateCount of 0"`
	Query      engine.Dynamic  `yaml:"query" ops:"find" doc:"field values the documents must have (dotted paths reach inside objects, _oId is the id, null matches a missing field); none: every document"`
	Limit      int             `yaml:"limit" ops:"find" default:"100" doc:"the most documents returned; 0: no limit"`
	Skip       int             `yaml:"skip" ops:"find" doc:"matching documents to pass over first"`
	TTL        engine.Template `yaml:"ttl" ops:"insert,update" doc:"the document expires this long after the write: 30m, 24h, or milliseconds; update without ttl keeps the document's expiry"`
}

// MaxDocumentSize is the largest document, in bytes of JSON, that insert
// and update write; larger ones are refused with 413.
const MaxDocumentSize = 1 << 20

// BucketPrefix is the prefix of the store buckets that hold collections.
const BucketPrefix = "objects/"

// pageSize is how many documents find reads from the store at a time.
const pageSize = 256

type serviceKey struct{}

// Install makes st the store of the object-store steps run with rt. The
// nectar command calls it while it builds the runtime, before the first run.
func Install(rt *engine.Runtime, st store.Store) { rt.SetService(serviceKey{}, st) }

// InstallOpener makes the store returned by open the store of the object-store
// steps run with rt; open is called once, by the first step that needs it, so
// that `nectar run` opens the data directory only for pipelines that use it.
func InstallOpener(rt *engine.Runtime, open func() (store.Store, error)) {
	rt.SetService(serviceKey{}, &lazyStore{open: open})
}

type lazyStore struct {
	once sync.Once
	open func() (store.Store, error)
	st   store.Store
	err  error
}

func (l *lazyStore) get() (store.Store, error) {
	l.once.Do(func() { l.st, l.err = l.open() })
	return l.st, l.err
}

// FromRuntime returns the store installed in rt, if any.
func FromRuntime(rt *engine.Runtime) (store.Store, bool) {
	st, err := storeOf(rt)
	return st, err == nil && st != nil
}

func storeOf(rt *engine.Runtime) (store.Store, error) {
	if rt == nil {
		return nil, nil
	}
	v, ok := rt.Service(serviceKey{})
	if !ok {
		return nil, nil
	}
	switch t := v.(type) {
	case store.Store:
		return t, nil
	case *lazyStore:
		return t.get()
	}
	return nil, nil
}

type step struct {
	op         string
	collection engine.Template
	bucket     string // when the collection is a literal
	id         engine.Template
	document   engine.Dynamic
	replace    bool
	upsert     bool
	match      engine.Dynamic
	nullOnMiss bool
	query      engine.Dynamic
	limit      int
	skip       int
	ttl        engine.Template
	ttlConst   time.Duration // when ttl is a literal
	docs       docCache      // what get decoded
	lastBucket atomic.Pointer[bucketName]
}

var _ engine.Step = (*step)(nil)

func init() {
	engine.Register("object-store", "Inserts, gets, updates, deletes and finds JSON documents in named collections of Nectar's store.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	var errs []error
	s := &step{
		op: cfg.Operation, collection: cfg.Collection, id: cfg.ID, document: cfg.Document,
		replace: cfg.Mode == "replace", upsert: cfg.Upsert, match: cfg.Match,
		nullOnMiss: cfg.NotFound == "null", query: cfg.Query, limit: cfg.Limit, skip: cfg.Skip, ttl: cfg.TTL,
	}
	if lit, ok := cfg.Collection.Literal(); ok {
		if err := checkCollection(lit); err != nil {
			errs = append(errs, cc.ErrorAt("collection", err))
		}
		s.bucket = BucketPrefix + lit
	}
	switch cfg.Operation {
	case "get", "update", "delete":
		if !cfg.ID.IsSet() {
			errs = append(errs, cc.Errorf("", "%s needs the id option", cfg.Operation))
		}
	}
	if (cfg.Operation == "insert" || cfg.Operation == "update") && !cfg.Document.IsSet() {
		errs = append(errs, cc.Errorf("", "%s needs the document option", cfg.Operation))
	}
	for _, opt := range []struct {
		name string
		d    engine.Dynamic
	}{{"document", cfg.Document}, {"match", cfg.Match}, {"query", cfg.Query}} {
		if c, ok := opt.d.Constant(); ok && opt.d.IsSet() {
			if _, isObj := c.(*value.Object); !isObj {
				errs = append(errs, cc.Errorf(opt.name, "expected an object, got %s", value.TypeName(c)))
			}
		}
	}
	if cfg.Limit < 0 || cfg.Skip < 0 {
		errs = append(errs, cc.Errorf("", "limit and skip cannot be negative"))
	}
	if lit, ok := cfg.TTL.Literal(); ok {
		d, err := parseTTL(lit)
		if err != nil {
			errs = append(errs, cc.ErrorAt("ttl", err))
		}
		s.ttlConst = d
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func checkCollection(name string) error {
	if name == "" || len(name) > 200 {
		return fmt.Errorf("a collection name has 1 to 200 characters, got %d", len(name))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("a collection name may hold letters, digits, '-', '_' and '.', not %q", r)
		}
	}
	return nil
}

// parseTTL reads "30m", "24h" or a whole number of milliseconds.
func parseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("a ttl must be above 0, got %d", n)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("expected a ttl like 30m, 24h or a number of milliseconds, got %q", preview(s))
	}
	return d, nil
}

// preview shortens a document id or option for a message.
func preview(s string) string { return text.Preview(s, 40) }

// Execute runs the operation. It is safe for concurrent use; writes to one
// document are atomic in the store.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	st, err := storeOf(x.Runtime)
	if err != nil {
		return nil, engine.NewError(503, "object-store: opening Nectar's store: %w", err)
	}
	if st == nil {
		return nil, engine.NewError(500, "object-store: Nectar's store is not available in this runtime")
	}
	bucket, coll, err := s.bucketFor(x, in)
	if err != nil {
		return nil, err
	}
	switch s.op {
	case "insert":
		return s.insert(ctx, x, in, st, bucket, coll)
	case "get":
		return s.get(ctx, x, in, st, bucket, coll)
	case "update":
		return s.update(ctx, x, in, st, bucket, coll)
	case "delete":
		return s.delete(ctx, x, in, st, bucket, coll)
	}
	return s.find(ctx, x, in, st, bucket)
}

func (s *step) bucketFor(x *engine.Exec, in any) (bucket, coll string, err error) {
	if s.bucket != "" {
		return s.bucket, s.bucket[len(BucketPrefix):], nil
	}
	coll, err = s.collection.String(x, in)
	if err != nil {
		return "", "", err
	}
	if last := s.lastBucket.Load(); last != nil && last.coll == coll {
		return last.bucket, coll, nil // checked when it was kept
	}
	if err := checkCollection(coll); err != nil {
		return "", "", engine.NewError(400, "collection: %w", err)
	}
	bucket = BucketPrefix + coll
	s.lastBucket.Store(&bucketName{coll: coll, bucket: bucket})
	return bucket, coll, nil
}

// bucketName is a collection name computed by a template, checked, and its
// bucket: a step whose collection comes from globals (oauth-grant's
// "{{ globals.oauth_clients }}") computes the same one on every run.
type bucketName struct{ coll, bucket string }

func (s *step) idFor(x *engine.Exec, in any) (string, error) {
	id, err := s.id.String(x, in)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", engine.NewError(400, "id: the document id is empty")
	}
	if len(id) > store.MaxKeySize {
		return "", engine.NewError(400, "id: a document id has at most %d bytes, got %d", store.MaxKeySize, len(id))
	}
	return id, nil
}

// newID returns 24 hex digits: 6 bytes of Unix milliseconds, then 6 random
// bytes, so generated ids list in insertion order, like MongoDB's ObjectId.
func newID() string {
	var b [12]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(time.Now().UnixMilli()))
	copy(b[:6], ms[2:])
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func (s *step) writeOpts(x *engine.Exec, in any) ([]store.WriteOption, error) {
	if !s.ttl.IsSet() {
		return nil, nil
	}
	d := s.ttlConst
	if d == 0 {
		v, err := s.ttl.Eval(x, in)
		if err != nil {
			return nil, err
		}
		switch t := v.(type) {
		case int64:
			if t <= 0 {
				return nil, engine.NewError(400, "ttl: must be above 0, got %d", t)
			}
			d = time.Duration(t) * time.Millisecond
		case float64:
			if t <= 0 {
				return nil, engine.NewError(400, "ttl: must be above 0, got %g", t)
			}
			d = time.Duration(t * float64(time.Millisecond))
		case string:
			if d, err = parseTTL(t); err != nil {
				return nil, engine.NewError(400, "ttl: %w", err)
			}
		default:
			return nil, engine.NewError(400, "ttl: expected a duration or milliseconds, got %s", value.TypeName(v))
		}
	}
	return []store.WriteOption{store.TTL(d)}, nil
}

// object evaluates an option that must give an object.
func object(x *engine.Exec, in any, d engine.Dynamic, name string) (*value.Object, error) {
	v, err := d.Eval(x, in)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*value.Object)
	if !ok {
		return nil, engine.NewError(400, "%s: expected an object, got %s", name, value.TypeName(v))
	}
	return o, nil
}

// encode writes doc as JSON without its _oId field.
func encode(doc *value.Object) ([]byte, error) {
	if doc.Has("_oId") {
		doc = doc.Clone()
		doc.Delete("_oId")
	}
	b, err := value.AppendJSON(make([]byte, 0, 256), doc)
	if err != nil {
		return nil, engine.NewError(400, "document: %w", err)
	}
	if len(b) > MaxDocumentSize {
		return nil, engine.NewError(413, "document: %d bytes of JSON is more than %d", len(b), MaxDocumentSize)
	}
	return b, nil
}

// decodeDoc reads a stored document.
func decodeDoc(raw []byte, id string) (*value.Object, error) {
	v, err := value.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("stored document %q: %w", preview(id), err)
	}
	o, ok := v.(*value.Object)
	if !ok {
		return nil, fmt.Errorf("stored document %q is not an object", preview(id))
	}
	return o, nil
}

// decode reads a stored document and adds its id as _oId, last, as
// Digibee's Object Store does.
func decode(raw []byte, id string) (*value.Object, error) {
	o, err := decodeDoc(raw, id)
	if err != nil {
		return nil, err
	}
	o.Set("_oId", id)
	return o, nil
}

// writeFailed is the outcome of an update or delete that failed: a missing
// document is a 404 (or a count of 0 with not_found: null), one that does
// not match is a 409, an *engine.Error stays as it is, and a store error is
// mapped by storeError.
func (s *step) writeFailed(err error, id, coll, op string) (any, error) {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errMissing):
		if s.nullOnMiss {
			return result(nil, 0), nil
		}
		return nil, engine.NewError(404, "document %q not found in %s", preview(id), coll)
	case errors.Is(err, errMismatch):
		return nil, engine.NewError(409, "document %q does not match", preview(id))
	}
	if _, ok := err.(*engine.Error); ok {
		return nil, err
	}
	return nil, storeError(err, op)
}

func storeError(err error, what string) error {
	if errors.Is(err, store.ErrInvalid) {
		return engine.NewError(400, "%s: %w", what, err)
	}
	if errors.Is(err, store.ErrClosed) {
		return &engine.Error{Timestamp: time.Now().UnixMilli(), Code: 503, Message: what + ": the store is closed", Cause: err}
	}
	if errors.Is(err, store.ErrUnavailable) {
		// The message keeps the driver's detail for the log and the
		// execution record; the HTTP trigger answers a generic error
		// (errors.Is(err, store.ErrUnavailable) tells it).
		return &engine.Error{Timestamp: time.Now().UnixMilli(), Code: 503, Message: what + ": " + err.Error(), Cause: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// result builds Digibee's write result: {"data": [...], "updateCount": n}.
func result(data []any, count int) *value.Object {
	if data == nil {
		data = []any{}
	}
	o := value.NewObject(2)
	o.Set("data", data)
	o.Set("updateCount", int64(count))
	return o
}

func (s *step) insert(ctx context.Context, x *engine.Exec, in any, st store.Store, bucket, coll string) (any, error) {
	doc, err := object(x, in, s.document, "document")
	if err != nil {
		return nil, err
	}
	id := ""
	if s.id.IsSet() {
		if id, err = s.idFor(x, in); err != nil {
			return nil, err
		}
	} else {
		id = newID()
	}
	raw, err := encode(doc)
	if err != nil {
		return nil, err
	}
	opts, err := s.writeOpts(x, in)
	if err != nil {
		return nil, err
	}
	if _, err := st.Create(ctx, bucket, id, raw, opts...); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, engine.NewError(409, "document %q already exists in %s", preview(id), coll)
		}
		return nil, storeError(err, "insert")
	}
	return result([]any{withID(doc, id)}, 1), nil
}

// withID returns a copy of doc with id as its _oId, last.
func withID(doc *value.Object, id string) *value.Object {
	out := doc.Clone()
	if out == nil {
		out = value.NewObject(1)
	}
	out.Delete("_oId")
	out.Set("_oId", id)
	return out
}

func (s *step) get(ctx context.Context, x *engine.Exec, in any, st store.Store, bucket, coll string) (any, error) {
	id, err := s.idFor(x, in)
	if err != nil {
		return nil, err
	}
	var it store.Item
	if sg, ok := st.(sharedGetter); ok {
		it, err = sg.GetShared(ctx, bucket, id)
	} else {
		it, err = st.Get(ctx, bucket, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		if s.nullOnMiss {
			return nil, nil
		}
		return nil, engine.NewError(404, "document %q not found in %s", preview(id), coll)
	}
	if err != nil {
		return nil, storeError(err, "get")
	}
	return s.docs.decode(bucket, id, it.Value)
}

// sharedGetter is a store that can give a value without copying it
// (store/bolt's GetShared): get only decodes the bytes (value.Decode copies
// them first) and keeps them in docCache to compare, never changing them.
type sharedGetter interface {
	GetShared(ctx context.Context, bucket, key string) (store.Item, error)
}

// docCache keeps the documents a get step decoded, with the bytes each came
// from: a get whose stored bytes are those of the last one of the same
// document gives the document decoded then. Documents, like every message,
// are shared and never changed, so the decoded one can be given again; the
// bytes are compared in full, so a document written since is decoded anew,
// whatever its length or revision. A token request reads its client this way
// and no longer pays for decoding it. The cache is bounded: documents over
// maxCachedDoc bytes are not kept, and past maxCachedDocs ids or
// maxCachedBytes bytes of JSON it starts over.
type docCache struct {
	mu    sync.RWMutex
	m     map[docKey]cachedDoc
	bytes int // of the raw documents kept
}

type docKey struct{ bucket, id string }

type cachedDoc struct {
	raw []byte // the store's bytes: fresh from Get, or the read cache's own, never changed, from GetShared
	doc *value.Object
}

const (
	maxCachedDoc   = 16 << 10
	maxCachedDocs  = 1024
	maxCachedBytes = 1 << 20
)

// decode is decode(raw, id), given again for the same bytes.
func (c *docCache) decode(bucket, id string, raw []byte) (*value.Object, error) {
	k := docKey{bucket, id}
	c.mu.RLock()
	d, ok := c.m[k]
	c.mu.RUnlock()
	if ok && bytes.Equal(d.raw, raw) {
		return d.doc, nil
	}
	doc, err := decode(raw, id)
	if err != nil || len(raw) > maxCachedDoc {
		return doc, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedDocs || c.bytes+len(raw) > maxCachedBytes {
		c.m, c.bytes = make(map[docKey]cachedDoc), 0
	}
	c.bytes += len(raw) - len(c.m[k].raw)
	c.m[k] = cachedDoc{raw: raw, doc: doc}
	c.mu.Unlock()
	return doc, nil
}

// These errors carry an update's outcome out of the store's UpdateFunc.
var (
	errMissing  = errors.New("missing")
	errMismatch = errors.New("mismatch")
)

func (s *step) update(ctx context.Context, x *engine.Exec, in any, st store.Store, bucket, coll string) (any, error) {
	id, err := s.idFor(x, in)
	if err != nil {
		return nil, err
	}
	patch, err := object(x, in, s.document, "document")
	if err != nil {
		return nil, err
	}
	var match *value.Object
	if s.match.IsSet() {
		if match, err = object(x, in, s.match, "match"); err != nil {
			return nil, err
		}
	}
	opts, err := s.writeOpts(x, in)
	if err != nil {
		return nil, err
	}
	var written *value.Object
	_, err = st.Update(ctx, bucket, id, func(cur []byte, exists bool) ([]byte, error) {
		var doc *value.Object
		if exists {
			var err error
			if doc, err = decodeDoc(cur, id); err != nil {
				return nil, err
			}
		} else if !s.upsert {
			return nil, errMissing
		}
		if match != nil && !matches(doc, id, match) {
			return nil, errMismatch
		}
		next := patch
		if !s.replace {
			next = mergePatch(doc, patch)
		}
		raw, err := encode(next)
		if err != nil {
			return nil, err
		}
		written = next
		return raw, nil
	}, opts...)
	if err != nil {
		return s.writeFailed(err, id, coll, "update")
	}
	return result([]any{withID(written, id)}, 1), nil
}

func (s *step) delete(ctx context.Context, x *engine.Exec, in any, st store.Store, bucket, coll string) (any, error) {
	id, err := s.idFor(x, in)
	if err != nil {
		return nil, err
	}
	if !s.match.IsSet() {
		err = st.Delete(ctx, bucket, id)
	} else {
		var match *value.Object
		if match, err = object(x, in, s.match, "match"); err != nil {
			return nil, err
		}
		_, err = st.Update(ctx, bucket, id, func(cur []byte, exists bool) ([]byte, error) {
			if !exists {
				return nil, errMissing
			}
			doc, err := decodeDoc(cur, id)
			if err != nil {
				return nil, err
			}
			if !matches(doc, id, match) {
				return nil, errMismatch
			}
			return nil, store.DeleteKey
		})
	}
	if err != nil {
		return s.writeFailed(err, id, coll, "delete")
	}
	return result(nil, 1), nil
}

// find reads the collection a page at a time, in id order, keeping the
// documents that match the query: a full scan, streaming, that stops as soon
// as limit documents are found.
func (s *step) find(ctx context.Context, x *engine.Exec, in any, st store.Store, bucket string) (any, error) {
	var query *value.Object
	if s.query.IsSet() {
		var err error
		if query, err = object(x, in, s.query, "query"); err != nil {
			return nil, err
		}
	}
	data := []any{}
	skip := s.skip
	opts := store.ListOptions{Limit: pageSize}
	for {
		items, err := st.List(ctx, bucket, opts)
		if err != nil {
			return nil, storeError(err, "find")
		}
		for _, it := range items {
			doc, err := decodeDoc(it.Value, it.Key)
			if err != nil {
				return nil, err
			}
			if query != nil && !matches(doc, it.Key, query) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			doc.Set("_oId", it.Key) // doc is fresh: ours to change
			data = append(data, doc)
			if s.limit > 0 && len(data) == s.limit {
				return findResult(data), nil
			}
		}
		if len(items) < pageSize {
			return findResult(data), nil
		}
		opts.After = items[len(items)-1].Key
	}
}

func findResult(data []any) *value.Object {
	o := value.NewObject(2)
	o.Set("data", data)
	o.Set("rowCount", int64(len(data)))
	return o
}

// matches reports whether doc, whose id is id, has every field value of
// query. Keys are dotted paths, or _oId for the id; a null value matches a
// missing field too.
func matches(doc *value.Object, id string, query *value.Object) bool {
	for i := 0; i < query.Len(); i++ {
		path, want := query.At(i)
		var got any = id
		ok := true
		if path != "_oId" {
			got, ok = lookup(doc, path)
		}
		if !ok {
			if want != nil {
				return false
			}
			continue
		}
		if !value.Equal(got, want) {
			return false
		}
	}
	return true
}

func lookup(doc *value.Object, path string) (any, bool) {
	if v, ok := doc.Get(path); ok {
		return v, true // a key with dots in it
	}
	var cur any = doc
	for part := range strings.SplitSeq(path, ".") {
		o, ok := cur.(*value.Object)
		if !ok {
			return nil, false
		}
		if cur, ok = o.Get(part); !ok {
			return nil, false
		}
	}
	return cur, true
}

// mergePatch applies patch to target as RFC 7396 says, building new objects
// (neither input is modified). A nil target is an empty object.
func mergePatch(target, patch *value.Object) *value.Object {
	out := value.NewObject(target.Len() + patch.Len())
	for i := 0; i < target.Len(); i++ {
		k, v := target.At(i)
		out.Set(k, v)
	}
	for i := 0; i < patch.Len(); i++ {
		k, v := patch.At(i)
		switch pv := v.(type) {
		case nil:
			out.Delete(k)
		case *value.Object:
			cur, _ := out.Get(k)
			co, _ := cur.(*value.Object)
			out.Set(k, mergePatch(co, pv))
		default:
			out.Set(k, v)
		}
	}
	return out
}
