package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// serveAttackChild runs a chat server with the default limits (applied
// to loopback addresses too, so that 127.0.0.0/8 stands for many
// clients), one operator "op" with a real bcrypt password, and prints its
// address; the parent attacks it and reads its RSS.
func serveAttackChild(addr string) {
	h, err := chat.HashPassword("the right one")
	if err != nil {
		fail(err)
	}
	srv := &chat.Server{Store: chattest.NewMemStore(), PerIP: chat.PerIPLimits{LimitLoopback: true},
		Operators: chat.StaticDirectory{"op": {ID: "op", Name: "Op", PasswordHash: h}}}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	fmt.Println(l.Addr().String())
	srv.Serve(l)
}

// attack is one attack on the child server; it returns what it saw and
// a function that ends it (closes its connections).
type attack struct {
	name  string
	bound string // what should hold memory down
	run   func(addr string) (seen string, end func(), err error)
}

var attacks = []attack{
	{"uploads", "Files.MaxBuffered 64 MiB", attackUploads},
	{"stalled-hellos", "1,024 handshakes x 16 KiB HELLO, read as it arrives", attackStalledHellos},
	{"queue-flood", "PerIP.MaxWaiting 20", attackQueueFlood},
	{"login-guessing", "5 failures a minute per login and address", attackLogins},
}

// runAttacks runs each attack on a fresh server in a child process and
// prints the server's RSS at rest, during and after it.
func runAttacks() error {
	for _, a := range attacks {
		if err := runAttack(a); err != nil {
			return fmt.Errorf("%s: %w", a.name, err)
		}
	}
	return nil
}

func runAttack(a attack) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "-serve-attack", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return err
	}
	addr = strings.TrimSpace(addr)
	rss := func() float64 {
		kb, _ := rssKB(cmd.Process.Pid)
		return kb / 1024
	}
	time.Sleep(300 * time.Millisecond)
	before := rss()
	seen, end, err := a.run(addr)
	if err != nil {
		return err
	}
	time.Sleep(time.Second)
	during := rss()
	end()
	time.Sleep(2 * time.Second)
	fmt.Printf("attack %-15s server RSS %.1f MB at rest, %.1f MB under attack (+%.1f), %.1f MB after; bound: %s; %s\n",
		a.name, before, during, during-before, rss(), a.bound, seen)
	return nil
}

func dialFrom(addr, from string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

func closeAll(conns []net.Conn) func() {
	return func() {
		for _, c := range conns {
			c.Close()
		}
	}
}

// firstError reads nc until an ERROR or quiet for a while; it returns the
// codes of the ERRORs read.
func readCodes(nc net.Conn, quiet time.Duration) []chat.ErrorCode {
	fr := chat.NewFrameReader(nc, 0)
	var codes []chat.ErrorCode
	for {
		nc.SetReadDeadline(time.Now().Add(quiet))
		f, err := fr.Read()
		if err != nil {
			return codes
		}
		if m, err := chat.Decode(f); err == nil {
			if e, ok := m.(*chat.Error); ok {
				codes = append(codes, e.Code)
			}
		}
	}
}

// attackUploads: 25 clients from 25 addresses each start 4 uploads of
// 10 MiB and send every byte but never FILE_END (1 GB before uploads
// were bounded).
func attackUploads(addr string) (string, func(), error) {
	const clients, perClient, size = 25, 4, 10 << 20
	chunk := make([]byte, chat.MaxChunk)
	sum := sha256.Sum256(make([]byte, size))
	var conns []net.Conn
	var mu sync.Mutex
	refused := 0
	var wg sync.WaitGroup
	for i := range clients {
		nc, err := dialFrom(addr, fmt.Sprintf("127.0.2.%d", 1+i))
		if err != nil {
			return "", closeAll(conns), err
		}
		conns = append(conns, nc)
		nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Mallory", CustomerID: fmt.Sprint(i)}))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, c := range readCodes(nc, 3*time.Second) {
				if c == chat.CodeRateLimited {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range perClient {
				nc.Write(chat.AppendMessage(nil, &chat.FileStart{TransferID: uint64(u + 1), Name: "x.png", Size: size, SHA256: sum[:],
					ClientMsgID: fmt.Sprint("u", u)}))
			}
			for off := 0; off < size; off += len(chunk) {
				for u := range perClient {
					hdr := binary.AppendUvarint(binary.AppendUvarint(nil, uint64(u+1)), uint64(len(chunk)))
					frame := chat.AppendFrame(nil, chat.TypeFileChunk, 0, hdr)
					binary.BigEndian.PutUint32(frame[4:], uint32(len(hdr)+len(chunk)))
					if _, err := nc.Write(append(frame, chunk...)); err != nil {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return fmt.Sprintf("%d uploads of %d MiB attempted (%d MiB), %d refused", clients*perClient, size>>20,
		clients*perClient*size>>20, refused), closeAll(conns), nil
}

// attackStalledHellos: 2,000 connections from 200 addresses, each 100
// bytes into a HELLO that claims 16 KiB, then silent.
func attackStalledHellos(addr string) (string, func(), error) {
	claim := chat.AppendFrame(nil, chat.TypeHello, 0, make([]byte, chat.MaxHelloFrame))[:chat.HeaderLen+100]
	var conns []net.Conn
	for i := range 2000 {
		nc, err := dialFrom(addr, fmt.Sprintf("127.0.3.%d", 1+i%200))
		if err != nil {
			return "", closeAll(conns), err
		}
		nc.Write(claim)
		conns = append(conns, nc)
	}
	return fmt.Sprintf("%d connections", len(conns)), closeAll(conns), nil
}

// attackQueueFlood: 1,000 customers from one address, each saying HELLO
// and leaving.
func attackQueueFlood(addr string) (string, func(), error) {
	welcomed := 0
	for i := range 1000 {
		nc, err := dialFrom(addr, "127.0.4.1")
		if err != nil {
			return "", func() {}, err
		}
		nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Fake", CustomerID: fmt.Sprint(i)}))
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if f, err := chat.NewFrameReader(nc, 0).Read(); err == nil && f.Type == chat.TypeWelcome {
			welcomed++
		}
		nc.Close()
	}
	return fmt.Sprintf("1000 customers from one address, %d queued", welcomed), func() {}, nil
}

// attackLogins: 40 parallel wrong passwords for one login from one
// address.
func attackLogins(addr string) (string, func(), error) {
	var mu sync.Mutex
	codes := map[chat.ErrorCode]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := dialFrom(addr, "127.0.5.1")
			if err != nil {
				return
			}
			defer nc.Close()
			nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleOperator, Login: "op", Password: "guess"}))
			for _, c := range readCodes(nc, 10*time.Second) {
				mu.Lock()
				codes[c]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return fmt.Sprintf("40 parallel guesses in %v: %d checked and refused, %d refused unchecked (rate limited), %d refused at the door (handshakes per address)",
		time.Since(start).Round(time.Millisecond), codes[chat.CodeAuthFailed], codes[chat.CodeRateLimited], codes[chat.CodeTooManyConns]), func() {}, nil
}
