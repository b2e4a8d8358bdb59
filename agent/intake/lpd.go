package intake

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The LPD protocol (RFC 1179), as far as a printer needs it. Every command
// is one line: a code byte, operands separated by spaces, LF.
//
//	daemon commands (first line of a connection)
//	  01 queue LF                      print any waiting jobs
//	  02 queue LF                      receive a job       → ack 00
//	  03 queue SP list LF              short queue state   → text, close
//	  04 queue SP list LF              long queue state    → text, close
//	  05 queue SP agent SP list LF     remove jobs
//	receive-job subcommands
//	  01 LF                            abort job           → ack 00
//	  02 count SP cfA123host LF        control file        → ack 00, count bytes, 00, ack 00
//	  03 count SP dfA123host LF        data file           → ack 00, count bytes, 00, ack 00
//
// A count of 0 means "until the sender closes" (LPRng, Windows LPR ports).

// LPD daemon command codes.
const (
	CmdPrintWaiting = 0x01
	CmdReceiveJob   = 0x02
	CmdQueueShort   = 0x03
	CmdQueueLong    = 0x04
	CmdRemoveJobs   = 0x05
)

// LPD receive-job subcommand codes.
const (
	SubAbort   = 0x01
	SubControl = 0x02
	SubData    = 0x03
)

// maxLine bounds one command line.
const maxLine = 1024

// Command is a parsed LPD daemon command.
type Command struct {
	Code     byte
	Queue    string
	Operands []string // 03/04: the list; 05: agent, then the list
}

// Subcommand is a parsed receive-job subcommand.
type Subcommand struct {
	Code  byte
	Count int64  // bytes that follow; 0 = until the sender closes
	Name  string // cfA123host / dfA123host
}

// ErrCommand is wrapped by every parse error.
var ErrCommand = errors.New("intake: bad lpd command")

func badCommand(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCommand, fmt.Sprintf(format, args...))
}

// ParseCommand parses a daemon command line (without its LF).
func ParseCommand(line []byte) (Command, error) {
	if len(line) < 2 {
		return Command{}, badCommand("short line")
	}
	if len(line) > maxLine {
		return Command{}, badCommand("line longer than %d bytes", maxLine)
	}
	c := Command{Code: line[0]}
	if c.Code < CmdPrintWaiting || c.Code > CmdRemoveJobs {
		return Command{}, badCommand("unknown command 0x%02x", c.Code)
	}
	fields := strings.FieldsFunc(string(line[1:]), func(r rune) bool { return r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return Command{}, badCommand("no queue name")
	}
	for _, f := range fields {
		if !printable(f) {
			return Command{}, badCommand("control byte in operand %q", f)
		}
	}
	c.Queue = fields[0]
	c.Operands = fields[1:]
	switch c.Code {
	case CmdPrintWaiting, CmdReceiveJob:
		if len(c.Operands) > 0 {
			return Command{}, badCommand("command 0x%02x takes only a queue name", c.Code)
		}
	case CmdRemoveJobs:
		if len(c.Operands) == 0 {
			return Command{}, badCommand("remove jobs needs an agent name")
		}
	}
	if len(c.Operands) == 0 {
		c.Operands = nil
	}
	return c, nil
}

// ParseSubcommand parses a receive-job subcommand line (without its LF).
func ParseSubcommand(line []byte) (Subcommand, error) {
	if len(line) == 0 {
		return Subcommand{}, badCommand("empty subcommand")
	}
	if len(line) > maxLine {
		return Subcommand{}, badCommand("line longer than %d bytes", maxLine)
	}
	s := Subcommand{Code: line[0]}
	switch s.Code {
	case SubAbort:
		return s, nil
	case SubControl, SubData:
	default:
		return Subcommand{}, badCommand("unknown subcommand 0x%02x", s.Code)
	}
	count, name, ok := strings.Cut(string(line[1:]), " ")
	if !ok {
		return Subcommand{}, badCommand("subcommand 0x%02x: want count and name", s.Code)
	}
	name = strings.TrimRight(name, " \r")
	if count == "" || len(count) > 15 || strings.Trim(count, "0123456789") != "" {
		return Subcommand{}, badCommand("bad count %q", count)
	}
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil {
		return Subcommand{}, badCommand("bad count %q", count)
	}
	if name == "" || strings.ContainsAny(name, " /\\") || !printable(name) {
		return Subcommand{}, badCommand("bad file name %q", name)
	}
	s.Count, s.Name = n, name
	return s, nil
}

// String formats the command as it travels (without the LF).
func (c Command) String() string {
	return string(append([]byte{c.Code}, strings.Join(append([]string{c.Queue}, c.Operands...), " ")...))
}

// String formats the subcommand as it travels (without the LF).
func (s Subcommand) String() string {
	if s.Code == SubAbort {
		return string([]byte{s.Code})
	}
	return string([]byte{s.Code}) + strconv.FormatInt(s.Count, 10) + " " + s.Name
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7F {
			return false
		}
	}
	return true
}

// jobNumber is the three digits of an LPD file name (dfA123host → "123").
func jobNumber(name string) string {
	if len(name) >= 6 {
		n := name[3:6]
		if strings.Trim(n, "0123456789") == "" {
			return n
		}
	}
	return ""
}

// controlFile holds what the agent keeps from an LPD control file.
type controlFile struct {
	user, title, host string
}

// parseControl reads the lines of a control file it cares about: H host,
// P user, J job name, N file name.
func parseControl(b []byte) controlFile {
	var cf controlFile
	for _, line := range strings.Split(string(b), "\n") {
		if len(line) < 2 {
			continue
		}
		v := strings.TrimRight(line[1:], "\r\x00")
		switch line[0] {
		case 'H':
			cf.host = v
		case 'P':
			cf.user = v
		case 'J':
			cf.title = v
		case 'N':
			if cf.title == "" {
				cf.title = v
			}
		}
	}
	return cf
}
