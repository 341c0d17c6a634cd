package expression

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones work in minimal containers too
	"unicode"
	"unicode/utf8"
)

func init() {
	registerIn(catDate,
		Function{
			Name: "FORMATDATE", Usage: "FORMATDATE(v, fromFormat, toFormat, fromLocale?, fromZone?, toLocale?, toZone?)",
			Doc: "Reads v with fromFormat and writes it with toFormat. Formats are Java DateTimeFormatter patterns (dd/MM/yyyy HH:mm:ss.SSS, " +
				"yyyy-MM-dd'T'HH:mm:ssXXX, EEE, MMM, a, …) or \"timestamp\" (epoch milliseconds, read as a number or numeric string and written as an integer); " +
				"toFormat null writes ISO zoned date-time (2010-10-10T11:59:59Z[UTC]). Zones are \"UTC\", \"GMT-3\", \"+05:30\" or IANA names; " +
				"fromZone defaults to UTC and applies when the text has no zone, toZone defaults to fromZone. Locales en and pt (month and day names); others use English.",
			Example: `FORMATDATE("10/10/2010 11:59:59", "dd/MM/yyyy HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssXXX", nil, "GMT-3", nil, "UTC")`,
			Result:  `"2010-10-10T14:59:59Z"`,
			Fn:      fnFormatDate,
		},
		Function{
			Name: "NOW", Usage: "NOW()",
			Doc:     "The current time in epoch milliseconds (an integer).",
			Example: `NOW()`,
			Fn: func(args ...any) (any, error) {
				if err := arity("NOW", args, 0, 0); err != nil {
					return nil, err
				}
				return nowMillis(), nil
			},
		},
		Function{
			Name: "SUMDATE", Usage: "SUMDATE(epochMillis, unit, amount, zone?=\"UTC\")",
			Doc: "Adds amount units (negative subtracts) to a time in epoch milliseconds and returns epoch milliseconds. Units: year, month, week, day, hour, minute, second, millisecond (any case, singular or plural). " +
				"Calendar units follow zone: adding a month to 31 January gives the last day of February, as in Java.",
			Example: `SUMDATE(1706659200000, "MONTH", 1)`, Result: `1709164800000`,
			Fn: fnSumDate,
		},
		Function{
			Name: "TOISODATE", Usage: "TOISODATE(v, fromFormat, locale?, zone?=\"UTC\")",
			Doc:     "Reads v with fromFormat (a Java pattern or \"timestamp\") and writes ISO-8601 with offset in zone: 2020-01-31T13:45:00Z, 2020-01-31T10:45:00-03:00. Fractions of a second appear only when present.",
			Example: `TOISODATE("31/01/2020 13:45", "dd/MM/yyyy HH:mm")`, Result: `"2020-01-31T13:45:00Z"`,
			Fn: fnToISODate,
		},
		Function{
			Name: "DIFFDATE", Usage: "DIFFDATE(epochMillis1, epochMillis2, unit)",
			Doc:     "epochMillis2 − epochMillis1 in whole units (year, month, week, day, hour, minute, second, millisecond), truncated toward zero and negative when the first is later. Months and years are calendar months in UTC.",
			Example: `DIFFDATE(1577836800000, 1580515199000, "day")`, Result: `30`,
			Fn: fnDiffDate,
		},
	)
}

// zone is a time zone as Java's ZoneId sees it: region zones (UTC, GMT-03:00,
// America/Sao_Paulo) print their id in ISO zoned output, offsets do not.
type zone struct {
	loc    *time.Location
	region bool
}

var zoneCache compiled[zone]

func parseZone(s string) (zone, error) { return zoneCache.get(strings.TrimSpace(s), lookupZone) }

var utcZone = zone{loc: time.FixedZone("UTC", 0), region: true}

func lookupZone(s string) (zone, error) {
	upper := strings.ToUpper(s)
	switch upper {
	case "", "UTC", "GMT", "UT", "ZULU", "ETC/UTC", "ETC/GMT":
		return utcZone, nil
	case "Z":
		return zone{loc: time.FixedZone("Z", 0)}, nil
	}
	for _, prefix := range []string{"UTC", "GMT", "UT"} {
		if rest, ok := strings.CutPrefix(upper, prefix); ok && (strings.HasPrefix(rest, "+") || strings.HasPrefix(rest, "-")) {
			off, n, ok := readOffset(rest, true)
			if !ok || n != len(rest) {
				return zone{}, fmt.Errorf("invalid zone %q", s)
			}
			return zone{loc: time.FixedZone(prefix+offsetText(off, ":", false), off), region: true}, nil
		}
	}
	if s[0] == '+' || s[0] == '-' {
		off, n, ok := readOffset(s, true)
		if !ok || n != len(s) {
			return zone{}, fmt.Errorf("invalid zone offset %q", s)
		}
		return zone{loc: time.FixedZone(offsetText(off, ":", true), off)}, nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil || strings.EqualFold(s, "local") {
		return zone{}, fmt.Errorf("unknown time zone %q", s)
	}
	return zone{loc: loc, region: true}, nil
}

// readOffset reads +H, +HH, +HHMM, +HH:MM, +HH:MM:SS at the start of s and
// returns seconds east of UTC and the bytes read.
func readOffset(s string, lenientHour bool) (int, int, bool) {
	if s == "" || (s[0] != '+' && s[0] != '-') {
		return 0, 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	i := 1
	digits := func(max int) (int, int) {
		n, j := 0, 0
		for j < max && i+j < len(s) && s[i+j] >= '0' && s[i+j] <= '9' {
			n = n*10 + int(s[i+j]-'0')
			j++
		}
		return n, j
	}
	h, nh := digits(2)
	if nh == 0 || (nh == 1 && !lenientHour) {
		return 0, 0, false
	}
	i += nh
	total := h * 3600
	for part := 0; part < 2; part++ {
		j := i
		if j < len(s) && s[j] == ':' {
			j++
		}
		save := i
		i = j
		v, nv := digits(2)
		if nv != 2 || v > 59 {
			i = save
			break
		}
		i += 2
		if part == 0 {
			total += v * 60
		} else {
			total += v
		}
	}
	if h > 18 {
		return 0, 0, false
	}
	return sign * total, i, true
}

// offsetText writes an offset as +HH:MM (sep ":") or +HHMM, seconds when present;
// zero is "Z" when zeroZ is set.
func offsetText(off int, sep string, zeroZ bool) string {
	if off == 0 && zeroZ {
		return "Z"
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	s := fmt.Sprintf("%c%02d%s%02d", sign, off/3600, sep, off/60%60)
	if off%60 != 0 {
		s += fmt.Sprintf("%s%02d", sep, off%60)
	}
	return s
}

// dateNames holds the month and day names of a locale.
type dateNames struct {
	months, shortMonths [12]string
	days, shortDays     [7]string
	am, pm              string
}

var enNames = dateNames{
	months:      [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	shortMonths: [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
	days:        [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	shortDays:   [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
	am:          "AM", pm: "PM",
}

var ptNames = dateNames{
	months:      [12]string{"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"},
	shortMonths: [12]string{"jan.", "fev.", "mar.", "abr.", "mai.", "jun.", "jul.", "ago.", "set.", "out.", "nov.", "dez."},
	days:        [7]string{"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"},
	shortDays:   [7]string{"dom.", "seg.", "ter.", "qua.", "qui.", "sex.", "sáb."},
	am:          "AM", pm: "PM",
}

func namesFor(locale string) *dateNames {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(locale)), "pt") {
		return &ptNames
	}
	return &enNames
}

// dateToken is one element of a parsed Java pattern: a run of one letter, a
// literal, or an optional section.
type dateToken struct {
	letter byte
	n      int
	lit    string
	opt    []dateToken
}

var datePatternCache compiled[[]dateToken]

const patternLetters = "GuyDMLdQqYwWEecFaKkHhmsSAnNVzOXxZ"

func parseDatePattern(p string) ([]dateToken, error) {
	return datePatternCache.get(p, buildDatePattern)
}

func buildDatePattern(p string) ([]dateToken, error) {
	toks, rest, err := parseDateTokens(p, 0)
	if err != nil {
		return nil, err
	}
	if rest != len(p) {
		return nil, fmt.Errorf("unmatched ] in pattern %q", p)
	}
	return toks, nil
}

func parseDateTokens(p string, depth int) ([]dateToken, int, error) {
	var toks []dateToken
	lit := func(s string) {
		if n := len(toks); n > 0 && toks[n-1].letter == 0 && toks[n-1].opt == nil {
			toks[n-1].lit += s
			return
		}
		toks = append(toks, dateToken{lit: s})
	}
	i := 0
	for i < len(p) {
		c := p[i]
		switch {
		case c == '\'':
			end := i + 1
			var b strings.Builder
			for {
				if end >= len(p) {
					return nil, 0, fmt.Errorf("unclosed quote in pattern %q", p)
				}
				if p[end] == '\'' {
					if end+1 < len(p) && p[end+1] == '\'' {
						b.WriteByte('\'')
						end += 2
						continue
					}
					break
				}
				b.WriteByte(p[end])
				end++
			}
			if end == i+1 {
				lit("'")
			} else {
				lit(b.String())
			}
			i = end + 1
		case c == '[':
			sub, n, err := parseDateTokens(p[i+1:], depth+1)
			if err != nil {
				return nil, 0, err
			}
			if i+1+n >= len(p) || p[i+1+n] != ']' {
				return nil, 0, fmt.Errorf("unclosed [ in pattern %q", p)
			}
			toks = append(toks, dateToken{opt: sub})
			i += n + 2
		case c == ']':
			if depth == 0 {
				return nil, 0, fmt.Errorf("unmatched ] in pattern %q", p)
			}
			return toks, i, nil
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			if !strings.ContainsRune(patternLetters, rune(c)) {
				return nil, 0, fmt.Errorf("unknown pattern letter %q in %q (quote literal text: 'T')", c, p)
			}
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			toks = append(toks, dateToken{letter: c, n: j - i})
			i = j
		default:
			_, size := utf8.DecodeRuneInString(p[i:])
			lit(p[i : i+size])
			i += size
		}
	}
	return toks, i, nil
}

// formatDate writes t with a parsed pattern.
func formatDate(toks []dateToken, t time.Time, names *dateNames) (string, error) {
	var b strings.Builder
	if err := appendDate(&b, toks, t, names); err != nil {
		return "", err
	}
	return b.String(), nil
}

func pad(b *strings.Builder, n, width int) {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
}

func narrowName(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r))
}

func appendDate(b *strings.Builder, toks []dateToken, t time.Time, names *dateNames) error {
	for _, tk := range toks {
		if tk.opt != nil {
			if err := appendDate(b, tk.opt, t, names); err != nil {
				return err
			}
			continue
		}
		if tk.letter == 0 {
			b.WriteString(tk.lit)
			continue
		}
		n := tk.n
		switch tk.letter {
		case 'G':
			era := "AD"
			if t.Year() <= 0 {
				era = "BC"
			}
			switch {
			case n == 4 && era == "AD":
				era = "Anno Domini"
			case n == 4:
				era = "Before Christ"
			case n == 5:
				era = era[:1]
			}
			b.WriteString(era)
		case 'y', 'u', 'Y':
			y := t.Year()
			if tk.letter == 'Y' {
				y, _ = t.ISOWeek()
			}
			if tk.letter == 'y' && y <= 0 {
				y = 1 - y
			}
			if n == 2 {
				pad(b, (y%100+100)%100, 2)
			} else {
				pad(b, y, n)
			}
		case 'M', 'L':
			m := int(t.Month())
			switch {
			case n <= 2:
				pad(b, m, n)
			case n == 3:
				b.WriteString(names.shortMonths[m-1])
			case n == 4:
				b.WriteString(names.months[m-1])
			default:
				b.WriteString(narrowName(names.months[m-1]))
			}
		case 'd':
			pad(b, t.Day(), n)
		case 'D':
			pad(b, t.YearDay(), n)
		case 'Q', 'q':
			q := (int(t.Month())-1)/3 + 1
			switch {
			case n <= 2:
				pad(b, q, n)
			case n == 3:
				b.WriteString("Q" + strconv.Itoa(q))
			default:
				b.WriteString([]string{"1st", "2nd", "3rd", "4th"}[q-1] + " quarter")
			}
		case 'w':
			_, w := t.ISOWeek()
			pad(b, w, n)
		case 'W':
			pad(b, (t.Day()+int(t.AddDate(0, 0, 1-t.Day()).Weekday())-1)/7+1, n)
		case 'F':
			pad(b, (t.Day()-1)/7+1, n)
		case 'E', 'e', 'c':
			wd := int(t.Weekday())
			switch {
			case tk.letter != 'E' && n <= 2:
				pad(b, wd+1, n)
			case n <= 3:
				b.WriteString(names.shortDays[wd])
			case n == 4:
				b.WriteString(names.days[wd])
			default:
				b.WriteString(narrowName(names.days[wd]))
			}
		case 'a':
			if t.Hour() < 12 {
				b.WriteString(names.am)
			} else {
				b.WriteString(names.pm)
			}
		case 'H':
			pad(b, t.Hour(), n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			pad(b, h, n)
		case 'K':
			pad(b, t.Hour()%12, n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			pad(b, h, n)
		case 'm':
			pad(b, t.Minute(), n)
		case 's':
			pad(b, t.Second(), n)
		case 'S':
			frac := fmt.Sprintf("%09d", t.Nanosecond())
			if n <= 9 {
				b.WriteString(frac[:n])
			} else {
				b.WriteString(frac + strings.Repeat("0", n-9))
			}
		case 'n':
			pad(b, t.Nanosecond(), n)
		case 'A':
			pad(b, ((t.Hour()*60+t.Minute())*60+t.Second())*1000+t.Nanosecond()/1e6, n)
		case 'N':
			b.WriteString(strconv.FormatInt(int64((t.Hour()*60+t.Minute())*60+t.Second())*1e9+int64(t.Nanosecond()), 10))
		case 'V':
			b.WriteString(t.Location().String())
		case 'z':
			name, off := t.Zone()
			if n == 4 && t.Location().String() != "" && strings.Contains(t.Location().String(), "/") {
				name = t.Location().String()
			}
			if name == "" {
				name = "GMT" + offsetText(off, ":", false)
			}
			b.WriteString(name)
		case 'O':
			_, off := t.Zone()
			if off == 0 {
				b.WriteString("GMT")
			} else if n == 4 {
				b.WriteString("GMT" + offsetText(off, ":", false))
			} else {
				s := offsetText(off, ":", false)
				s = strings.TrimSuffix(s, ":00")
				if s[1] == '0' {
					s = s[:1] + s[2:]
				}
				b.WriteString("GMT" + s)
			}
		case 'X', 'x', 'Z':
			_, off := t.Zone()
			b.WriteString(zoneOffsetText(tk.letter, n, off))
		}
	}
	return nil
}

// zoneOffsetText writes the X, x and Z offset forms.
func zoneOffsetText(letter byte, n, off int) string {
	if letter == 'Z' {
		switch {
		case n <= 3:
			return offsetText(off, "", false)[:5]
		case n == 4:
			if off == 0 {
				return "GMT"
			}
			return "GMT" + offsetText(off, ":", false)
		}
		return offsetText(off, ":", true)
	}
	if off == 0 && letter == 'X' {
		return "Z"
	}
	full := offsetText(off, "", false)   // +HHMM[SS]
	colon := offsetText(off, ":", false) // +HH:MM[:SS]
	hasSec := off%60 != 0
	switch n {
	case 1:
		if off/60%60 == 0 {
			return full[:3]
		}
		return full[:5]
	case 2:
		return full[:5]
	case 3:
		return colon[:6]
	case 4:
		if hasSec {
			return full
		}
		return full[:5]
	}
	if hasSec {
		return colon
	}
	return colon[:6]
}

// parsed collects the fields read from a date text.
type parsed struct {
	year, month, day, yday, hour, hour12, minute, second, nano int
	hasYear, hasMonth, hasDay, hasYday, hasHour12              bool
	pm, hasAmPm                                                bool
	off                                                        int
	hasOff                                                     bool
	loc                                                        *time.Location
}

// numericToken reports whether a token reads digits, and its fixed width (0 if variable).
func numericToken(tk dateToken) (bool, int) {
	switch tk.letter {
	case 'y', 'u':
		if tk.n == 2 {
			return true, 2
		}
		return true, 0
	case 'M', 'L', 'Q', 'q':
		if tk.n > 2 {
			return false, 0
		}
	case 'd', 'D', 'H', 'h', 'K', 'k', 'm', 's', 'S', 'n', 'A', 'N', 'F':
	default:
		return false, 0
	}
	if tk.n >= 2 || tk.letter == 'S' {
		return true, tk.n
	}
	return true, 0
}

type dateParser struct {
	s     string
	pos   int
	names *dateNames
	p     parsed
}

func (dp *dateParser) errorf(format string, args ...any) error {
	return fmt.Errorf("text %q could not be parsed at index %d: %s", dp.s, dp.pos, fmt.Sprintf(format, args...))
}

func (dp *dateParser) run(toks []dateToken) error {
	for i, tk := range toks {
		if tk.opt != nil {
			save, saveP := dp.pos, dp.p
			if err := dp.run(tk.opt); err != nil {
				dp.pos, dp.p = save, saveP
			}
			continue
		}
		if tk.letter == 0 {
			if !strings.HasPrefix(dp.s[dp.pos:], tk.lit) {
				return dp.errorf("expected %q", tk.lit)
			}
			dp.pos += len(tk.lit)
			continue
		}
		if ok, fixed := numericToken(tk); ok {
			if err := dp.number(tk, fixed, toks[i+1:]); err != nil {
				return err
			}
			continue
		}
		if err := dp.text(tk); err != nil {
			return err
		}
	}
	return nil
}

func (dp *dateParser) number(tk dateToken, fixed int, next []dateToken) error {
	run := 0
	for dp.pos+run < len(dp.s) && dp.s[dp.pos+run] >= '0' && dp.s[dp.pos+run] <= '9' {
		run++
	}
	// Adjacent value parsing: digits that directly follow belong to the next
	// fixed-width numeric fields (yyyyMMdd).
	reserved := 0
	for _, nt := range next {
		ok, w := numericToken(nt)
		if !ok || nt.opt != nil || nt.letter == 0 {
			break
		}
		if w == 0 {
			w = 1
		}
		reserved += w
	}
	take := run - reserved
	maxW := 10
	switch tk.letter {
	case 'y', 'u':
		maxW = 9
	case 'S', 'n':
		maxW = 9
	case 'A', 'N':
		maxW = 18
	case 'D':
		maxW = 3
	default:
		maxW = 2
	}
	if fixed > 0 && reserved > 0 {
		take = fixed
	}
	take = min(take, maxW, run)
	if fixed > 0 && take > fixed {
		take = fixed
	}
	if take <= 0 {
		return dp.errorf("expected digits for %s", strings.Repeat(string(tk.letter), tk.n))
	}
	digits := dp.s[dp.pos : dp.pos+take]
	v, _ := strconv.Atoi(digits)
	dp.pos += take
	p := &dp.p
	switch tk.letter {
	case 'y', 'u':
		p.year, p.hasYear = v, true
		if tk.n == 2 {
			p.year = 2000 + v // Java's reduced two-digit year: 2000 to 2099
		}
	case 'M', 'L':
		p.month, p.hasMonth = v, true
	case 'd':
		p.day, p.hasDay = v, true
	case 'D':
		p.yday, p.hasYday = v, true
	case 'H':
		p.hour = v
	case 'k':
		p.hour = v % 24
	case 'h', 'K':
		p.hour12, p.hasHour12 = v%12, true
	case 'm':
		p.minute = v
	case 's':
		p.second = v
	case 'S':
		for i := take; i < 9; i++ {
			v *= 10
		}
		p.nano = v
	case 'n':
		p.nano = v
	case 'A':
		p.hour, p.minute, p.second, p.nano = v/3600000, v/60000%60, v/1000%60, v%1000*1e6
	}
	return nil
}

// matchName finds which of names starts the text (case-insensitive, a final '.' optional).
func (dp *dateParser) matchName(names []string) int {
	rest := dp.s[dp.pos:]
	best, bestLen := -1, 0
	for i, n := range names {
		for _, cand := range []string{n, strings.TrimSuffix(n, ".")} {
			if cand != "" && len(rest) >= len(cand) && strings.EqualFold(rest[:len(cand)], cand) && len(cand) > bestLen {
				best, bestLen = i, len(cand)
			}
		}
	}
	if best >= 0 {
		dp.pos += bestLen
	}
	return best
}

func (dp *dateParser) text(tk dateToken) error {
	p := &dp.p
	switch tk.letter {
	case 'M', 'L':
		all := append(append([]string{}, dp.names.months[:]...), dp.names.shortMonths[:]...)
		if dp.names != &enNames { // English names are understood in any locale
			all = append(append(all, enNames.months[:]...), enNames.shortMonths[:]...)
		}
		i := dp.matchName(all)
		if i < 0 {
			return dp.errorf("expected a month name")
		}
		p.month, p.hasMonth = i%12+1, true
	case 'E', 'e', 'c':
		all := append(append([]string{}, dp.names.days[:]...), dp.names.shortDays[:]...)
		all = append(append(all, enNames.days[:]...), enNames.shortDays[:]...)
		if dp.matchName(all) < 0 {
			return dp.errorf("expected a day name")
		}
	case 'a':
		switch dp.matchName([]string{dp.names.am, dp.names.pm, "am", "pm", "a.m.", "p.m."}) {
		case 0, 2, 4:
			p.pm, p.hasAmPm = false, true
		case 1, 3, 5:
			p.pm, p.hasAmPm = true, true
		default:
			return dp.errorf("expected AM or PM")
		}
	case 'G':
		if dp.matchName([]string{"AD", "BC", "Anno Domini", "Before Christ", "CE", "BCE"}) < 0 {
			return dp.errorf("expected an era")
		}
	case 'X', 'x', 'Z', 'O':
		rest := dp.s[dp.pos:]
		switch {
		case strings.HasPrefix(rest, "Z"):
			dp.pos++
			p.off, p.hasOff = 0, true
			return nil
		case strings.HasPrefix(strings.ToUpper(rest), "GMT") || strings.HasPrefix(strings.ToUpper(rest), "UTC"):
			dp.pos += 3
			rest = dp.s[dp.pos:]
			if off, n, ok := readOffset(rest, true); ok {
				dp.pos += n
				p.off = off
			} else {
				p.off = 0
			}
			p.hasOff = true
			return nil
		}
		off, n, ok := readOffset(rest, true)
		if !ok {
			return dp.errorf("expected a zone offset")
		}
		dp.pos += n
		p.off, p.hasOff = off, true
	case 'V', 'z':
		j := dp.pos
		for j < len(dp.s) && (unicode.IsLetter(rune(dp.s[j])) || strings.ContainsRune("/_+-:0123456789", rune(dp.s[j]))) {
			j++
		}
		id := dp.s[dp.pos:j]
		if off, ok := zoneAbbreviations[strings.ToUpper(id)]; ok && tk.letter == 'z' {
			dp.pos = j
			p.off, p.hasOff = off*3600, true
			return nil
		}
		z, err := parseZone(id)
		if err != nil || id == "" {
			return dp.errorf("expected a time zone")
		}
		dp.pos = j
		p.loc = z.loc
	case 'Y', 'w', 'W':
		return fmt.Errorf("week-based fields (%c) cannot be parsed; use yyyy, MM and dd", tk.letter)
	default:
		return fmt.Errorf("pattern letter %c cannot be parsed", tk.letter)
	}
	return nil
}

// zoneAbbreviations are the common abbreviations a 'z' field may hold, in hours.
// Abbreviations are ambiguous in general; these follow the usual North and
// South American and European meaning.
var zoneAbbreviations = map[string]int{
	"UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
	"BRT": -3, "BRST": -2, "ART": -3, "IST": 5, "JST": 9,
}

// parseDate reads text with a parsed pattern; fields the pattern lacks default
// to 1970-01-01 00:00:00 in def.
func parseDate(toks []dateToken, s string, names *dateNames, def *time.Location) (time.Time, error) {
	dp := dateParser{s: s, names: names}
	if err := dp.run(toks); err != nil {
		return time.Time{}, err
	}
	if dp.pos != len(s) {
		return time.Time{}, dp.errorf("unparsed text found")
	}
	p := dp.p
	year, month, day := 1970, 1, 1
	if p.hasYear {
		year = p.year
	}
	if p.hasMonth {
		month = p.month
	}
	if p.hasDay {
		day = p.day
	}
	if p.hasHour12 {
		p.hour = p.hour12
		if p.pm {
			p.hour += 12
		}
	} else if p.hasAmPm && p.pm && p.hour < 12 {
		p.hour += 12
	}
	switch {
	case month < 1 || month > 12:
		return time.Time{}, fmt.Errorf("text %q: invalid month %d", s, month)
	case day < 1 || day > 31:
		return time.Time{}, fmt.Errorf("text %q: invalid day of month %d", s, day)
	case p.hour > 23 || p.minute > 59 || p.second > 59:
		return time.Time{}, fmt.Errorf("text %q: invalid time of day", s)
	}
	if last := daysIn(year, month); day > last {
		day = last // Java's SMART resolver clamps 31 April to 30 April
	}
	loc := def
	switch {
	case p.loc != nil:
		loc = p.loc
	case p.hasOff:
		loc = time.FixedZone(offsetText(p.off, ":", true), p.off)
	}
	if p.hasYday && !p.hasMonth && !p.hasDay {
		return time.Date(year, 1, p.yday, p.hour, p.minute, p.second, p.nano, loc), nil
	}
	return time.Date(year, time.Month(month), day, p.hour, p.minute, p.second, p.nano, loc), nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// epochArg reads epoch milliseconds from a number or numeric string; an
// absent argument is null.
func epochArg(name string, args []any, i int) (int64, error) {
	var v any
	if i < len(args) {
		v = args[i]
	}
	return convertArg(name, i, v, "epoch milliseconds", toInteger)
}

func zoneArg(name string, args []any, i int, def zone) (zone, error) {
	if i >= len(args) || args[i] == nil {
		return def, nil
	}
	s, err := argText(name, args, i)
	if err != nil {
		return zone{}, err
	}
	z, err := parseZone(s)
	if err != nil {
		return zone{}, argError(name, i, "%s", err.Error())
	}
	return z, nil
}

func isTimestamp(f string) bool { return strings.EqualFold(strings.TrimSpace(f), "timestamp") }

// readDate reads args[0] with the format in args[fi].
func readDate(name string, args []any, fi int, locale string, z zone) (time.Time, error) {
	format, err := argText(name, args, fi)
	if err != nil {
		return time.Time{}, err
	}
	if isTimestamp(format) {
		ms, err := epochArg(name, args, 0)
		if err != nil {
			return time.Time{}, err
		}
		return time.UnixMilli(ms).In(z.loc), nil
	}
	toks, err := parseDatePattern(format)
	if err != nil {
		return time.Time{}, argError(name, fi, "%s", err.Error())
	}
	s, err := argText(name, args, 0)
	if err != nil {
		return time.Time{}, err
	}
	t, err := parseDate(toks, s, namesFor(locale), z.loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

var isoZoned = mustDatePattern("yyyy-MM-dd'T'HH:mm:ss")

func mustDatePattern(p string) []dateToken {
	t, err := parseDatePattern(p)
	if err != nil {
		panic(err)
	}
	return t
}

// isoText writes ISO-8601 local date-time and offset, with the fraction only when non-zero.
func isoText(t time.Time) string {
	s, _ := formatDate(isoZoned, t, &enNames)
	if ns := t.Nanosecond(); ns != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	_, off := t.Zone()
	return s + offsetText(off, ":", true)
}

func fnFormatDate(args ...any) (any, error) {
	const name = "FORMATDATE"
	r := readArgs(name, args, 3, 7)
	fromLocale := r.optText(3, "en-us")
	fromZone := r.zone(4, utcZone)
	toLocale := r.optText(5, fromLocale)
	toZone := r.zone(6, fromZone)
	if r.err != nil {
		return nil, r.err
	}
	var toks []dateToken
	toTimestamp := false
	if args[2] != nil {
		format, err := argText(name, args, 2)
		if err != nil {
			return nil, err
		}
		if toTimestamp = isTimestamp(format); !toTimestamp {
			if toks, err = parseDatePattern(format); err != nil {
				return nil, argError(name, 2, "%s", err.Error())
			}
		}
	}
	if args[0] == nil {
		return nil, nil
	}
	t, err := readDate(name, args, 1, fromLocale, fromZone)
	if err != nil {
		return nil, err
	}
	switch {
	case opt(args, 4) != nil || opt(args, 6) != nil:
		t = t.In(toZone.loc)
	case t.Location() != fromZone.loc:
		// No zone was asked for: keep the offset or zone the text carried.
		toZone = zone{loc: t.Location()}
	}
	switch {
	case toTimestamp:
		return t.UnixMilli(), nil
	case toks == nil:
		s := isoText(t)
		if toZone.region {
			s += "[" + toZone.loc.String() + "]"
		}
		return s, nil
	}
	return formatDate(toks, t, namesFor(toLocale))
}

func fnToISODate(args ...any) (any, error) {
	const name = "TOISODATE"
	r := readArgs(name, args, 2, 4)
	locale := r.optText(2, "en-us")
	z := r.zone(3, utcZone)
	if r.err != nil {
		return nil, r.err
	}
	if args[0] == nil {
		return nil, nil
	}
	t, err := readDate(name, args, 1, locale, z)
	if err != nil {
		return nil, err
	}
	return isoText(t.In(z.loc)), nil
}

// dateUnit normalizes a unit name: "SECONDS", "Second" → "second".
func dateUnit(name string, args []any, i int) (string, error) {
	u, err := argText(name, args, i)
	if err != nil {
		return "", err
	}
	unit := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(u)), "s")
	switch unit {
	case "year", "month", "week", "day", "hour", "minute", "second", "millisecond":
		return unit, nil
	case "milli", "ms":
		return "millisecond", nil
	}
	return "", argError(name, i, "unknown unit %q: use year, month, week, day, hour, minute, second or millisecond", u)
}

func fnSumDate(args ...any) (any, error) {
	const name = "SUMDATE"
	r := readArgs(name, args, 3, 4)
	ms := r.epoch(0)
	unit := r.dateUnit(1)
	amount := r.int(2)
	z := r.zone(3, utcZone)
	if r.err != nil {
		return nil, r.err
	}
	const limit = 1 << 40 // beyond any calendar Go or Java can represent
	if amount > limit || amount < -limit {
		return nil, argError(name, 2, "amount %d is out of range", amount)
	}
	t := time.UnixMilli(ms).In(z.loc)
	switch unit {
	case "year":
		t = addMonths(t, int(amount)*12)
	case "month":
		t = addMonths(t, int(amount))
	case "week":
		t = t.AddDate(0, 0, int(amount)*7)
	case "day":
		t = t.AddDate(0, 0, int(amount))
	case "hour":
		t = t.Add(time.Duration(amount) * time.Hour)
	case "minute":
		t = t.Add(time.Duration(amount) * time.Minute)
	case "second":
		t = t.Add(time.Duration(amount) * time.Second)
	case "millisecond":
		t = t.Add(time.Duration(amount) * time.Millisecond)
	}
	return t.UnixMilli(), nil
}

// addMonths adds months as Java's plusMonths does: the day is clamped to the
// last day of the resulting month instead of overflowing into the next.
func addMonths(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	total := y*12 + int(m) - 1 + months
	ny, nm := total/12, total%12+1
	if total < 0 && total%12 != 0 {
		ny, nm = total/12-1, total%12+13
	}
	if last := daysIn(ny, nm); d > last {
		d = last
	}
	return time.Date(ny, time.Month(nm), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

func fnDiffDate(args ...any) (any, error) {
	const name = "DIFFDATE"
	r := readArgs(name, args, 3, 3)
	a := r.epoch(0)
	b := r.epoch(1)
	unit := r.dateUnit(2)
	if r.err != nil {
		return nil, r.err
	}
	d := b - a
	switch unit {
	case "millisecond":
		return d, nil
	case "second":
		return d / 1000, nil
	case "minute":
		return d / 60000, nil
	case "hour":
		return d / 3600000, nil
	case "day":
		return d / 86400000, nil
	case "week":
		return d / (7 * 86400000), nil
	}
	months := monthsBetween(time.UnixMilli(a).UTC(), time.UnixMilli(b).UTC())
	if unit == "year" {
		return months / 12, nil
	}
	return months, nil
}

// monthsBetween counts whole calendar months from t1 to t2, as Java's ChronoUnit.MONTHS.between.
func monthsBetween(t1, t2 time.Time) int64 {
	months := int64(t2.Year()-t1.Year())*12 + int64(t2.Month()-t1.Month())
	rest := func(t time.Time) int64 {
		return int64(t.Day())*86400000 + int64(t.Hour()*3600000+t.Minute()*60000+t.Second()*1000) + int64(t.Nanosecond()/1e6)
	}
	switch {
	case months > 0 && rest(t2) < rest(t1):
		months--
	case months < 0 && rest(t2) > rest(t1):
		months++
	}
	return months
}

// nowMillis is NOW(): the current time in epoch milliseconds. Arithmetic
// calls it unboxed (numFuncs0).
func nowMillis() int64 { return time.Now().UnixMilli() }
