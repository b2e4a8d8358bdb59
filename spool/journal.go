package spool

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// record is one journal line: a job snapshot, or a removal.
type record struct {
	V   uint64 `json:"v,omitempty"`
	Job *Job   `json:"job,omitempty"`
	Rm  string `json:"rm,omitempty"`
}

// encodeRecord frames a record as "<crc32 hex> <json>\n".
func encodeRecord(r record) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, len(body)+10)
	line = fmt.Appendf(line, "%08x ", crc32.ChecksumIEEE(body))
	line = append(line, body...)
	return append(line, '\n'), nil
}

// decodeRecord parses one line (without its newline).
func decodeRecord(line []byte) (record, error) {
	var r record
	if len(line) < 10 || line[8] != ' ' {
		return r, errors.New("short line")
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], line[:8]); err != nil {
		return r, errors.New("bad checksum field")
	}
	body := line[9:]
	if crc32.ChecksumIEEE(body) != uint32(sum[0])<<24|uint32(sum[1])<<16|uint32(sum[2])<<8|uint32(sum[3]) {
		return r, errors.New("checksum mismatch")
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, err
	}
	if r.Rm == "" && (r.Job == nil || r.Job.ID == "") {
		return r, errors.New("empty record")
	}
	return r, nil
}

func removal(id string) record { return record{Rm: id} }

// recordLocked bumps j's version and encodes its snapshot. Called with s.mu
// held.
func (s *Spool) recordLocked(j *Job) ([]byte, error) {
	j.version++
	snap := j.snapshot()
	return encodeRecord(record{V: j.version, Job: &snap})
}

// appendLocked writes j's snapshot to the journal without syncing it.
// Called with s.mu held.
func (s *Spool) appendLocked(j *Job) error {
	rec, err := s.recordLocked(j)
	if err != nil {
		return fmt.Errorf("spool: journal job %s: %w", j.ID, err)
	}
	return s.writeJournal(rec)
}

// appendRaw writes one record without syncing. Called with s.mu held.
func (s *Spool) appendRaw(r record) error {
	rec, err := encodeRecord(r)
	if err != nil {
		return err
	}
	return s.writeJournal(rec)
}

// writeJournal appends encoded records. Called with s.mu held, so records
// of one job reach the file in version order.
func (s *Spool) writeJournal(b []byte) error {
	if _, err := s.journal.Write(b); err != nil {
		return fmt.Errorf("spool: journal: %w", err)
	}
	s.jlines += bytes.Count(b, []byte{'\n'})
	return nil
}

// syncReq asks the group committer to make dir's entries durable, or to
// write rec to the journal and sync it.
type syncReq struct {
	dir  string
	rec  []byte
	done chan error
}

// sync makes dir's entries (dir != "") or the record rec durable. Callers
// arriving while a sync is in progress are batched into the next one: one
// directory sync per directory and one journal sync per batch.
func (s *Spool) sync(dir string, rec []byte) error {
	req := &syncReq{dir: dir, rec: rec, done: make(chan error, 1)}
	s.commitMu.Lock()
	s.queue = append(s.queue, req)
	if s.leading {
		s.commitMu.Unlock()
		return <-req.done
	}
	s.leading = true
	for len(s.queue) > 0 {
		batch := s.queue
		s.queue = nil
		s.commitMu.Unlock()
		err := s.flush(batch)
		for _, r := range batch {
			r.done <- err
		}
		s.commitMu.Lock()
	}
	s.leading = false
	s.idle.Broadcast()
	s.commitMu.Unlock()
	return <-req.done
}

func (s *Spool) flush(batch []*syncReq) error {
	var dirs []string
	var recs []byte
	for _, r := range batch {
		if r.dir != "" && !slices.Contains(dirs, r.dir) {
			dirs = append(dirs, r.dir)
		}
		recs = append(recs, r.rec...)
	}
	for _, d := range dirs {
		s.dirtyMu.Lock()
		dirty := s.dirty[d]
		delete(s.dirty, d)
		s.dirtyMu.Unlock()
		if !dirty {
			continue
		}
		if err := s.fs.SyncDir(d); err != nil {
			s.markDirty(d)
			return fmt.Errorf("sync directory: %w", err)
		}
	}
	if len(recs) == 0 {
		return nil
	}
	s.compactMu.RLock()
	defer s.compactMu.RUnlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	err := s.writeJournal(recs)
	j := s.journal
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := j.Sync(); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	s.syncs.Add(1)
	return nil
}

// escapeName turns a printer name into a directory name: bytes outside
// [A-Za-z0-9_-] become %XX.
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() == 0 {
		return "%"
	}
	return b.String()
}

func unescapeName(dir string) (string, error) {
	if dir == "%" {
		return "", nil
	}
	var b []byte
	for i := 0; i < len(dir); i++ {
		if dir[i] != '%' {
			b = append(b, dir[i])
			continue
		}
		if i+3 > len(dir) {
			return "", fmt.Errorf("bad escape in %q", dir)
		}
		v, err := hex.DecodeString(dir[i+1 : i+3])
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", dir)
		}
		b = append(b, v[0])
		i += 2
	}
	return string(b), nil
}

// recover rebuilds the job table from the journal and the job files, then
// writes a compacted journal.
func (s *Spool) recover() error {
	jpath := filepath.Join(s.dir, journalName)
	recs := map[string]record{}
	removed := map[string]bool{}
	if f, err := s.fs.OpenFile(jpath, os.O_RDONLY, 0); err == nil {
		data, rerr := io.ReadAll(f)
		f.Close()
		if rerr != nil {
			return fmt.Errorf("spool: read journal: %w", rerr)
		}
		lineNo := 0
		for len(data) > 0 {
			lineNo++
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				s.log.Warn("spool: journal ends in a torn record; ignored", "line", lineNo)
				break
			}
			line := data[:i]
			data = data[i+1:]
			r, derr := decodeRecord(line)
			if derr != nil {
				s.log.Warn("spool: bad journal record; ignored", "line", lineNo, "err", derr)
				continue
			}
			if r.Rm != "" {
				removed[r.Rm] = true
				continue
			}
			if old, ok := recs[r.Job.ID]; !ok || r.V > old.V {
				recs[r.Job.ID] = r
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: open journal: %w", err)
	}

	root := filepath.Join(s.dir, jobsDir)
	pdirs, err := s.fs.ReadDir(root)
	if err != nil {
		return fmt.Errorf("spool: recover: %w", err)
	}
	for _, pd := range pdirs {
		if !pd.IsDir() {
			continue
		}
		printer, err := unescapeName(pd.Name())
		if err != nil {
			s.log.Warn("spool: unknown directory in spool; ignored", "dir", pd.Name())
			continue
		}
		dir := filepath.Join(root, pd.Name())
		s.dirs[dir] = true
		files, err := s.fs.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("spool: recover: %w", err)
		}
		for _, fe := range files {
			id, err := ulid.ParseStrict(fe.Name())
			if err != nil || fe.IsDir() {
				continue
			}
			name := filepath.Join(dir, fe.Name())
			if removed[fe.Name()] {
				if err := s.fs.Remove(name); err != nil {
					s.log.Warn("spool: remove pruned job file", "job", fe.Name(), "err", err)
				}
				continue
			}
			info, err := fe.Info()
			if err != nil {
				return fmt.Errorf("spool: recover %s: %w", name, err)
			}
			size := info.Size()
			var j *Job
			if r, ok := recs[fe.Name()]; ok && r.Job.Printer == printer {
				j = r.Job
				j.version = r.V
			} else {
				j = &Job{ID: fe.Name(), Printer: printer, ReceivedAt: ulid.Time(id.Time()).UTC(), Intake: Receiving, State: Pending}
			}
			j.dir = dir
			j.changed = make(chan struct{})
			switch j.Intake {
			case Receiving:
				j.Intake, j.Held, j.Bytes = Truncated, true, size
				j.Reason = "agent stopped while the job was being received"
				s.log.Warn("spool: job was still receiving; held as truncated", "job", j.ID, "printer", j.Printer, "bytes", size)
			case Complete:
				if size < j.Bytes {
					// Commit syncs the data before the record, so this means the disk lost data.
					s.log.Error("spool: complete job has lost bytes; held as truncated", "job", j.ID, "printer", j.Printer, "want", j.Bytes, "have", size)
					j.Intake, j.Held, j.Bytes = Truncated, true, size
					j.Reason = "bytes lost from the disk"
				}
			case Truncated:
				j.Bytes = size
			}
			if j.State == Sending {
				j.State = Pending
				j.Reprint++
				s.log.Warn("spool: job was being sent when the agent stopped; printing it again", "job", j.ID, "printer", j.Printer, "reprint", j.Reprint)
			}
			if cmp := id.Compare(s.lastID); cmp > 0 {
				s.lastID = id
			}
			s.insert(j)
		}
	}
	return s.compact()
}

// compact writes the current state as a fresh journal and swaps it in.
func (s *Spool) compact() error {
	jpath := filepath.Join(s.dir, journalName)
	tmp := jpath + ".tmp"
	f, err := s.fs.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("spool: compact journal: %w", err)
	}
	var buf bytes.Buffer
	for _, j := range s.all {
		snap := j.snapshot()
		rec, err := encodeRecord(record{V: j.version, Job: &snap})
		if err != nil {
			f.Close()
			return fmt.Errorf("spool: compact journal: %w", err)
		}
		buf.Write(rec)
		if buf.Len() > 1<<20 {
			if _, err := f.Write(buf.Bytes()); err != nil {
				f.Close()
				return fmt.Errorf("spool: compact journal: %w", err)
			}
			buf.Reset()
		}
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: compact journal: %w", err)
	}
	// Windows cannot replace a file that is open, so the old journal is
	// closed first (and reopened if the swap fails).
	if s.journal != nil {
		s.journal.Close()
		s.journal = nil
	}
	err = s.fs.Rename(tmp, jpath)
	if err == nil {
		err = s.fs.SyncDir(s.dir)
	}
	jf, oerr := s.fs.OpenFile(jpath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if oerr != nil {
		return fmt.Errorf("spool: open journal: %w", oerr)
	}
	s.journal = jf
	if err != nil {
		return fmt.Errorf("spool: compact journal: %w", err)
	}
	s.jlines = len(s.all)
	return nil
}

// maybeCompact compacts the journal when it has grown well past the number
// of live jobs. It holds the spool lock while it writes.
func (s *Spool) maybeCompact() error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.jlines < 4*len(s.all)+4096 {
		return nil
	}
	start := time.Now()
	err := s.compact()
	s.log.Debug("spool: journal compacted", "jobs", len(s.all), "took", time.Since(start))
	return err
}
