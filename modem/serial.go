package modem

import (
	"fmt"
	"io"

	"go.bug.st/serial"
)

// OpenSerial opens a modem's serial port (e.g. /dev/ttyUSB0, COM3) at
// baud (0: 115200), 8 data bits, no parity, one stop bit (opening a
// port raises DTR, as modems expect). Give what it returns to New.
func OpenSerial(path string, baud int) (io.ReadWriteCloser, error) {
	if baud <= 0 {
		baud = 115200
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("modem: opening %s: %w", path, err)
	}
	return p, nil
}
