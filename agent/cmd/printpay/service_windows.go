//go:build windows

package main

import (
	"github.com/kardianos/service"
	"golang.org/x/sys/windows/svc"

	"printpay.dev/printpay/installer"
)

// nativeRunService runs p under the Service Control Manager. The process was
// started with --service, so it is a service: svc.Run is called directly
// instead of through kardianos, whose detection (the parent in session 0)
// does not hold under every service manager.
func nativeRunService(_ service.Service, p *program) error {
	return svc.Run(installer.ServiceName, &scmHandler{p: p})
}

// scmHandler answers the SCM: running once the agent started, stopped once
// it stopped (within the program's stop timeout).
type scmHandler struct{ p *program }

func (h *scmHandler) Execute(_ []string, req <-chan svc.ChangeRequest, changes chan<- svc.Status) (bool, uint32) {
	changes <- svc.Status{State: svc.StartPending}
	if err := h.p.Start(nil); err != nil {
		return true, 1
	}
	changes <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for c := range req {
		switch c.Cmd {
		case svc.Interrogate:
			changes <- c.CurrentStatus
		case svc.Stop, svc.Shutdown:
			changes <- svc.Status{State: svc.StopPending, WaitHint: uint32(h.p.stopTimeout.Milliseconds())}
			if err := h.p.Stop(nil); err != nil {
				return true, 2
			}
			return false, 0
		}
	}
	return false, 0
}
