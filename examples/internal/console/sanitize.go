package console

import (
	"html/template"
	"regexp"
	"strconv"
	"strings"

	"github.com/microcosm-cc/bluemonday"

	"github.com/switchboard-go/switchboard/store"
)

// mailPolicy is what of a mail's HTML an agent sees: text, structure,
// links (opened in a new tab without referrer), tables and images. No
// script, style, form, frame or event handler survives. Remote images
// are kept in the markup but the console's Content-Security-Policy
// (img-src 'self') does not load them: opening a mail tells its sender
// nothing.
var mailPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("width", "height", "alt").OnElements("img")
	p.AllowAttrs("align", "valign", "colspan", "rowspan").OnElements("td", "th")
	return p
}()

// cidRef matches the src of an inline part's image.
var cidRef = regexp.MustCompile(`(?i)\bsrc\s*=\s*(["']?)cid:([^"'\s>]+)(["']?)`)

// sanitizeMail returns a mail's HTML safe to show: its inline images
// (src="cid:…") point at the article's attachments under base, then the
// policy cleans it.
func sanitizeMail(html string, atts []store.TicketAttachment, base string) template.HTML {
	byCID := map[string]int64{}
	for _, a := range atts {
		if a.ContentID != "" {
			byCID[strings.ToLower(strings.Trim(a.ContentID, "<>"))] = a.ID
		}
	}
	html = cidRef.ReplaceAllStringFunc(html, func(m string) string {
		sub := cidRef.FindStringSubmatch(m)
		id, ok := byCID[strings.ToLower(sub[2])]
		if !ok {
			return `src=""`
		}
		return `src="` + base + strconv.FormatInt(id, 10) + `"`
	})
	return template.HTML(mailPolicy.Sanitize(html))
}
