// Package drivers is what the agent's printer worker writes to: the Printer
// interface every back end implements, the sentinel errors its retry policy
// branches on, the status cache each driver keeps current from what the
// printer sends back, and Config, the one configured printer a driver opens.
//
// The back ends live in sub-packages, each exporting
// Open(drivers.Config) (drivers.Printer, error) over an unexported struct:
//
//	drivers/usb       USB printer-class devices through libusb (build tags usb && cgo)
//	drivers/usblp     Linux /dev/usb/lpN
//	drivers/serial    RS-232 / USB-serial adapters
//	drivers/tcp       network printers on port 9100
//	drivers/winspool  a RAW job into an existing Windows print queue
//	drivers/file      the preview printer: <job_id>.bin and <job_id>.png in a folder
//
// drivers/all opens any of them by the configured driver name, and
// drivers/profiles holds the per-model data (paper width, QR mode, cut, ...).
//
// Drivers write to the printer only what the worker gives them (job bytes
// and spliced blocks), plus DLE EOT status polls when Config.StatusPoll is
// on. They never parse jobs: drivers import no ESC/POS code.
package drivers
