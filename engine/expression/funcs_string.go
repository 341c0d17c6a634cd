package expression

import (
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	unorm "golang.org/x/text/unicode/norm"

	"github.com/nectar-run/nectar/engine/value"
	ntext "github.com/nectar-run/nectar/internal/text"
)

// maxBuilt bounds strings that functions build from a length argument
// (LEFTPAD, RANDOMSTRINGS, …), so a bad value cannot exhaust memory.
const maxBuilt = 1 << 20

func init() {
	registerIn(catString,
		Function{
			Name: "CAPITALIZE", Usage: "CAPITALIZE(s)",
			Doc:     "Upper-cases the first character and leaves the rest as it is. Null gives null.",
			Example: `CAPITALIZE("john smith")`, Result: `"John smith"`,
			Fn: stringMap("CAPITALIZE", func(s string) string {
				r, n := utf8.DecodeRuneInString(s)
				if n == 0 {
					return s
				}
				return string(unicode.ToTitle(r)) + s[n:]
			}),
		},
		Function{
			Name: "LOWERCASE", Usage: "LOWERCASE(s)",
			Doc:     "Lower-cases a string. Null gives null.",
			Example: `LOWERCASE("São Paulo")`, Result: `"são paulo"`,
			Fn: stringMap("LOWERCASE", strings.ToLower),
		},
		Function{
			Name: "UPPERCASE", Usage: "UPPERCASE(s)",
			Doc:     "Upper-cases a string. Null gives null.",
			Example: `UPPERCASE("São Paulo")`, Result: `"SÃO PAULO"`,
			Fn: stringMap("UPPERCASE", strings.ToUpper),
		},
		Function{
			Name: "TRIM", Usage: "TRIM(s)",
			Doc:     "Removes leading and trailing white space (Unicode spaces and control characters). Null gives null.",
			Example: `TRIM("  a b  ")`, Result: `"a b"`,
			Fn: stringMap("TRIM", func(s string) string {
				return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' || unicode.IsSpace(r) })
			}),
		},
		Function{
			Name: "NORMALIZE", Usage: "NORMALIZE(s)",
			Doc:     "Turns s into ASCII as Digibee does: the string is decomposed (Unicode NFD), accents drop off their letters, and every character that is still not ASCII is removed (ligatures such as æ and œ, ß, ø, other scripts, symbols such as €). Null gives null.",
			Example: `NORMALIZE("São Paulo, Señor Müller, œuvre")`, Result: `"Sao Paulo, Senor Muller, uvre"`,
			Fn: stringMap("NORMALIZE", toASCII),
		},
		Function{
			Name: "CONCAT", Usage: "CONCAT(v1, v2, …)",
			Doc:     "Joins the arguments into one string. Numbers and booleans are written as JSON writes them, arrays and objects as JSON; null arguments are skipped.",
			Example: `CONCAT("order-", 42, "-", true)`, Result: `"order-42-true"`,
			Fn: func(args ...any) (any, error) { return concat(args, false), nil },
		},
		Function{
			Name: "CONCATWITHOUTTAB", Usage: "CONCATWITHOUTTAB(v1, v2, …)",
			Doc:     "CONCAT, with every tab character replaced by a space.",
			Example: `CONCATWITHOUTTAB("a\tb", "\tc")`, Result: `"a b c"`,
			Fn: func(args ...any) (any, error) { return concat(args, true), nil },
		},
		Function{
			Name: "JOIN", Usage: "JOIN(separator, v1, v2, …)",
			Doc:     "Joins the values with a separator. An array argument contributes its elements; null values are skipped.",
			Example: `JOIN(", ", "a", ["b", "c"], nil, 1)`, Result: `"a, b, c, 1"`,
			Fn: fnJoin,
		},
		Function{
			Name: "CONTAINS", Usage: "CONTAINS(s, sub)",
			Doc:     "True when s contains sub (case-sensitive). CONTAINS(null, …) is false.",
			Example: `CONTAINS("integration", "grat")`, Result: `true`,
			Fn: fnContains,
		},
		Function{
			Name: "INDEXOF", Usage: "INDEXOF(s, sub, from?=0)",
			Doc:     "Position (0-based, in characters) of the first sub at or after from, or -1. Case-sensitive.",
			Example: `INDEXOF("banana", "an", 2)`, Result: `3`,
			Fn: fnIndexOf,
		},
		Function{
			Name: "LASTINDEXOF", Usage: "LASTINDEXOF(s, sub)",
			Doc:     "Position (0-based, in characters) of the last sub, or -1. Case-sensitive.",
			Example: `LASTINDEXOF("banana", "an")`, Result: `3`,
			Fn: fnLastIndexOf,
		},
		Function{
			Name: "MATCHES", Usage: "MATCHES(s, regex)",
			Doc:     "True when the whole string matches the regular expression. Regular expressions are Go's RE2 syntax: Java's look-arounds and back-references are not available. MATCHES(null, …) is false.",
			Example: `MATCHES("AB-123", "[A-Z]{2}-\\d+")`, Result: `true`,
			Fn: fnMatches,
		},
		Function{
			Name: "STRINGMATCHES", Usage: "STRINGMATCHES(s, regex, flags?)",
			Doc:     "Array of every match of regex in s. flags is one Java flag name or several separated by | or commas (or an array): CASE_INSENSITIVE, MULTILINE, DOTALL, COMMENTS and LITERAL change matching; UNICODE_CASE, UNICODE_CHARACTER_CLASS, CANON_EQ and UNIX_LINES are accepted and have no effect.",
			Example: `STRINGMATCHES("a1 B22 c333", "[a-z]\\d+", "CASE_INSENSITIVE")`, Result: `["a1","B22","c333"]`,
			Fn: fnStringMatches,
		},
		Function{
			Name: "FUZZYMATCH", Usage: "FUZZYMATCH(s, candidates, minSimilarity?=0)",
			Doc:     "The candidate most similar to s, or null when none reaches minSimilarity (0 to 1). Similarity is 1 − Levenshtein distance / longer length, ignoring case and accents. Digibee does not publish its scoring, so results may differ on close calls.",
			Example: `FUZZYMATCH("Sao Paolo", ["Rio de Janeiro", "São Paulo", "Salvador"])`, Result: `"São Paulo"`,
			Fn: fnFuzzyMatch,
		},
		Function{
			Name: "REPLACE", Usage: "REPLACE(s, regex, replacement)",
			Doc:     "Replaces every match of regex. The replacement uses Java's syntax: $1 or ${name} insert a group, \\$ a dollar sign. Null gives null.",
			Example: `REPLACE("2024-01-31", "(\\d+)-(\\d+)-(\\d+)", "$3/$2/$1")`, Result: `"31/01/2024"`,
			Fn: fnReplace,
		},
		Function{
			Name: "SPLIT", Usage: "SPLIT(s, regex)",
			Doc:     "Splits s around matches of regex, like Java's String.split: trailing empty parts are dropped. Null gives null.",
			Example: `SPLIT("a,b;c,,", "[,;]")`, Result: `["a","b","c"]`,
			Fn: fnSplit,
		},
		Function{
			Name: "SUBSTRING", Usage: "SUBSTRING(s, start, end?, throwIndexOutOfBoundError?=true)",
			Doc:     "Characters from start (0-based, inclusive) to end (exclusive, default the length). A bad index is an error, or returns s unchanged when the last argument is false.",
			Example: `SUBSTRING("integration", 0, 5)`, Result: `"integ"`,
			Fn: fnSubstring,
		},
		Function{
			Name: "LEFTPAD", Usage: "LEFTPAD(s, length, pad?=\" \")",
			Doc:     "Pads s on the left to length characters, repeating pad; s is unchanged when already that long. Numbers are padded as text.",
			Example: `LEFTPAD(42, 6, "0")`, Result: `"000042"`,
			Fn: padFn("LEFTPAD", true),
		},
		Function{
			Name: "RIGHTPAD", Usage: "RIGHTPAD(s, length, pad?=\" \")",
			Doc:     "Pads s on the right to length characters, repeating pad.",
			Example: `RIGHTPAD("ab", 5, "*")`, Result: `"ab***"`,
			Fn: padFn("RIGHTPAD", false),
		},
		Function{
			Name: "DEFAULT", Usage: "DEFAULT(v, default)",
			Doc:     "v, or default when v is null or missing. An empty string is not null.",
			Example: `DEFAULT(nil, "n/a")`, Result: `"n/a"`,
			Fn: func(args ...any) (any, error) {
				if err := arity("DEFAULT", args, 2, 2); err != nil {
					return nil, err
				}
				if args[0] == nil {
					return value.FromGo(args[1]), nil
				}
				return value.FromGo(args[0]), nil
			},
		},
		Function{
			Name: "ESCAPE", Usage: "ESCAPE(s, type?=\"JSON\")",
			Doc:     "Escapes s for JSON (quotes, backslashes and control characters), XML, HTML or CSV (quoted when it holds a comma, quote or line break). Null gives null.",
			Example: `ESCAPE("say \"hi\"\n")`, Result: `"say \\\"hi\\\"\\n"`,
			Fn: escapeFn("ESCAPE", true),
		},
		Function{
			Name: "UNESCAPE", Usage: "UNESCAPE(s, type?=\"JSON\")",
			Doc:     "Reverses ESCAPE for JSON, XML, HTML or CSV. Null gives null.",
			Example: `UNESCAPE("a &lt; b &amp;&amp; c", "HTML")`, Result: `"a < b && c"`,
			Fn: escapeFn("UNESCAPE", false),
		},
		Function{
			Name: "TOSTRING", Usage: "TOSTRING(v)",
			Doc:     "The string form of v: strings as they are, numbers and booleans as JSON writes them (2.0 stays \"2.0\"), arrays and objects as compact JSON. Null gives null.",
			Example: `TOSTRING({"a": [1, 2.5]})`, Result: `"{\"a\":[1,2.5]}"`,
			Fn: func(args ...any) (any, error) {
				if err := arity("TOSTRING", args, 1, 1); err != nil {
					return nil, err
				}
				if args[0] == nil {
					return nil, nil
				}
				return stringify(args[0]), nil
			},
		},
		Function{
			Name: "RANDOMSTRINGS", Usage: "RANDOMSTRINGS(charset, length)",
			Doc:     "A random string of length characters from ALPHANUMERIC, ALPHABETIC, NUMERIC or ASCII (printable ASCII), drawn from crypto/rand, so it may serve as a token.",
			Example: `RANDOMSTRINGS("ALPHANUMERIC", 12)`,
			Fn:      fnRandomStrings,
		},
	)
}

// stringMap builds a function of one string argument; null gives null.
func stringMap(name string, f func(string) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, ok, err := firstText(name, args, 1, 1)
		if !ok {
			return nil, err
		}
		return f(s), nil
	}
}

// toASCII is NORMALIZE: Java's Normalizer.normalize(s, NFD) followed by
// removing [^\p{ASCII}], the reading of "special characters" Digibee's
// NORMALIZE has: accented letters keep their base letter, and what has no
// ASCII base letter (æ, œ, ß, ø, ł, €, other scripts) is removed.
func toASCII(s string) string {
	s = stripMarks(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			b := make([]byte, 0, len(s))
			for j := 0; j < len(s); j++ {
				if s[j] < utf8.RuneSelf {
					b = append(b, s[j])
				}
			}
			return string(b)
		}
	}
	return s
}

func stripMarks(s string) string {
	isASCII := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			isASCII = false
			break
		}
	}
	if isASCII {
		return s
	}
	d := unorm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return unorm.NFC.String(b.String())
}

func concat(args []any, noTabs bool) string {
	var b strings.Builder
	for _, a := range args {
		if a == nil {
			continue
		}
		b.WriteString(stringify(a))
	}
	if noTabs {
		return strings.ReplaceAll(b.String(), "\t", " ")
	}
	return b.String()
}

func fnJoin(args ...any) (any, error) {
	r := readArgs("JOIN", args, 1, -1)
	sep := r.text(0)
	if r.err != nil {
		return nil, r.err
	}
	var b strings.Builder
	first := true
	add := func(v any) {
		if v == nil {
			return
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		b.WriteString(stringify(v))
	}
	for _, a := range args[1:] {
		if arr, ok := value.FromGo(a).([]any); ok {
			for _, x := range arr {
				add(x)
			}
			continue
		}
		add(a)
	}
	return b.String(), nil
}

func fnContains(args ...any) (any, error) {
	if err := arity("CONTAINS", args, 2, 2); err != nil {
		return nil, err
	}
	if args[0] == nil || args[1] == nil {
		return false, nil
	}
	s, err := argText("CONTAINS", args, 0)
	if err != nil {
		return nil, err
	}
	sub, err := argText("CONTAINS", args, 1)
	if err != nil {
		return nil, err
	}
	return strings.Contains(s, sub), nil
}

// runeIndex converts a byte offset of s to a character offset.
func runeIndex(s string, byteOff int) int64 {
	if byteOff < 0 {
		return -1
	}
	return int64(utf8.RuneCountInString(s[:byteOff]))
}

// byteOffset converts a character offset of s to a byte offset (len(s) past the end).
func byteOffset(s string, chars int64) int {
	if chars <= 0 {
		return 0
	}
	n := int64(0)
	for i := range s {
		if n == chars {
			return i
		}
		n++
	}
	return len(s)
}

func fnIndexOf(args ...any) (any, error) {
	s, ok, err := firstText("INDEXOF", args, 2, 3)
	if err != nil {
		return nil, err
	}
	if !ok {
		return int64(-1), nil
	}
	sub, err := argText("INDEXOF", args, 1)
	if err != nil {
		return nil, err
	}
	from := int64(0)
	if opt(args, 2) != nil {
		if from, err = argInt("INDEXOF", args, 2); err != nil {
			return nil, err
		}
	}
	off := byteOffset(s, from)
	i := strings.Index(s[off:], sub)
	if i < 0 {
		return int64(-1), nil
	}
	return runeIndex(s, off+i), nil
}

func fnLastIndexOf(args ...any) (any, error) {
	s, ok, err := firstText("LASTINDEXOF", args, 2, 2)
	if err != nil {
		return nil, err
	}
	if !ok {
		return int64(-1), nil
	}
	sub, err := argText("LASTINDEXOF", args, 1)
	if err != nil {
		return nil, err
	}
	return runeIndex(s, strings.LastIndex(s, sub)), nil
}

// argRegex compiles argument i; prefix and suffix wrap the source (flags, anchors).
func argRegex(name string, args []any, i int, prefix, suffix string) (*regexp.Regexp, error) {
	src, err := argText(name, args, i)
	if err != nil {
		return nil, err
	}
	re, err := compileRegex(prefix + src + suffix)
	if err != nil {
		return nil, argError(name, i, "invalid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, nil
}

func fnMatches(args ...any) (any, error) {
	r := readArgs("MATCHES", args, 2, 2)
	re := r.regex(1, `^(?:`, `)$`)
	if r.err != nil {
		return nil, r.err
	}
	if args[0] == nil {
		return false, nil
	}
	s, err := argText("MATCHES", args, 0)
	if err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}

// regexFlags turns Java Pattern flag names into an RE2 prefix; literal and
// comments ask for the pattern to be rewritten.
func regexFlags(name string, v any, i int) (prefix string, literal, comments bool, err error) {
	var names []string
	switch t := value.FromGo(v).(type) {
	case nil:
		return "", false, false, nil
	case string:
		names = strings.FieldsFunc(t, func(r rune) bool { return r == '|' || r == ',' || r == ' ' })
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return "", false, false, argError(name, i, "flags must be strings, got %s", describe(x))
			}
			names = append(names, s)
		}
	default:
		return "", false, false, argError(name, i, "expected flag names, got %s", describe(v))
	}
	var fl []byte
	for _, n := range names {
		switch strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(n), "Pattern.")) {
		case "CASE_INSENSITIVE":
			fl = append(fl, 'i')
		case "MULTILINE":
			fl = append(fl, 'm')
		case "DOTALL":
			fl = append(fl, 's')
		case "LITERAL":
			literal = true
		case "COMMENTS":
			comments = true
		case "UNICODE_CASE", "UNICODE_CHARACTER_CLASS", "CANON_EQ", "UNIX_LINES", "":
		default:
			return "", false, false, argError(name, i, "unknown regex flag %q", n)
		}
	}
	if len(fl) > 0 {
		prefix = "(?" + string(fl) + ")"
	}
	return prefix, literal, comments, nil
}

// stripComments implements Java's COMMENTS flag: white space and #-comments
// outside character classes are ignored.
func stripComments(src string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src):
			b.WriteByte(c)
			i++
			b.WriteByte(src[i])
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			continue
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func fnStringMatches(args ...any) (any, error) {
	const name = "STRINGMATCHES"
	if err := arity(name, args, 2, 3); err != nil {
		return nil, err
	}
	prefix, literal, comments, err := regexFlags(name, opt(args, 2), 2)
	if err != nil {
		return nil, err
	}
	src, err := argText(name, args, 1)
	if err != nil {
		return nil, err
	}
	switch {
	case literal:
		src = regexp.QuoteMeta(src)
	case comments:
		src = stripComments(src)
	}
	re, err := compileRegex(prefix + src)
	if err != nil {
		return nil, argError(name, 1, "invalid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	if args[0] == nil {
		return []any{}, nil
	}
	s, err := argText(name, args, 0)
	if err != nil {
		return nil, err
	}
	found := re.FindAllString(s, -1)
	out := make([]any, len(found))
	for i, m := range found {
		out[i] = m
	}
	return out, nil
}

func fnFuzzyMatch(args ...any) (any, error) {
	const name = "FUZZYMATCH"
	r := readArgs(name, args, 2, 3)
	cands := r.array(1)
	if r.err != nil {
		return nil, r.err
	}
	minSim := 0.0
	if opt(args, 2) != nil {
		if minSim = r.float(2); r.err != nil {
			return nil, r.err
		}
	}
	if args[0] == nil {
		return nil, nil
	}
	s, err := argText(name, args, 0)
	if err != nil {
		return nil, err
	}
	key := []rune(strings.ToLower(stripMarks(s)))
	var best any
	bestSim := -1.0
	for _, c := range cands {
		cs, ok := text(c)
		if !ok {
			continue
		}
		cr := []rune(strings.ToLower(stripMarks(cs)))
		longer := max(len(key), len(cr))
		sim := 1.0
		if longer > 0 {
			sim = 1 - float64(ntext.Distance(key, cr))/float64(longer)
		}
		if sim > bestSim && sim >= minSim {
			best, bestSim = c, sim
		}
	}
	return best, nil
}

// javaReplacement rewrites a Java replacement string ($1, ${name}, \$) into
// Go's Expand syntax ($$ for a dollar, ${1} for a group).
func javaReplacement(repl string, groups int) (string, error) {
	if !strings.ContainsAny(repl, `$\`) {
		return repl, nil
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i == len(repl) {
				return "", fmt.Errorf("replacement ends with a lone backslash")
			}
			if repl[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(repl[i])
			}
		case '$':
			i++
			if i == len(repl) {
				return "", fmt.Errorf("replacement ends with a lone $")
			}
			if repl[i] == '{' {
				end := strings.IndexByte(repl[i:], '}')
				if end < 0 {
					return "", fmt.Errorf("unclosed ${ in replacement")
				}
				b.WriteString("${" + repl[i+1:i+end] + "}")
				i += end
				continue
			}
			if repl[i] < '0' || repl[i] > '9' {
				return "", fmt.Errorf("illegal group reference in replacement")
			}
			// Java reads as many digits as still name an existing group.
			n := int(repl[i] - '0')
			j := i + 1
			for j < len(repl) && repl[j] >= '0' && repl[j] <= '9' && n*10+int(repl[j]-'0') <= groups {
				n = n*10 + int(repl[j]-'0')
				j++
			}
			if n > groups {
				return "", fmt.Errorf("no group %d in the regular expression", n)
			}
			b.WriteString("${" + strconv.Itoa(n) + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func fnReplace(args ...any) (any, error) {
	r := readArgs("REPLACE", args, 3, 3)
	re := r.regex(1, "", "")
	if r.err != nil {
		return nil, r.err
	}
	repl, err := optText("REPLACE", args, 2, "")
	if err != nil {
		return nil, err
	}
	tmpl, err := javaReplacement(repl, re.NumSubexp())
	if err != nil {
		return nil, argError("REPLACE", 2, "%s", err.Error())
	}
	if args[0] == nil {
		return nil, nil
	}
	s, err := argText("REPLACE", args, 0)
	if err != nil {
		return nil, err
	}
	return re.ReplaceAllString(s, tmpl), nil
}

func fnSplit(args ...any) (any, error) {
	r := readArgs("SPLIT", args, 2, 2)
	re := r.regex(1, "", "")
	if r.err != nil {
		return nil, r.err
	}
	if args[0] == nil {
		return nil, nil
	}
	s, err := argText("SPLIT", args, 0)
	if err != nil {
		return nil, err
	}
	if s == "" {
		return []any{""}, nil
	}
	parts := re.Split(s, -1)
	// Java drops trailing empty strings (split with limit 0).
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func fnSubstring(args ...any) (any, error) {
	const name = "SUBSTRING"
	s, ok, err := firstText(name, args, 2, 4)
	if !ok {
		return nil, err
	}
	strict, err := optBool(name, args, 3, true)
	if err != nil {
		return nil, err
	}
	n := int64(utf8.RuneCountInString(s))
	start, err := argInt(name, args, 1)
	if err != nil {
		return nil, err
	}
	end := n
	if opt(args, 2) != nil {
		if end, err = argInt(name, args, 2); err != nil {
			return nil, err
		}
	}
	if start < 0 || end > n || start > end {
		if !strict {
			return s, nil
		}
		return nil, fmt.Errorf("%s: range [%d, %d) is out of bounds for a string of length %d", name, start, end, n)
	}
	return s[byteOffset(s, start):byteOffset(s, end)], nil
}

func padFn(name string, left bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, ok, err := firstText(name, args, 2, 3)
		if !ok {
			return nil, err
		}
		size, err := argInt(name, args, 1)
		if err != nil {
			return nil, err
		}
		if size > maxBuilt {
			return nil, argError(name, 1, "length %d is above the limit of %d", size, maxBuilt)
		}
		pad, err := optText(name, args, 2, " ")
		if err != nil {
			return nil, err
		}
		if pad == "" {
			pad = " "
		}
		missing := int(size) - utf8.RuneCountInString(s)
		if missing <= 0 {
			return s, nil
		}
		pr := []rune(pad)
		fill := make([]rune, missing)
		for i := range fill {
			fill[i] = pr[i%len(pr)]
		}
		if left {
			return string(fill) + s, nil
		}
		return s + string(fill), nil
	}
}

func escapeFn(name string, escape bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		r := readArgs(name, args, 1, 2)
		kind := r.optText(1, "JSON")
		if r.err != nil {
			return nil, r.err
		}
		kind = strings.ToUpper(kind)
		switch kind {
		case "JSON", "XML", "HTML", "CSV":
		default:
			return nil, argError(name, 1, "unknown type %q: use JSON, XML, HTML or CSV", kind)
		}
		if args[0] == nil {
			return nil, nil
		}
		s, err := argText(name, args, 0)
		if err != nil {
			return nil, err
		}
		if escape {
			return escapeText(kind, s), nil
		}
		return unescapeText(kind, s), nil
	}
}

var xmlEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&quot;", `'`, "&apos;")

func escapeText(kind, s string) string {
	switch kind {
	case "XML":
		return xmlEscaper.Replace(s)
	case "HTML":
		return html.EscapeString(s)
	case "CSV":
		if !strings.ContainsAny(s, ",\"\r\n") {
			return s
		}
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	b := value.AppendString(make([]byte, 0, len(s)+2), s)
	return string(b[1 : len(b)-1])
}

func unescapeText(kind, s string) string {
	switch kind {
	case "XML", "HTML":
		return html.UnescapeString(s)
	case "CSV":
		if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
			return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
		}
		return s
	}
	return unescapeJSONText(s)
}

// unescapeJSONText interprets JSON string escapes; a malformed escape is kept as written.
func unescapeJSONText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			b.WriteByte(s[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				b.WriteString(`\u`)
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) && i+6 < len(s)+1 && strings.HasPrefix(s[i+1:], `\u`) {
				if r2, ok := hex4(s, i+3); ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func hex4(s string, at int) (rune, bool) {
	if at+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s[at:at+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

var charsets = map[string]string{
	"ALPHANUMERIC": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"ALPHABETIC":   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"NUMERIC":      "0123456789",
	"ASCII":        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
}

func fnRandomStrings(args ...any) (any, error) {
	const name = "RANDOMSTRINGS"
	r := readArgs(name, args, 2, 2)
	cs := r.text(0)
	if r.err != nil {
		return nil, r.err
	}
	alphabet, ok := charsets[strings.ToUpper(cs)]
	if !ok {
		return nil, argError(name, 0, "unknown charset %q: use ALPHANUMERIC, ALPHABETIC, NUMERIC or ASCII", cs)
	}
	n, err := argInt(name, args, 1)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxBuilt {
		return nil, argError(name, 1, "length must be between 0 and %d, got %d", maxBuilt, n)
	}
	return randomFrom(alphabet, int(n)), nil
}
