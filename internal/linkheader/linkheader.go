// Package linkheader reads the Link header of HTTP answers (RFC 8288) for
// the next page of a listing: the REST connector's link_header pagination
// and nectar executions list follow it.
package linkheader

import (
	"net/url"
	"strings"
)

// Next returns the target of the first link of rel type next in links
// (the values of the Link headers), resolved against base; nil when there
// is none. It reads the header as RFC 8288 allows: links joined by commas,
// rel quoted or not, in any case, among other relation types
// (rel="next last").
func Next(base *url.URL, links []string) *url.URL {
	for _, h := range links {
		for part := range strings.SplitSeq(h, ",") {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "<") {
				continue
			}
			end := strings.IndexByte(part, '>')
			if end < 0 {
				continue
			}
			target := part[1:end]
			for attr := range strings.SplitSeq(part[end+1:], ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(attr), "=")
				if !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if strings.EqualFold(rel, "next") {
						if n, err := base.Parse(target); err == nil {
							return n
						}
					}
				}
			}
		}
	}
	return nil
}
