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
// links (absolute http, https and mailto only, opened in a new tab
// without referrer), tables, and images of the article's own inline
// parts (see sanitizeMail). No script, style, form, frame or event
// handler survives, nor any relative URL: a mail cannot make the
// agent's browser request the console's own pages.
var mailPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowRelativeURLs(false)
	p.AllowURLSchemes("http", "https", "mailto", inlineScheme)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("width", "height", "alt").OnElements("img")
	p.AllowAttrs("align", "valign", "colspan", "rowspan").OnElements("td", "th")
	return p
}()

// inlineScheme marks, while the policy runs, the images that are the
// article's own inline parts.
const inlineScheme = "sbinline"

var (
	// cidRef matches the src of an inline part's image.
	cidRef = regexp.MustCompile(`(?i)\bsrc\s*=\s*(["']?)cid:([^"'\s>]+)(["']?)`)
	// imgTag and its URL attributes, as the policy writes them (double
	// quotes, escaped).
	imgTag = regexp.MustCompile(`<img\b[^>]*>`)
	imgSrc = regexp.MustCompile(`\s(src|srcset)="([^"]*)"`)
)

// sanitizeMail returns a mail's HTML safe to show: its inline images
// (src="cid:…") become the article's attachments under base; every other
// image loses its address (a remote one would tell the sender the mail
// was read; one of this site would make the agent's browser request it).
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
		return `src="` + inlineScheme + ":" + strconv.FormatInt(id, 10) + `"`
	})
	clean := mailPolicy.Sanitize(html)
	clean = imgTag.ReplaceAllStringFunc(clean, func(tag string) string {
		return imgSrc.ReplaceAllStringFunc(tag, func(attr string) string {
			sub := imgSrc.FindStringSubmatch(attr)
			if sub[1] == "src" && strings.HasPrefix(sub[2], inlineScheme+":") {
				if id, err := strconv.ParseInt(sub[2][len(inlineScheme)+1:], 10, 64); err == nil {
					return ` src="` + base + strconv.FormatInt(id, 10) + `"`
				}
			}
			return ""
		})
	})
	// Anything left in the inline scheme (a link written by the mail) is no URL.
	clean = strings.ReplaceAll(clean, inlineScheme+":", "#")
	return template.HTML(clean)
}
