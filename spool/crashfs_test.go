package spool

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// crashFS is an in-memory FS that keeps, for every file, what was written
// and what was synced, and for every directory, its entries and the entries
// as of its last SyncDir. Crash throws away everything unsynced (keeping a
// random prefix of unsynced appends, as a real disk may), the way a power
// cut would. With failAfter set, the FS "dies" after that many operations:
// every later operation fails, as if the process stopped there.
type crashFS struct {
	mu        sync.Mutex
	dirs      map[string]*memDir
	free      uint64
	gen       int
	ops       int
	failAfter int // 0 = never
	rng       *rand.Rand
}

type memDir struct {
	entries map[string]*inode
	durable map[string]*inode
}

type inode struct {
	data, synced []byte
	mtime        time.Time
}

var errCrashed = errors.New("crashfs: process is dead")

func newCrashFS(seed uint64) *crashFS {
	return &crashFS{
		dirs: map[string]*memDir{"/": newMemDir()},
		free: 1 << 40,
		rng:  rand.New(rand.NewPCG(seed, 1)),
	}
}

func newMemDir() *memDir {
	return &memDir{entries: map[string]*inode{}, durable: map[string]*inode{}}
}

// step counts one operation and reports whether the process is dead.
func (c *crashFS) step() error {
	c.ops++
	if c.failAfter > 0 && c.ops > c.failAfter {
		return errCrashed
	}
	return nil
}

func clean(name string) string { return path.Clean("/" + name) }

func (c *crashFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return nil, err
	}
	name = clean(name)
	d, ok := c.dirs[path.Dir(name)]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	base := path.Base(name)
	ino, ok := d.entries[base]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	case !ok && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case !ok:
		ino = &inode{mtime: time.Now()}
		d.entries[base] = ino
	}
	if flag&os.O_TRUNC != 0 {
		ino.data = nil
	}
	return &memFile{fs: c, ino: ino, gen: c.gen, name: name, flag: flag}, nil
}

func (c *crashFS) ReadDir(name string) ([]fs.DirEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return nil, err
	}
	name = clean(name)
	d, ok := c.dirs[name]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []fs.DirEntry
	for n, ino := range d.entries {
		out = append(out, memEntry{name: n, size: int64(len(ino.data))})
	}
	for p := range c.dirs {
		if p != name && path.Dir(p) == name {
			out = append(out, memEntry{name: path.Base(p), dir: true})
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (c *crashFS) MkdirAll(name string, perm fs.FileMode) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return err
	}
	for p := clean(name); p != "/"; p = path.Dir(p) {
		if _, ok := c.dirs[p]; !ok {
			c.dirs[p] = newMemDir()
		}
	}
	return nil
}

func (c *crashFS) Rename(oldname, newname string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return err
	}
	oldname, newname = clean(oldname), clean(newname)
	od, nd := c.dirs[path.Dir(oldname)], c.dirs[path.Dir(newname)]
	if od == nil || nd == nil || od.entries[path.Base(oldname)] == nil {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	nd.entries[path.Base(newname)] = od.entries[path.Base(oldname)]
	delete(od.entries, path.Base(oldname))
	return nil
}

func (c *crashFS) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return err
	}
	name = clean(name)
	d := c.dirs[path.Dir(name)]
	if d == nil || d.entries[path.Base(name)] == nil {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(d.entries, path.Base(name))
	return nil
}

func (c *crashFS) SyncDir(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return err
	}
	d, ok := c.dirs[clean(name)]
	if !ok {
		return &fs.PathError{Op: "sync", Path: name, Err: fs.ErrNotExist}
	}
	d.durable = maps(d.entries)
	return nil
}

func maps(m map[string]*inode) map[string]*inode {
	out := make(map[string]*inode, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *crashFS) Free(string) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.free, nil
}

func (c *crashFS) Lock(string) (io.Closer, error) { return io.NopCloser(nil), nil }

// Crash loses every unsynced write and directory change, invalidates open
// files, and brings the FS back to life.
func (c *crashFS) Crash() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.ops = 0
	c.failAfter = 0
	seen := map[*inode]bool{}
	for _, d := range c.dirs {
		d.entries = maps(d.durable)
		for _, ino := range d.entries {
			if seen[ino] {
				continue
			}
			seen[ino] = true
			keep := ino.synced
			if bytes.HasPrefix(ino.data, ino.synced) && len(ino.data) > len(ino.synced) {
				// A torn append: some unsynced bytes may have reached the disk.
				extra := ino.data[len(ino.synced):]
				keep = append(slices.Clone(ino.synced), extra[:c.rng.IntN(len(extra)+1)]...)
			}
			ino.data = slices.Clone(keep)
			ino.synced = slices.Clone(keep)
		}
	}
}

type memFile struct {
	fs   *crashFS
	ino  *inode
	gen  int
	name string
	flag int
	off  int64
}

func (f *memFile) live() error {
	if f.gen != f.fs.gen {
		return errCrashed
	}
	return f.fs.step()
}

func (f *memFile) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.off)
	f.off += int64(n)
	return n, err
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.gen != f.fs.gen {
		return 0, errCrashed
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.live(); err != nil {
		return 0, err
	}
	if f.flag&os.O_APPEND != 0 {
		f.off = int64(len(f.ino.data))
	}
	end := f.off + int64(len(p))
	if end > int64(len(f.ino.data)) {
		f.ino.data = append(f.ino.data, make([]byte, end-int64(len(f.ino.data)))...)
	}
	copy(f.ino.data[f.off:], p)
	f.off = end
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.live(); err != nil {
		return err
	}
	f.ino.synced = slices.Clone(f.ino.data)
	return nil
}

func (f *memFile) Close() error { return nil }

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return memEntry{name: path.Base(f.name), size: int64(len(f.ino.data))}, nil
}

type memEntry struct {
	name string
	size int64
	dir  bool
}

func (e memEntry) Name() string { return e.name }
func (e memEntry) IsDir() bool  { return e.dir }
func (e memEntry) Type() fs.FileMode {
	if e.dir {
		return fs.ModeDir
	}
	return 0
}
func (e memEntry) Info() (fs.FileInfo, error) { return e, nil }
func (e memEntry) Size() int64                { return e.size }
func (e memEntry) Mode() fs.FileMode          { return e.Type() | 0o600 }
func (e memEntry) ModTime() time.Time         { return time.Time{} }
func (e memEntry) Sys() any                   { return nil }

var _ FS = (*crashFS)(nil)
