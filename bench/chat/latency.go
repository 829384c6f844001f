package main

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/chat"
)

// runLatency sends msgs/s in total, spread over the conversations, each
// message carrying its send time; operators measure customer -> operator
// delivery. Returns the samples in microseconds.
func runLatency(rate int, dur time.Duration, operators int) ([]float64, error) {
	const convs = 1000
	b, err := startServer(false, convs, operators)
	if err != nil {
		return nil, err
	}
	defer b.close()
	var mu sync.Mutex
	var samples []float64
	// The clients share the process (and its garbage collector) with the
	// server: they read the send time straight from the frame and build
	// frames in a reused buffer, so that what is measured is the server.
	sess, err := connect(b.addr, convs, operators, func(text []byte) {
		if len(text) >= 19 {
			sent, _ := strconv.ParseInt(string(text[:19]), 10, 64)
			us := float64(time.Now().UnixNano()-sent) / 1e3
			mu.Lock()
			samples = append(samples, us)
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, err
	}
	defer sess.close()
	custs := sess.custs
	// A pacer sends one message every 1/rate s, round robin; it catches
	// up in small bursts when the timer fires late.
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	sent := 0
	filler := strings.Repeat(".", 81) // 19 digits + 81 = 100 bytes
	var frame []byte
	send := &chat.Send{}
	for time.Since(start) < dur {
		due := int(time.Since(start) / interval)
		for ; sent < due; sent++ {
			send.ClientMsgID = strconv.Itoa(sent)
			send.Text = fmt.Sprintf("%019d", time.Now().UnixNano()) + filler
			frame = chat.AppendMessage(frame[:0], send)
			custs[sent%convs].nc.Write(frame)
		}
		time.Sleep(interval)
	}
	time.Sleep(200 * time.Millisecond) // the last ones arrive
	mu.Lock()
	defer mu.Unlock()
	if len(samples) < sent*9/10 {
		return nil, fmt.Errorf("%d of %d messages measured", len(samples), sent)
	}
	return append([]float64(nil), samples...), nil
}
