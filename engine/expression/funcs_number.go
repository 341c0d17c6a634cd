package expression

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

func init() {
	registerIn(catNumber,
		Function{
			Name: "FORMATNUMBER", Usage: "FORMATNUMBER(n, pattern, locale?=\"en-us\", rounding?=\"HALF_EVEN\")",
			Doc: "Formats a number (or numeric string) with a Java DecimalFormat pattern: 0 and # digits, , grouping, . decimal point, " +
				"E exponent, % and ‰ (multiply by 100 and 1000), ¤ currency symbol, 'quoted' literal text and an optional ;negative subpattern. " +
				"Separators follow the locale (en-us, pt-br, de-de, es-es, fr-fr, it-it, pt-pt, en-gb, de-ch, ja-jp, …). " +
				"rounding is UP, DOWN, CEILING, FLOOR, HALF_UP, HALF_DOWN or HALF_EVEN; it applies to the number as written in JSON (its shortest decimal form).",
			Example: `FORMATNUMBER(1234567.891, "#,##0.00", "pt-br")`, Result: `"1.234.567,89"`,
			Fn: fnFormatNumber,
		},
		Function{
			Name: "TONUMBER", Usage: "TONUMBER(s, pattern, locale?=\"en-us\", asInteger?=false)",
			Doc: "Parses a localized number with a DecimalFormat pattern: the pattern's prefix and suffix (such as 'R$ ') are removed, " +
				"grouping separators ignored and the locale's decimal separator read; % divides by 100. The result is a floating-point number, or an integer (truncated) when asInteger is true. " +
				"Like Java's parser, text after the number is ignored.",
			Example: `TONUMBER("R$ 1.234,56", "'R$ '#,##0.00", "pt-br")`, Result: `1234.56`,
			Fn: fnToNumber,
		},
		Function{
			Name: "TODOUBLE", Usage: "TODOUBLE(n)",
			Doc:     "Converts a number or numeric string to a floating-point number: TODOUBLE(12) is 12.0. Null gives null.",
			Example: `TODOUBLE("12")`, Result: `12.0`,
			Fn: fnToDouble,
		},
		Function{
			Name: "TOINT", Usage: "TOINT(n)",
			Doc:     "Converts a number or numeric string to an integer, truncating the fraction: TOINT(12.345) is 12. Values outside Java's int range (±2147483647) are an error; use TOLONG. Null gives null.",
			Example: `TOINT(-12.9)`, Result: `-12`,
			Fn: toIntegerFn("TOINT", math.MinInt32, math.MaxInt32),
		},
		Function{
			Name: "TOLONG", Usage: "TOLONG(n)",
			Doc:     "Converts a number or numeric string to a 64-bit integer, truncating the fraction. Integers keep every digit. Null gives null.",
			Example: `TOLONG("9007199254740993")`, Result: `9007199254740993`,
			Fn: toIntegerFn("TOLONG", math.MinInt64, math.MaxInt64),
		},
		Function{
			Name: "RANDOMNUMBERS", Usage: "RANDOMNUMBERS(min, max)",
			Doc:     "A random integer between min and max, both included (any 64-bit range). Not for secrets: use RANDOMSECRET.",
			Example: `RANDOMNUMBERS(1, 6)`,
			Fn:      fnRandomNumbers,
		},
	)
}

// decimal is a non-negative decimal number: the digits d (no leading zeros)
// with the decimal point after the first point digits (point may be negative
// or beyond len(d)). Zero has no digits.
type decimal struct {
	neg   bool
	d     []byte
	point int
}

// toDecimal converts a number or numeric string exactly as it is written.
func toDecimal(v any) (decimal, bool) {
	switch t := v.(type) {
	case int64:
		return intDecimal(t), true
	case int:
		return intDecimal(int64(t)), true
	case uint64:
		return parseDecimal(strconv.FormatUint(t, 10))
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return decimal{}, false
		}
		return parseDecimal(strconv.FormatFloat(t, 'e', -1, 64))
	case json.Number:
		return parseDecimal(string(t))
	case string:
		return parseDecimal(strings.TrimSpace(t))
	}
	if f, ok := value.ToFloat(v); ok {
		return toDecimal(f)
	}
	return decimal{}, false
}

func intDecimal(n int64) decimal {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u
	}
	x, _ := parseDecimal(strconv.FormatUint(u, 10))
	x.neg = neg
	return x
}

// parseDecimal reads [+-]digits[.digits][e[+-]digits].
func parseDecimal(s string) (decimal, bool) {
	var x decimal
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		x.neg = s[i] == '-'
		i++
	}
	sawDigit, sawPoint := false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			sawDigit = true
			if c == '0' && len(x.d) == 0 {
				if sawPoint {
					x.point--
				}
				continue
			}
			x.d = append(x.d, c)
			if !sawPoint {
				x.point++
			}
		case c == '.' && !sawPoint:
			sawPoint = true
		default:
			goto exp
		}
	}
exp:
	if !sawDigit {
		return decimal{}, false
	}
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return decimal{}, false
		}
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 10000 || e < -10000 {
			return decimal{}, false
		}
		x.point += e
	}
	x.trim()
	return x, true
}

func (x *decimal) trim() {
	for len(x.d) > 0 && x.d[len(x.d)-1] == '0' {
		x.d = x.d[:len(x.d)-1]
	}
	if len(x.d) == 0 {
		x.point = 0
	}
}

func (x decimal) isZero() bool { return len(x.d) == 0 }

// round keeps frac fraction digits using a java.math.RoundingMode.
func (x *decimal) round(frac int, mode string) error {
	keep := x.point + frac
	if keep >= len(x.d) {
		return nil
	}
	if keep < 0 {
		// Every digit is dropped and the first dropped one is an implied zero.
		up := roundsUp(mode, x.neg, 0, true, 0)
		x.d, x.point = x.d[:0], 0
		if up {
			x.d, x.point = append(x.d, '1'), 1-frac
		}
		return nil
	}
	first := x.d[keep]
	rest := false
	for _, c := range x.d[keep+1:] {
		if c != '0' {
			rest = true
			break
		}
	}
	prev := byte('0')
	if keep > 0 {
		prev = x.d[keep-1]
	}
	if mode == "UNNECESSARY" {
		return fmt.Errorf("rounding is necessary but the mode is UNNECESSARY")
	}
	up := roundsUp(mode, x.neg, first-'0', rest, (prev-'0')%2)
	x.d = x.d[:keep]
	if up {
		i := keep - 1
		for ; i >= 0 && x.d[i] == '9'; i-- {
			x.d[i] = '0'
		}
		if i >= 0 {
			x.d[i]++
		} else {
			x.d = append([]byte{'1'}, x.d...)
			x.point++
		}
	}
	x.trim()
	return nil
}

// roundsUp decides whether the kept magnitude grows, from the first dropped digit,
// whether any later dropped digit is non-zero, and the parity of the last kept digit.
func roundsUp(mode string, neg bool, first byte, rest bool, prevOdd byte) bool {
	nonzero := first != 0 || rest
	switch mode {
	case "UP":
		return nonzero
	case "DOWN":
		return false
	case "CEILING":
		return nonzero && !neg
	case "FLOOR":
		return nonzero && neg
	case "HALF_UP":
		return first >= 5
	case "HALF_DOWN":
		return first > 5 || (first == 5 && rest)
	}
	return first > 5 || (first == 5 && (rest || prevOdd == 1)) // HALF_EVEN
}

// intDigits and fracDigits return the digits on each side of the point.
func (x decimal) intDigits() string {
	if x.point <= 0 {
		return ""
	}
	if x.point >= len(x.d) {
		return string(x.d) + strings.Repeat("0", x.point-len(x.d))
	}
	return string(x.d[:x.point])
}

func (x decimal) fracDigits() string {
	if x.point >= len(x.d) {
		return ""
	}
	if x.point < 0 {
		return strings.Repeat("0", -x.point) + string(x.d)
	}
	return string(x.d[x.point:])
}

// numLocale holds the symbols DecimalFormatSymbols gives a locale.
type numLocale struct {
	group, decimal, currency string
}

var numLocales = map[string]numLocale{
	"en":    {",", ".", "$"},
	"en-us": {",", ".", "$"},
	"en-gb": {",", ".", "£"},
	"en-ca": {",", ".", "$"},
	"en-au": {",", ".", "$"},
	"es-mx": {",", ".", "$"},
	"ja-jp": {",", ".", "￥"},
	"zh-cn": {",", ".", "¥"},
	"pt":    {".", ",", "R$"},
	"pt-br": {".", ",", "R$"},
	"de":    {".", ",", "€"},
	"de-de": {".", ",", "€"},
	"es":    {".", ",", "€"},
	"es-es": {".", ",", "€"},
	"es-ar": {".", ",", "$"},
	"es-co": {".", ",", "$"},
	"it":    {".", ",", "€"},
	"it-it": {".", ",", "€"},
	"nl-nl": {".", ",", "€"},
	"id-id": {".", ",", "Rp"},
	"pt-pt": {"\u00a0", ",", "€"},
	"fr":    {"\u202f", ",", "€"},
	"fr-fr": {"\u202f", ",", "€"},
	"de-ch": {"’", ".", "CHF"},
}

func lookupLocale(name string, args []any, i int) (numLocale, error) {
	tag, err := optText(name, args, i, "en-us")
	if err != nil {
		return numLocale{}, err
	}
	key := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"))
	if l, ok := numLocales[key]; ok {
		return l, nil
	}
	if l, ok := numLocales[strings.SplitN(key, "-", 2)[0]]; ok {
		return l, nil
	}
	return numLocale{}, argError(name, i, "unsupported locale %q", tag)
}

// Markers stand for localized symbols in parsed affixes.
const (
	mkPercent  = '\x01'
	mkPermille = '\x02'
	mkCurrency = '\x03'
	mkMinus    = '\x04'
)

// numPattern is a parsed DecimalFormat pattern.
type numPattern struct {
	posPrefix, posSuffix, negPrefix, negSuffix string
	minInt, maxInt, minFrac, maxFrac           int
	group                                      int  // grouping size, 0 for none
	showPoint                                  bool // "0." shows the point even without fraction
	multiplier                                 int
	exponent                                   bool
	minExp                                     int
}

var numPatternCache compiled[*numPattern]

func parseNumPattern(src string) (*numPattern, error) {
	return numPatternCache.get(src, buildNumPattern)
}

func buildNumPattern(src string) (*numPattern, error) {
	p := &numPattern{multiplier: 1}
	pos, neg, hasNeg := splitSubpatterns(src)
	prefix, number, suffix, err := splitPattern(pos, p)
	if err != nil {
		return nil, err
	}
	if err := p.parseNumber(number); err != nil {
		return nil, err
	}
	p.posPrefix, p.posSuffix = prefix, suffix
	if hasNeg {
		q := &numPattern{multiplier: 1}
		np, _, ns, err := splitPattern(neg, q)
		if err != nil {
			return nil, err
		}
		p.negPrefix, p.negSuffix = np, ns
	} else {
		p.negPrefix, p.negSuffix = string(mkMinus)+prefix, suffix
	}
	return p, nil
}

// splitSubpatterns splits at the first ';' outside quotes.
func splitSubpatterns(src string) (pos, neg string, hasNeg bool) {
	quoted := false
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '\'':
			quoted = !quoted
		case ';':
			if !quoted {
				return src[:i], src[i+1:], true
			}
		}
	}
	return src, "", false
}

// splitPattern separates prefix, number part and suffix, resolving quotes and
// special characters of the affixes into markers.
func splitPattern(sub string, p *numPattern) (prefix, number, suffix string, err error) {
	var pre, num, suf strings.Builder
	phase := 0 // 0 prefix, 1 number, 2 suffix
	rs := []rune(sub)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if phase == 1 && !strings.ContainsRune("#0,.E", r) {
			phase = 2
		}
		if phase == 0 && strings.ContainsRune("#0,.", r) {
			phase = 1
		}
		if phase == 1 {
			num.WriteRune(r)
			continue
		}
		out := &pre
		if phase == 2 {
			out = &suf
		}
		switch r {
		case '\'':
			j := i + 1
			if j < len(rs) && rs[j] == '\'' {
				out.WriteRune('\'')
				i = j
				continue
			}
			for ; j < len(rs); j++ {
				if rs[j] == '\'' {
					if j+1 < len(rs) && rs[j+1] == '\'' {
						out.WriteRune('\'')
						j++
						continue
					}
					break
				}
				out.WriteRune(rs[j])
			}
			if j == len(rs) {
				return "", "", "", fmt.Errorf("unclosed quote in pattern %q", sub)
			}
			i = j
		case '%':
			p.multiplier = 100
			out.WriteRune(mkPercent)
		case '‰':
			p.multiplier = 1000
			out.WriteRune(mkPermille)
		case '¤':
			out.WriteRune(mkCurrency)
		case '-':
			out.WriteRune(mkMinus)
		default:
			out.WriteRune(r)
		}
	}
	if num.Len() == 0 {
		return "", "", "", fmt.Errorf("pattern %q has no digits (# or 0)", sub)
	}
	return pre.String(), num.String(), suf.String(), nil
}

func (p *numPattern) parseNumber(num string) error {
	mant, exp, hasExp := strings.Cut(num, "E")
	if hasExp {
		if exp == "" || strings.Trim(exp, "0") != "" {
			return fmt.Errorf("exponent of pattern %q must be zeros", num)
		}
		p.exponent, p.minExp = true, len(exp)
	}
	intPart, fracPart, hasPoint := strings.Cut(mant, ".")
	if strings.ContainsAny(fracPart, ".,") {
		return fmt.Errorf("misplaced separator in pattern %q", num)
	}
	p.showPoint = hasPoint && fracPart == ""
	zeroSeen := false
	for _, c := range intPart {
		switch c {
		case '0':
			zeroSeen = true
			p.minInt++
			p.maxInt++
		case '#':
			if zeroSeen {
				return fmt.Errorf("# after 0 in pattern %q", num)
			}
			p.maxInt++
		}
	}
	if i := strings.LastIndexByte(intPart, ','); i >= 0 {
		p.group = len(intPart) - i - 1
	}
	hashSeen := false
	for _, c := range fracPart {
		switch c {
		case '0':
			if hashSeen {
				return fmt.Errorf("0 after # in the fraction of pattern %q", num)
			}
			p.minFrac++
			p.maxFrac++
		case '#':
			hashSeen = true
			p.maxFrac++
		}
	}
	return nil
}

func (p *numPattern) format(x decimal, loc numLocale, mode string) (string, error) {
	switch p.multiplier {
	case 100:
		if !x.isZero() {
			x.point += 2
		}
	case 1000:
		if !x.isZero() {
			x.point += 3
		}
	}
	var body string
	if p.exponent {
		body = p.formatExponent(x, loc, mode)
	} else {
		if err := x.round(p.maxFrac, mode); err != nil {
			return "", err
		}
		body = p.formatPlain(x, loc)
	}
	prefix, suffix := p.posPrefix, p.posSuffix
	if x.neg && !x.isZero() {
		prefix, suffix = p.negPrefix, p.negSuffix
	}
	return localizeAffix(prefix, loc) + body + localizeAffix(suffix, loc), nil
}

func (p *numPattern) formatPlain(x decimal, loc numLocale) string {
	ints := x.intDigits()
	if len(ints) < p.minInt {
		ints = strings.Repeat("0", p.minInt-len(ints)) + ints
	}
	frac := x.fracDigits()
	if len(frac) < p.minFrac {
		frac += strings.Repeat("0", p.minFrac-len(frac))
	}
	if ints == "" && frac == "" {
		ints = "0"
	}
	var b strings.Builder
	for i := 0; i < len(ints); i++ {
		if p.group > 0 && i > 0 && (len(ints)-i)%p.group == 0 {
			b.WriteString(loc.group)
		}
		b.WriteByte(ints[i])
	}
	if frac != "" || p.showPoint {
		b.WriteString(loc.decimal)
		b.WriteString(frac)
	}
	return b.String()
}

// formatExponent writes scientific notation: minInt digits (at least one)
// before the point, as many significant digits as the pattern allows.
func (p *numPattern) formatExponent(x decimal, loc numLocale, mode string) string {
	if p.maxInt > p.minInt && p.maxInt > 1 {
		return p.formatEngineering(x, loc, mode)
	}
	intDigits := max(p.minInt, 1)
	exp := 0
	if !x.isZero() {
		exp = x.point - intDigits
		x.point = intDigits
		_ = x.round(p.maxFrac, mode)
		if x.point > intDigits { // rounding carried into a new digit
			exp += x.point - intDigits
			x.point = intDigits
		}
	}
	body := p.formatPlain(x, numLocale{decimal: loc.decimal})
	return body + p.exponentText(exp)
}

// formatEngineering writes Java's engineering notation, chosen by a pattern
// with more integer digits than required (##0.##E0): the exponent is a
// multiple of the number of integer digits, and the mantissa has minInt +
// maxFrac significant digits (12345 with ##0.##E0 is 12.3E3).
func (p *numPattern) formatEngineering(x decimal, loc numLocale, mode string) string {
	sig := max(p.minInt+p.maxFrac, 1)
	exp, ints := 0, 1
	if !x.isZero() {
		for range 2 { // a second pass when rounding carries into a new digit (999.9 → 1.00E3)
			e := x.point - 1 // the exponent with one integer digit
			exp = e - ((e%p.maxInt)+p.maxInt)%p.maxInt
			ints = e - exp + 1
			y := decimal{neg: x.neg, d: append([]byte(nil), x.d...), point: ints}
			_ = y.round(max(sig-ints, 0), mode)
			if y.point == ints {
				x = y
				break
			}
			x = decimal{neg: y.neg, d: y.d, point: y.point + exp}
		}
	}
	q := *p
	q.minInt, q.group, q.showPoint = 1, 0, p.showPoint
	q.minFrac = min(p.minFrac, max(sig-ints, 0))
	body := q.formatPlain(x, numLocale{decimal: loc.decimal})
	return body + p.exponentText(exp)
}

// exponentText writes E and the exponent with at least the pattern's digits.
func (p *numPattern) exponentText(exp int) string {
	es := strconv.Itoa(abs(exp))
	if len(es) < p.minExp {
		es = strings.Repeat("0", p.minExp-len(es)) + es
	}
	if exp < 0 {
		es = "-" + es
	}
	return "E" + es
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func localizeAffix(a string, loc numLocale) string {
	if !strings.ContainsAny(a, "\x01\x02\x03\x04") {
		return a
	}
	return strings.NewReplacer(string(mkPercent), "%", string(mkPermille), "‰",
		string(mkCurrency), loc.currency, string(mkMinus), "-").Replace(a)
}

var roundingModes = map[string]bool{"UP": true, "DOWN": true, "CEILING": true, "FLOOR": true,
	"HALF_UP": true, "HALF_DOWN": true, "HALF_EVEN": true, "UNNECESSARY": true}

// patternArgs reads the arguments FORMATNUMBER and TONUMBER share: the
// pattern (argument 2) and the locale (argument 3), after the arity check.
func patternArgs(name string, args []any) (*numPattern, numLocale, error) {
	if err := arity(name, args, 2, 4); err != nil {
		return nil, numLocale{}, err
	}
	src, err := argText(name, args, 1)
	if err != nil {
		return nil, numLocale{}, err
	}
	p, err := parseNumPattern(src)
	if err != nil {
		return nil, numLocale{}, argError(name, 1, "%s", err.Error())
	}
	loc, err := lookupLocale(name, args, 2)
	return p, loc, err
}

func fnFormatNumber(args ...any) (any, error) {
	const name = "FORMATNUMBER"
	p, loc, err := patternArgs(name, args)
	if err != nil {
		return nil, err
	}
	mode := "HALF_EVEN"
	switch t := opt(args, 3).(type) {
	case nil:
	case bool:
		// The older signature's asInteger: true formats without fraction digits.
		if t {
			q := *p
			q.minFrac, q.maxFrac, q.showPoint = 0, 0, false
			p = &q
		}
	case string:
		mode = strings.ToUpper(strings.TrimSpace(t))
		if !roundingModes[mode] {
			return nil, argError(name, 3, "unknown rounding mode %q", t)
		}
	default:
		return nil, argError(name, 3, "expected a rounding mode, got %s", describe(t))
	}
	if args[0] == nil {
		return nil, nil
	}
	x, ok := toDecimal(value.FromGo(args[0]))
	if !ok {
		return nil, argError(name, 0, "expected a number, got %s", describe(args[0]))
	}
	out, err := p.format(x, loc, mode)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func fnToNumber(args ...any) (any, error) {
	const name = "TONUMBER"
	p, loc, err := patternArgs(name, args)
	if err != nil {
		return nil, err
	}
	asInt, err := optBool(name, args, 3, false)
	if err != nil {
		return nil, err
	}
	if args[0] == nil {
		return nil, nil
	}
	var x decimal
	if s, isStr := args[0].(string); isStr {
		x, err = p.parse(s, loc)
		if err != nil {
			return nil, argError(name, 0, "%s", err.Error())
		}
	} else {
		var ok bool
		if x, ok = toDecimal(value.FromGo(args[0])); !ok {
			return nil, argError(name, 0, "expected a string, got %s", describe(args[0]))
		}
	}
	if asInt {
		_ = x.round(0, "DOWN")
		n, err := strconv.ParseInt(x.signed(), 10, 64)
		if err != nil {
			return nil, argError(name, 0, "%s is out of the integer range", x.signed())
		}
		return n, nil
	}
	f, _ := strconv.ParseFloat(x.signed(), 64)
	return finite(name, f)
}

// signed writes x as a plain decimal string.
func (x decimal) signed() string {
	if x.isZero() {
		return "0"
	}
	s := x.intDigits()
	if s == "" {
		s = "0"
	}
	if f := x.fracDigits(); f != "" {
		s += "." + f
	}
	if x.neg {
		s = "-" + s
	}
	return s
}

// parse reads a localized number as DecimalFormat.parse does: affixes must
// match (the negative ones make the number negative), grouping separators are
// skipped and parsing stops at the first character that is not part of the number.
func (p *numPattern) parse(s string, loc numLocale) (decimal, error) {
	s = strings.TrimSpace(s)
	posPre, posSuf := localizeAffix(p.posPrefix, loc), localizeAffix(p.posSuffix, loc)
	negPre, negSuf := localizeAffix(p.negPrefix, loc), localizeAffix(p.negSuffix, loc)
	neg := false
	switch {
	case negPre != posPre && strings.HasPrefix(s, negPre) && (posPre == "" || !strings.HasPrefix(s, posPre) || len(negPre) > len(posPre)):
		neg, s = true, s[len(negPre):]
	case strings.HasPrefix(s, posPre):
		s = s[len(posPre):]
	case strings.HasPrefix(s, "-"+posPre):
		neg, s = true, s[len(posPre)+1:]
	default:
		return decimal{}, fmt.Errorf("%q does not start with %q", s, posPre)
	}
	var b strings.Builder
	seenPoint := false
	i := 0
	for i < len(s) {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			b.WriteByte(s[i])
			i++
			continue
		case !seenPoint && strings.HasPrefix(s[i:], loc.decimal):
			seenPoint = true
			b.WriteByte('.')
			i += len(loc.decimal)
			continue
		case !seenPoint && loc.group != "" && strings.HasPrefix(s[i:], loc.group):
			i += len(loc.group)
			continue
		case !seenPoint && strings.HasPrefix(loc.group, "\u202f") && (s[i] == ' ' || strings.HasPrefix(s[i:], "\u00a0")):
			// French text often uses a plain or no-break space for grouping.
			_, n := firstRune(s[i:])
			i += n
			continue
		case p.exponent && (s[i] == 'E' || s[i] == 'e') && b.Len() > 0:
			j := i + 1
			if j < len(s) && (s[j] == '-' || s[j] == '+') {
				j++
			}
			k := j
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			if k > j {
				b.WriteString("e" + s[i+1:k])
				i = k
			}
		}
		break
	}
	rest := s[i:]
	if neg && negSuf != "" && !strings.HasPrefix(rest, negSuf) && strings.HasPrefix(rest, posSuf) {
		neg = false
	}
	if !neg && negPre == posPre && negSuf != posSuf && negSuf != "" && strings.HasPrefix(rest, negSuf) {
		neg = true
	}
	x, ok := parseDecimal(b.String())
	if !ok {
		return decimal{}, fmt.Errorf("no number in %q", s)
	}
	x.neg = neg
	if strings.ContainsRune(p.posSuffix+p.posPrefix, mkPercent) && !x.isZero() {
		x.point -= 2
	}
	if strings.ContainsRune(p.posSuffix+p.posPrefix, mkPermille) && !x.isZero() {
		x.point -= 3
	}
	return x, nil
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

func fnToDouble(args ...any) (any, error) {
	if err := arity("TODOUBLE", args, 1, 1); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return nil, nil
	}
	f, err := argFloat("TODOUBLE", args, 0)
	if err != nil {
		return nil, err
	}
	return finite("TODOUBLE", f)
}

func toIntegerFn(name string, lo, hi int64) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return nil, err
		}
		if args[0] == nil {
			return nil, nil
		}
		n, err := argInt(name, args, 0)
		if err != nil {
			return nil, err
		}
		if n < lo || n > hi {
			return nil, argError(name, 0, "%d is outside the range of %s", n, strings.ToLower(name[2:]))
		}
		return n, nil
	}
}

func fnRandomNumbers(args ...any) (any, error) {
	const name = "RANDOMNUMBERS"
	r := readArgs(name, args, 2, 2)
	lo := r.int(0)
	hi := r.int(1)
	if r.err != nil {
		return nil, r.err
	}
	if lo > hi {
		return nil, argError(name, 1, "max %d is below min %d", hi, lo)
	}
	span := uint64(hi-lo) + 1
	if span == 0 { // the whole int64 range
		return int64(rand.Uint64()), nil
	}
	return lo + int64(rand.Uint64N(span)), nil
}
