package main

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	var assigned atomic.Int64
	allAssigned := make(chan struct{})
	var conns []*rawClient
	var wg sync.WaitGroup
	defer func() {
		for _, c := range conns {
			c.nc.Close()
		}
		wg.Wait()
	}()
	for i := range operators {
		c, _, err := dialRaw(b.addr, &chat.Hello{Role: chat.RoleOperator, Login: fmt.Sprintf("op%d", i), Password: "pw"})
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := c.read()
				if err != nil {
					return
				}
				switch m := m.(type) {
				case *chat.Assigned:
					if assigned.Add(1) == convs {
						close(allAssigned)
					}
				case *chat.Post:
					if m.SenderRole == chat.RoleCustomer && len(m.Text) >= 19 {
						sent, _ := strconv.ParseInt(m.Text[:19], 10, 64)
						us := float64(time.Now().UnixNano()-sent) / 1e3
						mu.Lock()
						samples = append(samples, us)
						mu.Unlock()
					}
				case *chat.Ping:
					c.nc.Write(chat.AppendMessage(nil, &chat.Pong{Nonce: m.Nonce}))
				}
			}
		}()
	}
	custs := make([]*rawClient, convs)
	for i := range convs {
		c, _, err := dialRaw(b.addr, &chat.Hello{Role: chat.RoleCustomer, Name: "C" + strconv.Itoa(i), CustomerID: strconv.Itoa(i)})
		if err != nil {
			return nil, err
		}
		custs[i] = c
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := c.fr.Read(); err != nil {
					return
				}
			}
		}()
	}
	select {
	case <-allAssigned:
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%d of %d assigned", assigned.Load(), convs)
	}
	// A pacer sends one message every 1/rate s, round robin; it catches
	// up in small bursts when the timer fires late.
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	sent := 0
	filler := strings.Repeat(".", 81) // 19 digits + 81 = 100 bytes
	for time.Since(start) < dur {
		due := int(time.Since(start) / interval)
		for ; sent < due; sent++ {
			text := fmt.Sprintf("%019d", time.Now().UnixNano()) + filler
			c := custs[sent%convs]
			c.nc.Write(chat.AppendMessage(nil, &chat.Send{ClientMsgID: strconv.Itoa(sent), Text: text}))
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
