package link

import (
	"context"
	"sync"
	"time"

	"printpay.dev/printpay/drivers"
)

// Session is what every streaming driver (serial, tcp, usb, usblp) does
// the same way around its own connection: job bytes go through the bounded
// Writer, connecting first when nothing is open; BeginJob and EndJob mark
// the job boundaries that keep status polls out of a job; Poll and Idle are
// what the poller (see Poll) calls. A driver embeds it and sets W,
// PollInterval, IsOpen and Connect in its Open.
type Session struct {
	W            *Writer
	Jobs         JobState
	PollInterval time.Duration
	IsOpen       func() bool  // a connection is open now
	Connect      func() error // open one; an error wraps a drivers sentinel
}

// Write sends job bytes, connecting first when nothing is open.
func (s *Session) Write(b []byte) (int, error) {
	if !s.IsOpen() {
		if err := s.Connect(); err != nil {
			return 0, err
		}
	}
	return s.W.Write(b)
}

// Poll writes a status poll, only on an open connection.
func (s *Session) Poll(b []byte) error {
	if !s.IsOpen() {
		return drivers.ErrOffline
	}
	_, err := s.W.Write(b)
	return err
}

// Idle reports whether a poll may go out now: no job in progress, no write
// stuck, and nothing written for half the poll interval.
func (s *Session) Idle() bool {
	if _, in := s.Jobs.InJob(); in || s.W.Stuck() {
		return false
	}
	return time.Since(s.W.IdleSince()) >= s.PollInterval/2
}

// BeginJob marks the start of a job.
func (s *Session) BeginJob(id string) error { s.Jobs.Begin(id); return nil }

// EndJob marks its end.
func (s *Session) EndJob() error { s.Jobs.End(); return nil }

// StartPolls runs the status poller (Poll) in a goroutine counted in wg,
// until ctx is done, when on is set (the profile's status_poll).
func (s *Session) StartPolls(ctx context.Context, on bool, wg *sync.WaitGroup, cache *drivers.StatusCache) {
	if !on {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		Poll(ctx, s.PollInterval, s.Idle, s.Poll, cache)
	}()
}
