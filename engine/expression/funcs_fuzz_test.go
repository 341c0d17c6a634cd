package expression_test

import (
	"testing"
)

// The fuzz tests feed arbitrary patterns and text to the hand-written parsers
// of the catalogue; a panic or a non-JSON result fails them.

func FuzzFuncFormatDate(f *testing.F) {
	f.Add("10/10/2010 11:59:59", "dd/MM/yyyy HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "GMT-3")
	f.Add("20240229", "yyyyMMdd", "EEEE, d MMMM [yyyy] h:mm a z VV O x", "America/Sao_Paulo")
	f.Add("Mar 5, 2024 02:07 PM", "MMM d, yyyy hh:mm a", "Q w Y D", "UTC")
	f.Add("2012-10-01T09:45:00.0000000+00:00", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSXXX", "''G''", "+05:30")
	formatDate := lookupFn("FORMATDATE")
	f.Fuzz(func(t *testing.T, text, from, to, zone string) {
		out, err := formatDate(text, from, to, nil, zone)
		if err == nil {
			mustBeJSON(t, out)
		}
	})
}

func FuzzFuncFormatNumber(f *testing.F) {
	f.Add("1234567.891", "#,##0.00;(#,##0.00)", "pt-br", "HALF_EVEN")
	f.Add("-0.00012345", "0.###E00", "en-us", "UP")
	f.Add("12345678901234567890", "'R$ '¤ #,##0.0%", "fr-fr", "FLOOR")
	formatNumber, toNumber := lookupFn("FORMATNUMBER"), lookupFn("TONUMBER")
	f.Fuzz(func(t *testing.T, n, pattern, locale, rounding string) {
		if out, err := formatNumber(n, pattern, locale, rounding); err == nil {
			mustBeJSON(t, out)
		}
		if out, err := toNumber(n, pattern, locale); err == nil {
			mustBeJSON(t, out)
		}
	})
}

func FuzzFuncJSONPath(f *testing.F) {
	f.Add(store, "$..book[?(@.price < 10 && @.author =~ /.*REES/i)].title")
	f.Add(`{"a":[1,2,{"b":[3]}]}`, "$.a[-1:].b[0,1].length()")
	f.Add(`[[1],[2,[3]]]`, "$..[?(@ size 1 || !(@[0] in [1, 'x']))]")
	f.Add(`{"n":[1,2],"o":{"a":{"v":1},"b":2}}`, "$.n.append(3, $.n.max()).sum($.n.min()).concat('x')")
	f.Add(`{"o":{"a":{"v":1},"b":2}}`, "$..['a', 'b'].v")
	f.Add(`{"s":["1"]}`, "$[?(/1/ =~ @.s && @.s[0] == 1)].s.index(-1)")
	jsonPath := lookupFn("JSONPATH")
	f.Fuzz(func(t *testing.T, doc, path string) {
		if out, err := jsonPath(doc, path); err == nil {
			mustBeJSON(t, out)
		}
	})
}
