package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/switchboard-go/switchboard/store"
)

var secretTests = []test{
	{"SecretsSharedOnce", testSecretsSharedOnce},
}

// Every caller, on two handles and from many goroutines at once, gets the
// one secret the first caller stored; names are independent; bad names
// and values are refused.
func testSecretsSharedOnce(t *testing.T, e *env) {
	ctx := e.ctx(t)
	other := e.second(t)
	const n = 16
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			value := make([]byte, 32)
			rand.Read(value)
			st := store.Store(e.Store)
			if i%2 == 1 {
				st = other
			}
			var err error
			if got[i], err = st.EnsureSecret(ctx, "chat", value); err != nil {
				t.Errorf("EnsureSecret %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(got[i], got[0]) || len(got[0]) != 32 {
			t.Fatalf("caller %d got %x, caller 0 %x", i, got[i], got[0])
		}
	}
	mail, err := e.EnsureSecret(ctx, "mail", bytes.Repeat([]byte{7}, 16))
	must(t, err)
	eq(t, "another name, its own", bytes.Equal(mail, bytes.Repeat([]byte{7}, 16)), true)
	again, err := other.EnsureSecret(ctx, "chat", bytes.Repeat([]byte{1}, 16))
	must(t, err)
	eq(t, "kept", bytes.Equal(again, got[0]), true)
	for _, bad := range []struct {
		name  string
		value []byte
	}{{"", make([]byte, 16)}, {string(bytes.Repeat([]byte{'x'}, 65)), make([]byte, 16)}, {"short", make([]byte, 15)},
		{"long", make([]byte, 1025)}} {
		if _, err := e.EnsureSecret(ctx, bad.name, bad.value); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("EnsureSecret(%q, %d bytes): %v, want ErrInvalid", bad.name, len(bad.value), err)
		}
	}
}
