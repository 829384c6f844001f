package smpptest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// ErrNoReceiver is returned by SendMO when no ESME is bound to receive.
var ErrNoReceiver = errors.New("smpptest: no receiver bound")

// MO is a mobile-originated message (a subscriber's reply).
type MO struct {
	// SystemID picks the ESME it goes to ("" any bound receiver).
	SystemID string
	From     string // the subscriber
	To       string // the short code
	Text     string
	// Split says how a long text is split (zero value: UDH with an 8-bit
	// reference, coding chosen automatically). A zero Ref is random.
	Split coding.SplitOptions
}

// SendMO delivers m as one or more deliver_sm to a bound receiver and
// waits for the ESME to acknowledge every part. An ESME's refusal is
// returned as a *smpp.StatusError.
func (s *Server) SendMO(ctx context.Context, m MO) error {
	o := m.Split
	if o.Ref == 0 {
		o.Ref = uint16(rand.IntN(0xFFFF) + 1)
	}
	dc, parts, err := coding.Split(m.Text, o)
	if err != nil {
		return err
	}
	ss := s.receipts.pick(m.SystemID)
	if ss == nil && m.SystemID == "" {
		ss = s.anyReceiver()
	}
	if ss == nil {
		return ErrNoReceiver
	}
	calls := make([]*smpp.Call, 0, len(parts))
	for _, part := range parts {
		d := &pdu.DeliverSM{SourceAddr: m.From, DestinationAddr: m.To}
		part.Apply((*pdu.SubmitSM)(d), dc)
		call, err := ss.Deliver(ctx, d)
		if err != nil {
			return err
		}
		calls = append(calls, call)
	}
	for i, call := range calls {
		if _, err := call.Wait(ctx); err != nil {
			return fmt.Errorf("smpptest: MO part %d of %d: %w", i+1, len(calls), err)
		}
	}
	s.mu.Lock()
	s.stats.MO++
	s.mu.Unlock()
	return nil
}

func (s *Server) anyReceiver() *smpp.ServerSession {
	if rs := s.receivers(); len(rs) > 0 {
		return rs[0]
	}
	return nil
}

// receivers are the sessions bound to receive now, from the SMSC's own
// list of sessions: an ESME that saw its bind answered is in it (OnBind,
// which keeps s.sessions, runs after the answer).
func (s *Server) receivers() []*smpp.ServerSession {
	s.mu.Lock()
	smsc := s.smsc
	s.mu.Unlock()
	if smsc == nil {
		return nil
	}
	var out []*smpp.ServerSession
	for _, ss := range smsc.Sessions() {
		if st := ss.State(); st == smpp.StateBoundRX || st == smpp.StateBoundTRX {
			out = append(out, ss)
		}
	}
	return out
}

// injectMO delivers an MOInjector's submit_sm as an MO to a receiver of
// another system_id and answers the submit_sm with the outcome.
func (s *Server) injectMO(ctx context.Context, from *smpp.ServerSession, sm *pdu.SubmitSM) {
	ud := sm.ShortMessage
	if p, ok := sm.TLVs.MessagePayload(); ok && len(ud) == 0 {
		ud = p
	}
	if sm.ESMClass&coding.ESMClassUDHI != 0 {
		if _, payload, err := coding.ParseUDH(ud); err == nil {
			ud = payload
		}
	}
	text, err := coding.Decode(ud, coding.DataCoding(sm.DataCoding))
	status := pdu.StatusOK
	if err != nil {
		status = pdu.StatusInvMsgLen
	} else {
		var to *smpp.ServerSession
		for _, ss := range s.receivers() {
			if ss.Bind().SystemID != s.cfg.MOInjector {
				to = ss
				break
			}
		}
		switch {
		case to == nil:
			status = pdu.StatusSysErr
		default:
			err := s.SendMO(ctx, MO{SystemID: to.Bind().SystemID, From: sm.SourceAddr, To: sm.DestinationAddr, Text: text})
			var se *smpp.StatusError
			if errors.As(err, &se) {
				status = se.Status
			} else if err != nil {
				status = pdu.StatusSysErr
			}
		}
	}
	from.Respond(sm, &pdu.SubmitSMResp{Header: pdu.Header{Status: status}})
}
