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
		assert.Empty(t, l.take(1, "a@x", t0.Add(time.Duration(i)*2*time.Minute)))
	}
	assert.NotEmpty(t, l.take(1, "a@x", t0.Add(10*time.Minute)), "three an hour")
	assert.NotEmpty(t, l.take(2, "a@x", t0.Add(10*time.Minute)), "three an hour to the address")
	assert.Empty(t, l.take(2, "b@x", t0.Add(10*time.Minute)), "another address")
	assert.Empty(t, l.take(1, "a@x", t0.Add(61*time.Minute)), "an hour later, again")

	for i := range 10000 {
		l.take(int64(100+i), fmt.Sprintf("u%d@x", i), t0.Add(2*time.Hour))
	}
	l.take(1, "late@x", t0.Add(4*time.Hour))
	assert.Len(t, l.byConv, 1, "old conversations swept")
	assert.Len(t, l.byAddr, 1, "old addresses swept")
}
