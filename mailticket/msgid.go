package mailticket

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/switchboard-go/switchboard/store"
)

// Our Message-IDs carry the ticket number and a MAC, so a reply that
// quotes one in In-Reply-To or References is threaded to its ticket even
// when the article is gone or the ticket was renumbered by a merge, and a
// forged id (someone guessing the format) is ignored:
//
//	tk.<ticket number>.<random>.<mac>@<domain>
//
// The MAC is HMAC-SHA256 over "<number>.<random>" with the processor's
// secret, truncated to 80 bits and base32-encoded.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func newMessageID(secret []byte, number, domain string) string {
	var nonce [10]byte
	_, _ = rand.Read(nonce[:])
	r := strings.ToLower(b32.EncodeToString(nonce[:]))
	return "tk." + number + "." + r + "." + idMAC(secret, number, r) + "@" + domain
}

func idMAC(secret []byte, number, nonce string) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(number + "." + nonce))
	return strings.ToLower(b32.EncodeToString(h.Sum(nil)[:10]))
}

// ticketFromMessageID returns the ticket number in one of our Message-IDs,
// or "" when id is not ours (wrong shape, domain or MAC).
func ticketFromMessageID(secret []byte, id, domain string) string {
	at := strings.LastIndexByte(id, '@')
	if at < 0 || !strings.EqualFold(id[at+1:], domain) || !strings.HasPrefix(id, "tk.") {
		return ""
	}
	parts := strings.Split(id[3:at], ".")
	if len(parts) != 3 || !store.ValidTicketNumber(parts[0]) {
		return ""
	}
	if !hmac.Equal([]byte(idMAC(secret, parts[0], parts[1])), []byte(parts[2])) {
		return ""
	}
	return parts[0]
}
