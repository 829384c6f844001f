package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// bench is a chat server with raw-frame clients around it.
type bench struct {
	srv     *chat.Server
	addr    string
	done    chan error
	cleanup func()
}

func startServer(persist bool, convs, operators int) (*bench, error) {
	var st store.ChatStore = chattest.NewMemStore()
	cleanup := func() {}
	if persist {
		dir, err := os.MkdirTemp("", "chatbench")
		if err != nil {
			return nil, err
		}
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, "chat.db"), nil)
		if err != nil {
			return nil, err
		}
		st = db
		cleanup = func() { db.Close(); os.RemoveAll(dir) }
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	dir := chat.StaticDirectory{}
	for i := range operators {
		login := fmt.Sprintf("op%d", i)
		dir[login] = chat.OperatorAccount{ID: login, Name: login, PasswordHash: string(hash)}
	}
	srv := &chat.Server{Store: st, Operators: dir, MaxConversations: (convs + operators - 1) / operators,
		MessageRate: -1, OutboundLimit: 256 << 20, MaxConnections: 100000}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &bench{srv: srv, addr: l.Addr().String(), done: make(chan error, 1), cleanup: cleanup}
	go func() { b.done <- srv.Serve(l) }()
	return b, nil
}

func (b *bench) close() {
	b.srv.Close()
	<-b.done
	b.cleanup()
}

// rawClient speaks frames directly, to pipeline without waiting for
// acks. It reads frames into one reused buffer: the clients share the
// process, and its garbage collector, with the server being measured.
type rawClient struct {
	nc  net.Conn
	br  *bufio.Reader
	buf []byte
}

// next reads a frame whose payload is valid until the next call.
func (c *rawClient) next() (chat.Frame, error) {
	var h [chat.HeaderLen]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return chat.Frame{}, err
	}
	n := int(binary.BigEndian.Uint32(h[4:]))
	if n > chat.DefaultMaxFrame {
		return chat.Frame{}, fmt.Errorf("frame of %d bytes", n)
	}
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	if _, err := io.ReadFull(c.br, c.buf); err != nil {
		return chat.Frame{}, err
	}
	return chat.Frame{Type: chat.Type(h[1]), Flags: h[2], Payload: c.buf}, nil
}

func dialRaw(addr string, hello *chat.Hello) (*rawClient, *chat.Welcome, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	c := &rawClient{nc: nc, br: bufio.NewReaderSize(nc, 16<<10)}
	nc.Write(chat.AppendMessage(nil, hello))
	for {
		m, err := c.read()
		if err != nil {
			nc.Close()
			return nil, nil, err
		}
		switch m := m.(type) {
		case *chat.Welcome:
			return c, m, nil
		case *chat.Error:
			nc.Close()
			return nil, nil, m
		}
	}
}

func (c *rawClient) read() (chat.Message, error) {
	f, err := c.next()
	if err != nil {
		return nil, err
	}
	return chat.Decode(f)
}

// session is a bench server with its operators logged in and its
// customers connected and assigned.
type session struct {
	custs []*rawClient
	conns []*rawClient
	wg    sync.WaitGroup
}

// close closes every client and waits for their readers.
func (s *session) close() {
	for _, c := range s.conns {
		c.nc.Close()
	}
	s.wg.Wait()
}

// connect logs operators in (their readers pass the text of every
// customer POST to onPost, valid during the call), connects convs customers (whose readers drop their acks), and
// waits until every conversation is assigned. The caller closes it.
func connect(addr string, convs, operators int, onPost func(text []byte)) (*session, error) {
	s := &session{custs: make([]*rawClient, convs)}
	var assigned atomic.Int64
	allAssigned := make(chan struct{})
	for i := range operators {
		c, _, err := dialRaw(addr, &chat.Hello{Role: chat.RoleOperator, Login: fmt.Sprintf("op%d", i), Password: "pw"})
		if err != nil {
			s.close()
			return nil, err
		}
		s.conns = append(s.conns, c)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				f, err := c.next()
				if err != nil {
					return
				}
				// Customers' POSTs are recognized from their first bytes,
				// as the raw relay's reader does not decode either.
				if f.Type == chat.TypePost {
					if role, text, ok := readPost(f.Payload); ok && role == chat.RoleCustomer {
						onPost(text)
					}
					continue
				}
				m, err := chat.Decode(f)
				if err != nil {
					return
				}
				switch m := m.(type) {
				case *chat.Assigned:
					if assigned.Add(1) == int64(convs) {
						close(allAssigned)
					}
				case *chat.Ping:
					c.nc.Write(chat.AppendMessage(nil, &chat.Pong{Nonce: m.Nonce}))
				}
			}
		}()
	}
	for i := range convs {
		c, _, err := dialRaw(addr, &chat.Hello{Role: chat.RoleCustomer, Name: "C" + strconv.Itoa(i), CustomerID: strconv.Itoa(i)})
		if err != nil {
			s.close()
			return nil, err
		}
		s.custs[i] = c
		s.conns = append(s.conns, c)
		s.wg.Add(1)
		go func() { // customers read and drop their acks
			defer s.wg.Done()
			io.Copy(io.Discard, c.br)
		}()
	}
	select {
	case <-allAssigned:
		return s, nil
	case <-time.After(60 * time.Second):
		s.close()
		return nil, fmt.Errorf("%d of %d conversations assigned", assigned.Load(), convs)
	}
}

// runOurs: operators log in, customers connect and are assigned, then
// every customer pipelines its messages; the time runs until operators
// have every POST.
func runOurs(persist bool, convs, per, operators int) (time.Duration, error) {
	b, err := startServer(persist, convs, operators)
	if err != nil {
		return 0, err
	}
	defer b.close()
	total := int64(convs * per)
	var posts atomic.Int64
	allIn := make(chan struct{})
	s, err := connect(b.addr, convs, operators, func([]byte) {
		if posts.Add(1) == total {
			close(allIn)
		}
	})
	if err != nil {
		return 0, err
	}
	defer s.close()
	text := string(payload)
	frames := make([][]byte, convs)
	for i := range convs {
		var buf []byte
		for j := range per {
			buf = chat.AppendMessage(buf, &chat.Send{ClientMsgID: strconv.Itoa(j), Text: text})
		}
		frames[i] = buf
	}
	start := time.Now()
	for i, c := range s.custs {
		go c.nc.Write(frames[i])
	}
	select {
	case <-allIn:
	case <-time.After(10 * time.Minute):
		return 0, errors.New("timed out")
	}
	return time.Since(start), nil
}

// readPost reads the sender role and text of a POST payload without
// decoding the rest: conversation id and sequence number (uvarints), the
// sender role, id and name, the kind, then the text.
func readPost(p []byte) (role chat.Role, text []byte, ok bool) {
	skip := func(n int) bool {
		if n < 0 || n > len(p) {
			return false
		}
		p = p[n:]
		return true
	}
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(p)
		return v, n > 0 && skip(n)
	}
	str := func() ([]byte, bool) {
		n, ok := uvarint()
		if !ok || n > uint64(len(p)) {
			return nil, false
		}
		s := p[:n]
		return s, skip(int(n))
	}
	if _, ok := uvarint(); !ok { // conversation
		return 0, nil, false
	}
	if _, ok := uvarint(); !ok { // seq
		return 0, nil, false
	}
	if len(p) == 0 {
		return 0, nil, false
	}
	role = chat.Role(p[0])
	skip(1)
	if _, ok := str(); !ok { // sender id
		return 0, nil, false
	}
	if _, ok := str(); !ok { // sender name
		return 0, nil, false
	}
	if !skip(1) { // kind
		return 0, nil, false
	}
	text, ok = str()
	return role, text, ok
}
