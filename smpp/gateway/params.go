package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/modem"
	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/store"
)

// CheckOperator reports whether the gateway can run op: its bind mode
// and parameters.
func CheckOperator(op store.Operator) error {
	_, err := newProfile(op)
	return err
}

// DefaultResponseTimeout is how long the gateway waits for an operator's
// submit_sm_resp when its gateway.response_timeout is not set.
const DefaultResponseTimeout = 30 * time.Second

// profile is an operator's configuration turned into what the sessions
// and the dispatcher use.
type profile struct {
	op          store.Operator
	addr        string
	opts        smpp.Options
	tmpl        pdu.SubmitSM // fields every submit_sm starts from
	split       coding.SplitOptions
	receiptID   string        // same, hex-dec, dec-hex
	atMostOnce  bool          // gateway.resend=at-most-once: never send what may have reached the SMSC again
	queryAfter  time.Duration // gateway.query_after
	giveUpAfter time.Duration // gateway.give_up_after, else a relative validity period plus queryAfter, else DefaultGiveUpAfter
	certPEM     string        // gateway.tls_cert and tls_key, paired by finishTLS
	keyPEM      string
	modemSubmit modem.SubmitOptions // a modem operator's: service centre, status reports, validity
	// reportTolerance is how far a modem's status report's service
	// centre time may be from the recorded submission it is for
	// (gateway.report_date_tolerance).
	reportTolerance time.Duration
}

// DefaultReportDateTolerance is how far a modem's status report's
// service centre time may be from the recorded submission it is for,
// when gateway.report_date_tolerance is not set: the clocks of the
// service centre and of this machine may differ by that much. A modem
// reuses a message reference every 256 parts (15 to 25 minutes for a
// real one); reports are told apart as long as it reuses one no sooner
// than twice this.
const DefaultReportDateTolerance = time.Minute

func newProfile(op store.Operator) (*profile, error) {
	if op.Kind == store.KindModem {
		return newModemProfile(op)
	}
	p := &profile{op: op, addr: net.JoinHostPort(op.Host, strconv.Itoa(op.Port)), receiptID: "same"}
	p.opts = smpp.Options{SystemID: op.SystemID, Password: op.Password, SystemType: op.SystemType,
		WindowSize: op.WindowSize, EnquireLink: op.EnquireLink}
	switch op.BindMode {
	case store.BindTransmitter:
		p.opts.Mode = smpp.Transmitter
	case store.BindReceiver:
		p.opts.Mode = smpp.Receiver
	case store.BindPair:
		p.opts.Mode = smpp.TransmitterReceiver
	case store.BindTransceiver, "":
		p.opts.Mode = smpp.Transceiver
	default:
		return nil, fmt.Errorf("operator %s: bind mode %q", op.Name, op.BindMode)
	}
	if op.TLS {
		p.opts.TLSConfig = &tls.Config{ServerName: op.Host, MinVersion: tls.VersionTLS12}
	}
	// Real SMSCs answer within seconds but, loaded, take tens of them
	// (Kannel waits 60s, Jasmin 30s); a short timeout only makes late
	// answers.
	p.opts.ResponseTimeout = DefaultResponseTimeout
	p.tmpl = pdu.SubmitSM{SourceAddrTON: 1, SourceAddrNPI: 1, DestAddrTON: 1, DestAddrNPI: 1, RegisteredDelivery: 1}
	for _, prm := range op.Params {
		if err := p.apply(prm); err != nil {
			value := prm.Value
			if strings.HasPrefix(prm.Name, "tls_") && prm.Name != "tls_server_name" {
				value = "(PEM)" // never a key in a log
			}
			return nil, fmt.Errorf("operator %s: param %s.%s=%q: %w", op.Name, prm.Command, prm.Name, value, err)
		}
	}
	p.followUpDefaults()
	if err := p.finishTLS(); err != nil {
		return nil, fmt.Errorf("operator %s: %w", op.Name, err)
	}
	return p, nil
}

// followUpDefaults sets query_after and give_up_after when not given.
func (p *profile) followUpDefaults() {
	if p.queryAfter <= 0 {
		p.queryAfter = DefaultQueryAfter
	}
	if p.giveUpAfter <= 0 {
		p.giveUpAfter = DefaultGiveUpAfter
		if d, ok := relativeValidity(p.op.Params); ok {
			p.giveUpAfter = d + p.queryAfter // the SMSC's EXPIRED receipt may come last
		}
	}
}

// modemParams are the operator parameters a modem operator takes; the
// others are SMPP's.
var modemParams = map[string]bool{
	"gateway.resend": true, "gateway.give_up_after": true, "gateway.query_after": true, "gateway.languages": true,
	"gateway.split": true, "submit_sm.validity_period": true, "submit_sm.registered_delivery": true,
	"submit_sm.data_coding": true,
}

// newModemProfile is newProfile for a modem operator: status reports
// asked for (submit_sm.registered_delivery 0 turns them off), the
// validity period only as a duration, parts with a UDH.
func newModemProfile(op store.Operator) (*profile, error) {
	p := &profile{op: op, addr: op.Modem.Device, receiptID: "same", reportTolerance: DefaultReportDateTolerance}
	p.tmpl.RegisteredDelivery = 1
	for _, prm := range op.Params {
		err := errors.New("not a modem operator's")
		switch key := prm.Command + "." + prm.Name; {
		case key == "gateway.report_date_tolerance":
			if p.reportTolerance, err = time.ParseDuration(prm.Value); err == nil && p.reportTolerance <= 0 {
				err = errors.New("want a positive duration")
			}
		case key == "submit_sm.data_coding" && !modemCoding(prm.Value):
			// A modem's PDU carries GSM 7-bit or UCS-2 (the SMPP codings
			// 1 to 7 are not its TP-DCS values).
			err = errors.New("a modem sends 0 (GSM 7-bit) or 8 (UCS-2)")
		case modemParams[key]:
			err = p.apply(prm)
		}
		if err != nil {
			return nil, fmt.Errorf("operator %s: param %s.%s=%q: %w", op.Name, prm.Command, prm.Name, prm.Value, err)
		}
	}
	if p.split.Method != coding.UDH8 && p.split.Method != coding.UDH16 {
		return nil, fmt.Errorf("operator %s: a modem sends long messages with gateway.split udh8 or udh16", op.Name)
	}
	p.modemSubmit = modem.SubmitOptions{SMSC: op.Modem.SMSC, StatusReport: p.tmpl.RegisteredDelivery&0x03 != 0}
	if v := p.tmpl.ValidityPeriod; v != "" {
		d, ok := relativeValidity(op.Params)
		if !ok {
			return nil, fmt.Errorf("operator %s: a modem's submit_sm.validity_period is a duration (e.g. 48h)", op.Name)
		}
		p.modemSubmit.Validity = d
	}
	p.followUpDefaults()
	return p, nil
}

// modemCoding reports whether v is a data coding a modem sends: 0 or 8.
func modemCoding(v string) bool {
	n, err := strconv.ParseUint(v, 0, 8)
	return err == nil && (n == 0 || n == 8)
}

func (p *profile) apply(prm store.OperatorParam) error {
	u8 := func(dst *uint8) error {
		n, err := strconv.ParseUint(prm.Value, 0, 8)
		*dst = uint8(n)
		return err
	}
	switch prm.Command + "." + prm.Name {
	case "submit_sm.service_type":
		p.tmpl.ServiceType = prm.Value
	case "submit_sm.source_addr_ton":
		return u8(&p.tmpl.SourceAddrTON)
	case "submit_sm.source_addr_npi":
		return u8(&p.tmpl.SourceAddrNPI)
	case "submit_sm.dest_addr_ton":
		return u8(&p.tmpl.DestAddrTON)
	case "submit_sm.dest_addr_npi":
		return u8(&p.tmpl.DestAddrNPI)
	case "submit_sm.esm_class":
		return u8(&p.tmpl.ESMClass)
	case "submit_sm.protocol_id":
		return u8(&p.tmpl.ProtocolID)
	case "submit_sm.priority_flag":
		return u8(&p.tmpl.PriorityFlag)
	case "submit_sm.registered_delivery":
		return u8(&p.tmpl.RegisteredDelivery)
	case "submit_sm.replace_if_present_flag":
		return u8(&p.tmpl.ReplaceIfPresentFlag)
	case "submit_sm.data_coding":
		var dc uint8
		if err := u8(&dc); err != nil {
			return err
		}
		p.split.Coding, p.split.Fixed = coding.DataCoding(dc), true
	case "submit_sm.validity_period":
		if d, err := time.ParseDuration(prm.Value); err == nil {
			p.tmpl.ValidityPeriod = pdu.RelativeTime(d)
			return nil
		}
		if _, err := pdu.ParseTime(prm.Value, time.Now()); err != nil {
			return err
		}
		p.tmpl.ValidityPeriod = prm.Value
	case "bind.system_type":
		p.opts.SystemType = prm.Value
	case "bind.interface_version":
		switch prm.Value {
		case "34", "0x34":
			p.opts.InterfaceVersion = pdu.Version34
		case "50", "0x50":
			p.opts.InterfaceVersion = pdu.Version50
		default:
			return fmt.Errorf("want 34 or 50")
		}
	case "bind.addr_ton":
		return u8(&p.opts.AddrTON)
	case "bind.addr_npi":
		return u8(&p.opts.AddrNPI)
	case "bind.address_range":
		p.opts.AddressRange = prm.Value
	case "gateway.receipt_id":
		switch prm.Value {
		case "same", "hex-dec", "dec-hex":
			p.receiptID = prm.Value
		default:
			return fmt.Errorf("want same, hex-dec or dec-hex")
		}
	case "gateway.split":
		m, ok := map[string]coding.Method{"udh8": coding.UDH8, "udh16": coding.UDH16, "sar": coding.SAR, "payload": coding.Payload}[prm.Value]
		if !ok {
			return fmt.Errorf("want udh8, udh16, sar or payload")
		}
		p.split.Method = m
	case "gateway.response_timeout":
		d, err := time.ParseDuration(prm.Value)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration")
		}
		p.opts.ResponseTimeout = d
	case "gateway.query_after", "gateway.give_up_after":
		d, err := time.ParseDuration(prm.Value)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration")
		}
		if prm.Name == "query_after" {
			p.queryAfter = d
		} else {
			p.giveUpAfter = d
		}
	case "gateway.resend":
		switch prm.Value {
		case "at-least-once":
			p.atMostOnce = false
		case "at-most-once":
			p.atMostOnce = true
		default:
			return fmt.Errorf("want at-least-once or at-most-once")
		}
	case "gateway.tls_server_name", "gateway.tls_ca", "gateway.tls_cert", "gateway.tls_key":
		if p.opts.TLSConfig == nil {
			return fmt.Errorf("the operator does not use TLS")
		}
		return p.applyTLS(prm.Name, prm.Value)
	case "gateway.languages":
		langs, err := parseLanguages(prm.Value)
		if err != nil {
			return err
		}
		p.split.Languages = langs
	case "gateway.inbound_packed":
		b, err := strconv.ParseBool(prm.Value)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		p.opts.InboundPackedGSM = b
	default:
		return fmt.Errorf("unknown parameter")
	}
	return nil
}

// idFormats are the formats of an operator's message ids in its
// submit_sm_resps and in its receipts (gateway.receipt_id).
func (p *profile) idFormats() (submit, receipt coding.IDFormat) {
	switch p.receiptID {
	case "hex-dec":
		return coding.IDHex, coding.IDDecimal
	case "dec-hex":
		return coding.IDDecimal, coding.IDHex
	}
	return coding.IDText, coding.IDText
}

// submitID is the form a submit_sm_resp message id is recorded in: for an
// operator whose receipts write ids in another base, both sides are
// normalized to one number (coding.NormalizeID).
func (p *profile) submitID(id string) string {
	f, _ := p.idFormats()
	n, _ := coding.NormalizeID(id, f)
	return n
}

// receiptMessageID turns a receipt's message id (from its text or its
// receipted_message_id TLV: the operator's setting says the form of
// either) into the recorded form.
func (p *profile) receiptMessageID(r *coding.Receipt) string {
	_, f := p.idFormats()
	n, _ := coding.NormalizeID(r.ID, f)
	return n
}

// relativeValidity is the operator's submit_sm.validity_period when it is
// given as a Go duration.
func relativeValidity(params []store.OperatorParam) (time.Duration, bool) {
	for _, prm := range params {
		if prm.Command == "submit_sm" && prm.Name == "validity_period" {
			if d, err := time.ParseDuration(prm.Value); err == nil && d > 0 {
				return d, true
			}
		}
	}
	return 0, false
}
