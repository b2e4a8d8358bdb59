package cloud

import (
	"context"
	"errors"
	"fmt"
	"time"

	"printpay.dev/printpay/server/apiv1"
)

const (
	uploadRetryMin = time.Second
	uploadRetryMax = time.Minute
)

// Upload queues a printed receipt for the server's ledger. The receipt is
// shaped by Config.Upload first (with "off" nothing is kept), then written
// to the queue on disk and synced; the upload is sent while the link is
// up, and removed once the server acks it. Upload fills u.ID when empty.
func (c *Client) Upload(u apiv1.ReceiptUpload) error {
	r, ok := shapeReceipt(u.Receipt, c.cfg.Upload)
	if !ok {
		return nil
	}
	u.Receipt = r
	name := newID()
	if u.ID == "" {
		u.ID = name
	}
	frame, err := encode(&u)
	if errors.Is(err, ErrTooLarge) && len(u.Receipt.Lines) > 0 {
		frame, err = fitLines(&u)
	}
	if err != nil {
		return fmt.Errorf("cloud: upload %s/%d: %w", u.JobID, u.ReceiptIndex, err)
	}
	if err := c.q.add(name, frame); err != nil {
		return err
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return nil
}

// fitLines drops trailing lines until the frame fits MaxFrameBytes.
func fitLines(u *apiv1.ReceiptUpload) ([]byte, error) {
	lines := u.Receipt.Lines
	lo, hi := 0, len(lines) // lines[:lo] fits; lines[:hi] does not
	var best []byte
	for lo < hi {
		mid := (lo + hi + 1) / 2
		u.Receipt.Lines = lines[:mid]
		b, err := encode(u)
		if err == nil {
			lo, best = mid, b
		} else if errors.Is(err, ErrTooLarge) {
			hi = mid - 1
		} else {
			return nil, err
		}
	}
	if best != nil {
		u.Receipt.Lines = lines[:lo]
		return best, nil
	}
	u.Receipt.Lines = []string{}
	return encode(u)
}

// sendUploads drains the queue on one connection, one frame at a time:
// each is sent once and waits for its ack, which removes it. A retryable
// refusal waits and tries again; any other refusal drops the frame (logged),
// so that one bad receipt never blocks the others.
func (c *Client) sendUploads(ctx context.Context, s *session) {
	retry := uploadRetryMin
	for {
		wait := time.Duration(0)
		names, err := c.q.list()
		if err != nil {
			c.log.Warn("upload queue unreadable", "err", err)
			wait = uploadRetryMax
		}
		for _, name := range names {
			err := c.sendUpload(ctx, s, name)
			if err == nil {
				retry = uploadRetryMin
				continue
			}
			if ctx.Err() != nil || errors.Is(err, ErrDisconnected) || errors.Is(err, ErrNotConnected) {
				return
			}
			c.log.Warn("receipt upload refused for now; retrying", "err", err, "in", retry)
			wait = retry
			retry = min(2*retry, uploadRetryMax)
			break
		}
		if !c.idle(ctx, s, wait) {
			return
		}
	}
}

// idle waits for new work (or, after a refusal, for the retry delay); it
// reports false when the connection or ctx ended.
func (c *Client) idle(ctx context.Context, s *session, wait time.Duration) bool {
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(jitter(wait))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	case <-c.kick:
		if wait > 0 {
			// New work does not cut a retry delay short.
			select {
			case <-timer:
			case <-ctx.Done():
				return false
			case <-s.done:
				return false
			}
		}
	case <-timer:
	}
	return true
}

// sendUpload sends one queued frame and removes it after the ack. The
// returned error means "try again later".
func (c *Client) sendUpload(ctx context.Context, s *session, name string) error {
	frame, err := c.q.read(name)
	if err != nil {
		c.log.Warn("queued upload unreadable; dropped", "file", name, "err", err)
		return c.q.remove(name)
	}
	m, err := apiv1.Decode(frame)
	u, ok := m.(*apiv1.ReceiptUpload)
	if err != nil || !ok || u.ID == "" {
		c.log.Warn("queued upload corrupt; dropped", "file", name, "err", err)
		return c.q.remove(name)
	}
	_, err = s.callRaw(ctx, u.ID, frame, apiv1.TypeAck)
	var refusal apiv1.Error
	switch {
	case err == nil:
		c.log.Debug("receipt uploaded", "job", u.JobID, "receipt", u.ReceiptIndex)
		return c.q.remove(name)
	case errors.As(err, &refusal) && !refusal.Retryable:
		c.log.Warn("receipt upload rejected by the server; dropped", "job", u.JobID, "receipt", u.ReceiptIndex,
			"code", refusal.Code, "message", refusal.Message)
		return c.q.remove(name)
	}
	return err
}
