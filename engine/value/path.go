package value

import "strings"

// SplitPath splits a path into a JSON document, as written in options like
// a REST step's items_path or an account's fail_path, into its keys and
// indexes: error.code gives [error code], $.data.items[0].id gives
// [data items 0 id], and a bracketed key may be quoted to hold dots:
// meta['next.page'] gives [meta next.page]. A leading $ and spaces around
// the path are ignored; an empty path gives nil (the document itself).
// Indexes stay text: the caller reads one as a number where the value is a
// list.
func SplitPath(p string) []string {
	p = strings.TrimPrefix(strings.TrimSpace(p), "$")
	var out []string
	for p != "" {
		switch p[0] {
		case '.':
			p = p[1:]
		case '[':
			j := strings.IndexByte(p, ']')
			if j < 0 { // an unclosed bracket: the rest is the key
				j = len(p)
			}
			out = append(out, strings.Trim(p[1:j], `"'`))
			p = p[min(j+1, len(p)):]
		default:
			j := strings.IndexAny(p, ".[")
			if j < 0 {
				j = len(p)
			}
			out = append(out, p[:j])
			p = p[j:]
		}
	}
	return out
}
