package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// SendFile uploads name's content from r (at most maxSize bytes, which
// are read into memory first to compute the SHA-256) to a conversation
// (0: a customer's own), calling progress with the bytes sent so far, and
// waits for the ACK.
func (c *Client) SendFile(ctx context.Context, conversation int64, name string, r io.Reader, maxSize int64, progress func(sent, total int64)) (*Ack, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("chat: %s is larger than %d bytes", name, maxSize)
	}
	sum := sha256.Sum256(data)
	id := newID()
	transfer := c.transferID()
	c.mu.Lock()
	p := &pendingSend{conv: conversation, gen: c.connGen, res: make(chan result, 1)}
	if p.conv == 0 {
		p.conv = c.welcome.ConversationID
	}
	c.sends[id] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.sends, id)
		c.mu.Unlock()
	}()
	if err := c.write(&FileStart{ConversationID: conversation, TransferID: transfer, Name: name, Size: int64(len(data)),
		SHA256: sum[:], ClientMsgID: id}); err != nil {
		return nil, err
	}
	for off := 0; off < len(data); off += MaxChunk {
		end := min(off+MaxChunk, len(data))
		if err := c.write(&FileChunk{TransferID: transfer, Data: data[off:end]}); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(int64(end), int64(len(data)))
		}
		select {
		case r := <-p.res: // refused early (size, type)
			if r.err != nil {
				return nil, r.err
			}
		default:
		}
	}
	if err := c.write(&FileEnd{TransferID: transfer}); err != nil {
		return nil, err
	}
	select {
	case r := <-p.res:
		if r.err != nil {
			return nil, r.err
		}
		return r.m.(*Ack), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Fetch downloads an attachment into w and returns its metadata; the
// SHA-256 is checked.
func (c *Client) Fetch(ctx context.Context, attachmentID int64, w io.Writer) (*FileStart, error) {
	id := c.transferID()
	return c.download(ctx, &Fetch{AttachmentID: attachmentID, TransferID: id}, id, w)
}

// transferID numbers the client's file transfers.
func (c *Client) transferID() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	return c.nextID
}

// Transcript downloads a conversation's transcript (0: a customer's own)
// into w.
func (c *Client) Transcript(ctx context.Context, conversation int64, format TranscriptFormat, w io.Writer) (*FileStart, error) {
	id := c.transferID()
	return c.download(ctx, &TranscriptRequest{ConversationID: conversation, Format: format, TransferID: id}, id, w)
}

func (c *Client) download(ctx context.Context, req Message, id uint64, w io.Writer) (*FileStart, error) {
	var start *FileStart
	var buf bytes.Buffer
	sum := sha256.New()
	frames := make(chan Message, 64)
	wt := &waiter{res: make(chan result, 1)}
	wt.match = func(m Message) bool {
		end := false
		switch m := m.(type) {
		case *FileStart:
			if m.TransferID != id {
				return false
			}
		case *FileChunk:
			if m.TransferID != id {
				return false
			}
		case *FileEnd:
			if m.TransferID != id {
				return false
			}
			end = true
		case *Error:
			if m.ClientMsgID != "" {
				return false
			}
			end = true
		default:
			return false
		}
		select {
		case frames <- m:
		case <-ctx.Done():
		}
		// The end of the download (or its refusal) is this call's: the
		// handler does not see it too.
		return end
	}
	c.mu.Lock()
	c.waits = append(c.waits, wt)
	c.mu.Unlock()
	defer c.removeWaiter(wt)
	if err := c.write(req); err != nil {
		return nil, err
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.done:
			return nil, c.Err()
		case m := <-frames:
			switch m := m.(type) {
			case *Error:
				return nil, m
			case *FileStart:
				start = m
			case *FileChunk:
				buf.Write(m.Data)
				sum.Write(m.Data)
			case *FileEnd:
				if start == nil || int64(buf.Len()) != start.Size || !bytes.Equal(sum.Sum(nil), start.SHA256) {
					return nil, errors.New("chat: download does not match its size or SHA-256")
				}
				_, err := w.Write(buf.Bytes())
				return start, err
			}
		}
	}
}
