package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// -modem-sim PATH where PATH is a symbolic link of the user's (not one
// an earlier run left to a pty): it must be refused, like a regular file,
// and left alone. It is replaced, and removed when the server stops.
func TestAttack3ModemSimKeepsUsersSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "release-42")
	require.NoError(t, os.Mkdir(target, 0o750))
	link := filepath.Join(dir, "current")
	require.NoError(t, os.Symlink(target, link))

	f := &modemSimFlags{path: link}
	_, stop, err := f.start()
	if err == nil {
		stop()
	}
	got, lerr := os.Readlink(link)
	assert.Error(t, err, "a link to something other than a pty is not the simulator's")
	assert.NoError(t, lerr, "the user's link is gone")
	assert.Equal(t, target, got, "the user's link was replaced")
}
