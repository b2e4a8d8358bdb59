// Package link holds what every byte-stream driver needs between the worker
// and a device: bounded, throttled writes over a blocking writer; the
// goroutine that reads the printer's back channel into the status cache;
// and DLE EOT polling while no job is being printed.
package link
