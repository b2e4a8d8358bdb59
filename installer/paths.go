package installer

import "path/filepath"

// Paths are the files and folders an installed agent uses.
type Paths struct {
	Config  string // the TOML file the service is started with
	Data    string // program data: spool, token, preview, log
	Spool   string
	Token   string
	Log     string
	Preview string // the folder of the "file" printer a fresh install prints to
}

// PathsUnder returns Paths with the configuration file configFile and the
// program data in dataDir.
func PathsUnder(configFile, dataDir string) Paths {
	return Paths{
		Config:  configFile,
		Data:    dataDir,
		Spool:   filepath.Join(dataDir, "spool"),
		Token:   filepath.Join(dataDir, "token"),
		Log:     filepath.Join(dataDir, "printpay.log"),
		Preview: filepath.Join(dataDir, "preview"),
	}
}

// DefaultPaths returns where a system-wide install keeps its files: on
// Windows everything under the ProgramData known folder (never an
// environment variable: a service's environment differs), on Linux the
// configuration in /etc/printpay and the rest in /var/lib/printpay.
func DefaultPaths() (Paths, error) { return nativeDefaultPaths() }

// PathsFor returns the Paths of an install whose configuration file is
// configFile: the defaults when it is the default file, otherwise everything
// beside it (so a test or a portable install stays in one folder).
func PathsFor(configFile string) (Paths, error) {
	def, err := DefaultPaths()
	if err != nil {
		return Paths{}, err
	}
	if configFile == "" || filepath.Clean(configFile) == filepath.Clean(def.Config) {
		return def, nil
	}
	abs, err := filepath.Abs(configFile)
	if err != nil {
		return Paths{}, err
	}
	return PathsUnder(abs, filepath.Dir(abs)), nil
}
