// Package profiles holds per-model printer data: paper width in dots, how a
// QR is printed (raster GS v 0, or native GS ( k only where the model is
// confirmed to print it), the default text encoding, the cut and buzzer
// commands, status polling and serial throttling.
//
// Each profile is one TOML file under data/, embedded in the binary, and
// every non-generic entry names the model it describes and why its values
// are what they are. Errors in a profile file are reported as file:line.
// Lookup finds a profile by name; Match picks one for a discovered printer
// by its IEEE 1284 device ID or USB VID:PID.
package profiles
