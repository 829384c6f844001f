package coding_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Choose a coding and count the units a text takes.
func ExampleChoose() {
	for _, text := range []string{"Pago de {100} €", "Su envío llegó"} {
		dc, units := coding.Choose(text)
		fmt.Println(dc, units)
	}
	// Output:
	// GSM 7-bit 18
	// UCS-2 14
}

// Split a long text into submit_sm PDUs with an 8-bit concatenation header.
func ExampleSplit() {
	text := strings.Repeat("Su pago fue recibido. ", 10) // 220 characters
	dc, parts, err := coding.Split(text, coding.SplitOptions{Method: coding.UDH8, Ref: 42})
	if err != nil {
		log.Fatal(err)
	}
	for i, part := range parts {
		sm := pdu.SubmitSM{DestinationAddr: "584121234567"}
		part.Apply(&sm, dc)
		fmt.Printf("part %d: %d octets, esm_class 0x%02X\n", i+1, len(sm.ShortMessage), sm.ESMClass)
	}
	// Output:
	// part 1: 159 octets, esm_class 0x40
	// part 2: 73 octets, esm_class 0x40
}

// Parse a delivery receipt, and match its id with the submit_sm_resp's
// of an SMSC that writes ids in decimal in its receipts and in hex in its
// responses.
func ExampleParseReceipt() {
	r, ok := coding.ParseReceipt("id:500 sub:001 dlvrd:001 submit date:2611221030 done date:2611221031 stat:DELIVRD err:000 text:hola", nil)
	fromReceipt, _ := coding.NormalizeID(r.ID, coding.IDDecimal)
	fromResponse, _ := coding.NormalizeID("1F4", coding.IDHex)
	fmt.Println(ok, r.Stat, r.Final(), fromReceipt == fromResponse)
	// Output: true DELIVRD true true
}
