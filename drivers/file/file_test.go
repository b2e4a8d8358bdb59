package file

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"printpay.dev/printpay/drivers"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func TestJobAndPaidSlipFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "preview")
	var rendered [][]byte
	p, err := Open(drivers.Config{Device: dir, Render: func(job []byte) ([]byte, error) {
		rendered = append(rendered, bytes.Clone(job))
		return []byte("PNG:" + string(job)), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	jp := p.(drivers.JobPrinter)
	job := make([]byte, 512)
	for i := range job {
		job[i] = byte(i)
	}
	jp.BeginJob("01JOB")
	p.Write(job[:100])
	p.Write(job[100:])
	if got := names(t, dir); len(got) != 1 || !strings.HasPrefix(got[0], ".") {
		t.Fatalf("before EndJob only a hidden part file: %v", got)
	}
	if err := jp.EndJob(); err != nil {
		t.Fatal(err)
	}
	jp.BeginJob(drivers.PaidSlipID("01JOB"))
	p.Write([]byte("paid"))
	jp.EndJob()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"01JOB-paid.bin", "01JOB-paid.png", "01JOB.bin", "01JOB.png"}
	if got := names(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "01JOB.bin")); !bytes.Equal(b, job) {
		t.Fatal(".bin differs from the bytes written")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "01JOB-paid.png")); string(b) != "PNG:paid" {
		t.Fatalf("png %q", b)
	}
	if len(rendered) != 2 || !bytes.Equal(rendered[0], job) {
		t.Fatal("render did not see the job")
	}
}

func TestRenderFailureKeepsJob(t *testing.T) {
	dir := t.TempDir()
	cache := new(drivers.StatusCache)
	p, _ := Open(drivers.Config{Device: dir, Cache: cache, Render: func([]byte) ([]byte, error) {
		return nil, errors.New("render: broken job")
	}})
	jp := p.(drivers.JobPrinter)
	jp.BeginJob("J1")
	p.Write([]byte("x"))
	if err := jp.EndJob(); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); strings.Join(got, " ") != "J1.bin" {
		t.Fatalf("%v", got)
	}
	if s := cache.Get(); s.State != drivers.StateOnline || !strings.Contains(s.Detail, "broken job") {
		t.Fatalf("%+v", s)
	}
	// A panicking renderer is contained too.
	p2, _ := Open(drivers.Config{Device: dir, Render: func([]byte) ([]byte, error) { panic("boom") }})
	jp2 := p2.(drivers.JobPrinter)
	jp2.BeginJob("J2")
	p2.Write([]byte("y"))
	if err := jp2.EndJob(); err != nil {
		t.Fatal(err)
	}
}

func TestUnnamedWritesAndBadIDs(t *testing.T) {
	dir := t.TempDir()
	p, _ := Open(drivers.Config{Device: dir})
	p.Write([]byte("stream"))
	p.Close()
	got := names(t, dir)
	if len(got) != 1 || !strings.HasPrefix(got[0], "unnamed-") || !strings.HasSuffix(got[0], ".bin") {
		t.Fatalf("%v", got)
	}
	p, _ = Open(drivers.Config{Device: dir})
	jp := p.(drivers.JobPrinter)
	for _, id := range []string{"", "../x", "a/b", ".hidden", strings.Repeat("x", 200)} {
		if err := jp.BeginJob(id); err == nil {
			t.Errorf("BeginJob(%q) accepted", id)
		}
	}
	if _, err := p.Write(nil); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := p.Write([]byte("x")); !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(drivers.Config{}); !errors.Is(err, drivers.ErrNotFound) {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Open(drivers.Config{Device: filepath.Join(f, "sub")}); err == nil {
		t.Fatal("folder under a file accepted")
	}
}
