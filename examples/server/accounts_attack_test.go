package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
)

// TestAttackUserChangeReenables: `server user` documents that "a change
// keeps what it does not give", but -disable is a bool whose default is
// false: changing a disabled account's name (or role, or password)
// enables it again.
func TestAttackUserChangeReenables(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	require.NoError(t, runUser(ctx, []string{"-data", dir, "-login", "eve", "-role", "agent", "-password-stdin"},
		strings.NewReader("una clave larga\n"), &out, &errOut))
	require.NoError(t, runUser(ctx, []string{"-data", dir, "-login", "eve", "-disable"}, strings.NewReader(""), &out, &errOut))
	disabled := func() bool {
		var sf storeflag.Flags
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		sf.Register(fs)
		require.NoError(t, fs.Parse([]string{"-data", dir}))
		st, err := sf.Open(ctx)
		require.NoError(t, err)
		defer st.Close()
		a, err := st.Account(ctx, "eve")
		require.NoError(t, err)
		return a.Disabled
	}
	require.True(t, disabled())
	require.NoError(t, runUser(ctx, []string{"-data", dir, "-login", "eve", "-name", "Eve Smith"}, strings.NewReader(""), &out, &errOut))
	assert.True(t, disabled(), "renaming a disabled account enabled it")
}
