// Package gatewayflag gives the example binaries the same numbering flags
// for the SMS gateway.
package gatewayflag

import (
	"flag"

	"github.com/switchboard-go/switchboard/smpp/gateway"
)

// Flags are how destination numbers are normalized.
type Flags struct {
	gateway.Numbering
}

// Register adds -country-code and -national-prefix to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.CountryCode, "country-code", "58", "country code of national numbers")
	fs.StringVar(&f.NationalPrefix, "national-prefix", "0", `prefix of national numbers ("" for none)`)
}
