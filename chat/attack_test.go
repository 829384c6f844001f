package chat_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
)

// dialFrom connects to addr from a loopback address of its own
// (127.0.0.0/8 is all loopback on Linux): a distinct client address.
func dialFrom(t testing.TB, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return nc
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// readErrors reads nc until it closes or goes quiet for quiet, and
// returns the ERROR frames it got.
func readErrors(nc net.Conn, quiet time.Duration) []*chat.Error {
	fr := chat.NewFrameReader(nc, 0)
	var errs []*chat.Error
	for {
		nc.SetReadDeadline(time.Now().Add(quiet))
		f, err := fr.Read()
		if err != nil {
			return errs
		}
		if m, err := chat.Decode(f); err == nil {
			if e, ok := m.(*chat.Error); ok {
				errs = append(errs, e)
			}
		}
	}
}

// Uploads that never end cannot take the server's memory: 25 clients
// from 25 addresses each start 4 uploads of 4 MiB and send every byte but
// never FILE_END (400 MiB before this was bounded). The server holds at
// most Files.MaxBuffered, refuses the rest as rate limited, and gives it
// all back when the connections go.
func TestUploadMemoryStaysBounded(t *testing.T) {
	const clients, perClient, size, budget = 25, 4, 4 << 20, 16 << 20
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.Files = chat.FileLimits{MaxFile: size, MaxBuffered: budget, MaxPerConversation: 1 << 30, UploadRate: 1 << 30}
		s.PerIP.LimitLoopback = true
	}})
	defer srv.Close()
	chunk := make([]byte, chat.MaxChunk)
	sum := sha256.Sum256(make([]byte, size))
	before := heapInUse()

	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := 0
	conns := make([]net.Conn, clients)
	for i := range clients {
		nc := dialFrom(t, srv.Addr, fmt.Sprintf("127.0.0.%d", 2+i))
		conns[i] = nc
		_, err := nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Mallory", CustomerID: fmt.Sprint(i)}))
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range readErrors(nc, 2*time.Second) {
				if e.Code == chat.CodeRateLimited {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			}
		}()
		for u := range perClient {
			_, err := nc.Write(chat.AppendMessage(nil, &chat.FileStart{TransferID: uint64(u + 1), Name: "x.png", Size: size,
				SHA256: sum[:], ClientMsgID: fmt.Sprint("u", u)}))
			require.NoError(t, err)
		}
		for off := 0; off < size; off += len(chunk) {
			for u := range perClient {
				hdr := appendUvarint(appendUvarint(nil, uint64(u+1)), uint64(len(chunk)))
				frame := chat.AppendFrame(nil, chat.TypeFileChunk, 0, hdr)
				binary.BigEndian.PutUint32(frame[4:], uint32(len(hdr)+len(chunk)))
				_, err := nc.Write(frame)
				require.NoError(t, err)
				_, err = nc.Write(chunk)
				require.NoError(t, err)
			}
		}
		assert.LessOrEqual(t, srv.Chat.Stats().UploadBytes, int64(budget))
	}
	wg.Wait() // every connection quiet: all chunks read
	held := heapInUse() - min(before, heapInUse())
	t.Logf("%d uploads of %d MiB attempted, %d refused; heap grew %.1f MiB (budget %d MiB)",
		clients*perClient, size>>20, refused, float64(held)/(1<<20), budget>>20)
	assert.LessOrEqual(t, srv.Chat.Stats().UploadBytes, int64(budget))
	assert.GreaterOrEqual(t, refused, clients*perClient-budget/size)
	assert.Less(t, held, uint64(budget+8<<20), "memory held by unfinished uploads")
	for _, nc := range conns {
		nc.Close()
	}
	require.Eventually(t, func() bool { return srv.Chat.Stats().UploadBytes == 0 }, 5*time.Second, 10*time.Millisecond,
		"upload memory not given back when the connections closed")
}

// appendUvarint builds a FILE_CHUNK header by hand (transfer id, data
// length), so the test sends one shared chunk without copying it.
func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// A dropped connection gives back what its unfinished uploads reserved:
// after five uploads cut off halfway, the conversation still takes a
// small file (before, the quota leaked and it was refused).
func TestUploadQuotaReturnedWhenConnectionDrops(t *testing.T) {
	const quota = 5000
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.Files = chat.FileLimits{MaxPerConversation: quota}
	}})
	defer srv.Close()
	first, w := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	first.nc.Close()
	data := make([]byte, quota/5)
	sum := sha256.Sum256(data)
	token := w.Resume
	for i := range 5 {
		r, again := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Resume: token})
		token = again.Resume
		r.nc.Write(chat.AppendMessage(nil, &chat.FileStart{TransferID: 1, Name: "a.txt", Size: int64(len(data)), SHA256: sum[:],
			ClientMsgID: fmt.Sprint("cut", i)}))
		r.nc.Write(chat.AppendMessage(nil, &chat.FileChunk{TransferID: 1, Data: data[:len(data)/2]}))
		r.nc.Close()
	}
	require.Eventually(t, func() bool { return srv.Chat.Stats().Connections == 0 }, 5*time.Second, 10*time.Millisecond)
	c, err := chat.Dial(testCtx(t), srv.Addr, &chat.ClientOptions{Name: "Ana", CustomerID: "a2"})
	require.NoError(t, err)
	c.Close()
	r, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Resume: token})
	small := []byte("twenty-three bytes here")
	s := sha256.Sum256(small)
	r.nc.Write(chat.AppendMessage(nil, &chat.FileStart{TransferID: 1, Name: "b.txt", Size: int64(len(small)), SHA256: s[:], ClientMsgID: "ok"}))
	r.nc.Write(chat.AppendMessage(nil, &chat.FileChunk{TransferID: 1, Data: small}))
	r.nc.Write(chat.AppendMessage(nil, &chat.FileEnd{TransferID: 1}))
	for {
		switch m := r.next().(type) {
		case *chat.Ack:
			assert.Equal(t, "ok", m.ClientMsgID)
			return
		case *chat.Error:
			t.Fatalf("a 23-byte file after five dropped uploads: %v", m)
		}
	}
}

// One address cannot fill the line: 1,000 customers from one address
// (each connecting, saying HELLO and leaving) leave at most
// PerIP.MaxWaiting conversations waiting, and store no more; a customer
// from elsewhere is near the front.
func TestQueueFloodFromOneAddress(t *testing.T) {
	const maxWaiting = 20
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.PerIP = chat.PerIPLimits{LimitLoopback: true, MaxWaiting: maxWaiting, NewConversations: 10000}
	}})
	defer srv.Close()
	welcomed, limited := 0, 0
	for i := range 1000 {
		nc := dialFrom(t, srv.Addr, "127.0.0.2")
		nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Fake", CustomerID: fmt.Sprint(i)}))
		fr := chat.NewFrameReader(nc, 0)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := fr.Read()
		require.NoError(t, err)
		m, err := chat.Decode(f)
		require.NoError(t, err)
		switch m := m.(type) {
		case *chat.Welcome:
			welcomed++
		case *chat.Error:
			require.Equal(t, chat.CodeRateLimited, m.Code, "%v", m)
			limited++
		}
		nc.Close()
	}
	assert.Equal(t, maxWaiting, welcomed)
	assert.Equal(t, 1000-maxWaiting, limited)
	assert.Equal(t, maxWaiting, srv.Chat.Stats().Waiting)
	stored, err := srv.Store.Conversations(testCtx(t), store.ConversationFilter{Limit: 5000})
	require.NoError(t, err)
	assert.Len(t, stored, maxWaiting, "refused customers leave no rows")

	real := dialFrom(t, srv.Addr, "127.0.0.3")
	real.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Real", CustomerID: "r"}))
	fr := chat.NewFrameReader(real, 0)
	for {
		real.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := fr.Read()
		require.NoError(t, err)
		m, _ := chat.Decode(f)
		if e, ok := m.(*chat.Event); ok && e.Kind == chat.EventQueued {
			assert.Equal(t, maxWaiting+1, e.Position)
			return
		}
	}
}

// The opening rate is bounded too: with the default limits an address
// opens 30 conversations, then waits.
func TestConversationRatePerAddress(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.PerIP = chat.PerIPLimits{LimitLoopback: true, MaxWaiting: 1000}
	}})
	defer srv.Close()
	welcomed := 0
	for i := range 40 {
		nc := dialFrom(t, srv.Addr, "127.0.0.4")
		nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Fake", CustomerID: fmt.Sprint(i)}))
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := chat.NewFrameReader(nc, 0).Read()
		require.NoError(t, err)
		if f.Type == chat.TypeWelcome {
			welcomed++
		}
		nc.Close()
	}
	assert.Equal(t, 30, welcomed)
}

// Connections that announce a large HELLO and stall hold little memory,
// and there are only so many of them: 500 from 50 addresses, each 100
// bytes into a HELLO that claims 16 KiB (2,000 connections claiming
// 64 KiB held 151 MB before).
func TestStalledHandshakesHoldLittleMemory(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.PerIP.LimitLoopback = true }})
	defer srv.Close()
	before := heapInUse()
	claim := chat.AppendFrame(nil, chat.TypeHello, 0, make([]byte, chat.MaxHelloFrame))[:chat.HeaderLen+100]
	var conns []net.Conn
	for i := range 500 {
		nc := dialFrom(t, srv.Addr, fmt.Sprintf("127.0.1.%d", 1+i%50))
		nc.Write(claim)
		conns = append(conns, nc)
	}
	require.Eventually(t, func() bool { return srv.Chat.Stats().Connections >= 400 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	st := srv.Chat.Stats()
	held := heapInUse() - min(before, heapInUse())
	t.Logf("%d connections, %d in handshake, heap grew %.1f MiB", st.Connections, st.Handshakes, float64(held)/(1<<20))
	assert.LessOrEqual(t, st.Handshakes, 50*8, "handshakes per address are capped")
	assert.Less(t, held, uint64(16<<20), "memory held by stalled handshakes")
	for _, nc := range conns {
		nc.Close()
	}
}

// login says HELLO as an operator from address from and returns the
// answer: nil for a WELCOME, else the ERROR.
func login(t *testing.T, addr, from, user, password string) *chat.Error {
	t.Helper()
	nc := dialFrom(t, addr, from)
	defer nc.Close()
	_, err := nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleOperator, Login: user, Password: password}))
	require.NoError(t, err)
	nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	fr := chat.NewFrameReader(nc, 0)
	for {
		f, err := fr.Read()
		require.NoError(t, err)
		m, err := chat.Decode(f)
		require.NoError(t, err)
		switch m := m.(type) {
		case *chat.Welcome:
			return nil
		case *chat.Error:
			return m
		}
	}
}

// Guessing an operator's password is bounded and cannot be turned
// against the operator: 40 parallel guesses from one address get 5
// password checks (the rest are refused before hashing); the operator
// logs in from another address at once, and from the guesser's own
// address (a shared NAT) once it has logged in from there before.
func TestLoginGuessingIsBoundedAndCannotLockOutTheOperator(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[chat.ErrorCode]int{}
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := login(t, srv.Addr, "127.0.0.9", "luis", "guess")
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
	// Still refused from there, even with the right password: the
	// address has never been the operator's.
	if e := login(t, srv.Addr, "127.0.0.9", "luis", "pw-luis"); assert.NotNil(t, e) {
		assert.Equal(t, chat.CodeRateLimited, e.Code)
	}
	// The operator, elsewhere, is not locked out.
	assert.Nil(t, login(t, srv.Addr, "127.0.0.10", "luis", "pw-luis"))

	// A guesser behind the operator's own address (a NAT) fails on: the
	// operator still gets in, after at most a short backoff.
	for range 10 {
		login(t, srv.Addr, "127.0.0.10", "luis", "guess")
	}
	require.Eventually(t, func() bool { return login(t, srv.Addr, "127.0.0.10", "luis", "pw-luis") == nil },
		5*time.Second, 200*time.Millisecond, "the operator was locked out of its own address")

	// Failing with many other logins does not clear the counts: the
	// address is refused for every login now.
	for i := range 40 {
		login(t, srv.Addr, "127.0.0.9", fmt.Sprint("nobody", i), "guess")
	}
	if e := login(t, srv.Addr, "127.0.0.9", "luis", "guess"); assert.NotNil(t, e) {
		assert.Equal(t, chat.CodeRateLimited, e.Code)
	}
}

// An upload that stops getting chunks ends after Files.UploadIdle, even
// while its connection stays alive, and gives its reservation back.
func TestAbandonedUploadExpires(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.Files = chat.FileLimits{UploadIdle: 200 * time.Millisecond}
	}})
	defer srv.Close()
	r, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	sum := sha256.Sum256(make([]byte, 1000))
	r.nc.Write(chat.AppendMessage(nil, &chat.FileStart{TransferID: 1, Name: "a.txt", Size: 1000, SHA256: sum[:], ClientMsgID: "up"}))
	r.nc.Write(chat.AppendMessage(nil, &chat.FileChunk{TransferID: 1, Data: make([]byte, 10)}))
	require.Eventually(t, func() bool { return srv.Chat.Stats().UploadBytes == 1000 }, 5*time.Second, 5*time.Millisecond)
	// The client keeps the connection alive but sends no more chunks.
	deadline := time.Now().Add(5 * time.Second)
	var expired *chat.Error
	go func() {
		for i := uint64(0); time.Now().Before(deadline); i++ {
			if _, err := r.nc.Write(chat.AppendMessage(nil, &chat.Ping{Nonce: i})); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	for expired == nil && time.Now().Before(deadline) {
		if e, ok := r.next().(*chat.Error); ok {
			expired = e
		}
	}
	require.NotNil(t, expired, "the abandoned upload never ended")
	assert.Equal(t, chat.CodeTimeout, expired.Code)
	assert.Equal(t, "up", expired.ClientMsgID)
	assert.Zero(t, srv.Chat.Stats().UploadBytes, "its reservation was not given back")
}

// Chunks padded with trailing bytes (which receivers ignore) hold no
// more memory than their data: 2,000 chunks of one byte in frames of
// 60 KB each (they kept the whole frame before: 120 MB).
func TestPaddedChunksHoldNoMoreThanTheirData(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.Files.UploadRate = 1 << 30 }})
	defer srv.Close()
	r, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	sum := sha256.Sum256(make([]byte, 1<<20))
	_, err := r.nc.Write(chat.AppendMessage(nil, &chat.FileStart{TransferID: 1, Name: "a.txt", Size: 1 << 20, SHA256: sum[:], ClientMsgID: "up"}))
	require.NoError(t, err)
	before := heapInUse()
	padded := append(chat.AppendMessage(nil, &chat.FileChunk{TransferID: 1, Data: []byte{0}})[chat.HeaderLen:], make([]byte, 60000)...)
	frame := chat.AppendFrame(nil, chat.TypeFileChunk, 0, padded)
	for range 2000 {
		_, err := r.nc.Write(frame)
		require.NoError(t, err)
	}
	// A PING answered means every chunk before it was read.
	_, err = r.nc.Write(chat.AppendMessage(nil, &chat.Ping{Nonce: 7}))
	require.NoError(t, err)
	for {
		if p, ok := r.next().(*chat.Pong); ok && p.Nonce == 7 {
			break
		}
	}
	held := heapInUse() - min(before, heapInUse())
	t.Logf("2,000 padded chunks of 1 byte: heap grew %.1f MiB", float64(held)/(1<<20))
	assert.Less(t, held, uint64(8<<20))
}

// loginWith says HELLO as an operator with a device token and returns
// the WELCOME or the refusal.
func loginWith(t *testing.T, addr, from, user, password, device string) (*chat.Welcome, *chat.Error) {
	t.Helper()
	nc := dialFrom(t, addr, from)
	defer nc.Close()
	_, err := nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleOperator, Login: user, Password: password, Device: device}))
	require.NoError(t, err)
	nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	fr := chat.NewFrameReader(nc, 0)
	for {
		f, err := fr.Read()
		require.NoError(t, err)
		m, err := chat.Decode(f)
		require.NoError(t, err)
		switch m := m.(type) {
		case *chat.Welcome:
			return m, nil
		case *chat.Error:
			return nil, m
		}
	}
}

// A device the operator has logged in with is never locked out by
// others' failed logins: not after a restart of the server (which
// forgets the addresses it knew), not when guessers elsewhere have used
// up the login's failures, not when a guesser behind the same address
// keeps failing at the same time.
func TestKnownDeviceIsNeverLockedOut(t *testing.T) {
	st := chattest.NewMemStore()
	srv := chattest.NewServer(&chattest.Config{Store: st, Operators: map[string]string{"alice": "pw-alice"}})
	w, e := loginWith(t, srv.Addr, "127.0.0.2", "alice", "pw-alice", "")
	require.Nil(t, e)
	require.NotEmpty(t, w.Device, "no device token in the operator's WELCOME")
	srv.Close()
	srv = chattest.NewServer(&chattest.Config{Store: st, Operators: map[string]string{"alice": "pw-alice"}})
	defer srv.Close()

	// Guessers at 25 other addresses use up the login's failures.
	for i := range 25 {
		loginWith(t, srv.Addr, fmt.Sprintf("127.0.0.%d", 10+i), "alice", "guess", "")
	}
	_, e = loginWith(t, srv.Addr, "127.0.0.2", "alice", "pw-alice", "")
	require.NotNil(t, e, "the login's failures were not used up")
	assert.Equal(t, chat.CodeRateLimited, e.Code)
	w2, e := loginWith(t, srv.Addr, "127.0.0.2", "alice", "pw-alice", w.Device)
	require.Nil(t, e, "the known device was locked out: %v", e)
	assert.NotEmpty(t, w2.Device)

	// A guesser behind the same address fails on and on meanwhile.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				nc, err := net.DialTimeout("tcp", srv.Addr, time.Second)
				if err != nil {
					continue
				}
				nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleOperator, Login: "alice", Password: "guess"}))
				nc.SetReadDeadline(time.Now().Add(2 * time.Second))
				chat.NewFrameReader(nc, 0).Read()
				nc.Close()
			}
		}()
	}
	for range 5 {
		_, e := loginWith(t, srv.Addr, "127.0.0.1", "alice", "pw-alice", w2.Device)
		assert.Nil(t, e, "the known device was starved by a guesser at its address: %v", e)
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	// A forged or another login's token is no device.
	_, e = loginWith(t, srv.Addr, "127.0.0.3", "alice", "pw-alice", w2.Device+"x")
	assert.NotNil(t, e)
}
