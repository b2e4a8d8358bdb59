package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"printpay.dev/printpay/agent/cloud"
	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/server/apiv1"
)

// cmdEnroll pairs this till with a server: it trades a pairing code for a
// device token, writes the token file (owner-only) and, when the
// configuration names no server yet, writes [server] url.
//
//	printpay enroll --server URL --code CODE [--config FILE]
func cmdEnroll(ctx context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("enroll", flag.ContinueOnError)
	fs.SetOutput(s.err)
	server := fs.String("server", "", "the server, e.g. https://pay.example.com")
	code := fs.String("code", "", "the pairing code the server's dashboard showed (10 characters)")
	cfgPath := fs.String("config", "", "configuration file (TOML; default "+config.DefaultFile()+")")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on reaching the server")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *server == "" || *code == "" {
		fmt.Fprintln(s.err, "usage: printpay enroll --server URL --code CODE [--config FILE]")
		return 2
	}
	path := *cfgPath
	if path == "" {
		path = config.DefaultFile()
	}
	cfg := config.Default()
	exists := true
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		exists = false
	} else if cfg, err = config.Load(path); err != nil {
		fmt.Fprintln(s.err, err)
		return 1
	}
	base, err := enrollBase(*server)
	if err != nil {
		fmt.Fprintln(s.err, "printpay enroll:", err)
		return 2
	}
	hostname, _ := os.Hostname()
	rctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	resp, err := cloud.Enroll(rctx, base, apiv1.EnrollRequest{Code: *code, AgentVersion: version, Hostname: hostname}, nil)
	if err != nil {
		var ee *cloud.EnrollError
		switch {
		case errors.As(err, &ee):
			msg := ee.Err.Message
			if msg == "" {
				msg = http.StatusText(ee.StatusCode)
			}
			fmt.Fprintf(s.err, "printpay enroll: the server refused the pairing code: %s (HTTP %d)\n", msg, ee.StatusCode)
			if ee.StatusCode == http.StatusTooManyRequests {
				fmt.Fprintln(s.err, "printpay enroll: too many wrong codes from this address; wait an hour, then try again")
			}
		default:
			fmt.Fprintf(s.err, "printpay enroll: cannot reach the server at %s: %v\n", base, err)
		}
		return 1
	}
	tokenFile := cfg.Server.TokenFile
	if err := os.MkdirAll(filepath.Dir(tokenFile), 0o700); err != nil {
		fmt.Fprintln(s.err, "printpay enroll: token folder:", err)
		return 1
	}
	if err := cloud.WriteToken(tokenFile, resp.Token); err != nil {
		fmt.Fprintln(s.err, "printpay enroll:", err)
		return 1
	}
	fmt.Fprintf(s.out, "enrolled: device id %s\n", resp.DeviceID)
	fmt.Fprintf(s.out, "token written to %s (readable by its owner only)\n", tokenFile)

	agentURL := resp.ServerURL
	if agentURL == "" {
		agentURL = agentURLFrom(base)
	}
	switch {
	case cfg.Server.URL == agentURL:
		fmt.Fprintf(s.out, "%s already has [server] url = %q\n", path, agentURL)
	case cfg.Server.URL != "":
		fmt.Fprintf(s.out, "%s keeps [server] url = %q (the server said %q; change it by hand if it is wrong)\n", path, cfg.Server.URL, agentURL)
	default:
		if err := setServerURL(path, exists, agentURL); err != nil {
			fmt.Fprintln(s.err, "printpay enroll: the token is written, but [server] url could not be set:", err)
			fmt.Fprintf(s.err, "printpay enroll: add it by hand: [server] url = %q\n", agentURL)
			return 1
		}
		if exists {
			fmt.Fprintf(s.out, "set [server] url = %q in %s\n", agentURL, path)
		} else {
			fmt.Fprintf(s.out, "wrote %s with [server] url = %q\n", path, agentURL)
		}
	}
	fmt.Fprintln(s.out, "restart the agent (printpay stop, printpay start) to connect")
	return 0
}

// enrollBase turns what the user typed into the server's base URL:
// https://host (http:// for a loopback host), also from a ws(s):// agent
// URL or a bare host.
func enrollBase(server string) (string, error) {
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("--server %q is not a URL like https://pay.example.com", server)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return "", fmt.Errorf("--server %q: use https://", server)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v1/agent")
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimSuffix(u.String(), "/"), nil
}

// agentURLFrom is the websocket URL of a server base URL.
func agentURLFrom(base string) string {
	if rest, ok := strings.CutPrefix(base, "https://"); ok {
		return "wss://" + rest + "/v1/agent"
	}
	return "ws://" + strings.TrimPrefix(base, "http://") + "/v1/agent"
}

var (
	tableLine     = regexp.MustCompile(`^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?`)
	serverURLLine = regexp.MustCompile(`^\s*url\s*=`)
)

// setServerURL writes url into the [server] table of the file at path,
// creating the file or the table when missing, and keeps everything else
// as it was. The result must load; otherwise the file is left unchanged.
func setServerURL(path string, exists bool, agentURL string) error {
	line := "url = " + strconv.Quote(agentURL)
	var out []byte
	if !exists {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		out = []byte("# Written by printpay enroll.\n[server]\n" + line + "\n")
	} else {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = withServerURL(data, line)
	}
	if _, err := config.Parse(path, out); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// withServerURL puts line into the [server] table of a TOML file: in place
// of an empty url = "" line, else right after the table header, else in a
// new table at the end.
func withServerURL(data []byte, line string) []byte {
	lines := strings.SplitAfter(string(data), "\n")
	header, inServer := -1, false
	for i, l := range lines {
		if m := tableLine.FindStringSubmatch(l); m != nil {
			inServer = m[1] == "server" && !strings.HasPrefix(strings.TrimSpace(l), "[[")
			if inServer {
				header = i
			}
			continue
		}
		if inServer && serverURLLine.MatchString(l) {
			nl := ""
			if strings.HasSuffix(l, "\n") {
				nl = "\n"
			}
			lines[i] = line + nl
			return []byte(strings.Join(lines, ""))
		}
	}
	if header >= 0 {
		lines = append(lines[:header+1], append([]string{line + "\n"}, lines[header+1:]...)...)
		return []byte(strings.Join(lines, ""))
	}
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		b.WriteByte('\n')
	}
	b.WriteString("\n[server]\n" + line + "\n")
	return b.Bytes()
}
