package fakeprinter

import (
	"bytes"
	"context"
	"io"
	"sync"
)

// Mode is how the printer answers status queries.
type Mode int

const (
	Online   Mode = iota // DLE EOT 1..4 -> 16 12 12 12, GS r 1 -> 00
	PaperOut             // DLE EOT 2 -> 32, DLE EOT 4 -> 72, GS r 1 -> 0C
	Silent               // never answers
	Garbage              // answers every query with FF FE 41
)

// Printer is a fake printer on one connection.
type Printer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	mode  Mode
	state int // query parser: 0 idle, 1 after DLE, 2 after DLE EOT, 3 after GS, 4 after GS r
	n     chan struct{}
	rw    io.ReadWriter
}

// New returns a printer talking over rw (call Serve to run it).
func New(rw io.ReadWriter) *Printer { return &Printer{rw: rw} }

// SetMode changes how queries are answered.
func (p *Printer) SetMode(m Mode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

// Serve reads until the connection fails and returns that error.
func (p *Printer) Serve() error {
	buf := make([]byte, 4096)
	for {
		n, err := p.rw.Read(buf)
		if n > 0 {
			if reply := p.take(buf[:n]); len(reply) > 0 {
				p.rw.Write(reply)
			}
		}
		if err != nil {
			return err
		}
	}
}

func (p *Printer) take(b []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	var reply []byte
	for _, c := range b {
		switch p.state {
		case 1:
			p.state = 0
			if c == 0x04 {
				p.state = 2
			}
		case 2:
			p.state = 0
			reply = append(reply, p.answer(true, c)...)
			continue
		case 3:
			p.state = 0
			if c == 0x72 {
				p.state = 4
			}
		case 4:
			p.state = 0
			reply = append(reply, p.answer(false, c)...)
			continue
		}
		if p.state == 0 {
			switch c {
			case 0x10:
				p.state = 1
			case 0x1d:
				p.state = 3
			}
		}
	}
	if p.n != nil {
		close(p.n)
		p.n = nil
	}
	return reply
}

func (p *Printer) answer(dle bool, n byte) []byte {
	switch p.mode {
	case Silent:
		return nil
	case Garbage:
		return []byte{0xff, 0xfe, 0x41}
	}
	out := p.mode == PaperOut
	if dle {
		switch n {
		case 1:
			if out {
				return []byte{0x1e}
			}
			return []byte{0x16}
		case 2:
			if out {
				return []byte{0x32}
			}
			return []byte{0x12}
		case 3:
			return []byte{0x12}
		case 4:
			if out {
				return []byte{0x72}
			}
			return []byte{0x12}
		}
		return nil
	}
	if n == 1 || n == '1' {
		if out {
			return []byte{0x0c}
		}
		return []byte{0x00}
	}
	return []byte{0x00}
}

// Bytes returns a copy of everything received.
func (p *Printer) Bytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.buf.Bytes())
}

// Reset forgets what was received.
func (p *Printer) Reset() {
	p.mu.Lock()
	p.buf.Reset()
	p.mu.Unlock()
}

// WaitLen waits until at least n bytes were received or ctx is done.
func (p *Printer) WaitLen(ctx context.Context, n int) bool {
	for {
		p.mu.Lock()
		if p.buf.Len() >= n {
			p.mu.Unlock()
			return true
		}
		if p.n == nil {
			p.n = make(chan struct{})
		}
		ch := p.n
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}
