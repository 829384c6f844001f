package chat

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The limits forget after an hour, and what they hold stays an hour's
// worth however many conversations asked.
func TestMailLimitsForget(t *testing.T) {
	var l mailLimits
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for i := range TranscriptMailsPerHour {
		assert.Empty(t, l.take(1, "a@x", "ip1", t0.Add(time.Duration(i)*2*time.Minute)))
	}
	assert.NotEmpty(t, l.take(1, "a@x", "ip1", t0.Add(10*time.Minute)), "three an hour")
	assert.NotEmpty(t, l.take(2, "a@x", "ip1", t0.Add(10*time.Minute)), "three an hour to the mailbox")
	assert.Empty(t, l.take(2, "b@x", "ip1", t0.Add(10*time.Minute)), "another mailbox")
	assert.Empty(t, l.take(1, "a@x", "ip1", t0.Add(61*time.Minute)), "an hour later, again")
	for i := range 20 { // one network address, many conversations and mailboxes
		l.take(int64(50+i), fmt.Sprintf("n%d@x", i), "ip2", t0.Add(70*time.Minute))
	}
	assert.NotEmpty(t, l.take(99, "z@x", "ip2", t0.Add(70*time.Minute)), "nine an hour from one address")

	for i := range 10000 {
		l.take(int64(100+i), fmt.Sprintf("u%d@x", i), fmt.Sprint("ip", i), t0.Add(2*time.Hour))
	}
	l.take(1, "late@x", "ip", t0.Add(4*time.Hour))
	assert.Len(t, l.times, 3, "old entries swept")
}

func TestMailbox(t *testing.T) {
	for in, want := range map[string][2]string{
		"Ana@Example.com":           {"Ana@example.com", "ana@example.com"},
		" ana+chat@example.com. ":   {"ana+chat@example.com", "ana@example.com"},
		"ana@xn--bcher-kva.example": {"ana@xn--bcher-kva.example", "ana@xn--bcher-kva.example"},
	} {
		to, key, ok := mailbox(in)
		assert.True(t, ok, in)
		assert.Equal(t, want[0], to, in)
		assert.Equal(t, want[1], key, in)
	}
	for _, bad := range []string{"", "ana", "a@", "@b.c", "ana@localhost", "ana@@x.com", "a@b..c", "ana@bücher.example",
		"ana@example.com, eve@evil.example", "Ana <eve@evil.example>", `"ana"@x.com`, "ana@x.com\r\nBcc: e@x.com",
		"@evil.example:ana@example.com", "eve@evil.example (ana@example.com)", "a b@x.com"} {
		_, _, ok := mailbox(bad)
		assert.False(t, ok, bad)
	}
}
