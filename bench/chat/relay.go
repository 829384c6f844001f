package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/chat"
)

var payload = bytes.Repeat([]byte("m"), 100)

// runRaw relays the same 100-byte frames through a plain Go relay: per
// pair, one goroutine reads the customer's frames and writes them to the
// operator through a buffer flushed when no input is pending.
func runRaw(pairs, per int) (time.Duration, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	var wg sync.WaitGroup
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := l.Accept()
			if err != nil {
				in.Close()
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer in.Close()
				defer out.Close()
				fr := chat.NewFrameReader(in, 0)
				w := bufio.NewWriterSize(out, 32<<10)
				var buf []byte
				for {
					f, err := fr.Read()
					if err != nil {
						w.Flush()
						return
					}
					buf = chat.AppendFrame(buf[:0], f.Type, f.Flags, f.Payload)
					w.Write(buf)
					if fr.Buffered() == 0 {
						if w.Flush() != nil {
							return
						}
					}
				}
			}()
		}
	}()
	frame := chat.AppendFrame(nil, chat.TypeSend, 0, payload)
	blast := bytes.Repeat(frame, per)
	custs := make([]net.Conn, pairs)
	ops := make([]net.Conn, pairs)
	for i := range pairs {
		if custs[i], err = net.Dial("tcp", l.Addr().String()); err != nil {
			return 0, err
		}
		if ops[i], err = net.Dial("tcp", l.Addr().String()); err != nil {
			return 0, err
		}
	}
	defer func() {
		for i := range pairs {
			custs[i].Close()
			ops[i].Close()
		}
		wg.Wait()
	}()
	var got atomic.Int64
	var rg sync.WaitGroup
	start := time.Now()
	for i := range pairs {
		rg.Add(1)
		go func() {
			defer rg.Done()
			if _, err := io.CopyN(io.Discard, ops[i], int64(len(blast))); err == nil {
				got.Add(int64(per))
			}
		}()
		go custs[i].Write(blast)
	}
	rg.Wait()
	d := time.Since(start)
	if got.Load() != int64(pairs*per) {
		return 0, fmt.Errorf("relayed %d of %d", got.Load(), pairs*per)
	}
	return d, nil
}
