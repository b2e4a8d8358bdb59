package cloud

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"printpay.dev/printpay/server/apiv1"
)

func TestEnroll(t *testing.T) {
	var got apiv1.EnrollRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/enroll" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		got = apiv1.EnrollRequest{}
		json.Unmarshal(b, &got)
		switch got.Code {
		case "GOODCODE00":
			json.NewEncoder(w).Encode(apiv1.EnrollResponse{DeviceID: "dev_1", Token: "tok_new", ServerURL: "wss://pay.example.com/v1/agent"})
		case "BADCODE000":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(apiv1.Error{Code: apiv1.CodeBadRequest, Message: "pairing code unknown or expired"})
		case "NOTOKEN000":
			json.NewEncoder(w).Encode(apiv1.EnrollResponse{DeviceID: "dev_1"})
		default:
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	req := apiv1.EnrollRequest{Code: "GOODCODE00", AgentVersion: "0.1.0", Hostname: "till"}

	resp, err := Enroll(t.Context(), srv.URL+"/", req, srv.Client())
	if err != nil || resp.Token != "tok_new" || resp.DeviceID != "dev_1" || resp.ServerURL == "" {
		t.Fatalf("Enroll = %+v, %v", resp, err)
	}
	if got != req {
		t.Errorf("server got %+v", got)
	}

	req.Code = "BADCODE000"
	_, err = Enroll(t.Context(), srv.URL, req, nil)
	var ee *EnrollError
	var ae apiv1.Error
	if !errors.As(err, &ee) || ee.StatusCode != 400 || !errors.As(err, &ae) || ae.Code != apiv1.CodeBadRequest || ae.Retryable {
		t.Fatalf("400: %v", err)
	}
	if !strings.Contains(err.Error(), "pairing code unknown or expired") || !strings.Contains(err.Error(), "400") {
		t.Errorf("400 message: %v", err)
	}

	req.Code = "BOOM000000"
	_, err = Enroll(t.Context(), srv.URL, req, nil)
	if !errors.As(err, &ee) || ee.StatusCode != 500 || !ee.Err.Retryable || !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("500: %v", err)
	}

	req.Code = "NOTOKEN000"
	if _, err = Enroll(t.Context(), srv.URL, req, nil); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("answer without token: %v", err)
	}

	if _, err := Enroll(t.Context(), "http://pay.example.com", req, nil); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("plain http to the network: %v", err)
	}
}

func TestWriteToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "token")
	if err := WriteToken(path, "tok_1\n"); err != nil {
		t.Fatal(err)
	}
	if err := WriteToken(path, "tok_2"); err != nil { // replaced whole
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	tok, err := ReadToken(path)
	if err != nil || tok != "tok_2" {
		t.Fatalf("ReadToken = %q, %v", tok, err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*tmp*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
	if err := WriteToken(path, "a\nb"); err == nil {
		t.Error("multi-line token accepted")
	}
	if err := WriteToken(path, " "); err == nil {
		t.Error("empty token accepted")
	}
}
