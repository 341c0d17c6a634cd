package jolt

import (
	"regexp"
	"strconv"
	"strings"
)

// elemKind tells which JOLT path element a spec key (or one segment of an
// output path) is. The names follow the upstream Java classes.
type elemKind uint8

const (
	ekLiteral    elemKind = iota // "rating"
	ekStarAll                    // "*"
	ekStarSingle                 // "tag-*"
	ekStarDouble                 // "tag-*-*"
	ekStarRegex                  // three or more stars
	ekAmp                        // "&", "&1", "&(1,2)", "photo-&(0,1)"
	ekAt                         // "@" alone
	ekDollar                     // "$", "$1", "$(1,2)"
	ekHash                       // "#literal" on the left, a constant value
	ekTranspose                  // "@(1,path)", "@path"
	ekArray                      // "[]", "[3]", "[&1]", "[#2]", "[@(1,i)]"
)

// arrayKind is the flavour of an ekArray element.
type arrayKind uint8

const (
	arrAuto      arrayKind = iota // []
	arrExplicit                   // [3]
	arrReference                  // [&1] or [&(1,2)]
	arrHash                       // [#2]
	arrTranspose                  // [@(1,index)]
)

// ref is a parsed reference: how many levels up the walked path (path) and
// which part of the matched key (group; 0 is the whole key).
type ref struct{ path, group int }

// ampToken is a literal run or a reference inside an & key.
type ampToken struct {
	lit   string
	ref   ref
	isRef bool
}

// pathElem is one compiled key. Everything Apply needs is computed here once.
type pathElem struct {
	kind  elemKind
	key   string // the key with escapes removed: literal value, star pattern
	canon string // canonical form, used for ordering and duplicate checks

	prefix, mid, suffix string         // star patterns
	re                  *regexp.Regexp // three or more stars
	toks                []ampToken     // & keys
	ref                 ref            // $, [&..], [#..]
	hashVal             string         // #literal
	arr                 arrayKind
	index               int    // [3]
	indexStr            string // "3"
	tp                  *transpose
}

// transpose is @(up,sub): go up the walked path, then read down sub.
type transpose struct {
	up  int
	sub *pathReader // nil: the data at that level itself
}

func (e *pathElem) isStar() bool {
	return e.kind >= ekStarAll && e.kind <= ekStarRegex
}

// unescapeKey reads the backslash escapes of a key. The escape characters
// are dropped; the characters they escape are kept when keep is true
// (`\@pants` -> "@pants", the key itself) and dropped otherwise (-> "pants",
// used only to decide which kind of element a key is).
func unescapeKey(s string, keep bool) string {
	var b strings.Builder
	escaped := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && !escaped {
			escaped = true
			continue
		}
		if keep || !escaped {
			b.WriteByte(c)
		}
		escaped = false
	}
	return b.String()
}

// parseKey classifies one key the way upstream's PathElementBuilder does: the
// order of the checks is the precedence of the special characters.
func parseKey(orig string) (*pathElem, string) {
	inspect, elemKey := orig, orig
	if strings.Contains(orig, `\`) {
		inspect = unescapeKey(orig, false)
		elemKey = unescapeKey(orig, true)
	}
	switch {
	case inspect == "@":
		return &pathElem{kind: ekAt, key: elemKey, canon: "@"}, ""
	case inspect == "*":
		return &pathElem{kind: ekStarAll, key: "*", canon: "*"}, ""
	case strings.HasPrefix(inspect, "["):
		if strings.Count(inspect, "[") != 1 || strings.Count(inspect, "]") != 1 {
			return nil, "key " + preview(orig) + " has too many [] references"
		}
		return parseArray(elemKey)
	case strings.HasPrefix(inspect, "@") || strings.Contains(inspect, "@("):
		tp, msg := parseTranspose(orig)
		if msg != "" {
			return nil, msg
		}
		return &pathElem{kind: ekTranspose, key: orig, canon: tp.canon(), tp: tp}, ""
	case strings.Contains(inspect, "@"):
		return nil, "key " + preview(orig) + " can have an @ only at the front"
	case strings.Contains(inspect, "$"):
		r, msg := parseRef(elemKey, '$')
		if msg != "" {
			return nil, msg
		}
		return &pathElem{kind: ekDollar, key: elemKey, ref: r, canon: "$(" + strconv.Itoa(r.path) + "," + strconv.Itoa(r.group) + ")"}, ""
	case strings.Contains(inspect, "["):
		if strings.Count(inspect, "[") != 1 || strings.Count(inspect, "]") != 1 {
			return nil, "key " + preview(orig) + " has too many [] references"
		}
		return parseArray(elemKey)
	case strings.Contains(inspect, "&"):
		if strings.Contains(inspect, "*") {
			return nil, "key " + preview(orig) + " mixes * with &"
		}
		return parseAmp(elemKey)
	case strings.Contains(inspect, "*"):
		return parseStar(elemKey)
	case strings.Contains(inspect, "#"):
		return parseHash(elemKey)
	}
	return &pathElem{kind: ekLiteral, key: elemKey, canon: elemKey}, ""
}

func parseStar(key string) (*pathElem, string) {
	n := strings.Count(key, "*")
	e := &pathElem{key: key, canon: key}
	switch {
	case key == "*":
		e.kind = ekStarAll
	case n == 1:
		e.kind = ekStarSingle
		i := strings.IndexByte(key, '*')
		e.prefix, e.suffix = key[:i], key[i+1:]
	case n == 2:
		e.kind = ekStarDouble
		i := strings.IndexByte(key, '*')
		j := i + 1 + strings.IndexByte(key[i+1:], '*')
		e.prefix, e.mid, e.suffix = key[:i], key[i+1:j], key[j+1:]
	default:
		e.kind = ekStarRegex
		// "rating-*-*-*" -> ^rating-(.+?)-(.+?)-(.+?)$ : each * takes at least one character, as few as it can.
		parts := strings.Split(key, "*")
		var b strings.Builder
		b.WriteString("^")
		for i, p := range parts {
			if i > 0 {
				b.WriteString("(.+?)")
			}
			b.WriteString(regexp.QuoteMeta(p))
		}
		b.WriteString("$")
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, "key " + preview(key) + ": " + err.Error()
		}
		e.re = re
	}
	return e, ""
}

// starMatch reports whether a star element matches s, without captures.
func (e *pathElem) starMatch(s string) bool {
	switch e.kind {
	case ekStarAll:
		return true
	case ekStarSingle:
		return len(s) > len(e.prefix)+len(e.suffix) && strings.HasPrefix(s, e.prefix) && strings.HasSuffix(s, e.suffix)
	case ekStarDouble:
		return strings.HasPrefix(s, e.prefix) && strings.HasSuffix(s, e.suffix) && e.midIndex(s) > 0
	case ekStarRegex:
		return e.re.MatchString(s)
	}
	return false
}

// midIndex finds the first occurrence of mid with at least one character
// on each side for the two stars to capture; -1 if none.
func (e *pathElem) midIndex(s string) int {
	start := len(e.prefix) + 1
	end := len(s) - len(e.suffix) - 1
	if start >= end {
		return -1
	}
	i := strings.Index(s[start:end], e.mid)
	if i < 0 {
		return -1
	}
	return i + start
}

func parseHash(key string) (*pathElem, string) {
	if strings.TrimSpace(key) == "" || !strings.HasPrefix(key, "#") || len(key) <= 1 {
		return nil, "key " + preview(key) + ": a # key must start with # and name a value"
	}
	var v string
	if key[1] == '(' {
		if key[len(key)-1] != ')' {
			return nil, "key " + preview(key) + " has mismatched parentheses"
		}
		v = key[2 : len(key)-1]
	} else {
		v = key[1:]
	}
	return &pathElem{kind: ekHash, key: key, hashVal: v, canon: "#(" + v + ")"}, ""
}

// parseRef parses "&", "&2", "&(2)", "&(2,1)" (and the same with $).
func parseRef(s string, tok byte) (ref, string) {
	if s == "" || s[0] != tok {
		return ref{}, "reference " + preview(s) + " must start with " + string(tok)
	}
	meat := s[1:]
	if meat == "" {
		return ref{}, ""
	}
	bad := "cannot parse reference " + preview(s)
	if len(meat) >= 3 && meat[0] == '(' && meat[len(meat)-1] == ')' {
		parts := strings.Split(meat[1:len(meat)-1], ",")
		// Java's split drops trailing empty strings: "(1,)" is "(1)".
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) > 2 {
			return ref{}, bad
		}
		p, err := strconv.Atoi(parts[0])
		if err != nil || p < 0 {
			return ref{}, bad
		}
		g := 0
		if len(parts) == 2 {
			g, err = strconv.Atoi(parts[1])
			if err != nil || g < 0 {
				return ref{}, bad
			}
		}
		return ref{p, g}, ""
	}
	p, err := strconv.Atoi(meat)
	if err != nil || p < 0 {
		return ref{}, bad
	}
	return ref{p, 0}, ""
}

// parseHashRef parses "#" or "#2" (a path index, no group).
func parseHashRef(s string) (ref, string) {
	if len(s) == 1 {
		return ref{}, ""
	}
	p, err := strconv.Atoi(s[1:])
	if err != nil || p < 0 {
		return ref{}, "cannot parse reference " + preview(s)
	}
	return ref{p, 0}, ""
}

func parseAmp(key string) (*pathElem, string) {
	e := &pathElem{kind: ekAmp, key: key}
	var canon, lit strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c != '&' {
			lit.WriteByte(c)
			continue
		}
		if lit.Len() > 0 {
			e.toks = append(e.toks, ampToken{lit: lit.String()})
			canon.WriteString(lit.String())
			lit.Reset()
		}
		end := i + 1
		for end < len(key) && (key[end] >= '0' && key[end] <= '9' || key[end] == '(' || key[end] == ')' || key[end] == ',') {
			end++
		}
		r, msg := parseRef(key[i:end], '&')
		if msg != "" {
			return nil, msg
		}
		e.toks = append(e.toks, ampToken{ref: r, isRef: true})
		canon.WriteString("&(" + strconv.Itoa(r.path) + "," + strconv.Itoa(r.group) + ")")
		i = end - 1
	}
	if lit.Len() > 0 {
		e.toks = append(e.toks, ampToken{lit: lit.String()})
		canon.WriteString(lit.String())
	}
	e.canon = canon.String()
	return e, ""
}

func nonNegInt(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1<<31-1 {
		return 0, false
	}
	return n, true
}

func parseArray(key string) (*pathElem, string) {
	if len(key) < 2 || key[0] != '[' || key[len(key)-1] != ']' {
		return nil, "invalid array key " + preview(key)
	}
	e := &pathElem{kind: ekArray, key: key}
	if len(key) == 2 {
		e.arr, e.canon = arrAuto, "[]"
		return e, ""
	}
	meat := key[1 : len(key)-1]
	switch meat[0] {
	case '&':
		r, msg := parseRef(meat, '&')
		if msg != "" {
			return nil, msg
		}
		e.arr, e.ref = arrReference, r
		e.canon = "[&(" + strconv.Itoa(r.path) + "," + strconv.Itoa(r.group) + ")]"
	case '#':
		r, msg := parseHashRef(meat)
		if msg != "" {
			return nil, msg
		}
		e.arr, e.ref = arrHash, r
		e.canon = "[#" + strconv.Itoa(r.path) + "]"
	case '@':
		tp, msg := parseTranspose(meat)
		if msg != "" {
			return nil, msg
		}
		e.arr, e.tp = arrTranspose, tp
		e.canon = "[" + tp.canon() + "]"
	default:
		n, ok := nonNegInt(meat)
		if !ok || n > MaxArrayIndex {
			return nil, "bad explicit array index " + preview(meat) + " in key " + preview(key)
		}
		e.arr, e.index, e.indexStr = arrExplicit, n, meat
		e.canon = "[" + meat + "]"
	}
	return e, ""
}

// parseTranspose parses "@(2,a.b)", "@(a.b)", "@2", "@a".
func parseTranspose(key string) (*transpose, string) {
	if len(key) < 2 || key[0] != '@' {
		return nil, "transpose key " + preview(key) + " must start with @ and name a path"
	}
	meat := key[1:]
	if strings.Contains(meat, "@") {
		return nil, "@ path element " + preview(key) + " cannot contain a nested @"
	}
	if strings.Contains(meat, "*") || strings.Contains(meat, "[]") {
		return nil, "@ path element " + preview(key) + " cannot contain * or []"
	}
	if strings.HasPrefix(meat, "(") {
		if !strings.HasSuffix(meat, ")") {
			return nil, "@ path element " + preview(key) + " starts with ( but has no matching )"
		}
		meat = meat[1 : len(meat)-1]
	}
	tp := &transpose{}
	sub := meat
	if meat != "" && meat[0] >= '0' && meat[0] <= '9' {
		i := 0
		for i < len(meat) && meat[i] >= '0' && meat[i] <= '9' {
			i++
		}
		if i < len(meat) && meat[i] != ',' {
			return nil, "@ path element " + preview(key) + " has a mixed numeric level"
		}
		n, err := strconv.Atoi(meat[:i])
		if err != nil {
			return nil, "@ path element " + preview(key) + " has a bad level"
		}
		tp.up = n
		sub = ""
		if i < len(meat) {
			sub = meat[i+1:]
		}
	} else if meat == "" {
		return nil, "@ path element " + preview(key) + " names no path"
	}
	if sub != "" {
		r, msg := parseReader(sub)
		if msg != "" {
			return nil, msg
		}
		tp.sub = r
	}
	return tp, ""
}

func (t *transpose) canon() string {
	if t.sub == nil {
		return "@(" + strconv.Itoa(t.up) + ",)"
	}
	return "@(" + strconv.Itoa(t.up) + "," + t.sub.canon + ")"
}
