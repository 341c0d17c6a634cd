package engine

import (
	"context"
	"log/slog"

	"github.com/nectar-run/nectar/engine/value"
)

// MaskLogs returns a handler that writes through h with what rt holds
// secret masked: the values of attributes with a sensitive name
// (SensitiveField with rt.SensitiveFields) become ***, and the values of
// rt.Secrets are masked wherever they appear in the message and in string,
// error and Stringer values. A handler that already masks is returned as it
// is.
func MaskLogs(h slog.Handler, rt *Runtime) slog.Handler {
	if _, ok := h.(*maskHandler); ok {
		return h
	}
	return &maskHandler{h: h, rt: rt}
}

// maskExtra returns h masking extra as well as what rt holds: the secrets
// of one execution (the credentials its request carried), which the
// runtime's set must not keep. With no extra, h is returned as it is, so an
// execution whose request carried none pays nothing.
func maskExtra(h slog.Handler, rt *Runtime, extra []string) slog.Handler {
	if len(extra) == 0 {
		return h
	}
	if m, ok := h.(*maskHandler); ok {
		if len(m.extra) > 0 {
			extra = append(m.extra[:len(m.extra):len(m.extra)], extra...)
		}
		return &maskHandler{h: m.h, rt: m.rt, extra: extra}
	}
	return &maskHandler{h: h, rt: rt, extra: extra}
}

type maskHandler struct {
	h  slog.Handler
	rt *Runtime
	// extra are one execution's own secrets (RunOptions.Secrets).
	extra []string
}

func (m *maskHandler) Enabled(ctx context.Context, l slog.Level) bool { return m.h.Enabled(ctx, l) }

func (m *maskHandler) Handle(ctx context.Context, r slog.Record) error {
	secrets := m.rt.Secrets.Values()
	nr := slog.NewRecord(r.Time, r.Level, MaskSecrets(r.Message, secrets, m.extra), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(m.attr(a, secrets))
		return true
	})
	return m.h.Handle(ctx, nr)
}

func (m *maskHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	secrets := m.rt.Secrets.Values()
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = m.attr(a, secrets)
	}
	return &maskHandler{h: m.h.WithAttrs(out), rt: m.rt, extra: m.extra}
}

func (m *maskHandler) WithGroup(name string) slog.Handler {
	return &maskHandler{h: m.h.WithGroup(name), rt: m.rt, extra: m.extra}
}

func (m *maskHandler) attr(a slog.Attr, secrets []string) slog.Attr {
	v := a.Value.Resolve()
	if SensitiveField(a.Key, m.rt.SensitiveFields) && !(v.Kind() == slog.KindAny && v.Any() == nil) {
		return slog.String(a.Key, "***")
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, MaskSecrets(v.String(), secrets, m.extra))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, c := range g {
			out[i] = m.attr(c, secrets)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case *value.Object, []any:
			if nv := Mask(x, &Masking{Secrets: [][]string{secrets, m.extra}}); !value.Same(nv, x) {
				return slog.Any(a.Key, nv)
			}
		case error:
			if s := x.Error(); HoldsSecret(s, secrets, m.extra) {
				return slog.String(a.Key, MaskSecrets(s, secrets, m.extra))
			}
		case interface{ String() string }:
			if s := x.String(); HoldsSecret(s, secrets, m.extra) {
				return slog.String(a.Key, MaskSecrets(s, secrets, m.extra))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
