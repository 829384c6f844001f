package smpp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// ErrOutbindRefused is returned by AcceptOutbind when its check refuses
// the SMSC's outbind.
var ErrOutbindRefused = errors.New("smpp: outbind refused")

// AcceptOutbind serves an SMSC that connected to the ESME (conn, e.g.
// from a listener the ESME runs, which AcceptOutbind takes over): it waits
// for the SMSC's outbind, lets check decide on the SMSC's system_id and
// password (nil accepts any), and binds over the same connection as a
// receiver; with SMPP 5.0 (opts.InterfaceVersion) and Mode Transceiver,
// the default Mode, as a transceiver, which 5.0 allows.
// It performs I/O and returns the bound Client; ctx and opts.BindTimeout
// bound the whole exchange. On any failure conn is closed.
func AcceptOutbind(ctx context.Context, conn net.Conn, opts *Options, check func(systemID, password string) bool) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.defaults()
	if o.Mode != Transceiver || o.InterfaceVersion < pdu.Version50 {
		o.Mode = Receiver
	}
	ob, err := readOutbind(ctx, conn, o.BindTimeout, o.MaxPDULen)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if check != nil && !check(ob.SystemID, ob.Password) {
		conn.Close()
		return nil, fmt.Errorf("%w: system_id %q", ErrOutbindRefused, ob.SystemID)
	}
	return NewClient(ctx, conn, &o)
}

// readOutbind reads the first PDU of conn, which must be an outbind. It
// reads exactly one PDU, so nothing the connection carries next is
// buffered away from the session that takes it over.
func readOutbind(ctx context.Context, conn net.Conn, timeout time.Duration, maxLen int) (*pdu.Outbind, error) {
	conn.SetReadDeadline(time.Now().Add(timeout))
	defer conn.SetReadDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	if maxLen <= 0 {
		maxLen = pdu.DefaultMaxLen
	}
	var hdr [pdu.HeaderLen]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, outbindReadError(ctx, err)
	}
	n := int(binary.BigEndian.Uint32(hdr[:4]))
	if n < pdu.HeaderLen || n > maxLen {
		return nil, fmt.Errorf("smpp: outbind: command_length %d out of range", n)
	}
	if id := pdu.CommandID(binary.BigEndian.Uint32(hdr[4:8])); id != pdu.OutbindID {
		return nil, fmt.Errorf("smpp: expected outbind, got %s", id)
	}
	buf := make([]byte, n)
	copy(buf, hdr[:])
	if _, err := io.ReadFull(conn, buf[pdu.HeaderLen:]); err != nil {
		return nil, outbindReadError(ctx, err)
	}
	p, err := pdu.Decode(buf)
	if err != nil {
		return nil, fmt.Errorf("smpp: outbind: %w", err)
	}
	return p.(*pdu.Outbind), nil
}

func outbindReadError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("smpp: waiting for outbind: %w", err)
}
