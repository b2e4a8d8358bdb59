package intake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/spool"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       Command
		err        string
	}{
		{"receive job", "\x02front", Command{Code: 2, Queue: "front"}, ""},
		{"short state with list", "\x03front 12 root", Command{Code: 3, Queue: "front", Operands: []string{"12", "root"}}, ""},
		{"remove", "\x05front alice 017", Command{Code: 5, Queue: "front", Operands: []string{"alice", "017"}}, ""},
		{"remove without agent", "\x05front", Command{}, "remove jobs needs an agent"},
		{"unknown code", "\x07front", Command{}, "unknown command 0x07"},
		{"no queue", "\x02", Command{}, "short line"},
		{"blank queue", "\x02  ", Command{}, "no queue name"},
		{"operands on receive", "\x02front extra", Command{}, "takes only a queue name"},
		{"control byte", "\x02fr\x01ont", Command{}, "control byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCommand([]byte(tc.line))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseSubcommand(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       Subcommand
		err        string
	}{
		{"control", "\x0250 cfA928vm", Subcommand{Code: 2, Count: 50, Name: "cfA928vm"}, ""},
		{"data", "\x035137 dfA928vm", Subcommand{Code: 3, Count: 5137, Name: "dfA928vm"}, ""},
		{"until EOF", "\x030 dfA001host", Subcommand{Code: 3, Count: 0, Name: "dfA001host"}, ""},
		{"abort", "\x01", Subcommand{Code: 1}, ""},
		{"negative", "\x03-5 dfA1", Subcommand{}, "bad count"},
		{"huge count", "\x039999999999999999999 dfA1", Subcommand{}, "bad count"},
		{"no name", "\x03100", Subcommand{}, "want count and name"},
		{"path in name", "\x03100 ../etc/passwd", Subcommand{}, "bad file name"},
		{"unknown", "\x09100 x", Subcommand{}, "unknown subcommand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSubcommand([]byte(tc.line))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// FuzzParseCommand parses any line as a daemon command and a subcommand;
// whatever parses must format back to a line that parses the same.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"\x02front", "\x03front 1 2", "\x05q root 017", "\x0250 cfA928vm", "\x035137 dfA928vm", "\x030 dfA1h", "\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if c, err := ParseCommand(line); err == nil {
			again, err := ParseCommand([]byte(c.String()))
			if err != nil || !reflect.DeepEqual(again, c) {
				t.Fatalf("command %+v formats to %q, which parses to %+v, %v", c, c.String(), again, err)
			}
		}
		if s, err := ParseSubcommand(line); err == nil {
			if s.Count < 0 {
				t.Fatalf("negative count from %q", line)
			}
			again, err := ParseSubcommand([]byte(s.String()))
			if err != nil || again != s {
				t.Fatalf("subcommand %+v formats to %q, which parses to %+v, %v", s, s.String(), again, err)
			}
		}
	})
}

// lpdClient drives one side of a transcript.
type lpdClient struct {
	t *testing.T
	c net.Conn
}

func pipeLPD(t *testing.T, in *Intake) (*lpdClient, chan struct{}) {
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		in.LPD().ServeConn(context.Background(), server)
		close(done)
	}()
	return &lpdClient{t, client}, done
}

func (l *lpdClient) send(b string) {
	l.t.Helper()
	l.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := l.c.Write([]byte(b)); err != nil {
		l.t.Fatalf("send %q: %v", b, err)
	}
}

func (l *lpdClient) expect(want byte) {
	l.t.Helper()
	l.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(l.c, b[:]); err != nil {
		l.t.Fatalf("want ack %d: %v", want, err)
	}
	if b[0] != want {
		l.t.Fatalf("ack %d, want %d", b[0], want)
	}
}

const sampleControl = "Hvm\nProot\nJreceipt.bin\nldfA928vm\nUdfA928vm\nNreceipt.bin\n"

func TestLPDReceiveJobTranscripts(t *testing.T) {
	job := "\x1b@Total 153.00\n\x1dV\x00\x00\x10\x04\x01"
	for _, tc := range []struct {
		name   string
		script func(l *lpdClient)
		queue  string // printer the job must land on
	}{
		{"control first (CUPS)", func(l *lpdClient) {
			l.send("\x02front\n")
			l.expect(0)
			l.send(fmt.Sprintf("\x02%d cfA928vm\n", len(sampleControl)))
			l.expect(0)
			l.send(sampleControl + "\x00")
			l.expect(0)
			l.send(fmt.Sprintf("\x03%d dfA928vm\n", len(job)))
			l.expect(0)
			l.send(job + "\x00")
			l.expect(0)
		}, "front"},
		{"data first", func(l *lpdClient) {
			l.send("\x02kitchen\n")
			l.expect(0)
			l.send(fmt.Sprintf("\x03%d dfA928vm\n", len(job)))
			l.expect(0)
			l.send(job + "\x00")
			l.expect(0)
			l.send(fmt.Sprintf("\x02%d cfA928vm\n", len(sampleControl)))
			l.expect(0)
			l.send(sampleControl + "\x00")
			l.expect(0)
		}, "kitchen"},
		{"count 0 until EOF", func(l *lpdClient) {
			l.send("\x02front\n")
			l.expect(0)
			l.send("\x030 dfA928vm\n")
			l.expect(0)
			l.send(job)
		}, "front"},
		{"unknown queue goes to the first printer", func(l *lpdClient) {
			l.send("\x02lp\n")
			l.expect(0)
			l.send(fmt.Sprintf("\x03%d dfA928vm\n", len(job)))
			l.expect(0)
			l.send(job + "\x00")
			l.expect(0)
		}, "front"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, sp := newIntake(t, Options{})
			l, done := pipeLPD(t, in)
			tc.script(l)
			l.c.Close()
			<-done
			jobs := sp.List(0)
			if len(jobs) != 1 {
				t.Fatalf("%d jobs, want 1", len(jobs))
			}
			j := jobs[0]
			if j.Printer != tc.queue || j.Intake != spool.Complete || !bytes.Equal(jobBytes(t, sp, j.ID), []byte(job)) {
				t.Fatalf("job %+v", j)
			}
			if j.Origin.Proto != "lpd" || j.Origin.Number != "928" {
				t.Fatalf("origin %+v", j.Origin)
			}
			if strings.Contains(tc.name, "first") && !strings.Contains(tc.name, "unknown") && j.Origin.User != "root" {
				t.Fatalf("control file not applied: %+v", j.Origin)
			}
		})
	}
}

func TestLPDLies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(l *lpdClient)
		want   spool.IntakeState // "" = no job
	}{
		{"count larger than the data", func(l *lpdClient) {
			l.send("\x02front\n")
			l.expect(0)
			l.send("\x035000 dfA001h\n")
			l.expect(0)
			l.send("only a little")
		}, spool.Truncated},
		{"count smaller than the data", func(l *lpdClient) {
			l.send("\x02front\n")
			l.expect(0)
			l.send("\x035 dfA001h\n")
			l.expect(0)
			l.send("0123456789")
			l.expect(1)
		}, spool.Truncated},
		{"subcommand before receive-job", func(l *lpdClient) {
			l.send("\x035 dfA001h\n") // 0x03 as a daemon command: short queue state of "5"
			io.Copy(io.Discard, l.c)
		}, ""},
		{"empty data file until EOF", func(l *lpdClient) {
			l.send("\x02front\n")
			l.expect(0)
			l.send("\x030 dfA001h\n")
			l.expect(0)
		}, ""},
		{"garbage subcommand", func(l *lpdClient) {
			l.send("\x02front\n")
			l.expect(0)
			l.send("\x07hello\n")
			l.expect(1)
		}, ""},
		{"too big", func(l *lpdClient) {
			l.send("\x02front\n")
			l.expect(0)
			l.send("\x03999999999 dfA001h\n")
			l.expect(1)
		}, ""},
		{"abort", func(l *lpdClient) {
			l.send("\x02front\n")
			l.expect(0)
			l.send("\x034 dfA001h\n")
			l.expect(0)
			l.send("abcd\x00")
			l.expect(0)
			l.send("\x01\n")
			l.expect(0)
		}, spool.Complete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, sp := newIntake(t, Options{MaxJobBytes: 1 << 20})
			l, done := pipeLPD(t, in)
			tc.script(l)
			l.c.Close()
			<-done
			jobs := sp.List(0)
			if tc.want == "" {
				if len(jobs) != 0 {
					t.Fatalf("jobs %+v, want none", jobs)
				}
				return
			}
			if len(jobs) != 1 || jobs[0].Intake != tc.want {
				t.Fatalf("jobs %+v, want one %s", jobs, tc.want)
			}
			if tc.want == spool.Truncated && !jobs[0].Held {
				t.Fatal("a truncated LPD job is not held")
			}
			if tc.name == "abort" && jobs[0].State != spool.Failed {
				t.Fatalf("aborted job is %s", jobs[0].State)
			}
		})
	}
}

func TestLPDQueueStateAndRemove(t *testing.T) {
	in, sp := newIntake(t, Options{})
	w, _ := sp.Create("front", spool.Origin{Proto: "lpd", User: "alice", Number: "017"})
	w.Write([]byte("abc"))
	w.Commit()
	w2, _ := sp.Create("front", spool.Origin{Proto: "lpd", User: "bob", Number: "018"})
	w2.Write([]byte("defg"))
	w2.Commit()

	l, done := pipeLPD(t, in)
	l.send("\x03front\n")
	out, _ := io.ReadAll(l.c)
	<-done
	for _, want := range []string{"front: 2 jobs", "1st", "alice", w.ID(), "2nd", "bob"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("queue state %q lacks %q", out, want)
		}
	}
	l, done = pipeLPD(t, in)
	l.send("\x05front alice 018 017\n")
	io.ReadAll(l.c)
	<-done
	if j, _ := sp.Get(w.ID()); j.State != spool.Failed {
		t.Fatalf("alice's job is %s after remove", j.State)
	}
	if j, _ := sp.Get(w2.ID()); j.State != spool.Pending {
		t.Fatalf("bob's job is %s after alice's remove", j.State)
	}
	l, done = pipeLPD(t, in)
	l.send("\x04front\n")
	out, _ = io.ReadAll(l.c)
	<-done
	if !strings.Contains(string(out), "front: 1 jobs") || strings.Contains(string(out), "alice") {
		t.Fatalf("long state after remove: %q", out)
	}
}
