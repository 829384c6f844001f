package pdu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimes(t *testing.T) {
	caracas := time.FixedZone("VET", -4*3600)
	at := time.Date(2026, 11, 22, 10, 30, 15, 700_000_000, caracas)
	s := AbsoluteTime(at)
	require.Equal(t, "261122103015716-", s, "AbsoluteTime")
	back, err := ParseTime(s, time.Time{})
	require.NoError(t, err, "ParseTime(%q)", s)
	assert.True(t, back.Equal(at), "ParseTime(%q) = %v, want %v", s, back, at)
	assert.Equal(t, "000001020030000R", RelativeTime(26*time.Hour+30*time.Second), "RelativeTime")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	got, err := ParseTime("000001020030000R", now)
	require.NoError(t, err, "relative")
	assert.True(t, got.Equal(now.Add(26*time.Hour+30*time.Second)), "relative = %v", got)
	z, err := ParseTime("", now)
	assert.NoError(t, err, "empty time")
	assert.True(t, z.IsZero(), "empty time = %v", z)
	for _, bad := range []string{"2611221030157160", "26112210301571+", "261322103015716+", "261122103015749+", "26112210301571X+"} {
		_, err := ParseTime(bad, now)
		assert.Error(t, err, "ParseTime(%q) accepted", bad)
	}
}
