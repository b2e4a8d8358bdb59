// Package config is the agent's configuration: the TOML file of DESIGN §6.1
// as one typed Config, with a default for every key.
//
// Load reads a file and returns line-accurate errors ("FILE:LINE: msg"),
// unknown keys included; Validate checks a Config built in code the same
// way. Durations are strings ("1500ms", "168h"), sizes strings with a unit
// ("32MiB", "200MiB"; plain integers are bytes). Relative paths in a file
// (the spool, log, token and password files, a file printer's folder) are
// taken relative to the file's directory. Program-data paths (the
// spool, the token and the log) default per operating system: on Linux
// /var/lib/printpay for a service run as root and the user's configuration
// directory otherwise; on Windows ProgramData\printpay. A run that is not a
// service (not root on Linux) listens for LPD on 127.0.0.1:1515 instead of
// the privileged 515 unless the file says otherwise.
package config
