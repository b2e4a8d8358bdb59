package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"printpay.dev/printpay/server/apiv1"
)

// EnrollError is a refusal of POST /v1/enroll: the HTTP status and the
// server's JSON error (Code is empty when the body was not one).
type EnrollError struct {
	StatusCode int
	Err        apiv1.Error
}

func (e *EnrollError) Error() string {
	msg := e.Err.Message
	if e.Err.Code != "" {
		msg = e.Err.Code + ": " + msg
	}
	return fmt.Sprintf("cloud: enroll: server answered %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), msg)
}

// Unwrap exposes the server's error, for errors.As(err, &apiv1.Error{}).
func (e *EnrollError) Unwrap() error { return e.Err }

// Enroll trades a pairing code for a device token: POST
// {serverBase}/v1/enroll. serverBase is https://host (http:// only to a
// loopback host). hc nil means http.DefaultClient. A refusal is an
// *EnrollError carrying the server's message.
func Enroll(ctx context.Context, serverBase string, req apiv1.EnrollRequest, hc *http.Client) (apiv1.EnrollResponse, error) {
	var out apiv1.EnrollResponse
	u, err := checkURL(serverBase, "http")
	if err != nil {
		return out, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	body, err := json.Marshal(req)
	if err != nil {
		return out, fmt.Errorf("cloud: enroll: %w", err)
	}
	endpoint := strings.TrimSuffix(u.String(), "/") + "/v1/enroll"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return out, fmt.Errorf("cloud: enroll: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	resp, err := hc.Do(hr)
	if err != nil {
		return out, fmt.Errorf("cloud: enroll: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return out, fmt.Errorf("cloud: enroll: read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &EnrollError{StatusCode: resp.StatusCode}
		if json.Unmarshal(b, &e.Err) != nil || (e.Err.Code == "" && e.Err.Message == "") {
			e.Err = apiv1.Error{Message: strings.TrimSpace(string(bytes.ToValidUTF8(b[:min(len(b), 200)], nil)))}
		}
		e.Err.Retryable = e.Err.Retryable || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return out, e
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return apiv1.EnrollResponse{}, fmt.Errorf("cloud: enroll: answer is not JSON: %w", err)
	}
	if out.Token == "" || out.DeviceID == "" {
		return apiv1.EnrollResponse{}, errors.New("cloud: enroll: answer lacks device_id or token")
	}
	return out, nil
}

// WriteToken writes the device token file, readable by its owner only
// (0600), by an atomic rename. (Windows: see the package comment.)
func WriteToken(path, token string) error {
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, "\r\n") {
		return errors.New("cloud: write token: empty or multi-line token")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("cloud: write token: %w", err)
	}
	if err := writeFileAtomic(path, []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("cloud: write token: %w", err)
	}
	return nil
}

// ReadToken reads a token file written by WriteToken.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cloud: read token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("cloud: read token %s: empty", path)
	}
	return t, nil
}
