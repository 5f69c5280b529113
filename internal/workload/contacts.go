package workload

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Columns are the columns of gen-contacts.py's CSV, besides
// marketing_consent; each maps to the contact field of the same name.
var Columns = []string{"email", "first_name", "last_name", "phone", "birth_date", "timezone", "condition",
	"last_visit", "insurance_status", "plan", "zip"}

// Mapping is the import mapping of the CSV: every column to its field,
// and marketing_consent to consentColumn (contact.ConsentColumn).
func Mapping(consentColumn string) map[string]string {
	m := map[string]string{"marketing_consent": consentColumn}
	for _, c := range Columns {
		m[c] = c
	}
	return m
}

// ErrNoGenerator means gen-contacts.py was not found: benchmarks skip.
var ErrNoGenerator = errors.New("gen-contacts.py not found: set CAREPOST_WORKLOAD_DIR to the shared workload folder")

// Contacts runs the standard generator, gen-contacts.py n --seed 7, from
// CAREPOST_WORKLOAD_DIR, or the shared workload folder beside the
// repository (../../../shared/workload from a package's folder, or
// /work/shared/workload).
func Contacts(n int) ([]byte, error) {
	for _, d := range []string{os.Getenv("CAREPOST_WORKLOAD_DIR"), filepath.Join("..", "..", "..", "shared", "workload"), "/work/shared/workload"} {
		if d == "" {
			continue
		}
		script := filepath.Join(d, "gen-contacts.py")
		if _, err := os.Stat(script); err != nil {
			continue
		}
		return exec.Command("python3", script, strconv.Itoa(n), "--seed", "7").Output()
	}
	return nil, ErrNoGenerator
}

// CPUTime is the process's user and system CPU time so far, which
// benchmarks report per unit of work.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
