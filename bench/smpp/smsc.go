package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
)

// minimalSMSC is the SMSC every client is measured against: it answers
// binds, submit_sm (a decimal message id), enquire_link and unbind, and
// nothing else. It reads through a 64 KiB buffer and writes its answers
// into one, flushed only when no more input is buffered, so that it costs
// each client the same and as little as possible.
type minimalSMSC struct {
	l  net.Listener
	wg sync.WaitGroup
}

func startSMSC() (*minimalSMSC, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &minimalSMSC{l: l}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				serveMinimal(c)
			}()
		}
	}()
	return s, nil
}

func (s *minimalSMSC) addr() string { return s.l.Addr().String() }

func (s *minimalSMSC) close() {
	s.l.Close()
	s.wg.Wait()
}

const (
	bindReceiver    = 0x00000001
	bindTransmitter = 0x00000002
	submitSM        = 0x00000004
	unbind          = 0x00000006
	bindTransceiver = 0x00000009
	enquireLink     = 0x00000015
	respBit         = 0x80000000
	genericNack     = 0x80000000
)

func serveMinimal(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriterSize(c, 64<<10)
	var hdr [16]byte
	var out [64]byte
	var body []byte
	var nextID uint64
	for {
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[0:])
		id := binary.BigEndian.Uint32(hdr[4:])
		seq := binary.BigEndian.Uint32(hdr[12:])
		if n < 16 || n > 64<<10 {
			return
		}
		if cap(body) < int(n-16) {
			body = make([]byte, n-16)
		}
		if _, err := io.ReadFull(r, body[:n-16]); err != nil {
			return
		}
		resp := out[:16]
		switch id {
		case bindReceiver, bindTransmitter, bindTransceiver:
			resp = append(resp, "SMSC\x00"...)
		case submitSM:
			nextID++
			resp = strconv.AppendUint(resp, nextID, 10)
			resp = append(resp, 0)
		case enquireLink, unbind:
		default:
			id = genericNack &^ respBit // answered with generic_nack below
		}
		binary.BigEndian.PutUint32(resp[0:], uint32(len(resp)))
		binary.BigEndian.PutUint32(resp[4:], id|respBit)
		binary.BigEndian.PutUint32(resp[8:], 0)
		binary.BigEndian.PutUint32(resp[12:], seq)
		if id == 0 {
			binary.BigEndian.PutUint32(resp[8:], 3) // ESME_RINVCMDID
		}
		if _, err := w.Write(resp); err != nil {
			return
		}
		if id == unbind {
			w.Flush()
			return
		}
	}
}
