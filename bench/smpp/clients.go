package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	fsmpp "github.com/fiorix/go-smpp/smpp"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	gpdu "github.com/linxGnu/gosmpp/pdu"

	"github.com/switchboard-go/switchboard/bench/internal/workload"
	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// runOurs submits n messages with SubmitAsync from one goroutine while
// another waits for the calls in order.
func runOurs(addr string, n int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := smpp.Dial(ctx, addr, &smpp.Options{SystemID: "bench", Password: "pw", WindowSize: *window, EnquireLink: -1})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	if err := workload.SubmitPipelined(ctx, c, n, *window, func(int) *pdu.SubmitSM { return workload.Ours() }); err != nil {
		return 0, err
	}
	d := time.Since(start)
	if st := c.Stats(); *verbose {
		fmt.Printf("  %d submits in %d writes (%.1f PDUs per write system call)\n", st.Sent, st.Flushes, float64(st.Sent)/float64(st.Flushes))
	}
	return d, c.Unbind(ctx)
}

func startOurServer() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &smpp.Server{WindowSize: *window}
	go srv.Serve(l)
	return l.Addr().String(), func() { srv.Close() }, nil
}

// runGosmpp keeps gosmpp's window in the harness: a submit waits for a
// slot, each submit_sm_resp frees one. (gosmpp's own request window
// registers a request after writing it, and stalls.)
func runGosmpp(addr string, n int) (time.Duration, error) {
	slots := make(chan struct{}, *window)
	var got atomic.Int64
	var bad atomic.Int64
	done := make(chan struct{})
	var failure atomic.Value
	sess, err := gosmpp.NewSession(gosmpp.TRXConnector(gosmpp.NonTLSDialer, gosmpp.Auth{SMSC: addr, SystemID: "bench", Password: "pw"}),
		gosmpp.Settings{
			ReadTimeout:  time.Minute,
			WriteTimeout: time.Minute,
			OnPDU: func(p gpdu.PDU, _ bool) {
				if r, ok := p.(*gpdu.SubmitSMResp); ok {
					if r.CommandStatus != data.ESME_ROK {
						bad.Add(1)
					}
					<-slots
					if got.Add(1) == int64(n) {
						close(done)
					}
				}
			},
			OnSubmitError:    func(_ gpdu.PDU, err error) { failure.CompareAndSwap(nil, err) },
			OnReceivingError: func(err error) { failure.CompareAndSwap(nil, err) },
		}, -1)
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	start := time.Now()
	for range n {
		p, err := workload.Gosmpp()
		if err != nil {
			return 0, err
		}
		slots <- struct{}{}
		if err := sess.Transceiver().Submit(p); err != nil {
			return 0, err
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("%d of %d responses (%v)", got.Load(), n, failure.Load())
	}
	d := time.Since(start)
	if bad.Load() > 0 {
		return 0, fmt.Errorf("%d refused", bad.Load())
	}
	return d, nil
}

// runFiorix submits from 255 goroutines (fiorix's Submit waits for its
// response) with WindowSize 255.
func runFiorix(addr string, n int) (time.Duration, error) {
	tx := &fsmpp.Transceiver{Addr: addr, User: "bench", Passwd: "pw", WindowSize: 255, RespTimeout: time.Minute}
	status := tx.Bind()
	if s := <-status; s.Status() != fsmpp.Connected {
		tx.Close()
		return 0, fmt.Errorf("bind: %v", s.Error())
	}
	defer tx.Close()
	const workers = 255
	var next atomic.Int64
	var wg sync.WaitGroup
	var failure atomic.Value
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				_, err := tx.Submit(&fsmpp.ShortMessage{Src: "ACME", Dst: "584121234567", SourceAddrTON: 5,
					DestAddrTON: 1, DestAddrNPI: 1, Text: pdutext.Raw(workload.Text), Register: pdufield.FinalDeliveryReceipt})
				if err != nil {
					failure.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failure.Load().(error); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// runRaw writes n pre-encoded submit_sm (the same bytes our encoder
// makes) as fast as the socket takes them while a reader counts the
// responses: the ceiling for one connection.
func runRaw(addr string, n int) (time.Duration, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	bind, _ := (&pdu.BindTransceiver{Header: pdu.Header{Sequence: 1}, SystemID: "bench", Password: "pw",
		InterfaceVersion: pdu.Version34}).Encode(nil)
	if _, err := conn.Write(bind); err != nil {
		return 0, err
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	var hdr [16]byte
	readResp := func() (uint32, error) {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 0, err
		}
		l := binary.BigEndian.Uint32(hdr[:])
		if _, err := r.Discard(int(l) - 16); err != nil {
			return 0, err
		}
		return binary.BigEndian.Uint32(hdr[8:]), nil
	}
	if st, err := readResp(); err != nil || st != 0 {
		return 0, fmt.Errorf("bind: status %d, %v", st, err)
	}
	buf := make([]byte, 0, n*64)
	sm := workload.Ours()
	for i := range n {
		sm.Sequence = uint32(i + 2)
		if buf, err = sm.Encode(buf); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(buf)
		werr <- err
	}()
	for range n {
		st, err := readResp()
		if err != nil {
			return 0, err
		}
		if st != 0 {
			return 0, errors.New("refused")
		}
	}
	d := time.Since(start)
	return d, <-werr
}
