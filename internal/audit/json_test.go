package audit_test

import (
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/audit"
)

func TestExportLineParserIsStrict(t *testing.T) {
	t.Parallel()
	var ok audit.Entry
	if err := ok.UnmarshalJSON([]byte(seedEntry)); err != nil {
		t.Fatalf("seed line refused: %v", err)
	}
	bad := map[string]string{
		"key differing in case": strings.Replace(seedEntry, `"action"`, `"Action"`, 1),
		"duplicate key":         strings.Replace(seedEntry, `"action":"auth.login"`, `"action":"auth.login","action":"auth.logout"`, 1),
		"duplicate detail key":  strings.Replace(seedEntry, `{"n":"1"}`, `{"n":"1","n":"2"}`, 1),
		"unknown field":         strings.Replace(seedEntry, `{"v":1,`, `{"v":1,"extra":1,`, 1),
		"other format version":  strings.Replace(seedEntry, `{"v":1,`, `{"v":2,`, 1),
		"upper-case hex":        strings.Replace(seedEntry, `"hash":"4882d7fb`, `"hash":"4882D7FB`, 1),
		"short hash":            strings.Replace(seedEntry, `"hash":"4882d7fb`, `"hash":"`, 1),
		"seven fraction digits": strings.Replace(seedEntry, `.678901Z`, `.6789012Z`, 1),
		"time with an offset":   strings.Replace(seedEntry, `.678901Z`, `.678901+01:00`, 1),
		"seq zero":              strings.Replace(seedEntry, `"seq":2`, `"seq":0`, 1),
		"trailing data":         seedEntry + `{}`,
		"not an object":         `[1,2]`,
		"details not an object": strings.Replace(seedEntry, `{"n":"1"}`, `["n"]`, 1),
	}
	for name, line := range bad {
		var e audit.Entry
		if err := e.UnmarshalJSON([]byte(line)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var c audit.Checkpoint
	if err := c.UnmarshalJSON([]byte(strings.Replace(seedCheckpoint, `"00ff"`, `"00FF"`, 1))); err == nil {
		t.Error("checkpoint with upper-case hex signature accepted")
	}
	if err := c.UnmarshalJSON([]byte(seedCheckpoint)); err != nil {
		t.Errorf("seed checkpoint refused: %v", err)
	}
}
