package status

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"printpay.dev/printpay/agent/render"
	"printpay.dev/printpay/spool"
)

// maxPreviewBytes is how much of a job a preview reads; render caps the
// picture's height on its own.
const maxPreviewBytes = 4 << 20

// preview is one rendered picture of a job, or why there is none.
type preview struct {
	png      []byte
	warnings []string
	err      string // set when png is nil
}

// previewCache keeps the last rendered previews (an LRU).
type previewCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *previewEntry, most recent first
	byKey map[string]*list.Element
	sem   chan struct{} // one render at a time: previews never starve printing of CPU
}

type previewEntry struct {
	key string
	p   preview
}

func newPreviewCache(max int) *previewCache {
	return &previewCache{max: max, order: list.New(), byKey: map[string]*list.Element{}, sem: make(chan struct{}, 1)}
}

func (c *previewCache) get(key string) (preview, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*previewEntry).p, true
	}
	return preview{}, false
}

func (c *previewCache) put(key string, p preview) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		e.Value.(*previewEntry).p = p
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&previewEntry{key, p})
	for c.order.Len() > c.max {
		e := c.order.Back()
		c.order.Remove(e)
		delete(c.byKey, e.Value.(*previewEntry).key)
	}
}

func (c *previewCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// previewKey changes whenever what a preview shows may have changed.
func previewKey(j spool.Job, kind string) string {
	return fmt.Sprintf("%s/%s/%s/%s/%d/%d/%s/%d", j.ID, kind, j.Intake, j.State, j.Reprint, j.Bytes, j.Result.QR, len(j.Result.Receipts))
}

// preview returns the "before" (the job's bytes) or "after" (what was
// printed) picture of job j, rendering it on a cache miss.
func (s *Server) preview(ctx context.Context, j spool.Job, kind string) preview {
	key := previewKey(j, kind)
	if p, ok := s.previews.get(key); ok {
		return p
	}
	p := s.renderPreview(ctx, j, kind)
	if ctx.Err() == nil {
		s.previews.put(key, p)
	}
	return p
}

func (s *Server) renderPreview(ctx context.Context, j spool.Job, kind string) preview {
	if kind == "after" && s.opt.Printed == nil {
		return preview{err: "no after preview"}
	}
	if j.Intake == spool.Receiving {
		return preview{err: "the job is still being received"}
	}
	data, cut, err := s.readJob(ctx, j.ID)
	if err != nil {
		return preview{err: err.Error()}
	}
	var notes []string
	if cut {
		notes = append(notes, fmt.Sprintf("only the first %d bytes are drawn", maxPreviewBytes))
	}
	if kind == "after" {
		if j.State != spool.Done {
			return preview{err: "not printed yet"}
		}
		if data, err = s.opt.Printed(j, data); err != nil {
			return preview{err: err.Error()}
		}
	}
	opt := render.Options{FontPaths: s.opt.FontPaths}
	for _, p := range s.opt.Printers {
		if p.Name == j.Printer {
			opt.PaperDots, opt.Encoding = p.PaperDots, p.Encoding
		}
	}
	select {
	case s.previews.sem <- struct{}{}:
	case <-ctx.Done():
		return preview{err: ctx.Err().Error()}
	}
	png, warnings, err := render.PNG(data, opt)
	<-s.previews.sem
	if err != nil {
		return preview{err: err.Error()}
	}
	return preview{png: png, warnings: append(notes, warnings...)}
}

// readJob reads up to maxPreviewBytes of a job; cut reports that there was
// more. A truncated job reads up to where it broke off.
func (s *Server) readJob(ctx context.Context, id string) (data []byte, cut bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := s.opt.Spool.Open(ctx, id)
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	data, err = io.ReadAll(io.LimitReader(r, maxPreviewBytes+1))
	if err != nil && !errors.Is(err, spool.ErrTruncated) {
		return nil, false, err
	}
	if len(data) > maxPreviewBytes {
		return data[:maxPreviewBytes], true, nil
	}
	return data, false, nil
}

// previewPNG serves /jobs/{id}/before.png and /jobs/{id}/after.png.
func (s *Server) previewPNG(w http.ResponseWriter, r *http.Request) {
	kind, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	if !ok || (kind != "before" && kind != "after") {
		http.NotFound(w, r)
		return
	}
	j, err := s.opt.Spool.Get(r.PathValue("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	p := s.preview(r.Context(), j, kind)
	if p.png == nil {
		http.Error(w, p.err, http.StatusUnprocessableEntity)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=60")
	w.Write(p.png)
}
