package chat_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// The operator login, now through internal/loginguard, throttles as it
// did (from 127.0.0.1 only): 40 parallel guesses get 5 password checks,
// the right password is refused after them, another login from the same
// address is not; an operator who logged in from the address gets in
// after guesses from there; a login's case is another login; an unknown
// login is refused like a wrong password.
func TestLoginAttackChatOperatorThrottlesAsBefore(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis", "ana": "pw-ana", "eva": "pw-eva"}})
	defer srv.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[chat.ErrorCode]int{}
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := login(t, srv.Addr, "127.0.0.1", "luis", "guess")
			mu.Lock()
			defer mu.Unlock()
			if e == nil {
				codes[0]++
			} else {
				codes[e.Code]++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, map[chat.ErrorCode]int{chat.CodeAuthFailed: 5, chat.CodeRateLimited: 35}, codes)
	if e := login(t, srv.Addr, "127.0.0.1", "luis", "pw-luis"); assert.NotNil(t, e) {
		assert.Equal(t, chat.CodeRateLimited, e.Code, "the right password after the limit")
	}
	assert.Nil(t, login(t, srv.Addr, "127.0.0.1", "ana", "pw-ana"), "another login from the address")

	// ana's address is known now: guesses there do not keep her out.
	for range 10 {
		login(t, srv.Addr, "127.0.0.1", "ana", "guess")
	}
	require.Eventually(t, func() bool { return login(t, srv.Addr, "127.0.0.1", "ana", "pw-ana") == nil },
		5*time.Second, 200*time.Millisecond, "ana was locked out of her own address")

	// Case and unknown logins fail, and are not faster than a wrong password.
	for _, l := range []string{"EVA", "Eva", "eva ", "eva\x00"} {
		if e := login(t, srv.Addr, "127.0.0.1", l, "pw-eva"); assert.NotNil(t, e, "%q", l) {
			assert.Contains(t, []chat.ErrorCode{chat.CodeAuthFailed, chat.CodeBadFrame}, e.Code, "%q: %v", l, e)
		}
	}
	assert.Nil(t, login(t, srv.Addr, "127.0.0.1", "eva", "pw-eva"))
}
