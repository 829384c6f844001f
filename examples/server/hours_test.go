package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
)

func TestParseHours(t *testing.T) {
	h, err := parseHours("Mon-Fri 09:00-14:00,15:00-18:00; Sat 10:00-13:00; Sun-Mon 22:00-24:00", "Europe/Madrid", "2026-12-25, 2026-01-01")
	require.NoError(t, err)
	assert.Equal(t, "Europe/Madrid", h.Location.String())
	assert.Equal(t, []chat.Span{{From: 22 * time.Hour, To: 24 * time.Hour}}, h.Week[time.Sunday])
	assert.Equal(t, []chat.Span{{From: 9 * time.Hour, To: 14 * time.Hour}, {From: 15 * time.Hour, To: 18 * time.Hour},
		{From: 22 * time.Hour, To: 24 * time.Hour}}, h.Week[time.Monday])
	assert.Len(t, h.Week[time.Saturday], 1)
	assert.Equal(t, []string{"2026-12-25", "2026-01-01"}, h.Holidays)
	for _, bad := range []string{"Mon", "Mon-Xyz 09:00-10:00", "Mon 10:00-09:00", "Mon 9-10", "Mon 09:00-25:00"} {
		_, err := parseHours(bad, "UTC", "")
		assert.Error(t, err, "%q", bad)
	}
	_, err = parseHours("Mon 09:00-10:00", "Mars/Olympus", "")
	assert.Error(t, err)
	_, err = parseHours("Mon 09:00-10:00", "UTC", "25/12")
	assert.Error(t, err)
}
