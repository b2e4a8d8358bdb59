package cupsd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotInstalled is returned by Start when cupsd or its clients are
// missing.
var ErrNotInstalled = errors.New("cupsd: CUPS is not installed (apt-get install cups cups-client cups-bsd)")

// Server is a running private cupsd.
type Server struct {
	Dir    string // its ServerRoot
	Socket string // CUPS_SERVER for clients
	cmd    *exec.Cmd
	done   chan error
}

// Start runs cupsd with its state in dir (created if needed) and waits
// until it answers.
func Start(ctx context.Context, dir string) (*Server, error) {
	for _, tool := range []string{"/usr/sbin/cupsd", "lp", "lpadmin", "lpstat"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, ErrNotInstalled
		}
	}
	c := filepath.Join(dir, "cups")
	for _, d := range []string{"spool", "state", "cache", "tmp"} {
		if err := os.MkdirAll(filepath.Join(c, d), 0o755); err != nil {
			return nil, err
		}
	}
	// cupsd drops to user lp for its backends and filters: they must reach
	// the folder.
	for d := c; d != filepath.Dir(d); d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o005 == 0 {
			os.Chmod(d, fi.Mode().Perm()|0o005)
		}
		if d == filepath.Dir(dir) {
			break
		}
	}
	if g, err := user.LookupGroup("lp"); err == nil {
		var gid int
		fmt.Sscan(g.Gid, &gid)
		for _, d := range []string{"spool", "cache", "tmp"} {
			os.Chown(filepath.Join(c, d), 0, gid)
		}
	}
	os.Chmod(filepath.Join(c, "spool"), 0o710)
	os.Chmod(filepath.Join(c, "cache"), 0o770)
	os.Chmod(filepath.Join(c, "tmp"), 0o770)

	base, err := os.ReadFile("/etc/cups/cupsd.conf")
	if err != nil {
		return nil, fmt.Errorf("cupsd: %w", err)
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "Listen %s/cups.sock\n", c)
	sc := bufio.NewScanner(bytes.NewReader(base))
	for sc.Scan() {
		if !strings.HasPrefix(strings.TrimSpace(sc.Text()), "Listen") {
			conf.WriteString(sc.Text() + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(c, "cupsd.conf"), []byte(conf.String()), 0o644); err != nil {
		return nil, err
	}
	files := fmt.Sprintf("SystemGroup root lpadmin\nServerRoot %[1]s\nRequestRoot %[1]s/spool\nStateDir %[1]s/state\nCacheDir %[1]s/cache\nTempDir %[1]s/tmp\nErrorLog %[1]s/error_log\nAccessLog %[1]s/access_log\nPageLog %[1]s/page_log\n", c)
	if err := os.WriteFile(filepath.Join(c, "cups-files.conf"), []byte(files), 0o644); err != nil {
		return nil, err
	}
	s := &Server{Dir: c, Socket: filepath.Join(c, "cups.sock"), done: make(chan error, 1)}
	s.cmd = exec.Command("/usr/sbin/cupsd", "-f", "-c", filepath.Join(c, "cupsd.conf"), "-s", filepath.Join(c, "cups-files.conf"))
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cupsd: start: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		out, _ := s.Command("lpstat", "-r").Output()
		if strings.Contains(string(out), "is running") {
			return s, nil
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("cupsd: exited at start: %v; %s", err, s.ErrorLog())
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("cupsd: not answering: %w", ctx.Err())
		case <-time.After(30 * time.Millisecond):
		}
	}
}

// Command prepares a CUPS client command that talks to this scheduler.
func (s *Server) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "CUPS_SERVER="+s.Socket)
	return cmd
}

// AddQueue makes a raw queue (no -m: CUPS 2.4 then takes the job as is)
// with the given device URI, e.g. socket://127.0.0.1:9100 or
// lpd://127.0.0.1:1515/front?reserve=none.
func (s *Server) AddQueue(name, uri string) error {
	if out, err := s.Command("lpadmin", "-p", name, "-E", "-v", uri).CombinedOutput(); err != nil {
		return fmt.Errorf("cupsd: lpadmin %s: %v: %s", name, err, out)
	}
	return nil
}

// LP prints file to queue with lp -o raw.
func (s *Server) LP(queue, file string) error {
	if out, err := s.Command("lp", "-d", queue, "-o", "raw", file).CombinedOutput(); err != nil {
		return fmt.Errorf("cupsd: lp: %v: %s", err, out)
	}
	return nil
}

// WaitIdle waits until no job is left in the scheduler.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		out, err := s.Command("lpstat", "-o").Output()
		if err == nil && len(bytes.TrimSpace(out)) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cupsd: jobs still queued: %s: %w", out, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ErrorLog returns the tail of the scheduler's error log, for failure
// messages.
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "error_log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Close stops the scheduler.
func (s *Server) Close() error {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
	<-s.done
	return nil
}
