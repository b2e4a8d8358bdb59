package api

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/store"
)

const maxEnrollBody = 4 << 10

// serveEnroll trades a pairing code for a device token.
func (s *Server) serveEnroll(w http.ResponseWriter, r *http.Request) {
	var req apiv1.EnrollRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEnrollBody+1))
	if err != nil || len(body) > maxEnrollBody {
		writeJSONError(w, http.StatusBadRequest, apiv1.CodeBadRequest, "body too large or unreadable", false)
		return
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Code == "" {
		writeJSONError(w, http.StatusBadRequest, apiv1.CodeBadRequest, "want {code, agent_version, hostname}", false)
		return
	}
	if len(req.Hostname) > 255 || len(req.AgentVersion) > 64 {
		writeJSONError(w, http.StatusBadRequest, apiv1.CodeBadRequest, "hostname or agent_version too long", false)
		return
	}
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	dev, token, err := s.st.Enroll(r.Context(), req.Code, source, req.Hostname, req.AgentVersion)
	switch {
	case errors.Is(err, store.ErrTooManyTries):
		s.metrics.enrollFailed.Add(1)
		writeJSONError(w, http.StatusTooManyRequests, apiv1.CodeRateLimited, "too many wrong pairing codes; wait an hour", true)
		return
	case errors.Is(err, store.ErrCodeInvalid):
		s.metrics.enrollFailed.Add(1)
		writeJSONError(w, http.StatusForbidden, apiv1.CodeForbidden, "pairing code unknown, used or expired", false)
		return
	case err != nil:
		s.log.Warn("enroll failed", "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, apiv1.CodeUnavailable, "server storage unavailable, try again", true)
		return
	}
	s.metrics.enrolled.Add(1)
	s.log.Info("device enrolled", "device", dev.ID, "merchant", dev.MerchantID, "hostname", dev.Hostname)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(apiv1.EnrollResponse{DeviceID: dev.ID, Token: token, ServerURL: s.agentURL(r)})
}

// agentURL is the websocket URL agents connect to.
func (s *Server) agentURL(r *http.Request) string {
	base := s.opt.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	switch {
	case strings.HasPrefix(base, "https://"):
		base = "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "http://"):
		base = "ws://" + strings.TrimPrefix(base, "http://")
	}
	return base + "/v1/agent"
}
