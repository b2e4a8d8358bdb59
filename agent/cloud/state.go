package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const rulesFile = "rules.json"

// savedRules is the layout of StateDir/rules.json.
type savedRules struct {
	Version string          `json:"version"`
	Rules   json.RawMessage `json:"rules"`
}

func mkdirState(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cloud: state directory: %w", err)
	}
	return nil
}

// loadRules reads StateDir/rules.json; a missing file is (nil, nil).
func loadRules(dir string) (string, json.RawMessage, error) {
	b, err := os.ReadFile(filepath.Join(dir, rulesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("cloud: read rules: %w", err)
	}
	var r savedRules
	if err := json.Unmarshal(b, &r); err != nil {
		return "", nil, fmt.Errorf("cloud: read rules %s: %w", filepath.Join(dir, rulesFile), err)
	}
	if len(r.Rules) == 0 || string(r.Rules) == "null" {
		return "", nil, fmt.Errorf("cloud: read rules %s: no rule set", filepath.Join(dir, rulesFile))
	}
	return r.Version, r.Rules, nil
}

func saveRules(dir, version string, raw json.RawMessage) error {
	b, err := json.Marshal(savedRules{Version: version, Rules: raw})
	if err != nil {
		return fmt.Errorf("cloud: save rules: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, rulesFile), b, 0o600); err != nil {
		return fmt.Errorf("cloud: save rules: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to path, syncs it,
// and renames it over path, so a crash leaves the old or the new file whole.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}
