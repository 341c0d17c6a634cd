package expression_test

import (
	"testing"
)

func TestFuncDate(t *testing.T) {
	const jan31 = int64(1706659200000) // 2024-01-31T00:00:00Z
	runCases(t, []fcase{
		{"reformat date", "FORMATDATE", []any{"30/10/2010", "dd/MM/yyyy", "MM/dd/yyyy"}, `"10/30/2010"`, ""},
		{"time only keeps its fields", "FORMATDATE", []any{"11:12:13", "HH:mm:ss", "ss:mm:HH"}, `"13:12:11"`, ""},
		{"zone conversion with z", "FORMATDATE", []any{"10/10/2010 11:59:59", "dd/MM/yyyy HH:mm:ss", "dd/MM/yyyy HH:mm:ss z", nil, "GMT-3", nil, "UTC"}, `"10/10/2010 14:59:59 UTC"`, ""},
		{"timestamp in", "FORMATDATE", []any{int64(1564670039000), "timestamp", "dd/MM/yyyy HH:mm:ss"}, `"01/08/2019 14:33:59"`, ""},
		{"timestamp as numeric string", "FORMATDATE", []any{"1564670039000", "timestamp", "yyyy-MM-dd"}, `"2019-08-01"`, ""},
		{"timestamp out", "FORMATDATE", []any{"2019-08-01 14:33:59", "yyyy-MM-dd HH:mm:ss", "timestamp"}, `1564670039000`, ""},
		{"timestamp out honours the source zone", "FORMATDATE", []any{"2019-08-01 11:33:59", "yyyy-MM-dd HH:mm:ss", "timestamp", nil, "GMT-3"}, `1564670039000`, ""},
		{"null format gives ISO zoned", "FORMATDATE", []any{"10/10/2010 11:59:59", "dd/MM/yyyy HH:mm:ss", nil}, `"2010-10-10T11:59:59Z[UTC]"`, ""},
		{"ISO zoned in a GMT zone", "FORMATDATE", []any{int64(1564670039123), "timestamp", nil, nil, nil, nil, "GMT-3"}, `"2019-08-01T11:33:59.123-03:00[GMT-03:00]"`, ""},
		{"ISO zoned in an IANA zone", "FORMATDATE", []any{int64(1564670039000), "timestamp", nil, nil, nil, nil, "America/Sao_Paulo"}, `"2019-08-01T11:33:59-03:00[America/Sao_Paulo]"`, ""},
		{"offset in text is kept", "FORMATDATE", []any{"2012-10-01T09:45:00.0000000+02:00", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSXXX", nil}, `"2012-10-01T09:45:00+02:00"`, ""},
		{"offset in text converts to a zone", "FORMATDATE", []any{"2012-10-01T09:45:00+02:00", "yyyy-MM-dd'T'HH:mm:ssXXX", "HH:mm", nil, nil, nil, "UTC"}, `"07:45"`, ""},
		{"literal Z", "FORMATDATE", []any{"2022-10-26T03:00:00Z", "yyyy-MM-dd'T'HH:mm:ss'Z'", "dd/MM/yyyy"}, `"26/10/2022"`, ""},
		{"millis with SSS", "FORMATDATE", []any{"2022-10-26T03:00:00.123Z", "yyyy-MM-dd'T'HH:mm:ss.SSSX", "SSS"}, `"123"`, ""},
		{"compact yyyyMMdd", "FORMATDATE", []any{"20240229", "yyyyMMdd", "dd.MM.yy"}, `"29.02.24"`, ""},
		{"compact yyyyMMddHHmmss", "FORMATDATE", []any{"20240229235958", "yyyyMMddHHmmss", "yyyy-MM-dd HH:mm:ss"}, `"2024-02-29 23:59:58"`, ""},
		{"two-digit year", "FORMATDATE", []any{"01/02/99", "dd/MM/yy", "yyyy"}, `"2099"`, ""},
		{"one-digit day with dd", "FORMATDATE", []any{"1/2/2020", "dd/MM/yyyy", "yyyy-MM-dd"}, `"2020-02-01"`, ""},
		{"English names", "FORMATDATE", []any{"2024-03-05 14:07", "yyyy-MM-dd HH:mm", "EEE, d MMM yyyy h:mm a"}, `"Tue, 5 Mar 2024 2:07 PM"`, ""},
		{"English full names", "FORMATDATE", []any{"2024-03-05", "yyyy-MM-dd", "EEEE, MMMM dd"}, `"Tuesday, March 05"`, ""},
		{"Portuguese names", "FORMATDATE", []any{"2024-03-05", "yyyy-MM-dd", "EEEE, d 'de' MMMM 'de' yyyy", nil, nil, "pt-BR"}, `"terça-feira, 5 de março de 2024"`, ""},
		{"parse English month and AM/PM", "FORMATDATE", []any{"Mar 5, 2024 02:07 PM", "MMM d, yyyy hh:mm a", "yyyy-MM-dd HH:mm"}, `"2024-03-05 14:07"`, ""},
		{"parse Portuguese short month", "FORMATDATE", []any{"05 fev. 2024", "dd MMM yyyy", "yyyy-MM-dd", "pt-br"}, `"2024-02-05"`, ""},
		{"12 AM is midnight", "FORMATDATE", []any{"12:30 AM", "hh:mm a", "HH:mm"}, `"00:30"`, ""},
		{"zone offsets", "FORMATDATE", []any{int64(0), "timestamp", "X|XX|XXX|x|Z|ZZZZ|ZZZZZ|O", nil, nil, nil, "+05:30"}, `"+0530|+0530|+05:30|+0530|+0530|GMT+05:30|+05:30|GMT+5:30"`, ""},
		{"zero offsets", "FORMATDATE", []any{int64(0), "timestamp", "X|XXX|x|xxx|Z|ZZZZ|ZZZZZ|O"}, `"Z|Z|+00|+00:00|+0000|GMT|Z|GMT"`, ""},
		{"zone id", "FORMATDATE", []any{int64(0), "timestamp", "VV", nil, nil, nil, "Europe/Paris"}, `"Europe/Paris"`, ""},
		{"parse zone id", "FORMATDATE", []any{"2024-07-01 12:00 Europe/Paris", "yyyy-MM-dd HH:mm VV", "HH:mm", nil, nil, nil, "UTC"}, `"10:00"`, ""},
		{"parse GMT offset", "FORMATDATE", []any{"2024-07-01 12:00 GMT-3", "yyyy-MM-dd HH:mm O", "HH:mm", nil, nil, nil, "UTC"}, `"15:00"`, ""},
		{"optional section present", "FORMATDATE", []any{"2024-07-01 12:00:30", "yyyy-MM-dd HH:mm[:ss]", "ss"}, `"30"`, ""},
		{"optional section absent", "FORMATDATE", []any{"2024-07-01 12:00", "yyyy-MM-dd HH:mm[:ss]", "ss"}, `"00"`, ""},
		{"day of year and quarter", "FORMATDATE", []any{"2024-12-31", "yyyy-MM-dd", "D Q QQQ"}, `"366 4 Q4"`, ""},
		{"quoted quote", "FORMATDATE", []any{"2024-12-31", "yyyy-MM-dd", "dd 'o''clock' ''"}, `"31 o'clock '"`, ""},
		{"31 April is clamped as Java SMART does", "FORMATDATE", []any{"31/04/2024", "dd/MM/yyyy", "yyyy-MM-dd"}, `"2024-04-30"`, ""},
		{"null value gives null", "FORMATDATE", []any{nil, "dd/MM/yyyy", "yyyy"}, `null`, ""},
		{"text does not match", "FORMATDATE", []any{"2022-10-26", "dd/MM/yyyy", "yyyy"}, ``, "could not be parsed"},
		{"pattern shorter than text", "FORMATDATE", []any{"2022-10-26T03:00:00.123Z", "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy"}, ``, "could not be parsed at index 19"},
		{"unparsed trailing text", "FORMATDATE", []any{"2022-10-26 extra", "yyyy-MM-dd", "yyyy"}, ``, "unparsed text"},
		{"invalid month", "FORMATDATE", []any{"2022-13-01", "yyyy-MM-dd", "yyyy"}, ``, "invalid month"},
		{"unknown letter", "FORMATDATE", []any{"2022", "yyyy", "yyyy-MM-ddTHH"}, ``, "unknown pattern letter"},
		{"unknown zone", "FORMATDATE", []any{"2022", "yyyy", "yyyy", nil, "Mars/Olympus"}, ``, "unknown time zone"},
		{"week fields cannot be parsed", "FORMATDATE", []any{"2022", "YYYY", "yyyy"}, ``, "week-based"},

		{"now is an integer", "DIFFDATE", []any{int64(0), int64(0), "day"}, `0`, ""},
		{"add a month clamps the day", "SUMDATE", []any{jan31, "month", 1}, `1709164800000`, ""},
		{"subtract a year from 29 Feb", "SUMDATE", []any{int64(1709164800000), "YEARS", -1}, `1677542400000`, ""},
		{"add seconds", "SUMDATE", []any{jan31, "SECOND", 90}, `1706659290000`, ""},
		{"add days across DST keeps the wall clock", "SUMDATE", []any{int64(1711796400000), "day", 1, "Europe/Paris"}, `1711879200000`, ""},
		{"add hours across DST is 3600 s each", "SUMDATE", []any{int64(1711796400000), "hour", 24, "Europe/Paris"}, `1711882800000`, ""},
		{"numeric string ms", "SUMDATE", []any{"1706659200000", "day", -1}, `1706572800000`, ""},
		{"bad unit", "SUMDATE", []any{jan31, "fortnight", 1}, ``, "unknown unit"},
		{"null ms", "SUMDATE", []any{nil, "day", 1}, ``, "got null"},

		{"to ISO from pattern", "TOISODATE", []any{"31/01/2020 13:45:10", "dd/MM/yyyy HH:mm:ss"}, `"2020-01-31T13:45:10Z"`, ""},
		{"to ISO from timestamp in a zone", "TOISODATE", []any{int64(1580478310500), "timestamp", nil, "GMT-3"}, `"2020-01-31T10:45:10.5-03:00"`, ""},
		{"to ISO with zone reading local text", "TOISODATE", []any{"31/01/2020 10:45", "dd/MM/yyyy HH:mm", nil, "America/Sao_Paulo"}, `"2020-01-31T10:45:00-03:00"`, ""},

		{"diff days truncates", "DIFFDATE", []any{int64(1577836800000), int64(1580515199000), "day"}, `30`, ""},
		{"diff negative", "DIFFDATE", []any{int64(1580515199000), int64(1577836800000), "days"}, `-30`, ""},
		{"diff months is calendar based", "DIFFDATE", []any{int64(1706659200000), int64(1709164800000), "month"}, `0`, ""},
		{"diff months whole", "DIFFDATE", []any{int64(1704067200000), int64(1709251200000), "MONTH"}, `2`, ""},
		{"diff years", "DIFFDATE", []any{int64(946684800000), int64(1709251200000), "year"}, `24`, ""},
		{"diff ms", "DIFFDATE", []any{int64(1), int64(1000), "millisecond"}, `999`, ""},
		{"diff less than a unit", "DIFFDATE", []any{int64(0), int64(59999), "minute"}, `0`, ""},
	})
}

func TestFuncNow(t *testing.T) {
	got, err := lookup(t, "NOW")()
	if err != nil {
		t.Fatal(err)
	}
	if ms, ok := got.(int64); !ok || ms < 1.7e12 {
		t.Fatalf("NOW() = %#v, want epoch milliseconds as int64", got)
	}
}
