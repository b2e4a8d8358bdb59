package cloud

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

const uploadsDir = "uploads"

// queue is the durable receipt.upload queue: one file per frame in
// StateDir/uploads, named by a ULID so that names sort in arrival order.
type queue struct {
	dir string

	mu sync.Mutex
	n  int
}

func openQueue(state string) (*queue, error) {
	q := &queue{dir: filepath.Join(state, uploadsDir)}
	if err := os.MkdirAll(q.dir, 0o700); err != nil {
		return nil, fmt.Errorf("cloud: upload queue: %w", err)
	}
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("cloud: upload queue: %w", err)
	}
	for _, e := range ents {
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".tmp"):
			// A write cut short by a crash: Upload never returned nil
			// for it.
			os.Remove(filepath.Join(q.dir, name))
		case strings.HasSuffix(name, ".json"):
			q.n++
		}
	}
	return q, nil
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// add stores one frame durably under name (a ULID).
func (q *queue) add(name string, frame []byte) error {
	if err := writeFileAtomic(filepath.Join(q.dir, name+".json"), frame, 0o600); err != nil {
		return fmt.Errorf("cloud: queue upload: %w", err)
	}
	q.mu.Lock()
	q.n++
	q.mu.Unlock()
	return nil
}

// list returns the queued names, oldest first.
func (q *queue) list() ([]string, error) {
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("cloud: upload queue: %w", err)
	}
	var names []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !strings.HasPrefix(name, ".") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

func (q *queue) read(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(q.dir, name+".json"))
}

// remove drops an acked (or rejected) frame.
func (q *queue) remove(name string) error {
	err := os.Remove(filepath.Join(q.dir, name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cloud: upload queue: %w", err)
	}
	q.mu.Lock()
	q.n--
	q.mu.Unlock()
	return syncDir(q.dir)
}
