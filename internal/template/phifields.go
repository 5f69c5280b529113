package template

import "slices"

// PHIFields returns the PHI fields (by FieldSet name, sorted) that any part
// of src reads — in output, conditions, variables or function arguments,
// the same taint analysis the lint applies to subjects — or nil when it
// reads none. The campaign engine uses it: a campaign whose template reads
// a PHI field is marketing with PHI, which HIPAA 164.508(a)(3) allows only
// to contacts with a valid authorization. A field fs does not name counts
// as PHI, so the answer errs on the side of asking for consent.
func PHIFields(src Source, fs FieldSet) []string {
	var out []string
	report := func(p Problem) {
		if p.Field != "" && !slices.Contains(out, p.Field) {
			out = append(out, p.Field)
		}
	}
	// Every part is walked as the subject is (modeStrict: any PHI read is
	// reported); html/template and text/template share the action syntax.
	for _, part := range []string{src.Subject, src.Preheader, src.HTML, src.Text} {
		lintText(PartSubject, part, modeStrict, fs, report)
	}
	slices.Sort(out)
	return out
}
