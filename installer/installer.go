package installer

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/kardianos/service"
)

// Names the operating system sees.
const (
	ServiceName        = "printpay"
	ServiceDisplayName = "printpay receipt printer"
	ServiceDescription = "Virtual receipt printer: adds a WeChat Pay QR to payable receipts and prints them on the shop's printer."
	QueueName          = "printpay"            // the print queue the POS chooses
	DefaultDriver      = "Generic / Text Only" // the Windows queue's driver unless told otherwise
	DefaultRawPort     = 9100
	DefaultLPDPort     = 515
	AltLPDPort         = 1515 // where LPD goes when 515 is taken
	DefaultStatusPort  = 9180
	FirewallRuleName   = "printpay intake"
)

// ServiceFlag is the argument the service manager starts the agent with: the
// process runs as a service exactly when it is given, so detection never
// depends on the session the service manager runs in.
const ServiceFlag = "--service"

// Sentinels callers branch on.
var (
	// ErrNoSpooler: this machine has no local spooler the queue can be made
	// in (no CUPS on Linux, no Standard TCP/IP port monitor on Windows).
	ErrNoSpooler = errors.New("installer: no local print spooler to make the queue in")
	// ErrNoFreePort: neither the default raw port nor any port after it in
	// the search range is free.
	ErrNoFreePort = errors.New("installer: no free raw port")
)

// ServiceConfig is the service definition `printpay install` registers: the
// executable exe (quoted by the service manager's registration) started with
// ServiceFlag and the configuration file, automatic start, restart on
// failure.
func ServiceConfig(exe, configFile string) *service.Config {
	return &service.Config{
		Name:        ServiceName,
		DisplayName: ServiceDisplayName,
		Description: ServiceDescription,
		Executable:  exe,
		Arguments:   []string{ServiceFlag, "--config", configFile},
		Option: service.KeyValue{
			// Windows: SCM recovery actions; restart 5 s after a failure.
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "5s",
			"OnFailureResetPeriod":   86400,
			"StartType":              "automatic",
			// systemd and the other Unix managers.
			"Restart": "on-failure",
		},
	}
}

// PortFree reports whether 127.0.0.1:port can be listened on now.
func PortFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ChoosePort returns want when free reports it free, else the first free port
// of the next 99. free is PortFree outside tests.
func ChoosePort(want int, free func(int) bool) (int, error) {
	for p := want; p < want+100 && p < 65536; p++ {
		if free(p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: %d to %d are all in use", ErrNoFreePort, want, want+99)
}

// StopTimeout bounds how long a service stop waits for the agent to finish
// the job it is printing.
const StopTimeout = 15 * time.Second
