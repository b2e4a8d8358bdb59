package status

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

func (s *Server) demoPay(w http.ResponseWriter, r *http.Request) {
	if s.opt.DemoPay == nil {
		http.NotFound(w, r)
		return
	}
	j, err := s.opt.Spool.Get(r.PathValue("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if j.Result.OutTradeNo == "" {
		http.Error(w, "status: the job has no order", http.StatusConflict)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	if err := s.opt.DemoPay(ctx, j.Result.OutTradeNo); err != nil {
		s.log.Warn("status: demo payment failed", "job", j.ID, "out_trade_no", j.Result.OutTradeNo, "err", err)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	s.log.Info("status: demo payment sent", "job", j.ID, "out_trade_no", j.Result.OutTradeNo)
	writeJSON(w, map[string]string{"out_trade_no": j.Result.OutTradeNo})
}

func (s *Server) printerAction(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	known := false
	for _, p := range s.opt.Printers {
		known = known || p.Name == name
	}
	if !known {
		http.Error(w, "status: no such printer", http.StatusNotFound)
		return
	}
	var err error
	switch {
	case (action == "pause" || action == "resume") && s.opt.Pause != nil:
		err = s.opt.Pause(name, action == "pause")
	case action == "test" && s.opt.TestPrint != nil:
		err = s.opt.TestPrint(name)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.log.Warn("status: printer action failed", "printer", name, "action", action, "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.log.Info("status: printer action by a person", "printer", name, "action", action)
	writeJSON(w, map[string]string{"printer": name, "action": action})
}

// logs serves the kept log lines as JSON.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	if s.opt.Logs == nil {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, s.opt.Logs.Lines())
}

// upgrader keeps gorilla's default same-origin check (CheckOrigin nil).
var upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096}

const (
	wsWriteWait  = 10 * time.Second
	wsPingPeriod = 30 * time.Second
)

// logsWS streams the log tail: the kept lines as one JSON array, then each
// new line as a JSON object. It is the connection's only writer; a reader
// goroutine notices the browser going away.
func (s *Server) logsWS(w http.ResponseWriter, r *http.Request) {
	if s.opt.Logs == nil {
		http.NotFound(w, r)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered
	}
	s.streams.Add(1)
	defer s.streams.Done()
	defer conn.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Shutting down closes the connection, which ends a write that blocks.
	defer context.AfterFunc(ctx, func() { conn.Close() })()

	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	cl, backlog, ok := s.opt.Logs.subscribe(sctx)
	scancel()
	if !ok {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "log hub not running"), time.Now().Add(time.Second))
		return
	}
	defer s.opt.Logs.unsubscribe(context.Background(), cl)

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		conn.SetReadLimit(512)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	defer func() {
		conn.Close() // ends the reader
		<-readerDone
	}()

	write := func(v any) error {
		conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
		return conn.WriteJSON(v)
	}
	if backlog == nil {
		backlog = []LogLine{}
	}
	if err := write(backlog); err != nil {
		return
	}
	ping := time.NewTicker(wsPingPeriod)
	defer ping.Stop()
	for {
		select {
		case msg, ok := <-cl.send:
			if !ok {
				// Dropped for falling behind, or the hub stopped.
				conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too slow"), time.Now().Add(time.Second))
				return
			}
			conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)); err != nil {
				return
			}
		case <-readerDone:
			return
		case <-ctx.Done():
			return
		}
	}
}
