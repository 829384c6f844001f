package main

import (
	"context"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store/sqlite"
)

// storedSecret is the secret named name that the processes on the SQLite
// store at path share.
func storedSecret(t *testing.T, path, name string) []byte {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, nil)
	require.NoError(t, err)
	defer st.Close()
	b, err := st.EnsureSecret(context.Background(), name, make([]byte, 16))
	require.NoError(t, err)
	require.NotEqual(t, make([]byte, 16), b, "the server made it")
	return b
}

// Two processes with data directories of their own on one store share
// one chat secret and one mail secret: the first makes each. One that
// kept its secret in a file, as before, brings it into the store, so an
// installation keeps its key; a file that differs from the store's
// afterwards is ignored, and said.
func TestSecretsSharedByProcesses(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "shared.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	legacy := []byte("0123456789abcdef0123456789abcdef")
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.MkdirAll(a, 0o750))
	require.NoError(t, os.MkdirAll(b, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(a, "mail.secret"), []byte(hex.EncodeToString(legacy)+"\n"), 0o600))
	mailA, err := sharedSecret(st, a, "mail", log)
	require.NoError(t, err)
	assert.Equal(t, legacy, mailA, "the file's secret brought into the store")
	mailB, err := sharedSecret(st, b, "mail", log)
	require.NoError(t, err)
	assert.Equal(t, legacy, mailB)

	chatB, err := sharedSecret(st, b, "chat", log)
	require.NoError(t, err)
	chatA, err := sharedSecret(st, a, "chat", log)
	require.NoError(t, err)
	assert.Equal(t, chatB, chatA)
	assert.Len(t, chatA, 32)
	assert.NotEqual(t, mailA, chatA)
	_, err = os.Stat(filepath.Join(b, "chat.secret"))
	assert.True(t, os.IsNotExist(err), "no file written")

	require.NoError(t, os.WriteFile(filepath.Join(b, "chat.secret"), []byte(hex.EncodeToString(legacy)), 0o600))
	again, err := sharedSecret(st, b, "chat", log)
	require.NoError(t, err)
	assert.Equal(t, chatA, again, "the store's wins")
	assert.Contains(t, logs.String(), "differs from the one the store shares")

	require.NoError(t, os.WriteFile(filepath.Join(b, "mail.secret"), []byte("not hex"), 0o600))
	_, err = sharedSecret(st, b, "mail", log)
	assert.ErrorContains(t, err, "not a secret")
}
