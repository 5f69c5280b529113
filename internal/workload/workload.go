// Package workload is the standard benchmark workload: its campaign, the ~8 KB
// personalized HTML email (campaign.html, a copy of the project's shared
// workload folder, byte for byte) embedded once, so every benchmark that
// measures with it reads the same bytes on a clean checkout. The
// placeholders ({{first_name}}, {{last_name}}, {{last_visit}},
// {{condition}}, {{plan}}) are translated by each benchmark to the syntax
// it tests. Its contacts come from the shared folder's generator
// (Contacts, with the CSV's Mapping), and CPUTime is what the benchmarks
// report per unit of work.
package workload

import _ "embed"

//go:embed campaign.html
var campaign []byte

// Campaign returns a copy of campaign.html.
func Campaign() []byte { return append([]byte(nil), campaign...) }
