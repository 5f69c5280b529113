// Package phi detects protected health information in outbound messages so
// that package policy can choose how each recipient's copy travels.
//
// # What the detectors are for
//
// carepost assumes every message carries PHI: the transport floor is
// verified TLS whatever the detectors say (package policy). Detection is
// therefore never what keeps PHI safe by default; it decides three things
// on top of the floor:
//
//   - whether an organization's content rules raise a message to e2e or the
//     portal ("an SSN goes by portal");
//   - whether the subject carries PHI, so that notifications omit it;
//   - whether a source that declares its mail free of PHI (and so may use
//     opportunistic TLS) really is: any finding refuses opportunistic.
//
// A false positive costs a stronger method than needed; a false negative
// costs a weaker one than the organization wanted (never below the floor).
// The detectors lean towards finding, then grade what they find.
//
// # Identifiers (HIPAA 164.514(b))
//
// The de-identification standard, 45 CFR 164.514(b)(2)(i), lists eighteen
// identifiers whose presence makes health information identifiable. The
// built-in detectors cover the ones with a checkable structure:
//
//	ssn        (G) Social Security numbers, with the SSA's never-issued
//	           ranges refused (area 000, 666, 900-999; group 00; serial 0000)
//	mrn        (H) medical record numbers, by the organization's own pattern
//	           next to a keyword such as "MRN"
//	dob        (C) dates of birth: a date next to "DOB", "date of birth",
//	           "born", "birthdate" (a date alone is not reported)
//	icd10      ICD-10-CM diagnosis codes: not identifiers themselves but
//	           health information that makes any identifier beside it PHI
//	npi        NPI numbers (the CMS Luhn check with the 80840 prefix); an
//	           NPI names a provider, and next to a patient it is PHI
//	keyword    the organization's own words and phrases
//	regex:<n>  the organization's own patterns (RE2 syntax, size-limited),
//	           e.g. health plan member numbers, (I) and (J)
//	attachment attachments of listed types (PDF, images, CSV, DICOM), which
//	           are not scanned as text
//
// Names, addresses, phone numbers and e-mail addresses, (A) (B) (D) (F), have
// no structure that separates a patient's from anyone else's; they are why
// the floor assumes PHI in the first place.
//
// # False positives
//
// Every detector says how sure it is: Low, Medium or High. Structure alone
// (a well-formed SSN with dashes, two dotted ICD-10 codes) is Medium; a
// context keyword within a few words ("SSN", "diagnosis", "NPI") makes it
// High; weak structure without context (nine bare digits, one undotted
// ICD-10-like code, a Luhn-valid ten-digit number) is Low. Policy counts
// Medium and above by default. Beyond grading, each detector refuses the
// shapes that usually mean something else: a phone number is 3-3-4 digits
// and never an SSN's 3-2-4; a digit group that continues ("123-45-6789-0",
// "12 123 45 6789") is part of a longer number; an ICD-like code after
// "vitamin", "model" or "room" is a product or a place.
//
// # Never the matched text
//
// A Finding is the detector's name, a count, a confidence and where in the
// message it was found ("subject", "body", "attachment"). No function here
// returns, logs or wraps in an error any part of the text it scanned.
// HIPAA 164.312(e)(1), transmission security, is what the findings serve:
// they choose the protection; they must not become a leak themselves.
//
// # Performance
//
// Campaigns scan millions of messages, so the detectors are single passes
// over the text with hand-written matchers for the fixed shapes; keyword
// context is looked up only around a candidate, and the keyword-anchored
// detectors (dob, mrn) look only at a short window after each keyword. Go's
// regexp is linear-time (RE2), and organization patterns are limited in
// length and compiled size, so no input makes a scan super-linear.
// NewText prepares a text once (whitespace collapsed, an ASCII-lowercased
// copy) for every detector. The figures are in docs/POLICY.md.
package phi
